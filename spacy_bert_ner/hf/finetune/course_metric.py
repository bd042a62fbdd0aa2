"""The HF course's ``compute_metrics``: seqeval over the subwords that carry a label, logged by the Trainer.

With ``all_subwords`` alignment every subword of a word counts, so an entity split into 3 subwords is a
3-token entity: this is not word-level F1 (the report explains the difference). numpy and seqeval only.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy

from ...scores import FIGURES, Scores, seqeval_scores
from .align import IGNORE

SUBWORD_PREFIX = "subword_"  # the course metric's keys in the Trainer's logs: eval_subword_f, ...


def course_scores(predictions: Any, label_ids: Any, labels: Sequence[str]) -> Scores:
    """The HF course's ``compute_metrics``: seqeval (default mode) over the subwords whose label is not -100,
    with tag accuracy.

    ``predictions``: label ids or logits (``batch x length [x labels]``); ``label_ids``: the gold ids with
    -100 for special tokens (and, with ``first_subword`` alignment, for later subwords); ``labels``: the
    label of each id. With ``all_subwords`` alignment every subword of a word counts, so an entity split into
    3 subwords is a 3-token entity: this is not word-level F1 (see the report's explanation).
    """
    predictions, label_ids = numpy.asarray(predictions), numpy.asarray(label_ids)
    if predictions.ndim == label_ids.ndim + 1:
        predictions = predictions.argmax(-1)
    true = [[labels[gold] for gold in row if gold != IGNORE] for row in label_ids]
    predicted = [
        [labels[pred] for pred, gold in zip(prow, lrow) if gold != IGNORE]
        for prow, lrow in zip(predictions, label_ids)
    ]
    return seqeval_scores(true, predicted, accuracy=True)


def course_compute_metrics(labels: Sequence[str]) -> Callable[[Any], dict[str, float]]:
    """:func:`course_scores` as the Trainer's ``compute_metrics``: ``subword_p``, ``subword_r``,
    ``subword_f``, ``subword_accuracy`` (the Trainer prefixes ``eval_``). The Trainer's logs and
    ``metric_for_best_model`` need numbers, so an undefined figure (no entity anywhere) is logged as 0, as
    the course's ``evaluate.load("seqeval")`` does."""

    def compute_metrics(eval_prediction: Any) -> dict[str, float]:
        scores = course_scores(eval_prediction.predictions, eval_prediction.label_ids, labels)
        return {f"{SUBWORD_PREFIX}{key}": scores[key] or 0.0 for key in (*FIGURES, "accuracy")}

    return compute_metrics
