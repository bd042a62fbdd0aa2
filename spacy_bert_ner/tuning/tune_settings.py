"""What ``tune`` tries and how it chooses (:class:`TuneSettings`, with its :class:`Objective`), validated once
(:mod:`spacy_bert_ner.validation`); the CLI reads its option defaults here. No tuning code."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ..errors import ConfigError
from ..hf.inference.options import AGGREGATIONS, FORWARD_OPTIONS, Aggregation, DType, reading_options
from ..validation import INVALID_SETTING, settings
from .budget import Budget
from .timing import Timing

MIN_GAIN = 1.0  # F1 points the held-out halves must gain for tune to keep its temperature and thresholds
Tries = tuple[tuple[str, tuple[Any, ...]], ...]  # (("stride", (64, 96)), ("dtype", ("int8",)))


@settings("objective")
class Objective:
    """``f1``: the best F1; ``p`` / ``r``: reach ``target`` precision / recall per label or overall, with as
    much of the other as possible."""

    metric: Literal["f1", "p", "r"] = "f1"
    target: Optional[float] = Field(None, ge=0, le=1)
    scope: Literal["label", "overall"] = "label"

    def describe(self) -> str:
        if self.metric == "f1":
            return "best F1"
        name = "precision" if self.metric == "p" else "recall"
        return f"{name} >= {self.target:g} {'per label' if self.scope == 'label' else 'overall'}"


@settings("tune settings")
class TuneSettings:
    """What ``tune`` tries and how it chooses, checked once; the CLI and the library call build the same
    object.

    component: the bert_ner component's name (None: the pipeline's only one).
    contexts, packing, whole_docs, windows, dtypes: the input settings to try (:func:`.forward.input_grid`).
    tries: more values of any reading option of kind ``forward`` (``{"stride": (64, 96)}``), each tried
        with every input setting above; a new forward option in hf/inference/options.py can be tried here as
        it is.
    aggregations: the aggregations to try on each input setting's forward pass.
    thresholds, temperature: whether to choose per-label thresholds and fit the temperature.
    min_held_out_gain: the F1 points they must gain on held-out halves of dev to be kept (:mod:`.held_out`).
    """

    component: Optional[str] = None
    objective: Objective = Objective()
    contexts: Optional[tuple[int, ...]] = None
    packing: bool = True
    whole_docs: bool = False
    windows: Optional[tuple[int, ...]] = None
    dtypes: tuple[DType, ...] = ()
    tries: Tries = ()
    aggregations: tuple[Aggregation, ...] = AGGREGATIONS  # type: ignore[assignment]  # the Literal's values
    thresholds: bool = True
    temperature: bool = True
    min_held_out_gain: float = Field(MIN_GAIN, ge=0, le=100)  # F1 points
    progress: bool = True
    budget: Budget = Budget()
    timing: Timing = Timing()

    @field_validator("aggregations", "dtypes")
    @classmethod
    def _once_each(cls, values: tuple[str, ...], info: Any) -> tuple[str, ...]:
        if info.field_name == "aggregations" and not values:
            raise PydanticCustomError(INVALID_SETTING, f"name one or more of {', '.join(AGGREGATIONS)}")
        return tuple(dict.fromkeys(values))

    @field_validator("tries")
    @classmethod
    def _forward_options(cls, tries: Tries) -> Tries:
        """Each name a reading option of kind ``forward`` and each value valid for it; a name given twice
        (``--try stride=64 --try stride=96``) keeps both."""
        merged: dict[str, list[Any]] = {}
        for name, values in tries:
            if name not in FORWARD_OPTIONS:
                raise PydanticCustomError(
                    INVALID_SETTING,
                    f"{name} cannot be tried as an input setting; the reading options that change the "
                    f"model's input are {', '.join(FORWARD_OPTIONS)} (hf/inference/options.py, kind "
                    "'forward')",
                )
            for value in values:
                try:
                    reading_options(**{name: value})
                except ConfigError as err:
                    raise PydanticCustomError(INVALID_SETTING, str(err).replace("{", "(").replace("}", ")"))
                if value not in merged.setdefault(name, []):
                    merged[name].append(value)
        return tuple((name, tuple(values)) for name, values in merged.items())
