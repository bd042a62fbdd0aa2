"""How far entity scores are from how often entities are right, and the temperature that brings them closer.

Pure numpy/scipy. An entity's score is the mean of its words' probabilities for their labels; it is
calibrated when, among entities scored about s, a share s is right. :func:`reliability` bins the scores,
:func:`expected_calibration_error` weighs each bin's gap by its size, and :func:`fit_temperature` finds the
one scalar that divides the logits so that the scores' log-likelihood of being right is highest.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy

N_BINS = 10


@dataclass
class Bin:
    low: float
    high: float
    n: int
    mean_score: float  # nan when empty
    precision: float  # share of the bin's entities that are right; nan when empty

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def reliability(scores: numpy.ndarray, correct: numpy.ndarray, n_bins: int = N_BINS) -> list[Bin]:
    """Scores in ``n_bins`` equal-width bins over [0, 1] (the last includes 1): per bin, how many entities,
    their mean score and the share that is right."""
    scores, correct = numpy.asarray(scores, float), numpy.asarray(correct, bool)
    index = numpy.minimum((scores * n_bins).astype(int), n_bins - 1)
    bins = []
    for b in range(n_bins):
        inside = index == b
        n = int(inside.sum())
        mean = float(scores[inside].mean()) if n else float("nan")
        precision = float(correct[inside].mean()) if n else float("nan")
        bins.append(Bin(b / n_bins, (b + 1) / n_bins, n, mean, precision))
    return bins


def expected_calibration_error(scores: numpy.ndarray, correct: numpy.ndarray, n_bins: int = N_BINS) -> float:
    """Sum over bins of (share of entities in the bin) x |precision - mean score|; 0 for no entities."""
    total = len(scores)
    if not total:
        return 0.0
    return float(
        sum(
            b.n / total * abs(b.precision - b.mean_score) for b in reliability(scores, correct, n_bins) if b.n
        )
    )


def log_loss(scores: numpy.ndarray, correct: numpy.ndarray) -> float:
    """Mean negative log-likelihood of ``correct`` under ``scores`` read as probabilities of being right."""
    s = numpy.clip(numpy.asarray(scores, float), 1e-7, 1 - 1e-7)
    return float(-numpy.mean(numpy.where(correct, numpy.log(s), numpy.log1p(-s)))) if len(s) else 0.0


def fit_temperature(
    scores_at: Callable[[float], numpy.ndarray], correct: numpy.ndarray, low: float = 0.05, high: float = 20.0
) -> float:
    """The temperature in [low, high] whose entity scores (``scores_at(t)``) have the least log loss against
    ``correct``; 1.0 when there is nothing to fit (no entities, or all right or all wrong)."""
    from scipy.optimize import minimize_scalar

    correct = numpy.asarray(correct, bool)
    if not len(correct) or correct.all() or not correct.any():
        return 1.0
    found = minimize_scalar(
        lambda log_t: log_loss(scores_at(math.exp(log_t)), correct),
        bounds=(math.log(low), math.log(high)),
        method="bounded",
        options={"xatol": 1e-3},
    )
    return float(round(math.exp(found.x), 4))
