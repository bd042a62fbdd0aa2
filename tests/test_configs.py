"""Every shipped spaCy training config loads, validates, and trains a few steps on a tiny local backbone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy.cli.evaluate import evaluate
from spacy.cli.train import train
from spacy.util import load_config, load_model_from_config, registry
from tiny_models import conll_sentences, save_backbone

from spacy_bert_ner.errors import TrainingError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
# The spacy-transformers configs (the spaCy route's extra); the curated-transformers ones are tested apart.
SPACY_CONFIGS = sorted(
    p
    for p in CONFIG_DIR.glob("*.cfg")
    if "nlp" in load_config(p) and load_config(p)["components"]["transformer"]["factory"] == "transformer"
)

pytestmark = [
    # spacy-transformers / HF emit these while building a random backbone; they do not affect results.
    pytest.mark.filterwarnings("ignore:.*resume_download.*"),
    pytest.mark.filterwarnings("ignore::UserWarning:torch"),
]


def test_there_are_spacy_configs() -> None:
    assert {p.name for p in SPACY_CONFIGS} >= {"bert_ner.cfg", "bert_ner_cpu.cfg"}


@pytest.mark.parametrize("path", SPACY_CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_validates(path: Path) -> None:
    config = load_config(path)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["transformer", "ner"]
    model = config["components"]["transformer"]["model"]
    assert model["@architectures"] == "spacy-transformers.TransformerModel.v3"
    # The GPU config keeps overlapping windows; the CPU one encodes each token once (docs/history.md
    # "Both routes side by side").
    stride = 96 if path.name == "bert_ner.cfg" else 128
    assert model["get_spans"] == {
        "@span_getters": "spacy-transformers.strided_spans.v1",
        "window": 128,
        "stride": stride,
    }
    # Both train on spaCy's own tokens and score dev on CoNLL's (docs/measurements.md "The spaCy route on
    # raw text").
    assert config["corpora"]["train"]["augmenter"] == {"@augmenters": "spacy-bert-ner.own_tokens.v1"}
    assert config["corpora"]["dev"]["augmenter"] is None


@pytest.mark.parametrize("path", SPACY_CONFIGS, ids=lambda p: p.name)
@pytest.mark.parametrize("lang", ["de", "xx"])
def test_language_is_a_setting(path: Path, lang: str) -> None:
    """English by default; `--nlp.lang` gives the pipeline (and own_tokens) another language's tokenizer."""
    assert load_config(path)["nlp"]["lang"] == "en"
    config = load_config(path, overrides={"nlp.lang": lang})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.lang == lang and type(nlp) is spacy.util.get_lang_class(lang)
    assert nlp.pipe_names == ["transformer", "ner"]


@pytest.mark.parametrize("path", SPACY_CONFIGS, ids=lambda p: p.name)
def test_batcher_keeps_docs_longer_than_a_batch(path: Path) -> None:
    """No training doc is dropped: one over `size` tokens is a batch of its own, and a batch whose padded
    size is exactly `size` (which discard_oversize also drops) is kept."""
    batcher_config = load_config(path, interpolate=True)["training"]["batcher"]
    batcher = registry.resolve({"batcher": batcher_config})["batcher"]
    size = batcher_config["size"]
    lengths = [size + 500, size // 2, size // 2, 10]
    batches = [[len(item) for item in batch] for batch in batcher(["x" * n for n in lengths])]
    assert sorted(n for batch in batches for n in batch) == sorted(lengths)
    assert [size + 500] in batches


def test_gpu_config_defaults_to_bert_base_cased() -> None:
    config = load_config(CONFIG_DIR / "bert_ner.cfg", interpolate=True)
    assert config["components"]["transformer"]["model"]["name"] == "bert-base-cased"
    assert config["system"]["gpu_allocator"] == "pytorch"


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> Path:
    """A random 2-layer BertModel with a WordPiece vocab from CoNLL sentences, as a HF folder."""
    return save_backbone(tmp_path_factory.mktemp("backbone"), conll_sentences(conll_dir / "train.txt"))


@pytest.mark.installs
@pytest.mark.parametrize("path", SPACY_CONFIGS, ids=lambda p: p.name)
def test_config_trains_a_few_steps_on_a_tiny_backbone(
    path: Path, tiny_backbone: Path, small_corpus: dict[str, Path], tmp_path: Path
) -> None:
    overrides = {
        "paths.train": str(small_corpus["train"]),
        "paths.dev": str(small_corpus["dev"]),
        "paths.backbone": str(tiny_backbone),
        "training.max_steps": 4,
        "training.eval_frequency": 2,
        "system.gpu_allocator": None,
    }
    # a tiny random backbone learns nothing in 4 steps: the floor logger stops the run, naming the fix
    with pytest.raises(TrainingError, match=r"the model did not learn: .* after 4 steps"):
        train(path, tmp_path / "stopped", overrides=overrides)
    train(path, tmp_path / "out", overrides={**overrides, "training.logger.keep_unlearned": True})
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.pipe_names == ["transformer", "ner"]
    assert set(nlp.get_pipe("ner").labels) == {"PER", "LOC", "ORG", "MISC"}
    doc = nlp("EU rejects German call to boycott British lamb .")
    assert len(doc) == 9
    scores = evaluate(str(tmp_path / "out" / "model-last"), small_corpus["dev"], output=tmp_path / "m.json")
    assert {"ents_p", "ents_r", "ents_f"} <= set(scores)
    assert json.loads((tmp_path / "m.json").read_text())["ents_f"] == pytest.approx(
        scores["ents_f"], abs=1e-9
    )
