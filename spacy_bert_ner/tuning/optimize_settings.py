"""What ``optimize`` tries and accepts (:class:`OptimizeSettings`) and its defaults: the CLI reads its option
defaults and recipe names here. No model code (:mod:`.optimize` runs it)."""

from __future__ import annotations

from typing import Optional

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ..hf.export.int8_recipes import INT8_RECIPES
from ..validation import INVALID_SETTING, settings
from .timing import Timing

# Tried by default: the dynamic recipes that kept the CPU profile's dev F1 within 0.3 points when all were
# measured (docs/measurements.md, "int8": the static ones lost more, or read slower; the fused one without
# 7-bit weights lost 0.32); none needs calibration text. The others stay available with --recipes.
DEFAULT_RECIPES: tuple[str, ...] = (
    "dynamic-per-channel-7bit",
    "dynamic-per-channel",
    "dynamic-per-channel-keep-ffn",
    "dynamic-per-channel-7bit-fused",
)
# Tried by default as well when training text is given to calibrate them (--calibration, as the workflow's
# optimize-hf does): batched and batch-invariant, so on models that read short sentences they can be the
# only int8 copies faster than float (dynamic ones read each sequence alone: docs/measurements.md, "int8").
CALIBRATED_RECIPES: tuple[str, ...] = ("static-keep-ffn", "static-7bit")
CALIBRATION_DOCS = 64  # training docs whose model inputs calibrate a static recipe's activation scales
# Recipes reading within this fraction of the fastest one's words/s are equally fast: in two optimize runs on
# the CPU profile's model, a recipe's speed over float moved by up to 3.4% (keep-ffn 1.17x, then 1.13x),
# while per-channel and 7-bit read 1% apart, so noise chose the one losing twice the F1
# (docs/measurements.md, "int8").
SPEED_TOLERANCE = 0.05
# An int8 copy must read faster than the float pipeline; above 1 by more than the timing noise (a few %).
MIN_SPEEDUP = 1.05


def default_recipes(calibrated: bool) -> tuple[str, ...]:
    """The recipes tried when none are named: the dynamic ones, and with calibration text the static ones."""
    return DEFAULT_RECIPES + (CALIBRATED_RECIPES if calibrated else ())


@settings("optimize settings")
class OptimizeSettings:
    """What ``optimize`` tries and what it accepts.

    recipes: the int8 recipes to try (:data:`spacy_bert_ner.hf.export.int8_recipes.INT8_RECIPES`).
    max_f1_drop: the most dev F1 (in points, 0-100) the int8 copy may lose against the float pipeline.
    calibration_docs: how many training docs calibrate a static recipe.
    speed_tolerance: recipes within this fraction of the fastest recipe's words/s count as equally fast;
        of those within the gate, the one losing the least dev F1 is chosen.
    min_speedup: the least words/s an int8 copy must read at, as a multiple of the float pipeline's (0: any).
    """

    component: Optional[str] = None
    recipes: tuple[str, ...] = DEFAULT_RECIPES
    max_f1_drop: float = Field(0.3, ge=0, le=100)  # F1 points
    calibration_docs: int = Field(CALIBRATION_DOCS, ge=1)
    speed_tolerance: float = Field(SPEED_TOLERANCE, ge=0, lt=1)  # a fraction of the fastest one's words/s
    min_speedup: float = Field(MIN_SPEEDUP, ge=0)  # a multiple of the float pipeline's words/s; 0: any
    timing: Timing = Timing()
    progress: bool = True

    @field_validator("recipes")
    @classmethod
    def _known_recipes(cls, recipes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in recipes if name not in INT8_RECIPES]
        if unknown or not recipes:
            raise PydanticCustomError(INVALID_SETTING, f"name int8 recipes of: {', '.join(INT8_RECIPES)}")
        return tuple(dict.fromkeys(recipes))
