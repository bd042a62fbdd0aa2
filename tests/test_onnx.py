"""The ONNX Runtime reading: export, int8 recipes, which runtime reads, graphs saved beside the weights."""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import re
from pathlib import Path

import numpy
import pytest
import torch
from tiny_models import save_rigged_classifier, with_int8_graph

from spacy_bert_ner.errors import ConfigError, ConfigWarning, FusionError
from spacy_bert_ner.hf.export import onnx_export
from spacy_bert_ner.hf.export.int8_recipes import INT8_RECIPES, recipe_named
from spacy_bert_ner.hf.export.onnx_export import export_onnx, linear_layers
from spacy_bert_ner.hf.export.onnx_fusion import fuse_graph
from spacy_bert_ner.hf.export.quantize import kept_float, quantize_graph
from spacy_bert_ner.hf.inference.classifier import TokenClassifier, load_token_classifier
from spacy_bert_ner.hf.inference.graphs import OnnxSession
from spacy_bert_ner.hf.inference.runtimes import RUNTIMES, onnx_dtype
from spacy_bert_ner.hf.inference.runtimes.compiled import CompiledRuntime

onnx = pytest.importorskip("onnx")  # the onnx extra, which the test extra installs
pytestmark = pytest.mark.core

WORDS = ["John", "Smith", "visited", "Paris", "."]


@pytest.fixture(scope="module")
def rigged_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_rigged_classifier(tmp_path_factory.mktemp("rigged"), {"John": "B-PER", "Paris": "B-LOC"})


