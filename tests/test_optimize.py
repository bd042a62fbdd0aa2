"""optimize: the int8 copy, checked on dev against the float pipeline, saved only within the F1 gate."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from test_component_serialization import can_build_wheels
from tiny_models import save_rigged_classifier
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.cli.optimize import optimize_cli
from spacy_bert_ner.errors import ConfigError, FusionError
from spacy_bert_ner.hf.inference.graphs import ONNX_RUNTIME_REQUIREMENT
from spacy_bert_ner.host import this_host
from spacy_bert_ner.scores import CountedScores
from spacy_bert_ner.tuning import optimize as optimize_module
from spacy_bert_ner.tuning.optimize import (
    DevReading,
    OptimizeResult,
    OptimizeSettings,
    choose,
    optimize_pipeline,
)
from spacy_bert_ner.tuning.timing import Timing

pytest.importorskip("onnx")  # the onnx extra, which the test extra installs
pytestmark = pytest.mark.core

PIECES = {"John": "B-PER", "Smith": "I-PER", "Paris": "B-LOC", "Acme": "B-ORG", "Berlin": "B-LOC"}
DEV = [
    (["John", "Smith", "visited", "Paris", "."], [(0, 2, "PER"), (3, 4, "LOC")]),
    (["Acme", "moved", "to", "Berlin", "."], [(0, 1, "ORG"), (3, 4, "LOC")]),
    (["Paris", "and", "Berlin", "met", "John", "."], [(0, 1, "LOC"), (2, 3, "LOC"), (4, 5, "PER")]),
]
TEXTS = [" ".join(words) for words, _ in DEV]


def settings(**changes) -> OptimizeSettings:
    # a tiny model's int8 graph need not read faster than torch: min_speedup 0 unless a test sets it
    return OptimizeSettings(**{"timing": Timing(1, 50), "progress": False, "min_speedup": 0.0, **changes})


@pytest.fixture(scope="module")
def float_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = save_rigged_classifier(tmp_path_factory.mktemp("opt-rigged"), PIECES)
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(model)})
    path = tmp_path_factory.mktemp("opt-pipeline") / "float"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def dev_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vocab = spacy.blank("en").vocab
    docs = []
    for words, ents in DEV:
        tags = ["O"] * len(words)
        for start, end, label in ents:
            tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
        docs.append(Doc(vocab, words=words, ents=tags))
    path = tmp_path_factory.mktemp("opt-dev") / "dev.spacy"
    DocBin(docs=docs).to_disk(path)
    return path


def entities(nlp: spacy.Language) -> list[list[tuple[str, str]]]:
    return [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(TEXTS)]


def test_the_int8_copy_keeps_the_entities_and_loads_offline_in_a_fresh_process(
    float_pipeline: Path, dev_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "int8"
    result = optimize_pipeline(
        str(float_pipeline),
        out,
        dev_path,
        settings(recipes=("dynamic-per-channel-fused", "static")),
        calibration=dev_path,
    )
    assert result is not None and result.passed and result.chosen in ("dynamic-per-channel-fused", "static")
    report = json.loads((out / "optimize.json").read_text())
    assert report["shipped"] == "int8" and report["chosen"] == result.chosen
    assert report["float_onnx"]["entities_differing"] == 0
    assert [r["name"] for r in report["recipes"]] == ["dynamic-per-channel-fused", "static"]
    assert report["skipped"] == {}
    assert report["host"] == this_host().as_dict()  # which recipe won depends on the CPU's kernels
    assert all(r["f1_drop"] == 0 and r["words_per_second"] > 0 for r in report["recipes"])
    graphs = out / "bert_ner" / "model" / "onnx"
    assert json.loads((graphs / "graphs.json").read_text()) == {"int8": {"recipe": result.chosen}}
    config = spacy.util.load_config(out / "config.cfg")
    assert config["components"]["bert_ner"]["dtype"] == "int8"
    assert ONNX_RUNTIME_REQUIREMENT in json.loads((out / "meta.json").read_text())["requirements"]
    float_entities = entities(spacy.load(float_pipeline))
    code = (
        "import json, sys, spacy; nlp = spacy.load(sys.argv[1]); "
        "assert nlp.get_pipe('bert_ner').classifier.runtime.name == 'onnx'; "
        "docs = nlp.pipe(json.loads(sys.argv[2])); "
        "print(json.dumps([[[e.text, e.label_] for e in doc.ents] for doc in docs]))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(out), json.dumps(TEXTS)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [[tuple(e) for e in doc] for doc in json.loads(done.stdout)] == float_entities
    assert float_entities[0] == [("John Smith", "PER"), ("Paris", "LOC")]


def test_a_copy_over_the_gate_is_refused_with_its_figures(
    float_pipeline: Path,
    dev_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
) -> None:
    """A recipe whose graph reads another (random) model loses the entities: no int8 copy is shipped."""
    other = tiny_model_dir
    real = optimize_module.quantize_graph

    def quantize_the_wrong_model(float_graph, output, recipe, calibration=()):
        from spacy_bert_ner.hf.export.onnx_export import export_onnx
        from spacy_bert_ner.hf.inference.classifier import load_token_classifier

        wrong = export_onnx(load_token_classifier(str(other)).model, tmp_path / "wrong.onnx")
        return real(wrong, output, recipe, calibration)

    monkeypatch.setattr(optimize_module, "quantize_graph", quantize_the_wrong_model)
    with pytest.raises(ConfigError) as refused:
        optimize_pipeline(str(float_pipeline), tmp_path / "no", dev_path, settings(recipes=("dynamic",)))
    assert str(refused.value).startswith(
        "optimize: no int8 recipe keeps dev F1 within 0.3 points of the float pipeline's 100.00: dynamic "
    )
    assert "Pass --max-f1-drop" in str(refused.value) and "or --else-float" in str(refused.value)
    assert not (tmp_path / "no").exists()
    result = optimize_pipeline(
        str(float_pipeline), tmp_path / "float", dev_path, settings(recipes=("dynamic",)), else_float=True
    )
    assert result is not None and not result.passed
    report = json.loads((tmp_path / "float" / "optimize.json").read_text())
    assert report["shipped"] == "float32" and report["refused"] == result.refusal()
    assert (
        spacy.util.load_config(tmp_path / "float" / "config.cfg")["components"]["bert_ner"]["dtype"]
        == "float32"
    )
    assert not (tmp_path / "float" / "bert_ner" / "model" / "onnx").exists()
    assert entities(spacy.load(tmp_path / "float")) == entities(spacy.load(float_pipeline))


def test_a_recipe_whose_graph_does_not_fuse_is_skipped_and_said(
    float_pipeline: Path, dev_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spacy_bert_ner.hf.export import quantize

    def does_not_fuse(float_graph, output):
        raise FusionError("float32.onnx: onnxscript's ORT fusions found no attention to fuse")

    monkeypatch.setattr(quantize, "fuse_graph", does_not_fuse)
    both = settings(recipes=("dynamic-per-channel-fused", "dynamic"))
    result = optimize_pipeline(str(float_pipeline), tmp_path / "out", dev_path, both)
    assert result is not None and result.chosen == "dynamic"
    report = json.loads((tmp_path / "out" / "optimize.json").read_text())
    assert report["skipped"] == {
        "dynamic-per-channel-fused": "float32.onnx: onnxscript's ORT fusions found no attention to fuse"
    }
    assert [r["name"] for r in report["recipes"]] == ["dynamic"]
    with pytest.raises(
        ConfigError, match=r"^optimize: no int8 recipe could be made: float32.onnx: onnxscript"
    ):
        optimize_pipeline(
            str(float_pipeline), tmp_path / "no", dev_path, settings(recipes=("dynamic-per-channel-fused",))
        )


def reading(name: str, f1: float, words_per_second: float, invariant: bool = True) -> DevReading:
    return DevReading(
        name, "", CountedScores(f1, f1, f1), 1.0, {}, set(), words_per_second, batch_invariant=invariant
    )


@pytest.mark.parametrize(
    "tolerance, recipes, chosen",
    [
        # 1% apart reads alike: the one losing 0.13 beats the one losing 0.26
        (0.05, [("a", 91.52, 4_545), ("b", 91.66, 4_500)], "b"),
        (0.0, [("a", 91.52, 4_545), ("b", 91.66, 4_500)], "a"),
        # 10% apart is faster, not alike
        (0.05, [("a", 91.52, 5_000), ("b", 91.66, 4_500)], "a"),
        # over the gate (0.3) never ships, however fast
        (0.05, [("a", 91.40, 9_000), ("b", 91.66, 4_500)], "b"),
        # alike and as accurate: the faster
        (0.05, [("a", 91.66, 4_400), ("b", 91.66, 4_500)], "b"),
        (0.05, [("a", 91.00, 4_400)], None),
        # alike in speed: a batch-invariant one before one losing less F1 whose entities move with the batch
        (0.05, [("a", 91.52, 4_500, True), ("b", 91.66, 4_520, False)], "a"),
        # a batch-dependent one that is faster beyond the tolerance still wins on speed
        (0.05, [("a", 91.52, 4_000, True), ("b", 91.66, 4_520, False)], "b"),
        # no faster than float (3,500 words/s) times min_speedup: never ships
        (0.05, [("a", 91.66, 3_600)], None),
    ],
)
def test_timing_noise_does_not_choose_between_recipes_that_read_alike(
    tolerance: float, recipes: list[tuple], chosen: str | None
) -> None:
    base = reading("float32 torch", 0.9178, 3_500)
    chosen_by = settings(speed_tolerance=tolerance, min_speedup=1.05)
    result = OptimizeResult("bert_ner", chosen_by, base, base)
    result.recipes = [reading(name, f1 / 100, *rest) for name, f1, *rest in recipes]
    best = choose(result, chosen_by)
    assert (best.name if best else None) == chosen
    if chosen is None and all(result.drop(r) <= 0.3 for r in result.recipes):
        assert result.refusal().startswith(
            "optimize: no int8 recipe within the F1 gate reads at least 1.05x the float pipeline's 3,500 "
            "words/s on dev: a 1.03x. Pass --else-float"
        )


def test_settings_and_inputs_that_cannot_work_are_one_line(
    float_pipeline: Path, dev_path: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"recipes = \('int4',\): name int8 recipes of: dynamic, "):
        settings(recipes=("int4",))
    with pytest.raises(ConfigError, match=r"max_f1_drop = -1: Input should be greater than or equal to 0"):
        settings(max_f1_drop=-1)
    with pytest.raises(ConfigError, match=r"speed_tolerance = 5: Input should be less than 1"):
        settings(speed_tolerance=5)
    with pytest.raises(ConfigError, match=r"min_speedup = -1: Input should be greater than or equal to 0"):
        settings(min_speedup=-1)
    with pytest.raises(ConfigError, match=r"recipes static calibrate on training text: pass --calibration"):
        optimize_pipeline(str(float_pipeline), tmp_path / "x", dev_path, settings(recipes=("static",)))
    with pytest.raises(ConfigError, match=r"is the pipeline itself; optimize writes a copy"):
        optimize_pipeline(str(float_pipeline), float_pipeline, dev_path, settings())


def test_the_command_prints_each_reading_and_a_gpu_run_keeps_the_float_pipeline(
    float_pipeline: Path, dev_path: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "new" / "out"  # its parent does not exist yet
    args = ["optimize", str(float_pipeline), str(out), "--dev", str(dev_path)]
    done = runner.invoke(
        app, [*args, "--recipes", "dynamic", "--timing-rounds", "1", "--min-speedup", "0", "--no-progress"]
    )
    assert done.exit_code == 0, done.output
    for row in ("float32 torch", "float32 onnx", "dynamic", "int8 recipe dynamic: saved to"):
        assert row in done.output
    gpu = runner.invoke(
        app,
        ["optimize", str(float_pipeline), str(tmp_path / "new2" / "gpu"), "--dev", str(dev_path), "-g", "0"],
    )
    assert gpu.exit_code == 0, gpu.output
    gpu_report = json.loads((tmp_path / "new2" / "gpu" / "optimize.json").read_text())
    assert gpu_report["shipped"] == "float32" and gpu_report["host"]["cores"] >= 1
    assert "int8 reads on the CPU; saved the float pipeline" in gpu.output


def test_the_command_shows_the_librarys_defaults_and_names_its_flags() -> None:
    """The CLI reads its defaults and recipe names from the library (one place), and a bad value's message
    names the flag the user typed, not the library's field."""
    from spacy_bert_ner.hf.export.int8_recipes import INT8_RECIPES
    from spacy_bert_ner.tuning.optimize_settings import CALIBRATED_RECIPES, DEFAULT_RECIPES, default_recipes

    shown = {name: param.default for name, param in inspect.signature(optimize_cli).parameters.items()}
    library, timing = OptimizeSettings(), Timing()
    assert [shown[name].default for name in ("max_f1_drop", "speed_tolerance", "min_speedup")] == [
        library.max_f1_drop, library.speed_tolerance, library.min_speedup,
    ]  # fmt: skip
    assert (shown["timing_rounds"].default, shown["timing_words"].default) == (
        timing.rounds,
        timing.max_words,
    )
    help_text = shown["recipes"].help
    assert all(name in help_text for name in INT8_RECIPES) and ",".join(DEFAULT_RECIPES) in help_text
    assert default_recipes(True) == DEFAULT_RECIPES + CALIBRATED_RECIPES
    assert all(INT8_RECIPES[r].static for r in CALIBRATED_RECIPES)
    bad = CliRunner().invoke(app, ["optimize", "p", "o", "--dev", "d.spacy", "--max-f1-drop", "-1"])
    assert bad.exit_code == 1
    assert "optimize settings: --max-f1-drop = -1.0: Input should be greater than or equal to 0" in bad.output


