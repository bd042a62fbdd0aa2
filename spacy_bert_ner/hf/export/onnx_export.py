"""A token classifier as an ONNX graph that ONNX Runtime reads: export, and what its MatMuls compute.

torch, onnx and onnxscript only (the ``onnx`` extra). The graph takes ``input_ids`` and ``attention_mask``
(int64, [batch, length], both dimensions dynamic) and returns ``logits`` [batch, length, n_labels], the inputs
:class:`~spacy_bert_ner.hf.inference.classifier.TokenClassifier` gives its torch model. It is exported with
``torch.onnx.export(dynamo=True)``, the exporter torch maintains (the TorchScript one is deprecated).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import torch

from ...errors import ConfigError

ONNX_EXTRA_FIX = 'install the onnx extra in this checkout: pip install -e ".[onnx]"'
ONNX_MODULES = ("onnx", "onnxruntime", "onnxscript")  # the onnx extra: export, quantization and reading
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "logits"
WRAPPED = "model"  # the attribute of the exported wrapper that holds the model: its modules' name prefix


def runtime_installed() -> bool:
    """Whether ONNX Runtime is importable (all that reading a saved graph needs)."""
    return importlib.util.find_spec("onnxruntime") is not None


def require_onnx(what: str, modules: tuple[str, ...] = ()) -> None:
    """Raise :class:`ConfigError` naming ``what`` needed it and the extra to install, unless ``modules``
    (default: every module of the ``onnx`` extra) are importable."""
    missing = [name for name in modules or ONNX_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"{what} needs {', '.join(missing)}: {ONNX_EXTRA_FIX}")


class _Logits(torch.nn.Module):
    """A ``*ForTokenClassification`` model as a function of its two inputs, returning its logits only."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(model: torch.nn.Module, path: str | Path) -> Path:
    """Write float ``model`` (a ``*ForTokenClassification`` on the CPU, float32) to ``path`` as one ONNX
    file whose batch and length dimensions are dynamic; ``model`` is left as it is."""
    require_onnx("exporting a model to ONNX")
    parameter = next(model.parameters())
    if parameter.device.type != "cpu" or parameter.dtype != torch.float32:
        raise ConfigError(
            f"export_onnx: the model is {parameter.dtype} on {parameter.device}; export a float32 model "
            "on the CPU (load it with dtype float32, device cpu)"
        )
    wrapper = _Logits(model).eval()
    sample = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 4]], dtype=torch.int64)
    dynamic = torch.export.Dim.DYNAMIC
    shapes = {name: {0: dynamic, 1: dynamic} for name in INPUT_NAMES}
    program = torch.onnx.export(
        wrapper,
        (sample, torch.ones_like(sample)),
        input_names=list(INPUT_NAMES),
        output_names=[OUTPUT_NAME],
        dynamic_shapes=shapes,
        dynamo=True,
        optimize=True,
        verbose=False,
    )
    if program is None:  # only the deprecated TorchScript exporter returns None
        raise ConfigError(
            "torch.onnx.export returned no program; this torch's exporter is not the dynamo one"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path), external_data=False)
    return path


def linear_layers(graph: Any) -> dict[str, str]:
    """The graph's MatMul nodes that apply a Linear layer -> the layer's name in the torch model
    (``bert.encoder.layer.3.output.dense``, ``classifier``).

    The exporter records, per node, the torch op it came from and the module it ran in (metadata
    ``pkg.torch.onnx.fx_node`` and ``pkg.torch.onnx.name_scopes``); weight and bias names cannot tell it,
    since the exporter renames transposed weights and merges equal initializers. ``graph`` is an
    ``onnx.GraphProto`` exported by :func:`export_onnx`.
    """
    layers = {}
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        metadata = {prop.key: prop.value for prop in node.metadata_props}
        if "aten.linear" not in metadata.get("pkg.torch.onnx.fx_node", ""):
            continue
        scopes = ast.literal_eval(metadata.get("pkg.torch.onnx.name_scopes", "[]"))  # modules, then the op
        if len(scopes) >= 2:
            layers[node.name] = str(scopes[-2]).removeprefix(f"{WRAPPED}.")
    return layers
