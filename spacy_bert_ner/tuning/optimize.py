"""``optimize``: the fast CPU copy of a bert_ner pipeline, int8 through ONNX Runtime, shipped only if it keeps
its F1.

The float pipeline is read on dev three ways: with torch, as a float32 ONNX graph (which must give the same
entities), and as an int8 graph made by each recipe tried (:mod:`spacy_bert_ner.hf.export.quantize`; static
ones calibrated on training docs). Each int8 reading gets its own temperature and thresholds, chosen on dev as
``tune`` chooses them for the float one, and is timed beside the others, round robin. Of the recipes whose dev
F1 is within ``max_f1_drop`` points of the float pipeline's and that read at least ``min_speedup`` times its
words/s, those within ``speed_tolerance`` of the fastest one's words/s count as equally fast, and the one of
them losing the least F1 is saved into the copy (timing noise does not decide between copies that read alike;
a batch-invariant one first, if the reading options let any depend on the batch); if none is within the gate,
nothing int8 is shipped. Each reading is timed as the copy will read: with ``batch_invariant`` (the default) a
dynamic recipe reads each sequence alone.
"""

from __future__ import annotations

import functools
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from spacy.language import Language
from spacy.tokens import Doc

from ..errors import ConfigError, FusionError
from ..hf.export.int8_recipes import INT8_RECIPES
from ..hf.export.quantize import quantize_graph
from ..hf.inference.classifier import TokenClassifier
from ..hf.inference.graphs import ONNX_RUNTIME_REQUIREMENT, OnnxGraphs
from ..host import this_host
from ..pipeline.bert_ner import BertNER
from ..scores import CountedScores
from .calibration import fit_temperature
from .forward import (
    Cached,
    Dataset,
    bert_ner_component,
    current_setting,
    decode,
    load_examples,
    prepared_docs,
    read_pieces,
    scores_at_temperature,
)
from .optimize_settings import OptimizeSettings
from .search import Objective, settings_of, thresholds_for, write_tuned
from .thresholds import score
from .timing import Rounds, Timing, round_robin, sample_of


@dataclass
class DevReading:
    """One way of reading dev: its scores at the thresholds it would ship with, and its speed."""

    name: str
    description: str
    scores: CountedScores
    temperature: float
    thresholds: dict[str, float]
    entities: set[tuple[int, int, int, str]]  # (doc, start, end, label) it writes into doc.ents
    words_per_second: float = 0.0
    seconds_to_make: float = 0.0
    batch_invariant: bool = True  # a text's entities do not depend on the texts read beside it
    rounds: Optional[Rounds] = None  # every timing round (the best gives words_per_second)
    timed_words: int = 0  # the words of the timing sample

    def as_dict(self, float_reading: Optional["DevReading"] = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "dev": self.scores.as_dict(),
            "temperature": self.temperature,
            "thresholds": self.thresholds,
            "words_per_second": round(self.words_per_second, 1),
            "seconds_to_make": round(self.seconds_to_make, 1),
            "batch_invariant": self.batch_invariant,
        }
        if self.rounds is not None:
            out.update(self.rounds.as_dict(self.timed_words))
        if float_reading is not None:
            out["f1_drop"] = round(100 * (float_reading.scores.f - self.scores.f), 3)
            out["speedup"] = round(self.words_per_second / max(float_reading.words_per_second, 1e-9), 3)
            out["entities_differing"] = len(self.entities ^ float_reading.entities)
        return out


