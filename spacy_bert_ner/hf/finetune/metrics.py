"""What train-hf scores: word-level tags from subword predictions (the bert_ner rule), the course's metrics
during training, word-level seqeval at the end."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy
import torch

from ...scores import seqeval_scores
from .align import word_tags
from .course_metric import course_compute_metrics
from .encoding import Encoded
from .labels import known_tags


def _argmax(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``preprocess_logits_for_metrics``: keep each subword's best label id instead of all its logits."""
    return logits.argmax(-1)


def word_level_tags(
    predicted: numpy.ndarray, encoded: Encoded, id2label: Mapping[int, str]
) -> list[list[str]]:
    """Per sentence and word, the label predicted at the word's first subword (``O`` if it has none)."""
    input_words = [0] * len(encoded.word_ids)
    for (i, first), sentence_tags in zip(encoded.placements, encoded.tags):
        input_words[i] = max(input_words[i], first + len(sentence_tags))
    per_input = [
        word_tags(predicted[i], word_ids, input_words[i], id2label)
        for i, word_ids in enumerate(encoded.word_ids)
    ]
    return [
        per_input[i][first : first + len(sentence_tags)]
        for (i, first), sentence_tags in zip(encoded.placements, encoded.tags)
    ]


def training_metrics(labels: Sequence[str], dev: Encoded) -> Callable[[Any], dict[str, float]]:
    """The Trainer's ``compute_metrics`` for dev: the course's subword-level scores and the word-level entity
    scores (``word_p``, ``word_r``, ``word_f``: what ``bert_ner`` gets, the metric the best checkpoint and
    early stopping follow); an undefined figure is logged as 0."""
    course = course_compute_metrics(labels)
    id2label = dict(enumerate(labels))

    def compute_metrics(eval_prediction: Any) -> dict[str, float]:
        scores = word_scores(dev.tags, word_level_tags(eval_prediction.predictions, dev, id2label))
        words = {f"word_{key}": scores[key] or 0.0 for key in ("p", "r", "f")}
        return {**course(eval_prediction), **words}

    return compute_metrics


def word_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Word-level seqeval with tag accuracy; a gold word with no annotation (:data:`.align.MISSING`) is read
    as ``O``, so an entity predicted there is a false positive and ``O`` is right."""
    return seqeval_scores([known_tags(tags) for tags in gold], predicted, accuracy=True)
