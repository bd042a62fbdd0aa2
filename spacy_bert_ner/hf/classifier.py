"""A Hugging Face token classifier that labels pre-split words: load, predict, save.

torch and transformers only (no spaCy). Words go in as they are (``is_split_into_words``) and come back
one label id and one probability per word, aligned through the tokenizer's ``word_ids``, never through
character offsets. Long inputs are cut into overlapping windows; every word takes its label from the
window where it sits farthest from an edge. All windows of a call are sorted by length and batched
under a wordpiece budget, each batch padded only to its own longest window.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, NamedTuple, Sequence

import numpy
import torch

from ..errors import ConfigError, ModelError
from .loading import label_names, load_word_tokenizer, max_input_length, require_fast, resolve_model

Aggregation = Literal["first", "average", "max"]
AGGREGATIONS: tuple[str, ...] = ("first", "average", "max")
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
ADD_PIPE_HINT = 'nlp.add_pipe("bert_ner", config={"model": "path/to/model-or-hub-id"})'
FAST_TOKENIZER_FIX = (
    "bert_ner needs one: save a fast tokenizer next to the model with "
    "AutoTokenizer.from_pretrained(<base model>, use_fast=True).save_pretrained(<model dir>)"
)


_classifier_made = False  # set once a TokenClassifier exists in this process


def _one_thread_in_forked_child() -> None:
    """A forked child whose parent already ran parallel torch ops (loading or running a model) deadlocks
    in its first parallel op (GNU OpenMP is not fork-safe); spaCy's ``nlp.pipe(n_process=...)`` forks. One
    torch thread per child avoids it, and is what n processes on n cores want anyway (torch's DataLoader
    workers do the same)."""
    if _classifier_made:
        torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_thread_in_forked_child)


class WordPredictions(NamedTuple):
    """One input's predictions: a label id per word (-1: the word has no wordpieces) and its probability."""

    label_ids: numpy.ndarray  # int64 [n_words]
    scores: numpy.ndarray  # float32 [n_words], 0.0 where label_ids is -1


class _Doc(NamedTuple):
    """One tokenized input: wordpiece ids, the word of each wordpiece, and its windows' start offsets."""

    ids: numpy.ndarray
    word_ids: numpy.ndarray
    starts: list[int]