@dataclass
class OptimizeResult:
    component: str
    settings: OptimizeSettings
    float_torch: DevReading
    float_onnx: DevReading
    recipes: list[DevReading] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # recipe -> why its graph could not be made
    chosen: Optional[str] = None
    graph: Optional[Path] = None  # the chosen recipe's int8 graph
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.chosen is not None

    def drop(self, reading: DevReading) -> float:
        """Dev F1 points ``reading`` loses against the float pipeline."""
        return 100 * (self.float_torch.scores.f - reading.scores.f)

    def speedup(self, reading: DevReading) -> float:
        """``reading``'s words/s as a multiple of the float pipeline's."""
        return reading.words_per_second / max(self.float_torch.words_per_second, 1e-9)

    def within_gate(self, reading: DevReading) -> bool:
        """Within the F1 gate and at least ``min_speedup`` times as fast as the float pipeline."""
        return (
            self.drop(reading) <= self.settings.max_f1_drop + 1e-9
            and self.speedup(reading) >= self.settings.min_speedup - 1e-9
        )

    def refusal(self) -> str:
        """One line: why no int8 copy is shipped, the figures, and the flags that change it."""
        if not self.recipes:
            return f"optimize: no int8 recipe could be made: {' '.join(self.skipped.values())}"
        accurate = [r for r in self.recipes if self.drop(r) <= self.settings.max_f1_drop + 1e-9]
        if accurate:
            figures = "; ".join(f"{r.name} {self.speedup(r):.2f}x" for r in accurate)
            return (
                f"optimize: no int8 recipe within the F1 gate reads at least {self.settings.min_speedup:g}x "
                f"the float pipeline's {self.float_torch.words_per_second:,.0f} words/s on dev: {figures}. "
                "Pass --else-float to save the float one; static recipes (--calibration corpus/train.spacy) "
                "read batched, dynamic ones each sequence alone unless batch_invariant is false"
            )
        best = min(self.recipes, key=self.drop)
        figures = "; ".join(f"{r.name} {100 * r.scores.f:.2f} ({-self.drop(r):+.2f})" for r in self.recipes)
        return (
            f"optimize: no int8 recipe keeps dev F1 within {self.settings.max_f1_drop:g} points of the float "
            f"pipeline's {100 * self.float_torch.scores.f:.2f}: {figures}. Pass --max-f1-drop "
            f"{self.drop(best) + 0.005:.2f} to accept {best.name}, or --else-float to save the float one"
        )

    def as_json(self, pipeline: str, dev: Path, output: Path, shipped: str) -> dict[str, Any]:
        return {
            "pipeline": pipeline,
            "dev": str(dev),
            "output": str(output),
            "component": self.component,
            "max_f1_drop": self.settings.max_f1_drop,
            "recipes_tried": list(self.settings.recipes),
            "calibration_docs": self.settings.calibration_docs,
            "speed_tolerance": self.settings.speed_tolerance,
            "min_speedup": self.settings.min_speedup,
            "timing": {"rounds": self.settings.timing.rounds, "max_words": self.settings.timing.max_words},
            "float_torch": self.float_torch.as_dict(),
            "float_onnx": self.float_onnx.as_dict(self.float_torch),
            "recipes": [r.as_dict(self.float_torch) for r in self.recipes],
            "skipped": self.skipped,
            "chosen": self.chosen,
            "shipped": shipped,
            "seconds": round(self.seconds, 1),
        }


def _cached(component: BertNER, classifier: TokenClassifier, data: Dataset, sentences: bool) -> Cached:
    inputs, pieces = read_pieces(component, classifier, data.docs, sentences)
    return Cached(current_setting(component), inputs, pieces)


def _read(
    name: str,
    description: str,
    component: BertNER,
    classifier: TokenClassifier,
    data: Dataset,
    retune: bool,
) -> DevReading:
    """Dev read by ``classifier``: at the pipeline's own temperature and thresholds, or (``retune``) at a
    temperature and thresholds chosen for this reading as ``tune`` chooses them (best F1)."""
    cached = _cached(component, classifier, data, component.sentences)
    aggregation = component.classifier.aggregation
    temperature, thresholds = component.classifier.temperature, dict(component.thresholds)
    if retune:
        untempered = decode(component, data, cached, aggregation, 1.0)
        scores_at = scores_at_temperature(cached, data.docs, aggregation, untempered)
        temperature = fit_temperature(scores_at, untempered.candidates.correct)
        calibrated = decode(component, data, cached, aggregation, temperature)
        thresholds, _ = thresholds_for(calibrated.candidates, Objective(), bool(component.thresholds))
    decoded = decode(component, data, cached, aggregation, temperature)
    candidates = decoded.candidates
    kept = [
        bool(s >= thresholds.get(str(label), 0.0)) for label, s in zip(candidates.labels, candidates.scores)
    ]
    entities = {
        (int(d), int(start), int(end), str(label))
        for (d, start, end), label, keep in zip(decoded.where, candidates.labels, kept, strict=True)
        if keep
    }
    return DevReading(name, description, score(candidates, thresholds), temperature, thresholds, entities)


