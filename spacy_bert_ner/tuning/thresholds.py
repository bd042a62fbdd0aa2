"""Per-label score thresholds over scored entity predictions: the scores they give, and the search for them.

Pure numpy. The predictions of one setting are :class:`Candidates`: each predicted entity's label, score and
whether it matches a gold entity, with the gold entities counted per label. Dropping entities under a
threshold changes no other prediction, so the precision, recall and F1 of every threshold follow from
counting, without running the model again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import numpy

from ..errors import ConfigError, DataError
from ..scores import CountedScores

Thresholds = dict[str, float]  # label -> lowest score kept; labels not named keep every entity
Scope = Literal["label", "overall"]


@dataclass
class Candidates:
    """Scored predicted entities of one setting on a dataset, and the gold entities' count per label."""

    labels: numpy.ndarray  # str (object) [n]
    scores: numpy.ndarray  # float [n]
    correct: numpy.ndarray  # bool [n]: the entity (label, start, end) is a gold one
    gold: dict[str, int]

    def __post_init__(self) -> None:
        if not len(self.labels) == len(self.scores) == len(self.correct):
            raise DataError("Candidates: labels, scores and correct must have one entry per candidate")


def kept(candidates: Candidates, thresholds: Optional[Thresholds] = None) -> numpy.ndarray:
    """Which candidates reach their label's threshold."""
    thresholds = thresholds or {}
    floor = numpy.array([thresholds.get(label, 0.0) for label in candidates.labels], dtype=float)
    return candidates.scores >= floor


def score(candidates: Candidates, thresholds: Optional[Thresholds] = None) -> CountedScores:
    """The scores of the candidates that reach their thresholds."""
    keep = kept(candidates, thresholds)
    counts: dict[str, dict[str, int]] = {}
    for label in sorted(set(candidates.gold) | set(candidates.labels.tolist())):
        mine = keep & (candidates.labels == label)
        tp = int((mine & candidates.correct).sum())
        fp = int(mine.sum()) - tp
        counts[label] = {"tp": tp, "fp": fp, "fn": candidates.gold.get(label, 0) - tp}
    return CountedScores.from_counts(counts)


def _sweep(
    candidates: Candidates, label: Optional[str]
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Each distinct threshold worth trying for ``label`` (all labels: None), highest first, with the true
    and false positives kept at it; the last, 0, keeps all.

    A threshold sits halfway between two neighbouring distinct scores, not on a score: the pipeline batches
    its inputs differently from tune, and a score can move by float rounding (1e-7) between the two.
    """
    mine = numpy.ones(len(candidates.labels), bool) if label is None else candidates.labels == label
    scores, correct = candidates.scores[mine], candidates.correct[mine]
    order = numpy.argsort(-scores, kind="stable")
    scores, correct = scores[order], correct[order]
    if not len(scores):
        return numpy.zeros(1), numpy.zeros(1, int), numpy.zeros(1, int)
    tp, fp = numpy.cumsum(correct), numpy.cumsum(~correct)
    last = numpy.flatnonzero(
        numpy.r_[scores[1:] != scores[:-1], True]
    )  # the last of each run of equal scores
    below = numpy.r_[scores[last[:-1] + 1], 0.0]  # the next lower score (0 after the lowest)
    thresholds = (scores[last] + below) / 2
    thresholds[-1] = 0.0  # keeping every candidate needs no threshold
    return thresholds, tp[last], fp[last]


def best_f1(candidates: Candidates, rounds: int = 3) -> Thresholds:
    """Per-label thresholds that maximise the micro F1: each label's threshold in turn set to the one best
    for the overall F1 given the others, until a round changes nothing. Labels best without one are left
    out."""
    labels = sorted(set(candidates.labels.tolist()))
    chosen: Thresholds = {}
    n_gold = sum(candidates.gold.values())
    for _ in range(rounds):
        changed = False
        for label in labels:
            others = {k: v for k, v in chosen.items() if k != label}
            keep = kept(candidates, others) & (candidates.labels != label)
            tp_rest = int((keep & candidates.correct).sum())
            fp_rest = int(keep.sum()) - tp_rest
            thresholds, tp, fp = _sweep(candidates, label)
            tp_all, fp_all = tp + tp_rest, fp + fp_rest
            f1 = 2 * tp_all / numpy.maximum(2 * tp_all + fp_all + (n_gold - tp_all), 1)
            best = int(numpy.flatnonzero(f1 == f1.max())[-1])  # ties: the lowest threshold, keeping most
            value = float(thresholds[best])
            if chosen.get(label, 0.0) != value:
                changed = True
            if value > 0:
                chosen[label] = value
            else:
                chosen.pop(label, None)
        if not changed:
            break
    return chosen


@dataclass
class TargetResult:
    thresholds: Thresholds
    reached: dict[str, bool]  # label (or "overall") -> the target holds on this data


def for_target(
    candidates: Candidates, metric: Literal["p", "r"], target: float, scope: Scope
) -> TargetResult:
    """Thresholds for a precision or recall target, per label (each its own threshold) or overall (one
    threshold for all labels). Precision target: the lowest threshold whose precision reaches it (the most
    recall); if none does, the one with the highest precision. Recall target: the highest threshold whose
    recall still reaches it (the most precision); if even keeping all misses it, keep all."""
    if not 0 < target <= 1:
        raise ConfigError(f"a precision or recall target must be in (0, 1], got {target}")
    groups = [None] if scope == "overall" else sorted(set(candidates.labels.tolist()) | set(candidates.gold))
    chosen: Thresholds = {}
    reached: dict[str, bool] = {}
    for label in groups:
        thresholds, tp, fp = _sweep(candidates, label)
        n_gold = sum(candidates.gold.values()) if label is None else candidates.gold.get(label, 0)
        if metric == "p":
            values = numpy.where(tp + fp > 0, tp / numpy.maximum(tp + fp, 1), 1.0)
            ok = numpy.flatnonzero(values >= target)
            best = int(ok[-1]) if len(ok) else int(numpy.flatnonzero(values == values.max())[-1])
        else:
            values = tp / n_gold if n_gold else numpy.ones(len(tp))
            ok = numpy.flatnonzero(values >= target)
            best = int(ok[0]) if len(ok) else len(thresholds) - 1
        reached["overall" if label is None else label] = bool(len(ok))
        value = float(thresholds[best])
        if value > 0:
            for name in set(candidates.labels.tolist()) if label is None else {label}:
                chosen[name] = value
    return TargetResult(chosen, reached)