@pytest.mark.slow
@pytest.mark.skipif(
    not can_build_wheels(),
    reason="spacy package --build wheel needs the 'wheel' or 'build' package (or setuptools>=70.1)",
)
def test_spacy_package_of_the_int8_copy_installs_and_loads_offline(
    float_pipeline: Path, dev_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "int8"
    optimize_pipeline(str(float_pipeline), out, dev_path, settings(recipes=("dynamic-per-channel-7bit",)))
    meta = json.loads((out / "meta.json").read_text())
    meta["name"], meta["version"] = "tiny_int8", "0.0.1"
    (out / "meta.json").write_text(json.dumps(meta))
    (tmp_path / "dist").mkdir()
    package = [sys.executable, "-m", "spacy", "package", str(out), str(tmp_path / "dist"), "--build", "wheel"]
    subprocess.run(package, check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*/dist/*.whl")
    with zipfile.ZipFile(wheel) as archive:  # the graph travels in the component's folder
        assert any(name.endswith("/bert_ner/model/onnx/int8.onnx") for name in archive.namelist())
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    (metadata,) = site.glob("en_tiny_int8-*.dist-info/METADATA")
    requires = {
        line.removeprefix("Requires-Dist:").replace(" ", "")
        for line in metadata.read_text().splitlines()
        if line.startswith("Requires-Dist:")
    }
    assert "onnxruntime<2,>=1.20" in requires, requires
    code = (
        "import json, sys, spacy; nlp = spacy.load('en_tiny_int8'); c = nlp.get_pipe('bert_ner').classifier; "
        "assert (c.runtime.name, c.options.dtype) == ('onnx', 'int8'), (c.runtime.name, c.options.dtype); "
        "docs = nlp.pipe(json.loads(sys.argv[1])); "
        "print(json.dumps([[[e.text, e.label_] for e in doc.ents] for doc in docs]))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(TEXTS)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [[tuple(e) for e in doc] for doc in json.loads(done.stdout)] == entities(
        spacy.load(float_pipeline)
    )
