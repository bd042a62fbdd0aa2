"""Word-level IOB2 tags <-> subword-level label ids, through a fast tokenizer's ``word_ids()``.

Pure Python: no torch, no spaCy. Two alignment rules for training:

- ``all_subwords`` (the Hugging Face course's ``align_labels_with_tokens``): every subword of a word gets
  the word's label, except that a ``B-X`` word's later subwords get ``I-X``;
- ``first_subword``: only a word's first subword is labelled, the later ones get -100 (ignored by the loss
  and by the course's ``compute_metrics``).

Special tokens (``word_id is None``) and every subword of a word tagged :data:`MISSING` (no NER annotation)
always get -100. Predictions go back to words by the first subword of each word, the rule the ``bert_ner``
component's default ``aggregation="first"`` uses.
"""

from __future__ import annotations

from typing import Literal, Mapping, Optional, Sequence

from ...bio import MISSING
from ...errors import ConfigError

IGNORE = -100  # the label id that torch's cross-entropy, the HF collator and the course's metric skip

Alignment = Literal["all_subwords", "first_subword"]
ALIGNMENTS: tuple[str, ...] = ("all_subwords", "first_subword")


def inside_tag(tag: str) -> str:
    """The tag a ``B-X`` word's later subwords get under ``all_subwords``: ``I-X``; other tags unchanged."""
    return "I" + tag[1:] if tag.startswith("B-") else tag


def check_label_set(labels: Sequence[str]) -> None:
    """Raise :class:`~spacy_bert_ner.errors.ConfigError` unless ``labels`` is a duplicate-free IOB2 set with
    ``O``, entity labels, and an ``I-X`` for every ``B-X`` (``all_subwords`` and multi-word entities need
    it)."""
    labels = list(labels)
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigError(f"labels listed twice: {duplicates}")
    bad = [label for label in labels if label != "O" and not (label[:2] in ("B-", "I-") and len(label) > 2)]
    if bad:
        raise ConfigError(f"labels {bad} are not O, B-TYPE or I-TYPE (IOB2)")
    if "O" not in labels:
        raise ConfigError("the labels have no 'O'")
    if len(labels) == 1:
        raise ConfigError("the labels have no entity labels (only 'O')")
    missing = sorted({inside_tag(label) for label in labels} - set(labels))
    missing += sorted({"B" + label[1:] for label in labels if label.startswith("I-")} - set(labels))
    if missing:
        raise ConfigError(f"the labels lack {missing}: every entity type needs both B-TYPE and I-TYPE")


def align_labels(
    word_ids: Sequence[Optional[int]],
    tags: Sequence[str],
    label2id: Mapping[str, int],
    alignment: Alignment = "all_subwords",
) -> list[int]:
    """One label id per subword from one IOB2 tag per word (``word_ids`` as a fast tokenizer returns them);
    a word tagged :data:`MISSING` gets -100 on every subword."""
    if alignment not in ALIGNMENTS:
        raise ConfigError(f"alignment must be one of {ALIGNMENTS}, got {alignment!r}")
    ids: list[int] = []
    previous: Optional[int] = None
    for word in word_ids:
        if word is None or tags[word] == MISSING:
            ids.append(IGNORE)
        elif word != previous:
            ids.append(label2id[tags[word]])
        elif alignment == "all_subwords":
            ids.append(label2id[inside_tag(tags[word])])
        else:
            ids.append(IGNORE)
        previous = word
    return ids


def first_subwords(word_ids: Sequence[Optional[int]], n_words: int) -> list[int]:
    """The position of each word's first subword; -1 for a word with none (whitespace, cut by truncation)."""
    positions = [-1] * n_words
    previous: Optional[int] = None
    for position, word in enumerate(word_ids):
        if word is not None and word != previous and positions[word] < 0:
            positions[word] = position
        previous = word
    return positions


def word_tags(
    predicted: Sequence[int], word_ids: Sequence[Optional[int]], n_words: int, id2label: Mapping[int, str]
) -> list[str]:
    """Per word, the label predicted at its first subword (``predicted``: one label id per subword); words
    with no subword get ``O``."""
    return [id2label[int(predicted[p])] if p >= 0 else "O" for p in first_subwords(word_ids, n_words)]
