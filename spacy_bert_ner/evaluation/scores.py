"""Entity scores: the one seqeval wrapper, the one JSON shape, and the HF course's subword-level metric.

seqeval and numpy only (no spaCy, no torch), so the train-hf recipe, the parity check and the report all
use it. The shape is spaCy's own keys::

    {"p": 0.91, "r": 0.90, "f": 0.905, "per_type": {"PER": {"p": ..., "r": ..., "f": ..., "support": 1842}}}

plus ``"accuracy"`` (tag accuracy) where it was asked for. Undefined ratios are 0 (precision with no
predicted entity, recall with no gold one); with no entity in either input every figure is None and
``per_type`` is empty, as spaCy's scorer reports it. :func:`from_spacy` reads spaCy's ``ents_*`` figures
(``spacy evaluate --output``) into the same shape.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Mapping, Sequence

import numpy
from seqeval.metrics import accuracy_score
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.metrics.sequence_labeling import precision_recall_fscore_support as default_prfs
from seqeval.metrics.v1 import precision_recall_fscore_support as strict_prfs
from seqeval.metrics.v1 import unique_labels
from seqeval.scheme import IOB2

from ..errors import ConfigError

Mode = Literal["default", "strict"]
Scores = dict[str, Any]  # the shape above
FIGURES = ("p", "r", "f")
IGNORE = -100  # the label id that torch's cross-entropy, the HF collator and the course's metric skip
SUBWORD_PREFIX = "subword_"  # the course metric's keys in the Trainer's logs: eval_subword_f, ...


def seqeval_scores(
    true: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    mode: Mode = "default",
    accuracy: bool = False,
) -> Scores:
    """seqeval's micro P/R/F and per-type P/R/F/support of tag sequences, in the shape above.

    ``mode="default"`` is conlleval's rule (:func:`spacy_bert_ner.bio.tags_to_spans`, what the HF course
    reports); ``"strict"`` is ``mode="strict", scheme=IOB2``: only ``B-X I-X*`` chunks count.
    ``accuracy`` adds the share of tags predicted right (None when there are no tags).
    """
    true = [list(tags) for tags in true]  # seqeval needs lists of lists (a tuple is taken for a tag)
    predicted = [list(tags) for tags in predicted]
    if mode == "default":
        types = sorted({t for t, _, _ in get_entities(true)} | {t for t, _, _ in get_entities(predicted)})
        prfs: Any = default_prfs
        kwargs: dict[str, Any] = {}
    elif mode == "strict":
        types = unique_labels(true, predicted, IOB2) if true else []
        prfs, kwargs = strict_prfs, {"scheme": IOB2}
    else:
        raise ConfigError(f"mode must be 'default' or 'strict', got {mode!r}")
    scores: Scores = {"p": None, "r": None, "f": None, "per_type": {}}
    if types:
        p, r, f, support = prfs(true, predicted, average=None, zero_division=0, **kwargs)
        micro = prfs(true, predicted, average="micro", zero_division=0, **kwargs)
        scores = {
            "p": float(micro[0]),
            "r": float(micro[1]),
            "f": float(micro[2]),
            "per_type": {
                type_: {"p": float(p[i]), "r": float(r[i]), "f": float(f[i]), "support": int(support[i])}
                for i, type_ in enumerate(types)
            },
        }
    if accuracy:
        has_tags = any(len(tags) for tags in true)
        scores["accuracy"] = float(accuracy_score(true, predicted)) if has_tags else None
    return scores


def from_spacy(figures: Mapping[str, Any]) -> Scores:
    """spaCy's NER figures (``ents_p``, ``ents_r``, ``ents_f``, ``ents_per_type``) in the shape above
    (spaCy gives no per-type support)."""
    per_type = figures.get("ents_per_type") or {}
    return {
        **{key: figures.get(f"ents_{key}") for key in FIGURES},
        "per_type": {type_: {key: per_type[type_][key] for key in FIGURES} for type_ in sorted(per_type)},
    }


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
    """:func:`course_scores` as the Trainer's ``compute_metrics``: ``subword_p``, ``subword_r``, ``subword_f``,
    ``subword_accuracy`` (the Trainer prefixes ``eval_``). The Trainer's logs and ``metric_for_best_model``
    need numbers, so an undefined figure (no entity anywhere) is logged as 0, as the course's
    ``evaluate.load("seqeval")`` does."""

    def compute_metrics(eval_prediction: Any) -> dict[str, float]:
        scores = course_scores(eval_prediction.predictions, eval_prediction.label_ids, labels)
        return {f"{SUBWORD_PREFIX}{key}": scores[key] or 0.0 for key in (*FIGURES, "accuracy")}

    return compute_metrics
