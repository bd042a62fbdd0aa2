"""The torch runtime: the ``*ForTokenClassification`` model itself runs the forward pass, on its device and
in the dtype its weights were loaded in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy
import torch

from ..graphs import OnnxGraphs

if TYPE_CHECKING:
    from transformers import PreTrainedModel


class TorchRuntime:
    """Runs ``model``; ``graphs`` are the ONNX graphs the model folder holds, saved with it unread."""

    name = "torch"
    batch_dependent = False  # padding is masked out, and every op works per sequence

    def __init__(self, model: "PreTrainedModel", graphs: OnnxGraphs) -> None:
        self.model = model
        self.graphs = graphs
        self.forward: Any = model  # what logits calls: the model, or a compiled wrapper of it

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def logits(self, input_ids: numpy.ndarray, attention_mask: numpy.ndarray) -> torch.Tensor:
        device = self.device
        with torch.inference_mode():
            return self.forward(
                input_ids=torch.from_numpy(input_ids).to(device),
                attention_mask=torch.from_numpy(attention_mask).to(device),
            ).logits

    def save(self, folder: Path) -> None:
        self.graphs.save(folder, lambda dtype: dtype in self.graphs.kept)
