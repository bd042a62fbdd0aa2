"""The ``bert_ner`` pipeline component: any fine-tuned Hugging Face token classifier inside spaCy.

Glue only. Docs become word lists (whitespace tokens left out), :mod:`spacy_bert_ner.hf.inference.classifier`
labels the words, :func:`spacy_bert_ner.bio.tags_to_spans` decodes the labels, and the entities go to
``doc.ents`` (or a span group) with one confidence score each in ``doc.spans[spans_key].attrs["scores"]``.

A saved pipeline holds the model and tokenizer in the component's folder, so ``spacy.load`` needs no
network; when the component loads its model is decided in one place, :mod:`.model_slot`.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, NamedTuple, Optional, Sequence

import numpy
import srsly
import torch
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import SimpleFrozenList, from_disk, make_tempdir, minibatch, to_disk
from spacy.vocab import Vocab
from thinc.util import get_torch_default_device

from ..bio import scheme_of_labels, split_tag, tags_to_spans
from ..errors import ConfigError, DataError, ModelError
from ..hf.inference.classifier import TokenClassifier, WordPredictions, load_token_classifier
from ..hf.inference.options import NAMES as READING_NAMES
from ..hf.inference.options import ReadingOptions, reading_options
from .doc_entities import write_entities, write_span_group
from .model_slot import ModelSlot, claim, restoring

COMPONENT_FORMAT_VERSION = 1
COMPONENT_MODEL_DIR = "model"  # the Hugging Face model and tokenizer inside the component's folder

# The component's own settings; the reading options (aggregation, window, ...) come from ReadingOptions.
COMPONENT_DEFAULTS: dict[str, Any] = {
    "model": "",
    "revision": None,
    "sentences": True,
    "thresholds": {},
    "labels": {},
    "device": None,
    "annotate": "ents",
    "spans_key": "bert_ner",
    "overwrite": True,
    "scorer": {"@scorers": "spacy.ner_scorer.v1"},
}
DEFAULT_CONFIG: dict[str, Any] = {**COMPONENT_DEFAULTS, **ReadingOptions().as_config()}


def _reading_parameters(factory: Callable[..., "BertNER"]) -> Callable[..., "BertNER"]:
    """Give ``factory`` (which takes the reading options as ``**reading``) one typed keyword per
    :class:`ReadingOptions` field, so that spaCy's config validation checks them at ``add_pipe`` by the types
    declared there."""
    signature = inspect.signature(factory)
    types = typing.get_type_hints(ReadingOptions)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    reading = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=types[n]) for n in READING_NAMES
    ]
    # A function's __signature__ is writable (inspect reads it first), but typeshed does not declare it.
    factory.__signature__ = signature.replace(parameters=fixed + reading)  # type: ignore[attr-defined]
    return factory


@Language.factory(
    "bert_ner",
    default_config=DEFAULT_CONFIG,
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
@_reading_parameters
def make_bert_ner(
    nlp: Language,
    name: str,
    model: str,
    revision: Optional[str],
    sentences: bool,
    thresholds: dict[str, float],
    labels: dict[str, Optional[str]],
    device: Optional[str],
    annotate: Literal["ents", "spans"],
    spans_key: str,
    overwrite: bool,
    scorer: Optional[Callable],
    **reading: Any,
) -> "BertNER":
    """Wrap a fine-tuned ``AutoModelForTokenClassification`` (local folder or hub id) as an NER component.

    The reading options (aggregation, window, stride, context, pack_sentences, batch_size, temperature,
    dtype) are :class:`~spacy_bert_ner.hf.inference.options.ReadingOptions`, documented there.
    sentences: when a doc has sentence boundaries (a sentencizer, senter or parser ran before), label
        each sentence as its own input, with ``context`` wordpieces of the doc around it, and keep entities
        inside sentences; otherwise windows run over the whole doc, every word with at least ``context``
        wordpieces either side (or the doc's edge).
    thresholds: entity label (as written, after ``labels``) -> the lowest score an entity of that label
        needs to go into ``doc.ents``; entities under it stay in ``doc.spans[spans_key]`` with their
        scores. Labels not named need none. ``tune`` chooses them for an F1, precision or recall target.
    labels: model entity type -> the label to write instead (``{"PER": "PERSON"}``), or null to drop the
        type's entities (``{"MISC": null}``); types not named keep their label.
    device: a torch device ("cpu", "cuda:1"); default: spaCy's choice (spacy.require_gpu / --gpu-id).
    annotate: write ``doc.ents``, or only the span group ``doc.spans[spans_key]``; both keep the scores
        in ``doc.spans[spans_key].attrs["scores"]``.
    overwrite: replace existing entities (or spans under the key); if False, keep them and add only
        predictions that do not overlap them.
    """
    load_now = not restoring(nlp, name)
    claim(nlp, name, COMPONENT_FORMAT_VERSION)
    return BertNER(
        nlp.vocab,
        name,
        model=model,
        revision=revision,
        options=reading_options(**reading),
        sentences=sentences,
        thresholds=thresholds,
        labels=labels,
        device=device,
        annotate=annotate,
        spans_key=spans_key,
        overwrite=overwrite,
        scorer=scorer,
        load=load_now,
    )


def _checked_thresholds(thresholds: dict[str, float]) -> dict[str, float]:
    for label, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(
                f"bert_ner: thresholds[{label!r}] must be a score from 0 to 1 (entities scoring less stay "
                f"out of doc.ents), got {value!r}"
            )
    return {label: float(value) for label, value in thresholds.items()}


def torch_device(device: Optional[str]) -> torch.device:
    """An explicit torch device, or the one spaCy/thinc use (GPU after ``spacy.require_gpu``)."""
    if device is None:
        return get_torch_default_device()
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ConfigError(
            f"bert_ner: device {device!r} is not a torch device ({err}); use e.g. 'cpu' or 'cuda:0'"
        ) from None


class ModelInput(NamedTuple):
    """A doc as the classifier sees it."""

    tokens: numpy.ndarray  # indices of the non-whitespace tokens: the words
    segments: list[tuple[int, int]]  # token ranges labelled as separate inputs (sentences, or the doc)
    words: list[str]  # the words' texts
    bounds: list[tuple[int, int]]  # the segments as word ranges


class DocPredictions(NamedTuple):
    """What :meth:`BertNER.predict` finds for one doc, for :meth:`BertNER.set_annotations`."""

    tokens: numpy.ndarray  # indices of the non-whitespace tokens, the words the model labelled
    segments: list[tuple[int, int]]  # token ranges labelled as separate inputs (sentences, or the doc)
    words: WordPredictions  # per labelled token, in order


class BertNER(Pipe):
    """Named entities from a Hugging Face token classifier, aligned by spaCy token, with scores."""

    def __init__(
        self,
        vocab: Vocab,
        name: str = "bert_ner",
        *,
        model: str,
        revision: Optional[str] = None,
        options: ReadingOptions = ReadingOptions(),
        sentences: bool = True,
        thresholds: Optional[dict[str, float]] = None,
        labels: Optional[dict[str, Optional[str]]] = None,
        device: Optional[str] = None,
        annotate: str = "ents",
        spans_key: str = "bert_ner",
        overwrite: bool = True,
        scorer: Optional[Callable] = None,
        load: bool = True,
    ) -> None:
        if annotate not in ("ents", "spans"):
            raise ConfigError(f"bert_ner: annotate must be 'ents' or 'spans', got {annotate!r}")
        self.vocab = vocab
        self.name = name
        self.options = options
        self.thresholds = _checked_thresholds(thresholds or {})
        if self.thresholds and annotate == "spans":
            raise ConfigError(
                "bert_ner: thresholds choose which entities go to doc.ents, "
                "and annotate='spans' writes none: "
                f"every span stays in doc.spans[{spans_key!r}] with its score in attrs['scores'] "
                "(filter on those), or use annotate='ents'"
            )
        self.label_map = dict(labels or {})
        self._written_labels: dict[str, Optional[str]] = {}  # model entity type -> label written (None: drop)
        self.sentences = sentences
        self.device = torch_device(device)
        self.annotate = annotate
        self.spans_key = spans_key
        self.overwrite = overwrite
        self.scorer = scorer
        self._scheme = "iob2"
        self._tags = numpy.array(["O"], dtype=object)
        self._model: ModelSlot[TokenClassifier] = ModelSlot(
            self._load, self._adopt, model, revision, now=load
        )

    # -- the model ---------------------------------------------------------------------------------------

    def _load(self, model: str, revision: Optional[str]) -> TokenClassifier:
        return load_token_classifier(model, revision=revision, device=self.device, options=self.options)

    def _adopt(self, classifier: TokenClassifier) -> None:
        """Adopt a classifier after checking its labels form one BIO-style scheme with entity labels."""
        try:
            self._scheme = scheme_of_labels(classifier.labels)
        except DataError as err:
            raise ModelError(f"bert_ner model {classifier.source!r}: {err}") from None
        types = sorted({split_tag(label, self._scheme)[1] for label in classifier.labels} - {""})
        unknown = sorted(set(self.label_map) - set(types))
        if unknown:
            raise ConfigError(
                f"bert_ner: labels maps {', '.join(map(repr, unknown))}, "
                f"which model {classifier.source!r} does not predict; its entity types: {', '.join(types)}"
            )
        written = {t: self.label_map.get(t, t) for t in types}
        kept = {label for label in written.values() if label is not None}
        never = sorted(set(self.thresholds) - kept)
        if never:
            raise ConfigError(
                f"bert_ner: thresholds names {', '.join(map(repr, never))}, "
                "which this component never writes; "
                f"its labels (after labels mapping): {', '.join(sorted(kept))}"
            )
        self._written_labels = written
        self._tags = numpy.array(list(classifier.labels) + ["O"], dtype=object)  # index -1: no wordpieces

    @property
    def classifier(self) -> TokenClassifier:
        """The token classifier; loaded from ``model`` on first use if construction and from_disk did not."""
        return self._model.get()

    @property
    def model_name(self) -> str:
        """The model reference the component was built with (hub id or folder), as saved in its cfg."""
        return self._model.model

    @property
    def revision(self) -> Optional[str]:
        return self._model.revision

    @property
    def labels(self) -> tuple[str, ...]:
        """The entity labels this component writes (the model's types after ``labels`` mapping: ``PER``,
        ``LOC``, ...); empty while no model is loaded.

        Never loads the model: spaCy reads it for ``nlp.meta`` before ``from_disk`` restores the model.
        """
        if not self._model.loaded:
            return ()
        return tuple(sorted({label for label in self._written_labels.values() if label is not None}))

    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable[Example]]] = None,
        *,
        nlp: Optional[Language] = None,
    ) -> None:
        """Nothing to train; make sure the model is loaded and that saved pipelines will carry it."""
        if nlp is not None:
            claim(nlp, self.name, COMPONENT_FORMAT_VERSION)
        _ = self.classifier

    # -- prediction ---------------------------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        error_handler = self.get_error_handler()
        try:
            self.set_annotations([doc], self.predict([doc]))
        except Exception as err:  # spaCy's error-handler protocol: the default handler re-raises
            error_handler(self.name, self, [doc], err)
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Label docs in chunks of ``batch_size`` docs; a chunk's windows are batched by wordpiece budget."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                self.set_annotations(docs, self.predict(docs))
                yield from docs
            except Exception as err:  # spaCy's error-handler protocol: the default handler re-raises
                error_handler(self.name, self, docs, err)

    def segments(self, doc: Doc, sentences: Optional[bool] = None) -> list[tuple[int, int]]:
        """The token ranges labelled as separate inputs: the doc's sentences if ``sentences`` (default: the
        component's setting) and the doc has them, else the whole doc."""
        sentences = self.sentences if sentences is None else sentences
        if sentences and len(doc) and doc.has_annotation("SENT_START"):
            return [(sent.start, sent.end) for sent in doc.sents]
        return [(0, len(doc))]

    def model_input(self, doc: Doc, sentences: Optional[bool] = None) -> ModelInput:
        """What the classifier labels for ``doc``: its non-whitespace tokens' texts, split into segments."""
        kept = numpy.flatnonzero([not token.is_space for token in doc])
        doc_segments = self.segments(doc, sentences)
        # [start, end) token ranges -> ranges of kept tokens
        bounds = [(int(lo), int(hi)) for lo, hi in numpy.searchsorted(kept, doc_segments)]
        return ModelInput(kept, doc_segments, [doc[int(i)].text for i in kept], bounds)

    def predict(self, docs: Iterable[Doc]) -> list[DocPredictions]:
        """Per doc: its non-whitespace tokens, its segments and the model's predictions for those tokens.

        Each doc is one classifier input whose segments (sentences, or the whole doc) are labelled as
        separate model inputs with the doc's context around them; all docs go to the classifier in one call
        so that their inputs share batches.
        """
        inputs = [self.model_input(doc) for doc in docs]
        outputs = self.classifier.predict([i.words for i in inputs], [i.bounds for i in inputs])
        return [DocPredictions(i.tokens, i.segments, words) for i, words in zip(inputs, outputs, strict=True)]

    def found_spans(self, doc: Doc, prediction: DocPredictions) -> list[tuple[Span, float]]:
        """The entities the labels decode to, inside segments, with their written labels (dropped types left
        out) and scores (the mean of their words' scores)."""
        kept, segments, (label_ids, word_scores) = prediction
        ids = numpy.full(len(doc), -1, dtype=numpy.int64)
        ids[kept] = label_ids
        scores = numpy.zeros(len(doc), dtype=numpy.float32)
        scores[kept] = word_scores
        tags = self._tags[ids].tolist()
        found = []
        for first, last in segments:
            for start, end, entity_type in tags_to_spans(tags[first:last], self._scheme):
                label = self._written_labels.get(entity_type, entity_type)
                if label is not None:
                    start, end = first + start, first + end
                    found.append((Span(doc, start, end, label=label), float(scores[start:end].mean())))
        return found

    def set_annotations(self, docs: Sequence[Doc], predictions: Sequence[DocPredictions]) -> None:
        for doc, prediction in zip(docs, predictions, strict=True):
            found = self.found_spans(doc, prediction)
            if self.annotate == "ents":
                write_entities(doc, found, self.thresholds, self.spans_key, self.overwrite)
            else:
                write_span_group(doc, found, self.spans_key, self.overwrite)

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """The configured scorer (spaCy's NER scorer by default), given ``spans_key`` for span scorers."""
        if self.scorer is None:
            return {}
        return self.scorer(examples, **{"spans_key": self.spans_key, **kwargs})

    # -- serialization ------------------------------------------------------------------------------------

    def _saved_cfg(self) -> dict[str, Any]:
        return {
            "format_version": COMPONENT_FORMAT_VERSION,
            "model": self.model_name,
            "revision": self.revision,
            "labels": list(self.classifier.labels),
        }

    def _read_cfg(self, path: Path) -> None:
        if not path.exists():
            raise ModelError(
                f"bert_ner: {path.parent} has no cfg: it was not saved by bert_ner's to_disk "
                f"(or the pipeline was saved with this component excluded)"
            )
        cfg = srsly.read_json(path)
        version = cfg.get("format_version")
        if not isinstance(version, int) or version > COMPONENT_FORMAT_VERSION:
            raise ModelError(
                f"bert_ner: {path} has format version {version!r}; this spacy-bert-ner reads versions up to "
                f"{COMPONENT_FORMAT_VERSION}: upgrade spacy-bert-ner"
            )
        self._model.model = cfg.get("model", self._model.model)
        self._model.revision = cfg.get("revision", self._model.revision)

    def _read_model(self, path: Path) -> None:
        if not path.is_dir():
            raise ModelError(f"bert_ner: no saved model folder at {path}; save the pipeline with nlp.to_disk")
        self._model.restore(path)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = SimpleFrozenList()) -> None:
        """Write ``cfg`` (format version, model reference, labels) and ``model/`` (safetensors, tokenizer)."""
        serializers = {
            "cfg": lambda p: srsly.write_json(p, self._saved_cfg()),
            COMPONENT_MODEL_DIR: lambda p: self.classifier.save_pretrained(p),
        }
        to_disk(path, serializers, exclude)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = SimpleFrozenList()) -> "BertNER":
        """Restore from a folder written by :meth:`to_disk`; no network needed."""
        deserializers: dict[str, Callable[[Path], None]] = {
            "cfg": self._read_cfg,
            COMPONENT_MODEL_DIR: self._read_model,
        }
        from_disk(path, deserializers, exclude)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = SimpleFrozenList()) -> bytes:
        """The :meth:`to_disk` folder as msgpack bytes: ``{relative path: file bytes}``."""
        with make_tempdir() as tmp:
            self.to_disk(tmp, exclude=exclude)
            files = {str(p.relative_to(tmp)): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file()}
        return srsly.msgpack_dumps(files)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = SimpleFrozenList()) -> "BertNER":
        files = srsly.msgpack_loads(bytes_data)
        with make_tempdir() as tmp:
            for name, data in files.items():
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp / name).write_bytes(data)
            self.from_disk(tmp, exclude=exclude)
        return self
