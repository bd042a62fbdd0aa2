"""bert_ner saved and loaded: to_disk / from_disk / bytes with no network, format versions, and
`spacy package` wheels that install and load offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc
from tiny_models import bert_ner, ents_of

import spacy_bert_ner
from spacy_bert_ner.pipeline.bert_ner import COMPONENT_FORMAT_VERSION, BertNER

REPO = Path(__file__).resolve().parent.parent
WORK_OF_ART = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-WORK-OF-ART", "I-WORK-OF-ART"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
BILOU = ["O", "B-PER", "I-PER", "L-PER", "U-PER"]
IOB1 = ["O", "I-PER", "B-PER"]


# -- serialization ---------------------------------------------------------------------------------


def test_to_disk_and_load_with_the_source_gone_and_no_hub(
    tmp_path: Path, tiny_model_dir: Path, tiny_sentences
) -> None:
    source = shutil.copytree(tiny_model_dir, tmp_path / "source")
    nlp = bert_ner(source, aggregation="max")
    docs = [Doc(nlp.vocab, words=w) for w in tiny_sentences[:40]]
    before = [(ents_of(d), d.spans["bert_ner"].attrs["scores"].tolist()) for d in nlp.pipe(docs)]
    nlp.to_disk(tmp_path / "pipeline")
    folder = tmp_path / "pipeline" / "bert_ner"
    assert json.loads((folder / "cfg").read_text())["format_version"] == COMPONENT_FORMAT_VERSION
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= {
        p.name for p in (folder / "model").iterdir()
    }
    shutil.rmtree(source)  # the pipeline must not need its source model (nor the hub: HF_HUB_OFFLINE=1)
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("bert_ner").classifier.aggregation == "max"
    docs = [Doc(loaded.vocab, words=w) for w in tiny_sentences[:40]]
    after = [(ents_of(d), d.spans["bert_ner"].attrs["scores"].tolist()) for d in loaded.pipe(docs)]
    assert after == before


def test_to_bytes_round_trip(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged)
    other = bert_ner(conll_rigged, annotate="spans")  # any bert_ner to restore into
    ner = other.get_pipe("bert_ner")
    assert isinstance(ner, BertNER)
    ner.from_bytes(nlp.get_pipe("bert_ner").to_bytes())
    doc = other("John Smith visited Paris .")
    assert [s.text for s in doc.spans["bert_ner"]] == ["John Smith", "Paris"]


def test_exclude_model_writes_only_cfg(conll_rigged: Path, tmp_path: Path) -> None:
    ner = bert_ner(conll_rigged).get_pipe("bert_ner")
    ner.to_disk(tmp_path / "c", exclude=["model"])
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["cfg"]


def test_newer_format_version_is_refused(conll_rigged: Path, tmp_path: Path) -> None:
    ner = bert_ner(conll_rigged).get_pipe("bert_ner")
    ner.to_disk(tmp_path / "c")
    (tmp_path / "c" / "cfg").write_text(json.dumps({"format_version": COMPONENT_FORMAT_VERSION + 1}))
    with pytest.raises(ValueError, match="format version 2; .* upgrade spacy-bert-ner"):
        ner.from_disk(tmp_path / "c")


def test_config_built_pipeline_without_from_disk_loads_model_on_first_use(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged)
    rebuilt = spacy.util.load_model_from_config(
        nlp.config, meta=nlp.meta
    )  # meta says: weights come from disk
    component = rebuilt.get_pipe("bert_ner")
    assert not component._model.loaded and component.labels == ()  # waiting for from_disk
    assert ents_of(rebuilt("John Smith visited Paris .")) == [(0, 2, "PER"), (3, 4, "LOC")]
    assert component._model.loaded and component.labels == ("LOC", "MISC", "ORG", "PER")


def test_a_new_component_loads_at_add_pipe_and_claims_its_folder(tmp_path: Path) -> None:
    """Built anew, the model loads at once (a bad one fails at add_pipe, not at the first doc), and the
    pipeline's meta says its folder will hold the model, which is what spacy.load reads (model_slot)."""
    from spacy_bert_ner.errors import ModelError
    from spacy_bert_ner.pipeline.model_slot import META_KEY

    nlp = spacy.blank("en")
    with pytest.raises(ModelError):
        nlp.add_pipe("bert_ner", config={"model": str(tmp_path / "no-model-here")})
    assert nlp.meta.get(META_KEY, {}).get("components", []) == ["bert_ner"]


# -- slow: packaging and parity with the model itself ----------------------------------------------


def can_build_wheels() -> bool:
    """``spacy package --build wheel`` runs ``python -m build`` or, failing that, ``setup.py bdist_wheel``."""
    import importlib.util

    import setuptools
    from packaging.version import Version

    has_module = any(importlib.util.find_spec(name) for name in ("build", "wheel"))
    return has_module or Version(setuptools.__version__) >= Version("70.1")  # bdist_wheel built in


def install_wheel(pipeline: Path, work: Path) -> Path:
    """``spacy package --build wheel`` of a saved pipeline into WORK/dist, installed (no deps, no index)
    into WORK/site, which is returned (put it on PYTHONPATH to load the package)."""
    (work / "dist").mkdir()
    package = [sys.executable, "-m", "spacy", "package", str(pipeline), str(work / "dist")]
    subprocess.run([*package, "--build", "wheel"], check=True, capture_output=True)
    (wheel,) = (work / "dist").glob("*/dist/*.whl")
    site = work / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    return site


@pytest.mark.slow
@pytest.mark.skipif(
    not can_build_wheels(),
    reason="spacy package --build wheel needs the 'wheel' or 'build' package (or setuptools>=70.1)",
)
def test_spacy_package_wheel_installs_and_loads_offline(conll_rigged: Path, tmp_path: Path) -> None:
    source = shutil.copytree(conll_rigged, tmp_path / "source")
    nlp = bert_ner(source)
    nlp.meta["name"], nlp.meta["version"] = "tiny_bert_ner", "0.0.1"
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(source)
    site = install_wheel(tmp_path / "pipeline", tmp_path)
    # spacy package names the package whose entry points give the factory, with its minor-version range.
    (metadata,) = site.glob("en_tiny_bert_ner-*.dist-info/METADATA")
    requires = [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist:")]
    major, minor, _ = spacy_bert_ner.__version__.split(".")
    wanted = f"spacy-bert-ner<{major}.{int(minor) + 1}.0,>={spacy_bert_ner.__version__}"
    assert any(line.replace(" ", "").replace("Requires-Dist:", "") == wanted for line in requires), requires
    code = (
        "import spacy; nlp = spacy.load('en_tiny_bert_ner'); "
        "print([(e.text, e.label_) for e in nlp('John Smith visited Paris .').ents])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "[('John Smith', 'PER'), ('Paris', 'LOC')]"
