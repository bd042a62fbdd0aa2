"""The int8 recipes by name: how a float graph's Linear layers become int8 (:mod:`.quantize` applies them).
A table, no model code: the CLI lists its names in help, and settings check them, without importing torch."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError


@dataclass(frozen=True)
class Int8Recipe:
    """How a float graph's Linear layers become int8.

    static: activation scales calibrated on sample batches (QDQ); otherwise computed per batch at reading.
    per_channel: one weight scale per output channel; otherwise one per weight matrix.
    keep_float: regular expressions; a Linear layer whose name (``bert.encoder.layer.3.output.dense``)
        one of them finds stays float32.
    reduce_range: weights in 7 bits: CPUs without VNNI (AVX2 only) multiply uint8 by int8 in pairs summed
        into int16, which saturates with full-range weights; 7 bits cannot.
    fused: the graph is first fused into ONNX Runtime's transformer kernels (:mod:`.onnx_fusion`), and each
        layer's attention becomes one int8 ``QAttention`` (its Q, K and V weights in 7 bits, per channel);
        dynamic recipes only.
    """

    name: str
    static: bool
    per_channel: bool
    keep_float: tuple[str, ...] = ()
    description: str = ""
    reduce_range: bool = False
    fused: bool = False

    def __post_init__(self) -> None:
        if self.fused and self.static:
            raise ConfigError(f"int8 recipe {self.name!r}: a fused graph is quantized dynamically only")


FFN_OUTPUT = r"\.layer\.\d+\.output\.dense$"  # each block's feed-forward output projection
CLASSIFIER = r"^classifier$"
INT8_RECIPES: dict[str, Int8Recipe] = {
    recipe.name: recipe
    for recipe in (
        Int8Recipe("dynamic", False, False, (), "every Linear layer, one weight scale per matrix"),
        Int8Recipe("dynamic-per-channel", False, True, (), "every Linear layer, a weight scale per channel"),
        Int8Recipe(
            "dynamic-per-channel-keep-ffn",
            False,
            True,
            (FFN_OUTPUT, CLASSIFIER),
            "per channel; the feed-forward output projections and the classifier stay float32",
        ),
        Int8Recipe(
            "dynamic-per-channel-7bit",
            False,
            True,
            (),
            "per channel, 7-bit weights (no int16 saturation on CPUs without VNNI)",
            reduce_range=True,
        ),
        Int8Recipe(
            "dynamic-per-channel-7bit-fused",
            False,
            True,
            (),
            "per channel, 7-bit, ONNX Runtime's fused attention, layer norm and GELU kernels, int8 attention",
            reduce_range=True,
            fused=True,
        ),
        Int8Recipe(
            "dynamic-per-channel-fused",
            False,
            True,
            (),
            "per channel, ONNX Runtime's fused attention, layer norm and GELU kernels, int8 attention",
            fused=True,
        ),
        Int8Recipe("static", True, True, (), "per channel, activation scales calibrated on training text"),
        Int8Recipe(
            "static-7bit",
            True,
            True,
            (),
            "static, 7-bit weights (no int16 saturation on CPUs without VNNI)",
            reduce_range=True,
        ),
        Int8Recipe(
            "static-keep-ffn",
            True,
            True,
            (FFN_OUTPUT, CLASSIFIER),
            "static; the feed-forward output projections and the classifier stay float32",
        ),
    )
}
# What OnnxGraphs.make quantizes by when no recipe is named (tune --dtypes int8, the benchmarks): the recipe
# optimize chose on the CPU profile's model (docs/measurements.md, "int8"); per channel, 7-bit weights, no
# calibration needed.
DEFAULT_RECIPE = "dynamic-per-channel-7bit"


def recipe_named(name: str) -> Int8Recipe:
    """The recipe called ``name``; an unknown name raises :class:`ConfigError` listing the known ones."""
    if name not in INT8_RECIPES:
        raise ConfigError(f"int8 recipe {name!r} is not one of: {', '.join(INT8_RECIPES)}")
    return INT8_RECIPES[name]