@pytest.fixture(scope="module")
def rigged_int8_dir(rigged_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_int8_graph(rigged_dir, tmp_path_factory.mktemp("rigged-int8"))


@pytest.fixture(scope="module")
def tiny_int8_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_int8_graph(tiny_model_dir, tmp_path_factory.mktemp("tiny-int8"))


@pytest.fixture(scope="module")
def float_graph(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = load_token_classifier(str(tiny_model_dir)).model
    return export_onnx(model, tmp_path_factory.mktemp("graph") / "float32.onnx")


def batches(classifier: TokenClassifier, sentences: list[list[str]]) -> list[dict[str, numpy.ndarray]]:
    """Model inputs as the classifier builds them, a batch of 8 sentences each."""
    out = []
    for start in range(0, len(sentences), 8):
        encoding = classifier.tokenizer(
            sentences[start : start + 8], is_split_into_words=True, padding=True, return_tensors="np"
        )
        out.append({"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"]})
    return out


def test_the_exported_graph_computes_the_torch_logits(
    tiny_model_dir: Path, float_graph: Path, tiny_sentences: list[list[str]]
) -> None:
    classifier = load_token_classifier(str(tiny_model_dir))
    session = OnnxSession(float_graph)
    for batch in batches(classifier, tiny_sentences[:24]):
        with torch.no_grad():
            want = classifier.model(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.numpy()
        got = session.logits(batch["input_ids"], batch["attention_mask"])
        mask = batch["attention_mask"].astype(bool)
        assert numpy.abs(got - want)[mask].max() < 1e-4


def test_a_forked_child_never_destroys_the_session_it_inherited(
    tiny_model_dir: Path, float_graph: Path, tiny_sentences: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a forked child (another process id) the session opened in the parent is replaced by the child's own
    and kept alive: destroying it would join the parent's thread-pool threads, which the child does not
    have, and hang it (microsoft/onnxruntime#31961, the cause of the forked int8 workers' hang)."""
    import weakref

    from spacy_bert_ner.hf.inference import graphs

    session = OnnxSession(float_graph)
    (batch,) = batches(load_token_classifier(str(tiny_model_dir)), tiny_sentences[:8])
    want = session.logits(batch["input_ids"], batch["attention_mask"])
    inherited = weakref.ref(session._session)
    monkeypatch.setattr(graphs, "_INHERITED_SESSIONS", [])
    monkeypatch.setattr(graphs.os, "getpid", lambda: -7)  # as in a child forked after the session opened
    got = session.logits(batch["input_ids"], batch["attention_mask"])
    assert session._session is not inherited() and session._opened_for[0] == -7  # the child's own session
    assert inherited() is not None and graphs._INHERITED_SESSIONS == [inherited()]  # the parent's: kept
    numpy.testing.assert_allclose(got, want, atol=1e-6)
    torch_threads = torch.get_num_threads()
    monkeypatch.setattr(torch, "get_num_threads", lambda: torch_threads + 1)  # same process: replaced, freed
    session.logits(batch["input_ids"], batch["attention_mask"])
    assert len(graphs._INHERITED_SESSIONS) == 1


def test_linear_layers_names_every_linear_layer_of_the_model(tiny_model_dir: Path, float_graph: Path) -> None:
    model = load_token_classifier(str(tiny_model_dir)).model
    linear = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    assert sorted(linear_layers(onnx.load(str(float_graph)).graph).values()) == sorted(linear)
    kept = kept_float(float_graph, INT8_RECIPES["dynamic-per-channel-keep-ffn"])
    layers = linear_layers(onnx.load(str(float_graph)).graph)
    kept_layers = sorted(layers[node] for node in kept if node in layers)
    assert kept_layers == sorted(
        name
        for name in linear
        if name == "classifier" or name.endswith(".output.dense") and "attention" not in name
    )
    # attention's products of two activations stay float in every recipe
    assert len(kept) - len(kept_layers) == len(kept_float(float_graph, INT8_RECIPES["dynamic"])) > 0


@pytest.mark.parametrize("name", list(INT8_RECIPES))
def test_every_recipe_reads_close_to_float(
    name: str,
    tiny_model_dir: Path,
    float_graph: Path,
    tiny_sentences: list[list[str]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    classifier = load_token_classifier(str(tiny_model_dir))
    half = min(64, len(tiny_sentences) // 2)  # 64 CoNLL sentences; half the built-in ones without CoNLL
    with caplog.at_level(logging.INFO):
        graph = quantize_graph(
            float_graph,
            tmp_path / "int8.onnx",
            INT8_RECIPES[name],
            batches(classifier, tiny_sentences[:half]),
        )
    # the graph is prepared as the quantizer asks, so it has nothing to warn of
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    ops = [node.op_type for node in onnx.load(str(graph)).graph.node]
    if INT8_RECIPES[name].fused:  # every layer's attention is one int8 kernel, and no product stays float
        assert ops.count("QAttention") == 2 and "MatMul" not in ops and "Attention" not in ops
    elif not INT8_RECIPES[
        name
    ].static:  # the kept layers' MatMuls, found by name in the prepared graph, stay float
        float_matmuls = [n.name for n in onnx.load(str(graph)).graph.node if n.op_type == "MatMul"]
        assert sorted(float_matmuls) == kept_float(float_graph, INT8_RECIPES[name])
    float_session, int8_session = OnnxSession(float_graph), OnnxSession(graph)
    agreement = []
    for batch in batches(classifier, tiny_sentences[half : 2 * half]):  # held out from calibration
        mask = batch["attention_mask"].astype(bool)
        want = float_session.logits(batch["input_ids"], batch["attention_mask"]).argmax(-1)
        got = int8_session.logits(batch["input_ids"], batch["attention_mask"]).argmax(-1)
        agreement.append((want == got)[mask].mean())
    assert numpy.mean(agreement) > 0.9
    assert graph.stat().st_size < float_graph.stat().st_size


def test_the_fused_graph_computes_the_exported_logits_with_the_padding_mask_as_mask_index(
    tiny_model_dir: Path, float_graph: Path, tiny_sentences: list[list[str]], tmp_path: Path
) -> None:
    counts = fuse_graph(float_graph, tmp_path / "fused.onnx")
    assert counts == {"Attention": 2, "SkipLayerNormalization": 4, "BiasGelu": 2}  # 2 layers
    graph = onnx.load(str(tmp_path / "fused.onnx")).graph
    for node in graph.node:
        if node.op_type == "Attention":
            assert list(node.input) == [*node.input[:3], "attention_mask_int32"]
            assert "qkv_hidden_sizes" not in [a.name for a in node.attribute]
    classifier = load_token_classifier(str(tiny_model_dir))
    exported, fused = OnnxSession(float_graph), OnnxSession(tmp_path / "fused.onnx")
    for batch in batches(classifier, tiny_sentences[:24]):  # padded: sentences of different lengths
        mask = batch["attention_mask"].astype(bool)
        assert not mask.all()
        want = exported.logits(batch["input_ids"], batch["attention_mask"])
        got = fused.logits(batch["input_ids"], batch["attention_mask"])
        assert numpy.abs(got - want)[mask].max() < 1e-4


def test_a_graph_that_cannot_be_fused_is_one_line(
    float_graph: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx_ir
    import onnxscript.rewriter.ort_fusions as fusions
    from onnx import TensorProto, helper

    from spacy_bert_ner.hf.export import onnx_fusion

    fused = onnx_ir.to_proto(fusions.optimize_for_ort(onnx_ir.load(str(float_graph)))[0])
    attention = next(node for node in fused.graph.node if node.op_type == "Attention")
    fused.graph.node.insert(0, helper.make_node("Cast", ["input_ids"], ["ids_bias"], to=TensorProto.FLOAT))
    attention.input[5] = "ids_bias"  # a bias computed from the ids, not only from the padding mask
    with pytest.raises(FusionError, match=rf"x.onnx: attention {attention.name} is masked by more than the"):
        onnx_fusion._mask_as_index(fused, "x.onnx")
    monkeypatch.setattr(onnx_fusion, "MAX_LOGIT_DIFFERENCE", -1.0)
    with pytest.raises(FusionError, match=r"fused.onnx: the fused graph's logits differ from the exported"):
        fuse_graph(float_graph, tmp_path / "fused.onnx")
    monkeypatch.setattr(fusions, "optimize_for_ort", lambda model: (model, {}))
    with pytest.raises(
        FusionError, match=r"float32.onnx: onnxscript's ORT fusions found no attention to fuse"
    ):
        fuse_graph(float_graph, tmp_path / "unfused.onnx")


def test_recipes_say_what_they_need() -> None:
    with pytest.raises(ConfigError, match=r"int8 recipe 'int4' is not one of: dynamic, dynamic-per-channel"):
        recipe_named("int4")
    with pytest.raises(ConfigError, match=r"calibrates activation scales on sample text, and none was given"):
        quantize_graph(Path("unused.onnx"), Path("out.onnx"), INT8_RECIPES["static"], [])


def test_int8_reads_an_onnx_graph_and_saves_it_beside_the_float_weights(
    rigged_dir: Path,
    rigged_int8_dir: Path,
    tiny_model_dir: Path,
    tiny_int8_dir: Path,
    tiny_sentences: list[list[str]],
    tmp_path: Path,
) -> None:
    full = load_token_classifier(str(rigged_dir))
    int8 = load_token_classifier(str(rigged_int8_dir), dtype="int8")
    assert (full.runtime.name, int8.runtime.name) == ("torch", "onnx")
    assert int8.predict([WORDS])[0].label_ids.tolist() == full.predict([WORDS])[0].label_ids.tolist()
    assert int8.predict([WORDS])[0].scores == pytest.approx(full.predict([WORDS])[0].scores, abs=0.05)
    # variants share the graphs: no second quantization; back in float32, torch reads again
    assert int8.variant(context=0).runtime.session is int8.runtime.session  # type: ignore[attr-defined]
    assert int8.variant(dtype="float32").runtime.name == "torch"
    # reading never quantizes: an int8 reading of a folder without a graph names the command that makes one
    with pytest.raises(ConfigError, match=r'dtype "int8" reads the int8 ONNX graph that optimize saves .*: '):
        full.variant(dtype="int8")
    # an int8 graph made for a variant (tune --dtypes) is not saved with the float pipeline
    full.graphs.make("int8")
    assert full.variant(dtype="int8").runtime.name == "onnx"
    full.save_pretrained(tmp_path / "float")
    assert not (tmp_path / "float" / "onnx").exists()
    tiny8 = load_token_classifier(str(tiny_int8_dir), dtype="int8")
    tiny8.save_pretrained(tmp_path / "saved")
    assert sorted(p.name for p in (tmp_path / "saved" / "onnx").iterdir()) == ["graphs.json", "int8.onnx"]
    assert json.loads((tmp_path / "saved" / "onnx" / "graphs.json").read_text()) == {
        "int8": {"recipe": "dynamic-per-channel-7bit"}
    }
    again = load_token_classifier(str(tmp_path / "saved"), dtype="int8")
    assert again.graphs.found == {"int8"} and again.runtime.name == "onnx"
    for a, b in zip(tiny8.predict(tiny_sentences[:30]), again.predict(tiny_sentences[:30]), strict=True):
        assert a.label_ids.tolist() == b.label_ids.tolist()
    tiny = load_token_classifier(str(tiny_model_dir))
    for name, tensor in tiny.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[name], tensor), name
    # a float32 reading of that folder reads torch (it holds no float32 graph), and saves the int8 graph
    plain = load_token_classifier(str(tmp_path / "saved"))
    assert plain.runtime.name == "torch"
    plain.save_pretrained(tmp_path / "again")
    assert (tmp_path / "again" / "onnx" / "int8.onnx").is_file()


def test_a_dynamic_int8_reading_does_not_depend_on_the_batch(
    tiny_int8_dir: Path, tiny_sentences: list[list[str]], tmp_path: Path
) -> None:
    int8 = load_token_classifier(str(tiny_int8_dir), dtype="int8")
    assert int8.graphs.made["int8"]["recipe"] == "dynamic-per-channel-7bit" and int8.reads_alone
    sentences = tiny_sentences[:40]
    assert {len(b["input_ids"]) for b in int8.model_inputs(sentences)} == {1}
    together = int8.predict_pieces(sentences)
    for sentence, read in zip(sentences, together, strict=True):
        (alone,) = int8.predict_pieces([sentence])
        assert numpy.array_equal(alone.probs, read.probs)  # bit for bit, whatever was read beside it
    batched = int8.variant(batch_invariant=False)
    assert not batched.reads_alone and max(len(b["input_ids"]) for b in batched.model_inputs(sentences)) > 1
    # float readings batch as batch_size says: they need no help to be batch-invariant
    float_onnx = int8.variant(dtype="float32", runtime="onnx")
    assert float_onnx.runtime.name == "onnx" and not float_onnx.reads_alone
    assert not int8.variant(dtype="float32").reads_alone
    # a statically quantized graph fixed its activation scales at calibration: batched as batch_size says
    static = tmp_path / "static.onnx"
    quantize_graph(
        int8.graphs.path("float32"), static, INT8_RECIPES["static"], batches(int8, tiny_sentences[:16])
    )
    int8.graphs.put("int8", static, {"recipe": "static"})
    assert not int8.graphs.batch_dependent("int8")
    int8.graphs.put("int8", static, {"recipe": "a recipe of a later version"})
    assert int8.graphs.batch_dependent("int8")  # unknown: read alone, to be safe


def test_one_place_lists_the_runtimes_and_the_classifier_names_none(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runtime is a module behind one interface: RUNTIMES lists every runtime the options name, and
    TokenClassifier reads through the interface without asking which runtime it holds."""
    # torch.compile only traced here; tests/test_compiled_runtime.py compiles its kernels
    monkeypatch.setattr(CompiledRuntime, "backend", "eager")
    with pytest.raises(ConfigError, match=r"runtime 'tpu' is not one of: auto, torch, onnx, compile"):
        load_token_classifier(str(tiny_model_dir), runtime="tpu")
    words = [WORDS]
    read = {}
    for name, runtime_class in RUNTIMES.items():
        classifier = load_token_classifier(str(tiny_model_dir), runtime=name)
        assert isinstance(classifier.runtime, runtime_class) and classifier.runtime.name == name
        read[name] = classifier.predict(words)[0].scores
    assert read["onnx"] == pytest.approx(read["torch"], abs=1e-5)
    assert read["compile"] == pytest.approx(read["torch"], abs=1e-5)
    body = inspect.getsource(TokenClassifier)
    assert not re.findall(r"[\"'](torch|onnx)[\"']|OnnxSession|\.session\b", body)


def test_a_saved_float32_graph_is_read_by_default(
    tiny_model_dir: Path, tiny_sentences: list[list[str]], tmp_path: Path
) -> None:
    onnx_reader = load_token_classifier(str(tiny_model_dir), runtime="onnx")
    onnx_reader.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "onnx" / "float32.onnx").is_file()
    auto = load_token_classifier(str(tmp_path / "m"))
    torch_reader = load_token_classifier(str(tmp_path / "m"), runtime="torch")
    assert (auto.runtime.name, torch_reader.runtime.name) == ("onnx", "torch")
    for a, b in zip(
        auto.predict(tiny_sentences[:50]), torch_reader.predict(tiny_sentences[:50]), strict=True
    ):
        assert a.label_ids.tolist() == b.label_ids.tolist()
        assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_runtime_and_dtype_that_cannot_go_together_are_one_line(
    rigged_dir: Path, rigged_int8_dir: Path
) -> None:
    with pytest.raises(
        ConfigError, match=r'dtype "int8" is read by ONNX Runtime: set runtime "auto" or "onnx"'
    ):
        load_token_classifier(str(rigged_dir), dtype="int8", runtime="torch")
    with pytest.raises(ConfigError, match=r'runtime "onnx" reads on the CPU; on a GPU set runtime "auto"'):
        load_token_classifier(str(rigged_dir), runtime="onnx", device="cuda:0")
    # on a GPU, an int8 pipeline reads its float weights with torch (CI has no GPU: the choice itself)
    int8 = load_token_classifier(str(rigged_int8_dir), dtype="int8")
    with pytest.warns(ConfigWarning, match=r'dtype "int8" is a CPU reading \(ONNX Runtime\); on cuda:0'):
        assert onnx_dtype(int8.options, int8.graphs, torch.device("cuda:0")) is None
    assert onnx_dtype(int8.options, int8.graphs, torch.device("cpu")) == "int8"
    with pytest.raises(ConfigError, match=r'runtime "onnx" reads dtype float32 or int8, not \'bfloat16\''):
        load_token_classifier(str(rigged_dir), dtype="bfloat16", runtime="onnx")


def test_without_the_onnx_extra_int8_names_it(
    rigged_dir: Path, rigged_int8_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # making a graph (tune --dtypes int8, optimize) needs the whole extra
    monkeypatch.setattr(onnx_export, "ONNX_MODULES", ("onnx", "no_such_module_here"))
    with pytest.raises(
        ConfigError,
        match=r"needs no_such_module_here: install the onnx extra in this checkout: "
        r'pip install -e "\.\[onnx\]"',
    ):
        load_token_classifier(str(rigged_dir)).graphs.make("int8")
    # reading a saved one needs ONNX Runtime
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else find_spec(name, *a)
    )
    with pytest.raises(
        ConfigError,
        match=r'needs onnxruntime: install the onnx extra in this checkout: pip install -e "\.\[onnx\]"',
    ):
        load_token_classifier(str(rigged_int8_dir), dtype="int8")


def test_the_runtime_requirement_is_the_onnx_extra_pin() -> None:
    """What optimize adds to a pipeline's requirements is setup.cfg's pin of onnxruntime."""
    import configparser

    from spacy_bert_ner.hf.inference.graphs import ONNX_RUNTIME_REQUIREMENT

    config = configparser.ConfigParser()
    config.read(Path(__file__).parents[1] / "setup.cfg")
    extra = [line.strip() for line in config["options.extras_require"]["onnx"].splitlines() if line.strip()]
    assert ONNX_RUNTIME_REQUIREMENT in extra


def test_int8_reads_in_worker_processes(rigged_int8_dir: Path) -> None:
    """Each forked worker opens its own ONNX Runtime session (a session's threads do not survive a fork).

    Run in a child process with a time limit: under heavy load the forked workers have been seen to hang,
    which would stop the whole test run. The likely cause, a child destroying the session it inherited, is
    fixed (test_a_forked_child_never_destroys_the_session_it_inherited), but the hang was never reproduced
    on demand (0 in 8 tries before the fix), so a hang is still reported as a skip naming it (pytest -ra
    prints it); wrong entities fail."""
    import json
    import subprocess
    import sys

    code = (
        "import json, spacy\n"
        "nlp = spacy.blank('en')\n"
        f"nlp.add_pipe('bert_ner', config={{'model': {str(rigged_int8_dir)!r}, 'dtype': 'int8'}})\n"
        "texts = ['John visited Paris .'] * 6\n"
        "alone = [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]\n"
        "forked = [[(e.text, e.label_) for e in doc.ents]\n"
        "          for doc in nlp.pipe(texts, n_process=2, batch_size=2)]\n"
        "print(json.dumps([alone, forked]))\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.skip("the forked workers hung (an intermittent fork deadlock under load)")
    assert done.returncode == 0, done.stderr[-3000:]
    alone, forked = json.loads(done.stdout.strip().splitlines()[-1])
    assert forked == alone == [[["John", "PER"], ["Paris", "LOC"]]] * 6
