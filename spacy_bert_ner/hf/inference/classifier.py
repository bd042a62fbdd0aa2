"""A Hugging Face token classifier that labels pre-split words: load, predict, save.

torch and transformers only (no spaCy). Words go in as they are (``is_split_into_words``) and come back
one label id and one probability per word, aligned through the tokenizer's ``word_ids``, never through
character offsets. An input may be split into segments (its sentences), each labelled as its own model
input with up to ``context`` wordpieces of the input on either side (:mod:`.context`); a segment longer than
a window is cut into overlapping windows, and every word takes its label from the window where it sits
farthest from an edge. All windows of a call are sorted by length and batched under a wordpiece budget,
each batch padded only to its own longest window.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Sequence

import numpy
import torch

from ...errors import ConfigError, ModelError
from .context import (
    Wordpieces,
    pack_segments,
    plain_encoder,
    read_recorded,
    special_tokens,
    tokenize_words,
    with_context,
)
from .graphs import OnnxGraphs
from .loading import label_names, load_word_tokenizer, max_input_length, require_fast, resolve_model
from .options import Aggregation, ReadingOptions, resolve
from .runtimes import ONNX_DEVICE_FIX, WEIGHT_DTYPES, Runtime, open_runtime

if TYPE_CHECKING:
    from transformers import PreTrainedModel

ADD_PIPE_HINT = 'nlp.add_pipe("bert_ner", config={"model": "path/to/model-or-hub-id"})'
FAST_TOKENIZER_FIX = (
    "bert_ner needs one: save a fast tokenizer next to the model with "
    "AutoTokenizer.from_pretrained(<base model>, use_fast=True).save_pretrained(<model dir>)"
)


@functools.cache
def one_thread_in_forked_children() -> None:
    """From now on, a process forked from this one starts with one torch thread; registered once, when the
    first classifier is made (a process without a model needs nothing).

    A forked child whose parent already ran parallel torch ops (loading or running a model) deadlocks in
    its first parallel op (GNU OpenMP is not fork-safe). The forks happen in spaCy's
    ``nlp.pipe(n_process=...)`` and in ``annotate --n-process``, after the pipeline is loaded, so the
    classifier is where the hook is known to be needed. One thread per child is also what n processes on n
    cores want (torch's DataLoader workers do the same); ``annotate --torch-threads`` sets it explicitly.
    """
    os.register_at_fork(after_in_child=lambda: torch.set_num_threads(1))


class WordPredictions(NamedTuple):
    """One input's predictions: a label id per word (-1: the word has no wordpieces) and its probability."""

    label_ids: numpy.ndarray  # int64 [n_words]
    scores: numpy.ndarray  # float32 [n_words], 0.0 where label_ids is -1


class PiecePredictions(NamedTuple):
    """One input's label probabilities per wordpiece, before the wordpieces of each word are aggregated."""

    probs: numpy.ndarray  # float32 [n_pieces, n_labels]: softmax of the logits (temperature 1)
    word_ids: numpy.ndarray  # int64 [n_pieces]: the word each piece belongs to (a word's pieces contiguous)
    n_words: int


Segments = Sequence[tuple[int, int]]  # word ranges [start, end) of one input, each labelled on its own


def with_temperature(probs: numpy.ndarray, temperature: float) -> numpy.ndarray:
    """``softmax(logits / temperature)`` from ``softmax(logits)``: each row raised to ``1 / temperature`` and
    renormalised (the same distribution, since a softmax ignores a constant added to every logit)."""
    if temperature == 1:
        return probs
    scaled = numpy.power(probs.astype(numpy.float64), 1.0 / temperature)
    return (scaled / scaled.sum(-1, keepdims=True)).astype(numpy.float32)


def word_starts(word_ids: numpy.ndarray) -> numpy.ndarray:
    """The positions where a new word starts in a run of wordpieces' word ids (a word's pieces contiguous)."""
    return numpy.flatnonzero(numpy.r_[True, word_ids[1:] != word_ids[:-1]])


def _first(probs: numpy.ndarray, first: numpy.ndarray, n_pieces: int) -> numpy.ndarray:
    return probs[first]


def _average(probs: numpy.ndarray, first: numpy.ndarray, n_pieces: int) -> numpy.ndarray:
    counts = numpy.diff(numpy.r_[first, n_pieces])
    return numpy.add.reduceat(probs, first, axis=0) / counts[:, None]


def _max(probs: numpy.ndarray, first: numpy.ndarray, n_pieces: int) -> numpy.ndarray:
    """The wordpiece whose best label is most probable speaks for the word."""
    segment = numpy.repeat(numpy.arange(len(first)), numpy.diff(numpy.r_[first, n_pieces]))
    order = numpy.lexsort((-probs.max(1), segment))
    return probs[order[first]]


AGGREGATE = {"first": _first, "average": _average, "max": _max}  # one per Aggregation


def word_probabilities(
    pieces: PiecePredictions, aggregation: Aggregation = "first", temperature: float = 1.0
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """The words that have wordpieces, and one label distribution each from its wordpieces' (at
    ``temperature``): ``first``, the first piece's; ``average``, the mean over the pieces; ``max``, the piece
    most sure of its label."""
    word_ids = pieces.word_ids
    if not len(word_ids):
        return numpy.zeros(0, dtype=numpy.int64), numpy.zeros((0, pieces.probs.shape[-1]), numpy.float32)
    first = word_starts(word_ids)
    word_probs = AGGREGATE[aggregation](with_temperature(pieces.probs, temperature), first, len(word_ids))
    return word_ids[first], word_probs


def aggregate(
    pieces: PiecePredictions, aggregation: Aggregation = "first", temperature: float = 1.0
) -> WordPredictions:
    """One label and its probability per word (see :func:`word_probabilities`); words without wordpieces
    get label -1 and score 0."""
    label_ids = numpy.full(pieces.n_words, -1, dtype=numpy.int64)
    scores = numpy.zeros(pieces.n_words, dtype=numpy.float32)
    words, word_probs = word_probabilities(pieces, aggregation, temperature)
    label_ids[words] = word_probs.argmax(1)
    scores[words] = word_probs.max(1)
    return WordPredictions(label_ids, scores)


class _Plan(NamedTuple):
    """One tokenized input: its wordpieces, the model inputs cut from them, and which input labels which
    wordpiece."""

    pieces: Wordpieces
    windows: list[tuple[int, int]]  # wordpiece ranges [lo, hi), one model input each
    owners: numpy.ndarray  # per wordpiece, the index in ``windows`` it takes its label from; -1: none


class TokenClassifier:
    """Wraps a ``*ForTokenClassification`` model and its fast tokenizer to label lists of words, read as
    ``options`` say (:class:`~spacy_bert_ner.hf.inference.options.ReadingOptions`; defaults filled in from
    what train-hf recorded in the model's config.json, else from the model).

    ``window`` is the length of one model input in wordpieces, special tokens included; ``context`` the
    wordpieces each segment sees on either side; ``stride`` how far consecutive windows of a long input
    advance; ``batch_size`` bounds the padded wordpieces (sequences x longest sequence) of one forward pass
    (one sequence per pass where the reading would otherwise depend on the batch: :attr:`reads_alone`);
    ``temperature`` divides the logits before the softmax (above 1, less confident scores; with ``average``
    aggregation, a word's label can change). ``runtime`` and ``dtype`` choose what runs the forward pass
    (:mod:`.runtimes`): ``model`` itself, or an ONNX graph of it from ``graphs`` (those saved in the model
    folder, else made from ``model``; shared with :meth:`variant` copies); :attr:`runtime` runs it.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        options: ReadingOptions = ReadingOptions(),
        source: str = "",
        graphs: OnnxGraphs | None = None,
    ) -> None:
        one_thread_in_forked_children()
        source = source or str(getattr(model.config, "name_or_path", "")) or "the model"
        require_fast(tokenizer, source, FAST_TOKENIZER_FIX)
        self.model = model
        self.graphs = graphs if graphs is not None else OnnxGraphs(model)
        self.runtime: Runtime = open_runtime(model, options, self.graphs)
        self.tokenizer = tokenizer
        self.options = options
        self.source = source
        self.labels: tuple[str, ...] = tuple(label_names(model.config.id2label, source))
        self._encoder = plain_encoder(tokenizer.backend_tokenizer)
        self._prefix, self._suffix = special_tokens(self._encoder)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        limit = max_input_length(tokenizer, model.config)
        recorded = read_recorded(model.config, source)  # how train-hf built the model's inputs, if it did
        reading = resolve(options, limit, len(self._prefix) + len(self._suffix), recorded)
        self.window, self.content, self.context, self.pack_sentences, self.stride = reading
        self.aggregation: Aggregation = options.aggregation
        self.temperature = options.temperature
        self.batch_size = options.batch_size

    def variant(self, **changes: Any) -> "TokenClassifier":
        """This classifier with other reading options (:meth:`ReadingOptions.replace`), sharing its model,
        tokenizer and ONNX graphs (``dtype="int8"`` needs an int8 graph: saved, or made by
        :meth:`OnnxGraphs.make <.onnx_runtime.OnnxGraphs.make>`)."""
        options = self.options.replace(**changes)
        return TokenClassifier(self.model, self.tokenizer, options, self.source, self.graphs)

    @property
    def device(self) -> torch.device:
        return self.runtime.device

    @property
    def reads_alone(self) -> bool:
        """Whether each sequence is a forward pass of its own: ``batch_invariant`` is set and the runtime's
        reading of a sequence depends on its batch (dynamic int8)."""
        return self.options.batch_invariant and self.runtime.batch_dependent

    def _piece_segments(self, pieces: Wordpieces, segments: Segments) -> list[tuple[int, int]]:
        """The segments as wordpiece ranges (empty ones dropped); with ``pack_sentences``, consecutive
        segments that fit in one input together with their context are merged into one."""
        ranges = [pieces.piece_range(first, end) for first, end in segments]
        ranges = [(start, end) for start, end in ranges if start < end]
        if not self.pack_sentences:
            return ranges
        groups = pack_segments(ranges, len(pieces.ids), self.content, self.context)
        return [(ranges[first][0], ranges[end - 1][1]) for first, end in groups]

    def _plan(self, pieces: Wordpieces, segments: Segments) -> _Plan:
        """The model inputs for one tokenized input: per segment, one window with its context if the segment
        fits, else overlapping windows over the segment and its context."""
        windows: list[tuple[int, int]] = []
        owners = numpy.full(len(pieces.ids), -1, dtype=numpy.int64)
        n = len(pieces.ids)
        for start, end in self._piece_segments(pieces, segments):
            if end - start <= self.content:
                owners[start:end] = len(windows)
                windows.append(with_context(start, end, n, self.content, self.context))
                continue
            lo, hi = start - min(self.context, start), end + min(self.context, n - end)
            starts = numpy.asarray(list(range(lo, hi - self.content, self.stride)) + [hi - self.content])
            owners[start:end] = len(windows) + self._owners(starts, pieces.word_ids[start:end], start)
            windows.extend((int(s), int(s) + self.content) for s in starts)
        return _Plan(pieces, windows, owners)

    def _owners(self, starts: numpy.ndarray, word_ids: numpy.ndarray, offset: int) -> numpy.ndarray:
        """The window (index into ``starts``) each wordpiece of a long segment takes its probabilities from;
        ``word_ids`` are the segment's wordpieces' words, the first at position ``offset``.

        A word's context in a window is its distance to the nearer window edge; that is largest in the
        window whose start is nearest the start that would centre the word, so a binary search over the
        (sorted) starts finds it, ties going to the earlier window. A word that fits in no window (longer
        than a window, or across the edge of windows that do not overlap) is labelled by wordpiece instead:
        each of its wordpieces uses the window that centres that wordpiece.
        """
        first = word_starts(word_ids) + offset
        last = numpy.r_[first[1:], offset + len(word_ids)] - 1
        best = self._nearest_window(starts, first, last)
        lengths = last - first + 1
        owners = numpy.repeat(best, lengths)
        outside = numpy.repeat((starts[best] > first) | (starts[best] + self.content <= last), lengths)
        if outside.any():
            pieces = numpy.flatnonzero(outside)
            owners[pieces] = self._nearest_window(starts, pieces + offset, pieces + offset)
        return owners

    def _nearest_window(
        self, starts: numpy.ndarray, first: numpy.ndarray, last: numpy.ndarray
    ) -> numpy.ndarray:
        """For wordpiece spans [first, last], the window (index into ``starts``) that centres them best."""
        centring = (first + last + 1 - self.content) / 2  # the start that would centre each span
        right = numpy.searchsorted(starts, centring).clip(1, len(starts) - 1)
        left = right - 1
        return numpy.where(centring - starts[left] <= starts[right] - centring, left, right)

    def _batches(
        self, sequences: list[numpy.ndarray]
    ) -> Iterator[tuple[list[int], numpy.ndarray, numpy.ndarray]]:
        """The model inputs for content sequences: sorted by length, grouped while (sequences x longest)
        stays within ``batch_size``, special tokens added, padded to the batch's longest. Yields the
        sequences' indices, ``input_ids`` and ``attention_mask`` (int64 [batch, length]) per batch; one
        sequence per batch if the classifier :attr:`reads_alone`."""
        prefix, suffix = len(self._prefix), len(self._suffix)
        budget = 1 if self.reads_alone else self.batch_size
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        start = 0
        while start < len(order):
            end = start + 1  # grow the batch while (sequences x longest) stays within the budget
            while (
                end < len(order)
                and (end + 1 - start) * (len(sequences[order[end]]) + prefix + suffix) <= budget
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
            yield batch, input_ids, mask
            start = end

    def _forward(self, sequences: list[numpy.ndarray]) -> list[numpy.ndarray]:
        """Label probabilities [len, n_labels] per content sequence (special tokens added, then removed)."""
        prefix = len(self._prefix)
        out: list[numpy.ndarray] = [numpy.empty(0)] * len(sequences)
        for batch, input_ids, mask in self._batches(sequences):
            with torch.inference_mode():
                probs = self.runtime.logits(input_ids, mask).float().softmax(-1).cpu().numpy()
            for row, i in enumerate(batch):
                out[i] = probs[row, prefix : prefix + len(sequences[i])]
        return out

    def model_inputs(
        self, docs: Sequence[Sequence[str]], segments: Sequence[Segments] | None = None
    ) -> Iterator[dict[str, numpy.ndarray]]:
        """The batches :meth:`predict` gives the model for these inputs (``input_ids``, ``attention_mask``):
        what int8 calibration reads."""
        if segments is None:
            segments = [[(0, len(words))] for words in docs]
        plans = [
            self._plan(pieces, doc_segments)
            for pieces, doc_segments in zip(tokenize_words(self._encoder, docs), segments, strict=True)
        ]
        sequences = [plan.pieces.ids[lo:hi] for plan in plans for lo, hi in plan.windows]
        for _, input_ids, mask in self._batches(sequences):
            yield {"input_ids": input_ids, "attention_mask": mask}

    def predict(
        self, docs: Sequence[Sequence[str]], segments: Sequence[Segments] | None = None
    ) -> list[WordPredictions]:
        """Label every word of every input (see :meth:`predict_pieces`), its wordpieces aggregated by
        ``aggregation`` at ``temperature``; words with no wordpieces get label -1 and score 0."""
        return [
            aggregate(pieces, self.aggregation, self.temperature)
            for pieces in self.predict_pieces(docs, segments)
        ]

    def predict_pieces(
        self, docs: Sequence[Sequence[str]], segments: Sequence[Segments] | None = None
    ) -> list[PiecePredictions]:
        """Label probabilities for the wordpieces of every word of every input, each wordpiece taken from
        the model input where it has the most context.

        ``segments``: per input, the word ranges [start, end) labelled as separate model inputs (its
        sentences), in order and not overlapping; each sees up to ``context`` wordpieces of its input on
        either side, never of another input. Words outside every segment get label -1. Default: each input
        is one segment.
        """
        if segments is None:
            segments = [[(0, len(words))] for words in docs]
        if len(segments) != len(docs):
            raise ConfigError(f"predict: {len(docs)} inputs but {len(segments)} segment lists")
        plans = [
            self._plan(pieces, doc_segments)
            for pieces, doc_segments in zip(tokenize_words(self._encoder, docs), segments, strict=True)
        ]
        sequences = [plan.pieces.ids[lo:hi] for plan in plans for lo, hi in plan.windows]
        window_probs = iter(self._forward(sequences))
        results = []
        for words, plan in zip(docs, plans, strict=True):
            probs = numpy.zeros((len(plan.pieces.ids), len(self.labels)), dtype=numpy.float32)
            by_owner = numpy.argsort(plan.owners, kind="stable")  # wordpieces grouped by window
            bounds = numpy.searchsorted(plan.owners[by_owner], numpy.arange(len(plan.windows) + 1))
            for k, (lo, _) in enumerate(plan.windows):
                rows = by_owner[bounds[k] : bounds[k + 1]]
                probs[rows] = next(window_probs)[rows - lo]
            covered = plan.owners >= 0
            results.append(PiecePredictions(probs[covered], plan.pieces.word_ids[covered], len(words)))
        return results

    def save_pretrained(self, path: str | Path) -> None:
        """Write the model (safetensors; the float weights, also when reading in int8) and tokenizer to
        ``path`` for :func:`load_token_classifier`, with what the runtime reads and the folder came with
        (:meth:`Runtime.save <.runtimes.Runtime.save>`)."""
        self.model.save_pretrained(path, safe_serialization=True)
        self.tokenizer.save_pretrained(path)
        self.runtime.save(Path(path))


def load_token_classifier(
    name_or_path: str,
    *,
    revision: str | None = None,
    device: str | torch.device = "cpu",
    options: ReadingOptions = ReadingOptions(),
    **changes: Any,
) -> TokenClassifier:
    """Load a fine-tuned ``AutoModelForTokenClassification`` and its fast tokenizer (folder or hub id), to
    read as ``options`` say, with ``changes`` to them (``window=256``, ``context=0``, ...)."""
    # Imported here: transformers' tokenizer machinery takes seconds to import, and `import spacy_bert_ner`
    # (the converter CLI) should not pay for it.
    from transformers import AutoConfig, AutoModelForTokenClassification

    if not name_or_path:
        raise ModelError(f"bert_ner needs a model: {ADD_PIPE_HINT}")
    if changes:
        options = options.replace(**changes)
    if options.runtime == "onnx" and torch.device(device).type != "cpu":
        raise ConfigError(f"{ONNX_DEVICE_FIX} (device {device})")
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
            source, revision=revision, torch_dtype=WEIGHT_DTYPES[options.dtype], output_loading_info=True
        )
    except (OSError, ValueError) as err:
        raise ModelError(f"could not load a token classifier and its tokenizer from {where}: {err}") from None
    if info["missing_keys"]:
        raise ModelError(
            f"{where} has no trained weights for {sorted(info['missing_keys'])}: it is not a fine-tuned "
            "token classifier. Fine-tune it with AutoModelForTokenClassification first."
        )
    model.to(device).eval()
    folder = Path(source) if Path(source).is_dir() else None
    return TokenClassifier(model, tokenizer, options, source, OnnxGraphs(model, folder))
