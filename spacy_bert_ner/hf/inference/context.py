"""Document context: a sentence read with the wordpieces around it, in training and at prediction.

FLERT (Schweter & Akbik 2020) fine-tunes and predicts each sentence with up to 64 subwords of its document
on either side; the context wordpieces feed the model but are never labelled (-100 in training, dropped at
prediction). This module holds the rules both routes share, on wordpiece positions only (numpy and the Rust
tokenizer, no torch, no spaCy):

- :func:`tokenize_words`: a document's words (all its sentences) as one wordpiece sequence;
- :func:`with_context`: the input range of one segment: the segment plus up to ``context`` wordpieces each
  side, within the model's budget; the context shrinks before the segment is cut;
- :func:`pack_segments`: which consecutive segments share one input (``pack_sentences``) and still keep
  their context;
- :func:`largest_context`: less than half an input, the bound both routes check;
- :func:`read_recorded` / :func:`record_reading`: how a model's training inputs were built (context,
  packing, input length), kept in its config.json under :data:`CONFIG_KEY`, so ``bert_ner`` reads the
  same way by default.

Context never crosses a document: a caller tokenizes one document at a time.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy

from ...errors import ModelError

# config.json key of a model fine-tuned by train-hf: {"context": ..., "pack_sentences": ..., "window": ...}
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


def pack_segments(
    ranges: Sequence[tuple[int, int]], length: int, budget: int, context: int
) -> list[tuple[int, int]]:
    """Consecutive wordpiece ranges of a ``length``-wordpiece document grouped into shared inputs: a range
    joins the group before it while the group, from its first start to this range's end, still fits in
    ``budget`` with up to ``context`` wordpieces each side (fewer at the document's edges). Returns the
    groups as [first, end) indices into ``ranges``; a range too long to share stays alone."""
    groups: list[tuple[int, int]] = []
    for i, (_, end) in enumerate(ranges):
        if groups:
            lo = ranges[groups[-1][0]][0]
            if end - lo + min(context, lo) + min(context, length - end) <= budget:
                groups[-1] = (groups[-1][0], i + 1)
                continue
        groups.append((i, i + 1))
    return groups


def largest_context(content: int) -> int:
    """The most context a model input of ``content`` wordpieces (special tokens left out) can take: less than
    half of it, so that every input keeps room for the segment it labels."""
    return (content - 1) // 2


class Recorded(NamedTuple):
    """How train-hf read a model's training inputs (config.json :data:`CONFIG_KEY`); None: not recorded."""

    context: int | None = None  # subwords each side
    pack_sentences: bool | None = None  # several sentences per input
    window: int | None = None  # input length, special tokens included ([model] max_length)


RECORD_FORMAT = '{"context": N >= 0, "pack_sentences": true or false, "window": N > 0 (optional)}'


def read_recorded(model_config: Any, source: str = "the model") -> Recorded:
    """What ``model_config`` records of its training inputs; all None for a model that does not say."""
    entry = getattr(model_config, CONFIG_KEY, None)
    if entry is None:
        return Recorded()
    fix = f"it must be {RECORD_FORMAT}; remove the key for a model fine-tuned on single sentences"
    if not isinstance(entry, dict) or set(entry) - set(Recorded._fields):
        raise ModelError(f"{source}: config.json {CONFIG_KEY!r} is {entry!r}; {fix}")
    context, pack, window = (entry.get(field) for field in Recorded._fields)
    for name, value, least in (("context", context, 0), ("window", window, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ModelError(f"{source}: config.json {CONFIG_KEY!r} {name} is {value!r}; {fix}")
    if pack is not None and not isinstance(pack, bool):
        raise ModelError(f"{source}: config.json {CONFIG_KEY!r} pack_sentences is {pack!r}; {fix}")
    return Recorded(context, pack, window)


def record_reading(model_config: Any, context: int, pack_sentences: bool, window: int) -> None:
    """Note in ``model_config`` (saved into config.json) how the model's training inputs were built, so
    ``bert_ner`` reads text the same way by default."""
    setattr(
        model_config,
        CONFIG_KEY,
        {"context": int(context), "pack_sentences": bool(pack_sentences), "window": int(window)},
    )
