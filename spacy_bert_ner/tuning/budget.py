"""What each reading ``tune`` tries costs, and the speed budget the chosen one must keep.

A reading's cost is the time it takes to read the first dev docs (:func:`.forward.time_settings`, the best of
a few round-robin rounds, :mod:`.timing`): words per second, and its time relative to the reference reading
(context 0, one sentence per input: the cheapest way to label sentences, and what the bare batched forward
pass of the model does). ``--max-time-ratio`` and ``--min-words-per-second`` keep the choice among readings
within budget; the objective picks among those. Costs can be given instead (``costs``), so a budget is
testable without a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pydantic import field_validator
from pydantic_core import PydanticCustomError

from ..errors import ConfigError
from ..validation import INVALID_SETTING, settings
from .input_setting import REFERENCE, InputSetting
from .timing import Rounds


@dataclass(frozen=True)
class Cost:
    """One reading's measured speed on the dev docs."""

    seconds: float  # reading the timing sample of dev docs (best of the timing rounds)
    words_per_second: float
    time_ratio: float  # seconds / the reference reading's seconds
    time_x_fastest: float  # seconds / the fastest reading's seconds
    rounds: Optional[Rounds] = None  # every timing round, when timed here (not when costs were given)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "forward_seconds": round(self.seconds, 3),
            "words_per_second": round(self.words_per_second, 1),
            "time_ratio": round(self.time_ratio, 3),
            "time_x_fastest": round(self.time_x_fastest, 3),
        }
        if self.rounds is not None:
            words = self.words_per_second * self.seconds
            out.update(self.rounds.as_dict(words))
        return out


def costs_of(
    seconds: Mapping[InputSetting, float],
    n_words: int,
    rounds: Optional[Mapping[InputSetting, Rounds]] = None,
) -> dict[InputSetting, Cost]:
    """Each reading's words/s and time relative to :data:`REFERENCE` (which ``seconds`` must hold) and to the
    fastest reading; with ``rounds`` (each reading's timing rounds, whose best is its ``seconds``), their
    median and spread too."""
    if REFERENCE not in seconds:
        raise ConfigError(
            f"tune: the reference reading ({REFERENCE.describe()}) was not timed; it is what every time "
            "ratio is relative to"
        )
    for setting, taken in seconds.items():
        if not (math.isfinite(taken) and taken > 0):
            raise ConfigError(
                f"tune: reading '{setting.describe()}' took {taken!r} s; a time must be above 0"
            )
    reference, fastest = seconds[REFERENCE], min(seconds.values())
    return {
        setting: Cost(taken, n_words / taken, taken / reference, taken / fastest, (rounds or {}).get(setting))
        for setting, taken in seconds.items()
    }


@settings("budget")
class Budget:
    """How slow the chosen reading may be: at most ``max_time_ratio`` times the reference reading's time,
    and at least ``min_words_per_second``; None: no limit."""

    max_time_ratio: Optional[float] = None
    min_words_per_second: Optional[float] = None

    @field_validator("max_time_ratio")
    @classmethod
    def _at_least_one(cls, ratio: Optional[float]) -> Optional[float]:
        if ratio is not None and not (math.isfinite(ratio) and ratio >= 1):
            raise PydanticCustomError(
                INVALID_SETTING,
                f"must be 1 or more (times the time of {REFERENCE.describe()}, which is 1 by definition)",
            )
        return ratio

    @field_validator("min_words_per_second")
    @classmethod
    def _above_zero(cls, speed: Optional[float]) -> Optional[float]:
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise PydanticCustomError(INVALID_SETTING, "must be above 0")
        return speed

    def allows(self, cost: Cost) -> bool:
        if self.max_time_ratio is not None and cost.time_ratio > self.max_time_ratio:
            return False
        return self.min_words_per_second is None or cost.words_per_second >= self.min_words_per_second

    def describe(self) -> str:
        parts = []
        if self.max_time_ratio is not None:
            parts.append(f"time <= {self.max_time_ratio:g}x {REFERENCE.describe()}")
        if self.min_words_per_second is not None:
            parts.append(f">= {self.min_words_per_second:,.0f} words/s")
        return " and ".join(parts) or "no limit"

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_time_ratio": self.max_time_ratio,
            "min_words_per_second": self.min_words_per_second,
            "reference": REFERENCE.as_config(),
            "description": self.describe(),
        }


def within(budget: Budget, costs: Mapping[InputSetting, Cost]) -> set[InputSetting]:
    """The readings ``budget`` allows; a budget none of them meets is an error naming the fastest."""
    allowed = {setting for setting, cost in costs.items() if budget.allows(cost)}
    if not allowed:
        fastest, cost = max(costs.items(), key=lambda item: item[1].words_per_second)
        raise ConfigError(
            f"tune: no reading tried keeps to the budget ({budget.describe()}); the fastest, "
            f"'{fastest.describe()}', read {cost.words_per_second:,.0f} words/s "
            f"({cost.time_ratio:.2f}x the reference). Lower --min-words-per-second, or use a GPU"
        )
    return allowed
