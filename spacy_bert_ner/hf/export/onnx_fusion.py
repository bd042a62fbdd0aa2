"""An exported BERT graph rewritten into ONNX Runtime's fused transformer kernels, so int8 reaches attention.

onnx, onnx_ir, onnxscript and onnxruntime only (the ``onnx`` extra; no spaCy). onnxscript's ORT fusions turn
the many small ops torch's exporter writes per layer into ONNX Runtime's contrib ops: one ``Attention``
(the Q, K and V projections, scores, softmax and weighted sum in one kernel), ``SkipLayerNormalization``
(residual add and layer norm) and ``BiasGelu``. Two changes then let ONNX Runtime's quantizer make each
Attention an int8 ``QAttention``: the padding mask reaches it as the model's ``attention_mask``
(``mask_index``, int32 [batch, length], the form QAttention reads) instead of the additive bias the exporter
computed from that same mask, and the equal Q/K/V sizes attribute, which the quantizer declines, is dropped.
The fused float graph is checked against the exported one on a padded batch before it is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy

from ...errors import FusionError
from .onnx_export import INPUT_NAMES, OUTPUT_NAME, require_onnx

MASK_INPUT = INPUT_NAMES[1]  # "attention_mask", int64 [batch, length]
MASK_INDEX = "attention_mask_int32"  # what each Attention reads as its mask_index
MS_DOMAIN = "com.microsoft"
MAX_LOGIT_DIFFERENCE = 1e-3  # fused against exported float logits, on real tokens of the check batch


def fuse_graph(float_graph: str | Path, output: str | Path) -> dict[str, int]:
    """Write ``float_graph`` (from :func:`~.onnx_export.export_onnx`) to ``output`` fused into ONNX
    Runtime's kernels, each Attention reading ``attention_mask`` as its mask; returns how many of each
    fused op it holds. Raises :class:`FusionError` when no attention fuses, when an attention's mask is more
    than the padding mask, or when the fused graph's logits differ from the exported graph's."""
    require_onnx("fusing an ONNX graph")
    import onnx

    try:
        import onnx_ir
        from onnxscript.rewriter.ort_fusions import optimize_for_ort
    except ImportError as error:  # an onnxscript older than its ORT fusions
        raise FusionError(
            f"fusing a graph needs onnxscript's ORT fusions ({error}): pip install -U onnxscript, or "
            "choose a recipe whose name does not end in -fused"
        ) from error

    fused, _ = optimize_for_ort(onnx_ir.load(str(float_graph)))
    model = onnx_ir.to_proto(fused)
    _mask_as_index(model, Path(float_graph).name)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(output))
    _check_logits(Path(float_graph), output, _vocabulary_size(model))
    counts: dict[str, int] = {}
    for node in model.graph.node:
        if node.domain == MS_DOMAIN:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def _mask_as_index(model: Any, name: str) -> None:
    """Each fused Attention reads the int32 ``attention_mask`` as its mask_index instead of the additive
    bias computed from it, and loses the equal ``qkv_hidden_sizes`` (both in place)."""
    from onnx import TensorProto, helper

    graph = model.graph
    attention = [n for n in graph.node if n.op_type == "Attention" and n.domain == MS_DOMAIN]
    if not attention:
        raise FusionError(
            f"{name}: onnxscript's ORT fusions found no attention to fuse in this model's graph; choose a "
            "recipe whose name does not end in -fused"
        )
    made_by = {out: node for node in graph.node for out in node.output}
    for node in attention:
        inputs = list(node.input) + [""] * (6 - len(node.input))
        if inputs[3] or inputs[4] or _graph_inputs_of(inputs[5], made_by) - {MASK_INPUT}:
            raise FusionError(
                f"{name}: attention {node.name} is masked by more than the padding mask; choose a recipe "
                "whose name does not end in -fused"
            )
        del node.input[:]
        node.input.extend([*inputs[:3], MASK_INDEX])
        sizes = [a for a in node.attribute if a.name == "qkv_hidden_sizes"]
        if sizes and len(set(sizes[0].ints)) == 1:
            node.attribute.remove(sizes[0])
    cast = helper.make_node("Cast", [MASK_INPUT], [MASK_INDEX], name="attention_mask_to_int32")
    cast.attribute.append(helper.make_attribute("to", TensorProto.INT32))
    graph.node.insert(0, cast)
    _drop_unused(graph)


SHAPE_OPS = ("Shape", "Size")  # read a tensor's shape, not its values


def _graph_inputs_of(value: str, made_by: dict[str, Any]) -> set[str]:
    """The graph inputs whose values ``value`` is computed from (initializers and constants are none; an
    input whose shape alone is read, as transformers 5 reads ``input_ids``' length, is none either)."""
    seen: set[str] = set()
    found: set[str] = set()
    todo = [value]
    while todo:
        name = todo.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        if name in made_by:
            if made_by[name].op_type not in SHAPE_OPS:
                todo.extend(made_by[name].input)
        else:
            found.add(name)
    return found & set(INPUT_NAMES)


def _drop_unused(graph: Any) -> None:
    """Remove the nodes and initializers nothing reads (the bias the Attentions no longer take)."""
    while True:
        read = {name for node in graph.node for name in node.input} | {out.name for out in graph.output}
        unused = [n for n in graph.node if not any(o in read for o in n.output)]
        if not unused:
            break
        for node in unused:
            graph.node.remove(node)
    for table in [t for t in graph.initializer if t.name not in read]:
        graph.initializer.remove(table)


def _vocabulary_size(model: Any) -> int:
    """Rows of the embedding table the graph looks ``input_ids`` up in."""
    graph = model.graph
    tables = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Gather" and node.input[1] == INPUT_NAMES[0] and node.input[0] in tables:
            return int(tables[node.input[0]].dims[0])
    raise FusionError("the fused graph looks input_ids up in no embedding table; it is not a BERT export")


def _check_logits(exported: Path, fused: Path, vocabulary: int) -> None:
    """The fused graph's logits on a padded batch are the exported graph's, on every real token."""
    import onnxruntime

    rng = numpy.random.default_rng(0)
    ids = rng.integers(1, vocabulary, size=(3, 24), dtype=numpy.int64)
    mask = numpy.ones_like(ids)
    mask[1, 15:], mask[2, 6:] = 0, 0
    feed = {INPUT_NAMES[0]: ids, MASK_INPUT: mask}
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    logits = [
        onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run(
            [OUTPUT_NAME], feed
        )[0]
        for path in (exported, fused)
    ]
    difference = float(numpy.abs(logits[0] - logits[1])[mask.astype(bool)].max())
    if not difference <= MAX_LOGIT_DIFFERENCE:
        raise FusionError(
            f"{fused.name}: the fused graph's logits differ from the exported graph's by {difference:.3g} "
            f"(more than {MAX_LOGIT_DIFFERENCE:g}); choose a recipe whose name does not end in -fused"
        )