class TokenClassifier:
    """Wraps a ``*ForTokenClassification`` model and its fast tokenizer to label lists of words.

    ``window`` is the length of one model input in wordpieces, special tokens included (default: the
    model's maximum); ``stride`` is how far consecutive windows of a long input advance (default: three
    quarters of a window's content, so windows overlap by a quarter). ``batch_size`` bounds the padded
    wordpieces (sequences x longest sequence) of one forward pass.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        *,
        aggregation: Aggregation = "first",
        window: int | None = None,
        stride: int | None = None,
        batch_size: int = 1024,
        source: str = "",
    ) -> None:
        global _classifier_made
        _classifier_made = True
        source = source or str(getattr(model.config, "name_or_path", "")) or "the model"
        require_fast(tokenizer, source, FAST_TOKENIZER_FIX)
        if aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.aggregation = aggregation
        self.source = source
        self.labels: tuple[str, ...] = tuple(label_names(model.config.id2label, source))
        # Our own copy of the Rust tokenizer, never truncating or padding (tokenizer.json may ask for both).
        self._encoder = tokenizer.backend_tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._encoder.no_truncation()
        self._encoder.no_padding()
        self._prefix, self._suffix = self._special_tokens()
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        limit = max_input_length(tokenizer, model.config)
        self.window = limit if window is None else window
        n_special = len(self._prefix) + len(self._suffix)
        if not n_special < self.window <= limit:
            raise ConfigError(
                f"window must be more than the {n_special} special tokens and at most the model's "
                f"maximum length {limit}, got {self.window}"
            )
        self.content = self.window - n_special  # wordpieces of text per window
        self.stride = max(1, self.content * 3 // 4) if stride is None else stride
        if not 0 < self.stride <= self.content:
            raise ConfigError(
                f"stride must be in 1..{self.content} (window {self.window} less special tokens), "
                f"got {self.stride}"
            )
        if batch_size < 1:
            raise ConfigError(f"batch_size (wordpieces per forward pass) must be positive, got {batch_size}")
        self.batch_size = batch_size

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after one sequence ([CLS] / [SEP], <s> / </s>, ...)."""
        encoding = self._encoder.encode(["a"], is_pretokenized=True, add_special_tokens=True)
        mask = encoding.special_tokens_mask
        first = mask.index(0)
        last = len(mask) - mask[::-1].index(0)
        return encoding.ids[:first], encoding.ids[last:]

    def _tokenize(self, docs: Sequence[Sequence[str]]) -> list[_Doc]:
        encodings = self._encoder.encode_batch(
            [list(words) for words in docs], is_pretokenized=True, add_special_tokens=False
        )
        out = []
        for enc in encodings:
            ids = numpy.asarray(enc.ids, dtype=numpy.int64)
            n = len(ids)
            if n <= self.content:
                starts = [0] if n else []
            else:
                starts = list(range(0, n - self.content, self.stride)) + [n - self.content]
            out.append(_Doc(ids, numpy.asarray(enc.word_ids, dtype=numpy.int64), starts))
        return out

    def _owners(self, doc: _Doc) -> numpy.ndarray:
        """The window each wordpiece of a long input takes its probabilities from.

        A word's context in a window is its distance to the nearer window edge; that is largest in the
        window whose start is nearest the start that would centre the word, so a binary search over the
        (sorted) starts finds it, ties going to the earlier window. A word that fits in no window (longer
        than a window, or across the edge of windows that do not overlap) is labelled by wordpiece instead:
        each of its wordpieces uses the window that centres that wordpiece.
        """
        starts = numpy.asarray(doc.starts)
        first = numpy.flatnonzero(numpy.r_[True, doc.word_ids[1:] != doc.word_ids[:-1]])
        last = numpy.r_[first[1:], len(doc.ids)] - 1
        best = self._nearest_window(starts, first, last)
        lengths = last - first + 1
        owners = numpy.repeat(best, lengths)
        outside = numpy.repeat((starts[best] > first) | (starts[best] + self.content <= last), lengths)
        if outside.any():
            pieces = numpy.flatnonzero(outside)
            owners[pieces] = self._nearest_window(starts, pieces, pieces)
        return owners

    def _nearest_window(
        self, starts: numpy.ndarray, first: numpy.ndarray, last: numpy.ndarray
    ) -> numpy.ndarray:
        """For wordpiece spans [first, last], the window (index into ``starts``) that centres them best."""
        centring = (first + last + 1 - self.content) / 2  # the start that would centre each span
        right = numpy.searchsorted(starts, centring).clip(1, len(starts) - 1)
        left = right - 1
        return numpy.where(centring - starts[left] <= starts[right] - centring, left, right)

    def _forward(self, sequences: list[numpy.ndarray]) -> list[numpy.ndarray]:
        """Label probabilities [len, n_labels] per content sequence (special tokens added, then removed)."""
        prefix, suffix = len(self._prefix), len(self._suffix)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        out: list[numpy.ndarray] = [numpy.empty(0)] * len(sequences)
        device = self.device
        start = 0
        while start < len(order):
            end = start + 1  # grow the batch while (sequences x longest) stays within the budget
            while (
                end < len(order)
                and (end + 1 - start) * (len(sequences[order[end]]) + prefix + suffix) <= self.batch_size
            ):
                end += 1
            batch = order[start:end]
            width = len(sequences[batch[-1]]) + prefix + suffix
            input_ids = numpy.full((len(batch), width), self.pad_id, dtype=numpy.int64)
            mask = numpy.zeros((len(batch), width), dtype=numpy.int64)
            for row, i in enumerate(batch):
                n = len(sequences[i]) + prefix + suffix
                input_ids[row, :n] = numpy.concatenate([self._prefix, sequences[i], self._suffix])
                mask[row, :n] = 1
            with torch.inference_mode():
                logits = self.model(
                    input_ids=torch.from_numpy(input_ids).to(device),
                    attention_mask=torch.from_numpy(mask).to(device),
                ).logits
                probs = logits.float().softmax(-1).cpu().numpy()
            for row, i in enumerate(batch):
                out[i] = probs[row, prefix : prefix + len(sequences[i])]
            start = end
        return out

    def _aggregate(self, probs: numpy.ndarray, word_ids: numpy.ndarray, n_words: int) -> WordPredictions:
        """One probability vector per word from its wordpieces' (contiguous) rows of ``probs``."""
        label_ids = numpy.full(n_words, -1, dtype=numpy.int64)
        scores = numpy.zeros(n_words, dtype=numpy.float32)
        if not len(word_ids):
            return WordPredictions(label_ids, scores)
        first = numpy.flatnonzero(numpy.r_[True, word_ids[1:] != word_ids[:-1]])
        if self.aggregation == "first":
            word_probs = probs[first]
        elif self.aggregation == "average":
            counts = numpy.diff(numpy.r_[first, len(word_ids)])
            word_probs = numpy.add.reduceat(probs, first, axis=0) / counts[:, None]
        else:  # max: the wordpiece whose best label is most probable speaks for the word
            segment = numpy.repeat(numpy.arange(len(first)), numpy.diff(numpy.r_[first, len(word_ids)]))
            order = numpy.lexsort((-probs.max(1), segment))
            word_probs = probs[order[first]]
        words = word_ids[first]
        label_ids[words] = word_probs.argmax(1)
        scores[words] = word_probs.max(1)
        return WordPredictions(label_ids, scores)

    def predict(self, docs: Sequence[Sequence[str]]) -> list[WordPredictions]:
        """Label every word of every input; words with no wordpieces get label -1 and score 0."""
        tokenized = self._tokenize(docs)
        sequences = [doc.ids[s : s + self.content] for doc in tokenized for s in doc.starts]
        window_probs = iter(self._forward(sequences))
        results = []
        for words, doc in zip(docs, tokenized, strict=True):
            if len(doc.starts) <= 1:
                probs = (
                    next(window_probs) if doc.starts else numpy.empty((0, len(self.labels)), numpy.float32)
                )
            else:
                probs = numpy.empty((len(doc.ids), len(self.labels)), dtype=numpy.float32)
                owners = self._owners(doc)
                by_owner = numpy.argsort(owners, kind="stable")  # rows grouped by window, O(n log n)
                bounds = numpy.searchsorted(owners[by_owner], numpy.arange(len(doc.starts) + 1))
                for k, start in enumerate(doc.starts):
                    rows = by_owner[bounds[k] : bounds[k + 1]]
                    probs[rows] = next(window_probs)[rows - start]
            results.append(self._aggregate(probs, doc.word_ids, len(words)))
        return results

    def save_pretrained(self, path: str | Path) -> None:
        """Write the model (safetensors) and tokenizer to ``path`` for :func:`load_token_classifier`."""
        self.model.save_pretrained(path, safe_serialization=True)
        self.tokenizer.save_pretrained(path)