def _time(
    component: BertNER, readers: dict[str, TokenClassifier], docs: Sequence[Doc], timing: Timing
) -> tuple[dict[str, Rounds], int]:
    """Each reader's rounds of reading the first dev docs up to ``timing.max_words`` words
    (:func:`~.timing.round_robin`), and the sample's word count."""
    sample, words = sample_of(docs, timing.max_words)
    runs = {
        name: functools.partial(read_pieces, component, classifier, sample, component.sentences)
        for name, classifier in readers.items()
    }
    return round_robin(runs, timing.rounds), words


def calibration_batches(
    nlp: Language, name: str, component: BertNER, path: Path, n_docs: int
) -> list[dict[str, Any]]:
    """The model inputs the component gives its model for the first ``n_docs`` docs of ``path``."""
    docs = prepared_docs(nlp, name, load_examples(nlp, path)[:n_docs])
    inputs = [component.model_input(doc) for doc in docs]
    classifier = component.classifier
    return list(classifier.model_inputs([i.words for i in inputs], [i.bounds for i in inputs]))


def choose(result: OptimizeResult, settings: OptimizeSettings) -> Optional[DevReading]:
    """The recipe to ship: of those within the gate (F1 and speed over float), the ones within
    ``speed_tolerance`` of the fastest one's words/s, and of these a batch-invariant one losing the least
    dev F1 (then the fastest); None if none passes."""
    passing = [r for r in result.recipes if result.within_gate(r)]
    if not passing:
        return None
    fastest = max(r.words_per_second for r in passing)
    alike = [r for r in passing if r.words_per_second >= (1 - settings.speed_tolerance) * fastest]
    return min(alike, key=lambda r: (not r.batch_invariant, result.drop(r), -r.words_per_second))


def optimize(
    nlp: Language,
    dev: Path,
    settings: OptimizeSettings = OptimizeSettings(),
    calibration: Optional[Path] = None,
    scratch: Optional[Path] = None,
) -> OptimizeResult:
    """Read dev with the float pipeline (torch, then float32 ONNX) and with each int8 recipe, time them, and
    :func:`choose` one within the F1 gate; graphs are written to ``scratch`` (default: a temporary
    folder that the result's ``graph`` needs until it is saved). The pipeline itself is not changed."""
    start = time.perf_counter()
    name, component = bert_ner_component(nlp, settings.component)
    base = component.classifier
    if base.device.type != "cpu":
        raise ConfigError("optimize makes a CPU reading: load the pipeline on the CPU (--gpu-id -1)")
    static = [r for r in settings.recipes if INT8_RECIPES[r].static]
    if static and calibration is None:
        raise ConfigError(
            f"recipes {', '.join(static)} calibrate on training text: pass --calibration corpus/train.spacy, "
            "or leave them out of --recipes"
        )
    data = Dataset.load(nlp, name, dev)
    scratch = scratch or Path(tempfile.mkdtemp(prefix="bert_ner_optimize_"))
    graphs = OnnxGraphs(base.model)
    float_options = base.options.replace(dtype="float32", runtime="torch")
    torch_reader = TokenClassifier(base.model, base.tokenizer, float_options, base.source, graphs)
    float_torch = _read("float32 torch", "the float pipeline", component, torch_reader, data, retune=False)
    made = time.perf_counter()
    graphs.make("float32")
    onnx_reader = torch_reader.variant(runtime="onnx")
    float_onnx = _read("float32 onnx", "the float graph", component, onnx_reader, data, retune=False)
    float_onnx.seconds_to_make = time.perf_counter() - made
    readers = {"float32 torch": torch_reader, "float32 onnx": onnx_reader}
    batches = (
        calibration_batches(nlp, name, component, calibration, settings.calibration_docs)
        if static and calibration is not None
        else []
    )
    result = OptimizeResult(name, settings, float_torch, float_onnx)
    paths: dict[str, Path] = {}
    for recipe_name in settings.recipes:
        recipe = INT8_RECIPES[recipe_name]
        made = time.perf_counter()
        try:
            paths[recipe_name] = quantize_graph(
                graphs.path("float32"), scratch / f"int8-{recipe_name}.onnx", recipe, batches
            )
        except FusionError as error:  # this model's graph does not fuse: the other recipes still count
            result.skipped[recipe_name] = str(error)
            continue
        recipe_graphs = OnnxGraphs(base.model)
        recipe_graphs.put("int8", paths[recipe_name], {"recipe": recipe_name})
        reader = TokenClassifier(
            base.model, base.tokenizer, base.options.replace(dtype="int8"), base.source, recipe_graphs
        )
        reading = _read(recipe_name, recipe.description, component, reader, data, retune=True)
        reading.seconds_to_make = time.perf_counter() - made
        reading.batch_invariant = reader.reads_alone or not recipe_graphs.batch_dependent("int8")
        result.recipes.append(reading)
        readers[recipe_name] = reader
    timed, words = _time(component, readers, data.docs, settings.timing)
    for reading in [float_torch, float_onnx, *result.recipes]:
        reading.rounds, reading.timed_words = timed[reading.name], words
        reading.words_per_second = timed[reading.name].rate(words)
    best = choose(result, settings)
    if best is not None:
        result.chosen, result.graph = best.name, paths[best.name]
    result.seconds = time.perf_counter() - start
    return result


