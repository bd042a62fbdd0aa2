"""Sentences as model inputs for training: one per sentence (or packed), with document context either side,
subword labels aligned the course's way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy
from transformers import (
    PreTrainedTokenizerFast,
)

from ...errors import (
    ConfigError,
    ModelError,
)
from ..inference.context import (
    largest_context,
    pack_segments,
    plain_encoder,
    special_tokens,
    tokenize_words,
    with_context,
)
from .align import Alignment, align_labels
from .labels import Documents
from .settings import HFTrainSettings


@dataclass
class Encoded:
    """One split as the Trainer sees it, plus what word-level evaluation needs."""

    dataset: Any  # datasets.Dataset: input_ids, attention_mask (token_type_ids), labels
    word_ids: list[list[Optional[int]]]  # per input: each subword's word, counted from the input's first word
    tags: list[list[str]]  # per sentence: the gold IOB2 tags of its words
    placements: list[tuple[int, int]]  # per sentence: its input, and its first word's number in that input
    n_words: int
    n_subwords: int
    n_truncated: int


@dataclass
class TrainingInput:
    """One model input of a split: its subword ids (special tokens included), each subword's word counted
    from the input's first word (None: a special token or context), and the sentences it labels."""

    ids: list[int]
    word_ids: list[Optional[int]]
    sentences: list[tuple[int, list[str]]]  # per sentence: its first word's number here, its gold tags
    truncated: bool  # a sentence too long for the input lost its last words

    @property
    def tags(self) -> list[str]:
        """The gold tags of the input's words, in order."""
        return [tag for _, tags in self.sentences for tag in tags]


def training_inputs(
    encoder: Any,
    documents: Documents,
    max_length: int,
    context: int = 0,
    pack_sentences: bool = False,
) -> list[TrainingInput]:
    """The documents as model inputs: one per sentence, or with ``pack_sentences`` consecutive sentences of a
    document sharing one while they fit with their context
    (:func:`~spacy_bert_ner.hf.inference.context.pack_segments`, the rule ``bert_ner``'s ``pack_sentences``
    reads by), each with up to ``context`` subwords of the same document on either side. Within ``max_length``
    the context shrinks first; a sentence longer than that is cut (as the tokenizer's ``truncation=True``
    cuts), with no context."""
    prefix, suffix = special_tokens(encoder)
    budget = max_length - len(prefix) - len(suffix)
    inputs = []
    all_words = [[word for words, _ in document for word in words] for document in documents]
    for document, pieces in zip(documents, tokenize_words(encoder, all_words), strict=True):
        bounds = numpy.cumsum([0] + [len(words) for words, _ in document]).tolist()
        ranges = [pieces.piece_range(bounds[k], bounds[k + 1]) for k in range(len(document))]
        groups = (
            pack_segments(ranges, len(pieces.ids), budget, context)
            if pack_sentences
            else [(k, k + 1) for k in range(len(document))]
        )
        for first, end in groups:
            first_word, end_word = bounds[first], bounds[end]
            start, stop = ranges[first][0], ranges[end - 1][1]
            truncated = False
            if stop - start > budget:  # one sentence (packing never builds a group that long)
                stop = start + budget  # cut, as truncation cuts; no context
                lo, hi = start, stop
                truncated = bool(pieces.word_ids[stop - 1] < end_word - 1)
            else:
                lo, hi = with_context(start, stop, len(pieces.ids), budget, context)
            word_ids: list[Optional[int]] = [
                *[None] * (len(prefix) + start - lo),
                *(pieces.word_ids[start:stop] - first_word).tolist(),
                *[None] * (hi - stop + len(suffix)),
            ]
            sentences = [(bounds[k] - first_word, list(document[k][1])) for k in range(first, end)]
            inputs.append(
                TrainingInput([*prefix, *pieces.ids[lo:hi].tolist(), *suffix], word_ids, sentences, truncated)
            )
    return inputs


def encode(
    tokenizer: PreTrainedTokenizerFast,
    documents: Documents,
    label2id: Mapping[str, int],
    alignment: Alignment,
    max_length: int,
    context: int = 0,
    pack_sentences: bool = False,
) -> Encoded:
    """A split as the Trainer's dataset (input ids, attention mask and token types as the model takes them,
    one label id per subword, -100 for special tokens and context) and what word-level evaluation needs,
    both derived from one :class:`TrainingInput` per model input (:func:`training_inputs`). Context 0
    without packing gives exactly what ``tokenizer(words, is_split_into_words=True, truncation=True,
    max_length=max_length)`` gives."""
    import datasets

    encoder = plain_encoder(tokenizer.backend_tokenizer)
    inputs = training_inputs(encoder, documents, max_length, context, pack_sentences)
    column_of: dict[str, Callable[[TrainingInput], list[int]]] = {
        "input_ids": lambda i: i.ids,
        "token_type_ids": lambda i: [0] * len(i.ids),
        "attention_mask": lambda i: [1] * len(i.ids),
    }
    unknown = [name for name in tokenizer.model_input_names if name not in column_of]
    if unknown:
        raise ModelError(
            f"the tokenizer's model inputs include {', '.join(unknown)}, which train-hf does not build "
            f"(it builds {', '.join(column_of)}); choose a BERT-style backbone"
        )
    columns = {name: [column_of[name](i) for i in inputs] for name in tokenizer.model_input_names}
    columns["labels"] = [align_labels(i.word_ids, i.tags, label2id, alignment) for i in inputs]
    placements = [(n, first) for n, i in enumerate(inputs) for first, _ in i.sentences]
    return Encoded(
        dataset=datasets.Dataset.from_dict(columns),
        word_ids=[i.word_ids for i in inputs],
        tags=[tags for i in inputs for _, tags in i.sentences],
        placements=placements,
        n_words=sum(len(i.tags) for i in inputs),
        n_subwords=sum(len(i.ids) for i in inputs),
        n_truncated=sum(i.truncated for i in inputs),
    )


def check_context(settings: HFTrainSettings, tokenizer: PreTrainedTokenizerFast, max_length: int) -> None:
    """``[model] context`` must leave room for a sentence: less than half an input of ``max_length``
    (bert_ner, which will use the recorded context, requires the same)."""
    context = settings.model.context
    most = largest_context(max_length - tokenizer.num_special_tokens_to_add())
    if context > most:
        raise ConfigError(
            f"{settings.field('model', 'context', context)}: more than half of an input of {max_length} "
            f"subwords; set it to at most {most} (64 is FLERT's choice), or raise [model] max_length"
        )
