"""The ONNX Runtime runtime: a float32 or int8 ONNX graph of the model
(:mod:`spacy_bert_ner.hf.inference.graphs`) read on the
CPU (the ``onnx`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy
import torch

from ..graphs import OnnxGraphs


class OnnxGraphRuntime:
    """Reads the graph in ``dtype`` of ``graphs``; saves it with the graphs the folder came with."""

    name = "onnx"

    def __init__(self, model: Any, graphs: OnnxGraphs, dtype: str = "float32") -> None:
        del model  # every runtime opens on (model, graphs); this one reads the graph instead
        self.graphs = graphs
        self.dtype = dtype
        self.session = graphs.session(dtype)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def batch_dependent(self) -> bool:
        return self.graphs.batch_dependent(self.dtype)

    def logits(self, input_ids: numpy.ndarray, attention_mask: numpy.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.session.logits(input_ids, attention_mask))

    def save(self, folder: Path) -> None:
        self.graphs.save(folder, lambda dtype: dtype in self.graphs.kept or dtype == self.dtype)
