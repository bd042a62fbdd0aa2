"""Document context: a sentence read with the wordpieces around it, in training and at prediction.

FLERT (Schweter & Akbik 2020) fine-tunes and predicts each sentence with up to 64 subwords of its document
on either side; the context wordpieces feed the model but are never labelled (-100 in training, dropped at
prediction). This module holds the rules both routes share, on wordpiece positions only (numpy and the Rust
tokenizer, no torch, no spaCy):

- :func:`tokenize_words`: a document's words (all its sentences) as one wordpiece sequence;
- :func:`with_context`: the input range of one segment: the segment plus up to ``context`` wordpieces each
  side, within the model's budget; the context shrinks before the segment is cut;
- :func:`largest_context`: less than half an input, the bound both routes check;
- :func:`read_context` / :func:`record_context`: the context a model was fine-tuned with, kept in its
  config.json under :data:`CONFIG_KEY`, so ``bert_ner`` uses it by default.

Context never crosses a document: a caller tokenizes one document at a time.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy

from ..errors import ModelError

# config.json key of a model fine-tuned by train-hf: {"context": subwords each side}
CONFIG_KEY = "spacy_bert_ner"


class Wordpieces(NamedTuple):
    """One document as wordpieces: their ids, and the index of the word each one belongs to."""

    ids: numpy.ndarray  # int64 [n_pieces]
    word_ids: numpy.ndarray  # int64 [n_pieces], non-decreasing

    def piece_range(self, first_word: int, end_word: int) -> tuple[int, int]:
        """The wordpieces [start, end) of the words [first_word, end_word)."""
        start, end = numpy.searchsorted(self.word_ids, [first_word, end_word])
        return int(start), int(end)


def plain_encoder(backend: Any) -> Any:
    """A copy of a Rust tokenizer (``PreTrainedTokenizerFast.backend_tokenizer``) that never truncates or
    pads (a tokenizer.json may ask for both)."""
    encoder = backend.from_str(backend.to_str())
    encoder.no_truncation()
    encoder.no_padding()
    return encoder


def special_tokens(encoder: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after one sequence ([CLS] / [SEP], <s> / </s>, ...)."""
    encoding = encoder.encode(["a"], is_pretokenized=True, add_special_tokens=True)
    mask = encoding.special_tokens_mask
    first = mask.index(0)
    last = len(mask) - mask[::-1].index(0)
    return encoding.ids[:first], encoding.ids[last:]


def tokenize_words(encoder: Any, documents: Sequence[Sequence[str]]) -> list[Wordpieces]:
    """Each document's words (pre-split, as ``is_split_into_words``) as one wordpiece sequence, no special
    tokens. Words are tokenized one by one, so a word's wordpieces do not depend on its neighbours."""
    encodings = encoder.encode_batch(
        [list(words) for words in documents], is_pretokenized=True, add_special_tokens=False
    )
    return [
        Wordpieces(numpy.asarray(enc.ids, dtype=numpy.int64), numpy.asarray(enc.word_ids, dtype=numpy.int64))
        for enc in encodings
    ]


def with_context(start: int, end: int, length: int, budget: int, context: int) -> tuple[int, int]:
    """The input range [lo, hi) for the segment [start, end) of a ``length``-wordpiece document: the segment
    plus up to ``context`` wordpieces each side (fewer at the document's edges), at most ``budget`` in all.

    When the budget is short, the context shrinks first, evenly (a side with less to give leaves the rest
    to the other); a segment longer than ``budget`` is the caller's to cut or window.
    """
    left, right = min(context, start), min(context, length - end)
    spare = max(0, budget - (end - start))
    if left + right > spare:
        half = spare // 2
        if left <= half:
            right = spare - left
        elif right <= spare - half:
            left = spare - right
        else:
            left, right = half, spare - half
    return start - left, end + right


def largest_context(content: int) -> int:
    """The most context a model input of ``content`` wordpieces (special tokens left out) can take: less than
    half of it, so that every input keeps room for the segment it labels."""
    return (content - 1) // 2


def read_context(model_config: Any, source: str = "the model") -> int | None:
    """The context (subwords each side) ``model_config`` records, or None for a model that does not say."""
    entry = getattr(model_config, CONFIG_KEY, None)
    if entry is None:
        return None
    context = entry.get("context") if isinstance(entry, dict) else None
    if isinstance(context, bool) or not isinstance(context, int) or context < 0:
        raise ModelError(
            f'{source}: config.json {CONFIG_KEY!r} is {entry!r}; it must be {{"context": N}} with N >= 0 '
            f"subwords (remove the key for a model fine-tuned on single sentences)"
        )
    return context


def record_context(model_config: Any, context: int) -> None:
    """Note in ``model_config`` (saved into config.json) that the model was fine-tuned with ``context``."""
    setattr(model_config, CONFIG_KEY, {"context": int(context)})