def load_token_classifier(
    name_or_path: str,
    *,
    revision: str | None = None,
    device: str | torch.device = "cpu",
    dtype: str = "float32",
    aggregation: Aggregation = "first",
    window: int | None = None,
    stride: int | None = None,
    batch_size: int = 1024,
) -> TokenClassifier:
    """Load a fine-tuned ``AutoModelForTokenClassification`` and its fast tokenizer (folder or hub id)."""
    # Imported here: transformers' tokenizer machinery takes seconds to import, and `import spacy_bert_ner`
    # (the converter CLI) should not pay for it.
    from transformers import AutoConfig, AutoModelForTokenClassification

    if not name_or_path:
        raise ModelError(f"bert_ner needs a model: {ADD_PIPE_HINT}")
    if dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
    fix = f"point bert_ner at a folder saved with save_pretrained, or a hub id: {ADD_PIPE_HINT}"
    source = resolve_model(name_or_path, fix=fix)
    where = f"{source!r}" + (f" (revision {revision})" if revision else "")
    try:
        config = AutoConfig.from_pretrained(source, revision=revision)
    except OSError as err:
        raise ModelError(
            f"could not load a model config from {where}: {err}\nIf it is a hub id, the hub must be "
            f"reachable the first time (or set HF_HUB_OFFLINE=1 with it in the cache); a local folder "
            f"must hold config.json. Then: {ADD_PIPE_HINT}"
        ) from None
    architectures = config.architectures or []
    if architectures and not any(a.endswith("ForTokenClassification") for a in architectures):
        raise ModelError(
            f"{where} is a {', '.join(architectures)}, not a token classifier: bert_ner needs a model "
            "fine-tuned for NER (an *ForTokenClassification checkpoint whose config.json has the "
            "entity labels in id2label). Fine-tune it with AutoModelForTokenClassification first."
        )
    try:
        tokenizer = load_word_tokenizer(source, revision)
        model, info = AutoModelForTokenClassification.from_pretrained(
            source, revision=revision, torch_dtype=DTYPES[dtype], output_loading_info=True
        )
    except (OSError, ValueError) as err:
        raise ModelError(f"could not load a token classifier and its tokenizer from {where}: {err}") from None
    if info["missing_keys"]:
        raise ModelError(
            f"{where} has no trained weights for {sorted(info['missing_keys'])}: it is not a fine-tuned "
            "token classifier. Fine-tune it with AutoModelForTokenClassification first."
        )
    model.to(device).eval()
    return TokenClassifier(
        model,
        tokenizer,
        aggregation=aggregation,
        window=window,
        stride=stride,
        batch_size=batch_size,
        source=source,
    )
