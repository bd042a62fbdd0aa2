"""int8 reading on CPU: an exported float32 ONNX graph quantized by ONNX Runtime, by one of a few recipes.

onnx and onnxruntime only (the ``onnx`` extra; no spaCy). A recipe says how the Linear layers' MatMuls
become int8: weight scales per tensor or per output channel; activation scales computed per batch
(dynamic) or calibrated once on a sample of training text (static, QDQ); and which layers stay float32
(in BERTs, the feed-forward output projections carry the activation outliers, and the classifier is
small). ``optimize`` tries them and keeps the one that reads fastest within an F1 gate; what each costs
and buys is measured in docs/measurements.md ("int8").
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy

from ...errors import ConfigError
from .int8_recipes import Int8Recipe
from .onnx_export import linear_layers, require_onnx
from .onnx_fusion import fuse_graph

Batch = Mapping[str, numpy.ndarray]  # {"input_ids": int64 [b, n], "attention_mask": int64 [b, n]}


def kept_float(graph_path: str | Path, recipe: Int8Recipe) -> list[str]:
    """The MatMul nodes of the float graph that ``recipe`` leaves in float32: those of the layers it keeps,
    and those that are no Linear layer (attention's products of two activations), as torch's int8 did."""
    import onnx

    graph = onnx.load(str(graph_path)).graph
    layers = linear_layers(graph)
    return sorted(
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and (node.name not in layers or any(re.search(rule, layers[node.name]) for rule in recipe.keep_float))
    )


class _Batches:
    """ONNX Runtime's ``CalibrationDataReader`` protocol over a list of batches."""

    def __init__(self, batches: Iterable[Batch]) -> None:
        self._batches: Iterator[Batch] = iter(batches)

    def get_next(self) -> dict[str, numpy.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else dict(batch)


def quantize_graph(
    float_graph: str | Path,
    output: str | Path,
    recipe: Int8Recipe,
    calibration: Iterable[Batch] = (),
) -> Path:
    """Write ``recipe``'s int8 copy of ``float_graph`` (from :func:`~.onnx_export.export_onnx`) to
    ``output``; a static recipe calibrates on ``calibration``: model inputs built from training text, as
    :meth:`~spacy_bert_ner.hf.inference.classifier.TokenClassifier.model_inputs` builds them.

    The float graph is first prepared as ONNX Runtime's quantizer asks (``quant_pre_process``: symbolic
    shape inference and basic graph optimization); it keeps node names, so the layers a recipe keeps float
    are found by name in the exported graph, whose nodes still say which torch module they ran in."""
    require_onnx("int8 quantization")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = float_graph
    batches = list(calibration)
    if recipe.static and not batches:
        raise ConfigError(
            f"int8 recipe {recipe.name!r} calibrates activation scales on sample text, and none was given: "
            "pass training docs (optimize --calibration), or choose a dynamic recipe"
        )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bert_ner_quantize_") as scratch:
        if recipe.fused:
            float_graph = Path(scratch) / "fused.onnx"
            fuse_graph(source, float_graph)
        exclude = kept_float(float_graph, recipe)
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(float_graph), str(prepared), auto_merge=True)
        return _quantize(prepared, output, recipe, batches, exclude)


def _quantize(
    prepared: Path, output: Path, recipe: Int8Recipe, batches: list[Batch], exclude: list[str]
) -> Path:
    """ONNX Runtime's dynamic or static quantizer on the prepared graph, as ``recipe`` says."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    if not recipe.static:
        quantize_dynamic(
            str(prepared),
            str(output),
            per_channel=recipe.per_channel,
            reduce_range=recipe.reduce_range,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"] if recipe.fused else ["MatMul"],
            nodes_to_exclude=exclude,
        )
        return output
    quantize_static(
        str(prepared),
        str(output),
        _Batches(batches),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul"],
        per_channel=recipe.per_channel,
        reduce_range=recipe.reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=exclude,
        calibrate_method=CalibrationMethod.MinMax,
    )
    return output
