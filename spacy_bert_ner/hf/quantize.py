"""int8 reading on CPU: dynamic quantization of a token classifier's Linear layers (torch only, no spaCy).

The Linear layers' weights become int8 (per tensor); activations are quantized on the fly per batch. What
it costs and buys is measured in docs/measurements.md ("int8"). It uses
``torch.ao.quantization.quantize_dynamic``, which torch marks deprecated in favour of torchao but still ships
(2.13 here); its two deprecation warnings are silenced where it is called, and a torch without it gets a
one-line error naming the fix.
"""

from __future__ import annotations

import copy
import warnings

import torch

from ..errors import ConfigError

QUANTIZED_DEVICE_FIX = (
    'dtype "int8" is dynamic quantization for CPU inference; on a GPU use dtype "float16" or "bfloat16"'
)


def int8_model(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of float ``model`` (on the CPU) with every ``torch.nn.Linear`` dynamically quantized to int8;
    ``model`` itself is left as it is."""
    if next(model.parameters()).device.type != "cpu":
        raise ConfigError(QUANTIZED_DEVICE_FIX)
    quantization = getattr(torch.ao, "quantization", None)
    quantize_dynamic = getattr(quantization, "quantize_dynamic", None)
    if quantize_dynamic is None:
        raise ConfigError(
            f'dtype "int8": this torch ({torch.__version__}) no longer has torch.ao.quantization.'
            'quantize_dynamic; install torch 2.13 (setup.cfg) or read in dtype "float32"'
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.*deprecated")
        return quantize_dynamic(copy.deepcopy(model).float(), {torch.nn.Linear}, dtype=torch.qint8).eval()


def is_int8(model: torch.nn.Module) -> bool:
    """Whether ``model`` holds dynamically quantized Linear layers (made by :func:`int8_model`)."""
    return any(type(module).__module__.startswith("torch.ao.nn.quantized") for module in model.modules())
