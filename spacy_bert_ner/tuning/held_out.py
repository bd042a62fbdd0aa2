"""Whether ``tune``'s choices hold beyond the dev docs they were made on: the reading (input setting and
aggregation, :func:`check_reading`) and the temperature and thresholds (:func:`check_held_out`).

Per-label thresholds fitted to a small dev set can fit its noise and lower F1 on new text. So dev is cut in
two halves (alternate docs), the temperature and thresholds are fitted on one half and scored on the other,
both ways; ``tune`` keeps them only when the two held-out halves, pooled, score an F1 at least ``min_gain``
points better with them than without (temperature 1, no thresholds). A smaller gain is within the noise of a
dev half of a few hundred entities: on WNUT-17 (500 sentences to all of train), held-out gains of 0.28-0.92
points became test losses of 0.20-0.63, while gains of 0.90-3.52 on CoNLL-2003 and small WNUT-17 corpora
held or grew on test (docs/own-data.md, the small-corpora table). Counting only: the forward pass is the one
``tune`` already made. The reading is checked the same way: each half picks the reading with its best F1, the
other half scores it beside the pipeline's own reading; a reading gaining less than ``min_gain`` there is
noise too (on WNUT-17's first 500 sentences, packing gained 0.80 on dev and lost 1.02 on test).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Sequence, TypeVar

import numpy

from ..hf.inference.options import Aggregation
from ..pipeline.bert_ner import BertNER
from ..scores import CountedScores
from .calibration import fit_temperature
from .forward import Cached, Dataset, Decoded, decode, scores_at_temperature
from .thresholds import Candidates, Thresholds, best_f1, score
from .tune_settings import MIN_GAIN

Key = TypeVar("Key", bound=Hashable)  # a reading: (input setting, aggregation)
HALVES = ("even", "odd")  # the docs of dev at even and at odd positions


def f1_gain(before: CountedScores, after: CountedScores) -> float:
    """The F1 points ``after`` gains over ``before``."""
    return 100 * (after.f - before.f)


def clears(points: float, min_gain: float) -> bool:
    """Whether a held-out gain of ``points`` is more than dev's noise: positive and at least ``min_gain``
    (the one rule for the reading, the temperature and the thresholds)."""
    return points > 0 and points >= min_gain - 1e-9


@dataclass
class HalfCheck:
    """What one half fitted, and the other half's scores without and with it."""

    fitted_on: str
    temperature: float
    thresholds: Thresholds
    untuned: CountedScores  # the held-out half at temperature 1, no thresholds
    tuned: CountedScores  # the held-out half with this half's temperature and thresholds

    def as_dict(self) -> dict[str, Any]:
        return {
            "fitted_on": self.fitted_on,
            "scored_on": HALVES[1 - HALVES.index(self.fitted_on)],
            "temperature": self.temperature,
            "thresholds": self.thresholds,
            "untuned": self.untuned.as_dict(),
            "tuned": self.tuned.as_dict(),
        }


@dataclass
class HeldOut:
    """Both halves' checks and their pooled held-out scores; :attr:`kept` decides."""

    halves: list[HalfCheck]
    untuned: CountedScores
    tuned: CountedScores
    min_gain: float = MIN_GAIN  # F1 points

    @property
    def gain(self) -> float:
        """F1 points the held-out halves gain with the temperature and thresholds."""
        return f1_gain(self.untuned, self.tuned)

    @property
    def kept(self) -> bool:
        return clears(self.gain, self.min_gain)

    def reason(self) -> str:
        """One line: what the held-out halves scored, and what tune does with it."""
        figures = (
            f"fitted on one half of dev and scored on the other, both ways, F1 {100 * self.untuned.f:.2f} "
            f"without them, {100 * self.tuned.f:.2f} with them ({self.gain:+.2f})"
        )
        if self.kept:
            return f"temperature and thresholds kept: {figures}"
        if self.gain > 0:
            return (
                f"temperature and thresholds left out (temperature 1, no thresholds): {figures}, under the "
                f"{self.min_gain:g} points a gain must reach to be more than this dev set's noise "
                "(--min-held-out-gain)"
            )
        return (
            f"temperature and thresholds left out (temperature 1, no thresholds): {figures}, so on this dev "
            "set they fit its noise; a larger dev set may let them help"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "gain": round(self.gain, 3),
            "min_gain": self.min_gain,
            "reason": self.reason(),
            "untuned": self.untuned.as_dict(),
            "tuned": self.tuned.as_dict(),
            "halves": [half.as_dict() for half in self.halves],
        }


def gold_per_half(data: Dataset) -> list[Counter]:
    """The gold entities per label of each half of dev (docs the scorer skips left out)."""
    counts: list[Counter] = [Counter(), Counter()]
    for index, example in enumerate(data.examples):
        if example.reference.has_annotation("ENT_IOB"):
            counts[index % 2].update(ent.label_ for ent in example.reference.ents)
    return counts


