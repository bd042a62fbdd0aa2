"""What runs a token classifier's forward pass: the runtimes, listed once (:data:`RUNTIMES`), each one
module implementing :class:`Runtime`, and the rule that picks one for a reading (:func:`open_runtime`).

torch and numpy here; ONNX Runtime only inside :mod:`.onnx_graph` (the ``onnx`` extra). No spaCy. A new
runtime is a module with the :class:`Runtime` interface and its line in :data:`RUNTIMES` (as
:mod:`.compiled` was added); :class:`~spacy_bert_ner.hf.inference.classifier.TokenClassifier` and
:mod:`~spacy_bert_ner.hf.inference.options` do not change.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Union

import numpy
import torch

from ....errors import ConfigError, ConfigWarning
from ...export.onnx_export import ONNX_EXTRA_FIX, runtime_installed
from ..graphs import ONNX_DTYPES, OnnxGraphs
from ..options import ReadingOptions
from .compiled import CompiledRuntime
from .onnx_graph import OnnxGraphRuntime
from .torch_model import TorchRuntime

if TYPE_CHECKING:
    from transformers import PreTrainedModel

# The dtype the torch weights are loaded in; "int8" keeps float32 weights and reads an int8 ONNX graph.
WEIGHT_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "int8": torch.float32,
}
ONNX_DEVICE_FIX = (
    'runtime "onnx" reads on the CPU; on a GPU set runtime "auto" (torch on the float weights) or "torch"'
)


class Runtime(Protocol):
    """What a token classifier asks of whatever runs its forward pass."""

    name: str  # as ReadingOptions.runtime names it: "torch", "onnx"

    @property
    def device(self) -> torch.device:
        """Where the inputs are read (the classifier reports it; spaCy's ``--gpu-id`` chooses it)."""
        ...

    @property
    def batch_dependent(self) -> bool:
        """Whether a sequence's logits depend on the sequences batched with it (dynamic int8)."""
        ...

    def logits(self, input_ids: numpy.ndarray, attention_mask: numpy.ndarray) -> torch.Tensor:
        """Logits [batch, length, n_labels] for int64 inputs [batch, length], without gradients."""
        ...

    def save(self, folder: Path) -> None:
        """Write into the model folder what this runtime reads beside the weights and tokenizer, and what
        the folder came with for other runtimes."""
        ...


RUNTIMES: dict[str, type[Union[TorchRuntime, OnnxGraphRuntime]]] = {
    TorchRuntime.name: TorchRuntime,
    OnnxGraphRuntime.name: OnnxGraphRuntime,
    CompiledRuntime.name: CompiledRuntime,
}


def open_runtime(model: "PreTrainedModel", options: ReadingOptions, graphs: OnnxGraphs) -> Runtime:
    """The runtime that reads as ``options`` say: its graph in a dtype from ``graphs`` where
    :func:`onnx_dtype` picks ONNX Runtime, else the runtime ``options.runtime`` names over the model
    ("auto": torch). A name :data:`RUNTIMES` lacks raises :class:`ConfigError` listing them."""
    if options.runtime != "auto" and options.runtime not in RUNTIMES:
        raise ConfigError(
            f"runtime {options.runtime!r} is not one of: auto, {', '.join(RUNTIMES)} "
            "(spacy_bert_ner.hf.inference.runtimes.RUNTIMES)"
        )
    dtype = onnx_dtype(options, graphs, next(model.parameters()).device)
    if dtype is not None:
        return OnnxGraphRuntime(model, graphs, dtype)
    name = TorchRuntime.name if options.runtime in ("auto", OnnxGraphRuntime.name) else options.runtime
    return RUNTIMES[name](model, graphs)


def onnx_dtype(options: ReadingOptions, graphs: OnnxGraphs, device: torch.device) -> str | None:
    """The dtype of the ONNX graph to read with ONNX Runtime, or None to run the torch model.

    ``runtime`` "torch" runs torch; "onnx" reads a graph in ``dtype`` (float32 or int8, CPU only); "auto"
    reads one when ``dtype`` is int8 or a graph in ``dtype`` was saved with the model, on the CPU; on a GPU
    it runs torch on the float weights (with a warning for int8). A saved float32 graph without onnxruntime
    installed falls back to torch with a warning; int8 needs it.
    """
    dtype = options.dtype
    if options.runtime not in ("auto", OnnxGraphRuntime.name):  # torch, or another runtime over the model
        if dtype == "int8":
            raise ConfigError(
                'dtype "int8" is read by ONNX Runtime: set runtime "auto" or "onnx", or dtype "float32"'
            )
        return None
    if options.runtime == "auto" and not (dtype == "int8" or graphs.saved(dtype)):
        return None
    if device.type != "cpu":
        if options.runtime == "onnx":
            raise ConfigError(f"{ONNX_DEVICE_FIX} (device {device})")
        if dtype == "int8":
            warnings.warn(
                f'dtype "int8" is a CPU reading (ONNX Runtime); on {device} bert_ner reads its float weights '
                "with torch",
                ConfigWarning,
                stacklevel=4,
            )
        return None  # auto: a GPU reads with torch, also when the folder holds a CPU graph
    if dtype not in ONNX_DTYPES:
        raise ConfigError(f'runtime "onnx" reads dtype float32 or int8, not {dtype!r}: set runtime "torch"')
    if dtype == "float32" and options.runtime == "auto" and not runtime_installed():
        warnings.warn(
            f"the model folder holds an ONNX graph, but onnxruntime is not installed: reading with torch "
            f"(slower). {ONNX_EXTRA_FIX}",
            ConfigWarning,
            stacklevel=4,
        )
        return None
    return dtype
