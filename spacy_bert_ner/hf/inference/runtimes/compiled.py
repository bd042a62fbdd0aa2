"""The torch.compile runtime: the model compiled by TorchInductor for any batch and length
(``dynamic=True``), on its device and in its dtype. Each process compiles on its first forward pass (tens of
seconds for MiniLM on 2 CPU cores; a batch of one sequence compiles once more), which needs a C++ compiler
on the CPU; what it buys is measured in docs/measurements.md ("A third runtime: torch.compile")."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import torch

from ....errors import ConfigError
from ..graphs import OnnxGraphs
from .torch_model import TorchRuntime

if TYPE_CHECKING:
    from transformers import PreTrainedModel


class CompiledRuntime(TorchRuntime):
    """Runs ``torch.compile(model, dynamic=True)``; saves what :class:`TorchRuntime` saves (the compiled
    code is not saved: each process compiles again)."""

    name = "compile"
    backend = "inductor"  # torch.compile's default; "eager" only traces (tests of the seam)

    def __init__(self, model: "PreTrainedModel", graphs: OnnxGraphs) -> None:
        super().__init__(model, graphs)
        if self.backend == "inductor" and self.device.type == "cpu" and not compiler_found():
            raise ConfigError(
                'runtime "compile" builds C++ kernels on the CPU and found no compiler (CXX, c++, g++, '
                'clang++): install one (e.g. apt install g++) or set runtime "torch"'
            )
        self.forward = torch.compile(model, dynamic=True, backend=self.backend)


def compiler_found() -> bool:
    """Whether TorchInductor's CPU code generation will find a C++ compiler."""
    names = [os.environ.get("CXX", ""), "c++", "g++", "clang++"]
    return any(name and shutil.which(name) for name in names)