def half(decoded: Decoded, gold: Counter, which: int) -> tuple[Candidates, numpy.ndarray]:
    """The candidates of the docs of one half, and which of all candidates they are."""
    mine = decoded.where[:, 0] % 2 == which if len(decoded.where) else numpy.zeros(0, bool)
    c = decoded.candidates
    return Candidates(c.labels[mine], c.scores[mine], c.correct[mine], dict(gold)), mine


def pooled(scores: Sequence[CountedScores]) -> CountedScores:
    """The scores of the halves' counts added up."""
    counts: dict[str, dict[str, int]] = {}
    for part in scores:
        for label, c in part.counts.items():
            total = counts.setdefault(label, {"tp": 0, "fp": 0, "fn": 0})
            for key in total:
                total[key] += c[key]
    return CountedScores.from_counts(counts)


def check_held_out(
    component: BertNER,
    data: Dataset,
    cached: Cached,
    aggregation: Aggregation,
    temperature: bool,
    thresholds: bool,
    min_gain: float = MIN_GAIN,
) -> HeldOut:
    """Fit the temperature (if ``temperature``) and best-F1 thresholds (if ``thresholds``) on each half of
    dev and score them on the other; ``decode`` at temperature 1 is the untuned reading."""
    untempered = decode(component, data, cached, aggregation, 1.0)
    gold = gold_per_half(data)
    scores_at = scores_at_temperature(cached, data.docs, aggregation, untempered)
    checks = []
    for which in (0, 1):
        fit_on, fit_mask = half(untempered, gold[which], which)
        fitted_temperature = 1.0
        if temperature:
            fitted_temperature = fit_temperature(lambda t: scores_at(t)[fit_mask], fit_on.correct)
        calibrated = decode(component, data, cached, aggregation, fitted_temperature)
        fitted = best_f1(half(calibrated, gold[which], which)[0]) if thresholds else {}
        other = 1 - which
        checks.append(
            HalfCheck(
                HALVES[which],
                fitted_temperature,
                fitted,
                score(half(untempered, gold[other], other)[0]),
                score(half(calibrated, gold[other], other)[0], fitted),
            )
        )
    return HeldOut(checks, pooled([c.untuned for c in checks]), pooled([c.tuned for c in checks]), min_gain)


@dataclass
class ReadingCheck:
    """The reading each half of dev picked (best F1) scored on the other half, pooled, beside the pipeline's
    own reading there; :attr:`kept` decides whether ``tune`` may change the reading."""

    picks: list[str]  # what the even half picked, then the odd half
    default: CountedScores  # the pipeline's reading, on both held-out halves
    chosen: CountedScores  # each half's pick, scored on the other
    min_gain: float = MIN_GAIN

    @property
    def gain(self) -> float:
        return f1_gain(self.default, self.chosen)

    @property
    def kept(self) -> bool:
        return clears(self.gain, self.min_gain)

    def reason(self) -> str:
        figures = (
            f"the reading picked on one half of dev ({' / '.join(dict.fromkeys(self.picks))}) scored on the "
            f"other, both ways: F1 {100 * self.chosen.f:.2f} against {100 * self.default.f:.2f} for the "
            f"pipeline's own reading ({self.gain:+.2f})"
        )
        if self.kept:
            return f"reading chosen on dev: {figures}"
        return (
            f"the pipeline's own reading kept: {figures}, under the {self.min_gain:g} points a gain must "
            "reach to be more than this dev set's noise (--min-held-out-gain)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "gain": round(self.gain, 3),
            "min_gain": self.min_gain,
            "picks": self.picks,
            "reason": self.reason(),
            "default": self.default.as_dict(),
            "chosen": self.chosen.as_dict(),
        }


def check_reading(
    decoded: Mapping[Key, Decoded],
    names: Mapping[Key, str],
    default: Key,
    data: Dataset,
    min_gain: float = MIN_GAIN,
) -> ReadingCheck:
    """Each half of dev picks, of the readings ``decoded`` holds (at temperature 1, no thresholds), the one
    with its best F1 (ties: the pipeline's own, ``default``); the other half scores that pick and the
    default."""
    gold = gold_per_half(data)
    picks, chosen, kept_default = [], [], []
    for which in (0, 1):
        on_half = {key: score(half(d, gold[which], which)[0]).f for key, d in decoded.items()}
        best = max(decoded, key=lambda key: (on_half[key], key == default))
        other = 1 - which
        picks.append(names[best])
        chosen.append(score(half(decoded[best], gold[other], other)[0]))
        kept_default.append(score(half(decoded[default], gold[other], other)[0]))
    return ReadingCheck(picks, pooled(kept_default), pooled(chosen), min_gain)
