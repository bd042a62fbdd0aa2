"""How a reading's speed is measured, the same way by ``tune``, ``optimize`` and the benchmarks: a sample of
docs (the first, up to a word count), every reading timed once per round, round robin (so each sees the same
machine weather), every round kept: the best round is the figure (words/s), the median and the spread say how
much the machine moved it. No model code, no spaCy import (a doc is anything iterable over tokens with
``is_space``)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Mapping, TypeVar

from pydantic import Field

from ..validation import settings

Key = TypeVar("Key", bound=Hashable)


@settings("timing")
class Timing:
    """The best of ``rounds`` round-robin passes over the first dev docs, up to ``max_words`` words (one pass
    is noisy on a shared machine: 25% between runs was seen)."""

    rounds: int = Field(3, ge=1)
    max_words: int = Field(10_000, ge=1)


@dataclass
class Rounds:
    """The wall seconds of each timed round of one reading: the best (fastest) round is the figure a table
    reports, the median and the slowest show how much the machine moved it."""

    seconds: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> float:
        self.seconds.append(seconds)
        return seconds

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)

    @property
    def spread(self) -> float:
        """How much longer the slowest round took than the best: ``worst / best - 1`` (0.26: 26% longer);
        0 with one round."""
        return self.worst / self.best - 1

    def rate(self, work: float) -> float:
        """``work`` (words) per second of the best round: what "words/s" means in every table."""
        return work / self.best

    def spread_cell(self) -> str:
        """The spread as a table cell (``+26%``); ``-`` with one round, which has none."""
        return "-" if len(self.seconds) < 2 else f"+{self.spread * 100:.0f}%"

    def median_rate_cell(self, work: float) -> str:
        """``work`` per second of the median round (words/s) as a table cell; ``-`` with one round."""
        return "-" if len(self.seconds) < 2 else f"{work / self.median:,.0f}"

    def as_dict(self, work: float) -> dict[str, Any]:
        """The figures a result file keeps: words/s of the best and the median round, and the spread."""
        return {
            "words_per_second": round(self.rate(work), 1),
            "words_per_second_median": round(work / self.median, 1),
            "spread": round(self.spread, 3),
            "rounds": len(self.seconds),
        }


def sample_of(docs: Iterable[Any], max_words: int) -> tuple[list[Any], int]:
    """The first docs up to ``max_words`` words (at least one doc), and their word count (tokens that are
    not whitespace)."""
    sample: list[Any] = []
    words = 0
    for doc in docs:
        if sample and words >= max_words:
            break
        sample.append(doc)
        words += sum(not token.is_space for token in doc)
    return sample, words


def round_robin(runs: Mapping[Key, Callable[[], object]], rounds: int) -> dict[Key, Rounds]:
    """Each run timed once per round, ``rounds`` rounds, in the same order each round."""
    timed: dict[Key, Rounds] = {key: Rounds() for key in runs}
    for _ in range(rounds):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            timed[key].add(time.perf_counter() - start)
    return timed