def optimize_pipeline(
    pipeline: str,
    output: Path,
    dev: Path,
    settings: OptimizeSettings = OptimizeSettings(),
    *,
    calibration: Optional[Path] = None,
    else_float: bool = False,
    gpu_id: int = -1,
) -> Optional[OptimizeResult]:
    """``optimize`` as the CLI runs it: load ``pipeline`` on the CPU, :func:`optimize` it on ``dev``, and
    save to ``output`` the int8 copy (its graph in the component's model folder, dtype int8 and its own
    temperature and thresholds in config.cfg) with optimize.json. If no recipe passes the gate, raise
    :class:`ConfigError` with the figures; with ``else_float``, save the float pipeline there instead. With a
    ``gpu_id`` (a GPU run), save the float pipeline and return None: int8 is for reading on the CPU."""
    from ..output_paths import check_output
    from ..pipeline.load import load_pipeline

    check_output(output, "folder", "OUTPUT")
    if Path(pipeline).exists() and output.resolve() == Path(pipeline).resolve():
        raise ConfigError(
            f"OUTPUT {output} is the pipeline itself; optimize writes a copy: choose another folder"
        )
    if gpu_id >= 0:
        nlp = load_pipeline(pipeline)
        name, _ = bert_ner_component(nlp, settings.component)
        output.mkdir(parents=True, exist_ok=True)
        nlp.to_disk(output)
        report: dict[str, Any] = {
            "pipeline": pipeline,
            "output": str(output),
            "component": name,
            "shipped": "float32",
        }
        report["reason"] = f"--gpu-id {gpu_id}: the pipeline reads on a GPU, and int8 is a CPU reading"
        report["host"] = this_host().as_dict()
        (output / "optimize.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        return None
    nlp = load_pipeline(pipeline)
    with tempfile.TemporaryDirectory(prefix="bert_ner_optimize_") as scratch:
        result = optimize(nlp, dev, settings, calibration, Path(scratch))
        if not result.passed and not else_float:
            raise ConfigError(result.refusal())
        component = nlp.get_pipe(result.component)
        assert isinstance(component, BertNER)
        chosen = settings_of(component)
        shipped = "float32"
        if result.passed and result.graph is not None:
            int8 = next(r for r in result.recipes if r.name == result.chosen)
            component.classifier.graphs.put("int8", result.graph, {"recipe": result.chosen})
            chosen.update(dtype="int8", temperature=int8.temperature, thresholds=int8.thresholds)
            requirements = nlp.meta.setdefault("requirements", [])
            if ONNX_RUNTIME_REQUIREMENT not in requirements:
                requirements.append(ONNX_RUNTIME_REQUIREMENT)  # spacy package puts it in the package's
            shipped = "int8"
        write_tuned(nlp, result.component, chosen, output)
    # which recipe wins depends on the CPU's int8 kernels: the host is recorded with the choice
    report = {**result.as_json(pipeline, dev, output, shipped), "host": this_host().as_dict()}
    if not result.passed:
        report["refused"] = result.refusal()
    (output / "optimize.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return result
