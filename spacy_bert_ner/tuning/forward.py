"""``tune``'s forward passes and decoding: dev examples as ``spacy evaluate`` builds them, label probabilities
cached per input setting (one forward pass each), and the entities every aggregation and temperature decode to
from them, matched to gold the way spaCy's NER scorer does.

Entities are decoded by the component itself (:meth:`BertNER.found_spans`), through the example's alignment,
skipping gold spans without annotation, so the dev scores tune reports are the ones ``spacy evaluate`` gives.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example

from ..errors import ConfigError, DataError
from ..hf.inference.classifier import (
    PiecePredictions,
    TokenClassifier,
    aggregate,
    with_temperature,
    word_probabilities,
)
from ..hf.inference.options import Aggregation
from ..pipeline.bert_ner import BertNER, DocPredictions, ModelInput
from .input_setting import InputSetting
from .thresholds import Candidates
from .timing import Rounds, Timing, round_robin, sample_of

PIECE_BATCH_DOCS = 32  # docs per classifier call: one progress-bar step, inputs batched across them


@dataclass
class Cached:
    """One input setting's forward pass over the prepared docs (timed apart: :func:`time_settings`)."""

    setting: InputSetting
    inputs: list[ModelInput]
    pieces: list[PiecePredictions]


@dataclass
class Decoded:
    """The entities one setting, aggregation and temperature give, scored against gold."""

    candidates: Candidates
    where: numpy.ndarray  # int [n, 3]: doc index, start token, end token of each candidate


def bert_ner_component(nlp: Language, name: Optional[str]) -> tuple[str, BertNER]:
    """The pipeline's bert_ner component (by name if given; else the only one)."""
    found = [(n, pipe) for n, pipe in nlp.pipeline if isinstance(pipe, BertNER)]
    if name is not None:
        for n, pipe in found:
            if n == name:
                return n, pipe
        raise ConfigError(
            f"--component {name!r}: the pipeline's bert_ner components are {[n for n, _ in found] or 'none'}"
        )
    if len(found) != 1:
        raise ConfigError(
            f"tune needs a pipeline with one bert_ner component, this one has {len(found)} "
            f"({', '.join(n for n, _ in found) or 'none'}; pipeline: {', '.join(nlp.pipe_names)}); "
            + (
                "name one with --component"
                if found
                else "wrap a model with `python -m spacy_bert_ner assemble`"
            )
        )
    return found[0]


def load_examples(nlp: Language, path: Path) -> list[Example]:
    """The examples ``spacy evaluate`` scores: gold tokens where the DocBin's spaces are unknown (CoNLL),
    else the pipeline's tokenizer on the gold text."""
    if not path.is_file():
        raise DataError(
            f"{path}: no such file; pass a .spacy DocBin with gold entities (e.g. corpus/dev.spacy)"
        )
    examples = list(Corpus(str(path))(nlp))
    if not any(eg.reference.has_annotation("ENT_IOB") for eg in examples):
        raise DataError(f"{path}: no doc has entity annotation; tune needs gold entities to score against")
    return examples


def prepared_docs(nlp: Language, name: str, examples: Sequence[Example]) -> list[Doc]:
    """The examples' predicted docs after the components before ``name`` (sentence splitters: they decide
    the segments); the components after it are not run."""
    names = nlp.pipe_names
    return list(nlp.pipe([eg.predicted for eg in examples], disable=names[names.index(name) :]))


def current_setting(component: BertNER) -> InputSetting:
    """How the component reads now: by sentence or not, its context and packing (resolved for its model)."""
    classifier = component.classifier
    return InputSetting.of(
        component.sentences, context=classifier.context, pack_sentences=classifier.pack_sentences
    )


def input_grid(
    component: BertNER,
    contexts: Optional[Sequence[int]],
    packing: bool,
    whole_docs: bool,
    windows: Optional[Sequence[int]] = None,
    dtypes: Sequence[str] = (),
    tries: Optional[Mapping[str, Sequence[Any]]] = None,
) -> list[InputSetting]:
    """The input settings to try, the pipeline's own first: sentences with each context (default: 0 and the
    pipeline's), packed and not (``packing``), and whole docs in windows with each context (``whole_docs``,
    or ``windows``: one setting per window length, each with its default stride); each also in every one
    of ``dtypes`` other than the pipeline's, and with each value ``tries`` gives a forward option."""
    current = current_setting(component)
    contexts = sorted({0, current.get("context")} if contexts is None else set(contexts))
    grid = [current]
    for context in contexts:
        for pack in (False, True) if packing else (False,):
            grid.append(InputSetting.of(True, context=context, pack_sentences=pack))
        if whole_docs and not windows:
            grid.append(InputSetting.of(False, context=context, pack_sentences=False))
        for window in windows or ():
            grid.append(InputSetting.of(False, context=context, pack_sentences=False, window=window))
    own = component.classifier.options.dtype
    more: list[tuple[str, Sequence[Any]]] = [("dtype", [d for d in dtypes if d != own])]
    more += list((tries or {}).items())
    for name, values in more:  # every setting so far, also with each of these values
        grid += [with_option(s, name, value) for value in values for s in list(grid)]
    return list(dict.fromkeys(grid))


def with_option(setting: InputSetting, name: str, value: Any) -> InputSetting:
    """``setting`` with one forward option set to ``value``."""
    return InputSetting.of(setting.sentences, **{**dict(setting.options), name: value})


def classifier_for(component: BertNER, setting: InputSetting) -> TokenClassifier:
    """The component's classifier reading as ``setting`` says (sharing its model); an int8 setting on a
    pipeline without an int8 graph makes one by the default recipe first (a reading never quantizes)."""
    options = dict(setting.options)
    try:
        if options.get("dtype") == "int8":
            component.classifier.graphs.make("int8")
        return component.classifier.variant(**options)
    except ConfigError as err:
        raise ConfigError(f"input setting '{setting.describe()}': {err}") from None


def read_pieces(
    component: BertNER, classifier: TokenClassifier, docs: Sequence[Doc], sentences: bool, bar: Any = None
) -> tuple[list[ModelInput], list[PiecePredictions]]:
    """The docs as model inputs, and the label probabilities of their wordpieces, as the component reads."""
    inputs = [component.model_input(doc, sentences) for doc in docs]
    pieces: list[PiecePredictions] = []
    for first in range(0, len(inputs), PIECE_BATCH_DOCS):
        chunk = inputs[first : first + PIECE_BATCH_DOCS]
        pieces.extend(classifier.predict_pieces([i.words for i in chunk], [i.bounds for i in chunk]))
        if bar is not None:
            bar.update(len(chunk))
    return inputs, pieces


def forward(component: BertNER, docs: Sequence[Doc], setting: InputSetting, bar: Any) -> Cached:
    """Label probabilities for every wordpiece of every doc under ``setting`` (one forward pass)."""
    inputs, pieces = read_pieces(component, classifier_for(component, setting), docs, setting.sentences, bar)
    return Cached(setting, inputs, pieces)


def time_settings(
    component: BertNER, docs: Sequence[Doc], settings: Sequence[InputSetting], timing: Timing
) -> tuple[dict[InputSetting, Rounds], int]:
    """Each setting's rounds of reading a sample of ``docs`` (:func:`~.timing.round_robin`), and the sample's
    word count."""
    sample, words = sample_of(docs, timing.max_words)
    classifiers = {setting: classifier_for(component, setting) for setting in settings}
    runs = {
        setting: functools.partial(read_pieces, component, classifier, sample, setting.sentences)
        for setting, classifier in classifiers.items()
    }
    return round_robin(runs, timing.rounds), words


def forward_all(
    component: BertNER, docs: Sequence[Doc], settings: Sequence[InputSetting], progress: bool
) -> dict[InputSetting, Cached]:
    """One forward pass per distinct input setting, in order, under one progress bar."""
    from tqdm import tqdm

    distinct = list(dict.fromkeys(settings))
    cache: dict[InputSetting, Cached] = {}
    with tqdm(total=len(distinct) * len(docs), unit="doc", disable=not progress, dynamic_ncols=True) as bar:
        for setting in distinct:
            bar.set_description(setting.describe())
            cache[setting] = forward(component, docs, setting, bar)
    return cache


@dataclass
class Dataset:
    """Gold examples and the docs the component labels (the components before it applied), aligned."""

    examples: list[Example]
    docs: list[Doc]
    x2y: list[Any]  # per doc, its tokens' gold tokens (spaCy's alignment, as its NER scorer uses)

    @classmethod
    def load(cls, nlp: Language, name: str, path: Path) -> "Dataset":
        examples = load_examples(nlp, path)
        docs = prepared_docs(nlp, name, examples)
        return cls(
            examples, docs, [Example(doc, eg.reference).alignment.x2y for doc, eg in zip(docs, examples)]
        )


def decode(
    component: BertNER, data: Dataset, cached: Cached, aggregation: Aggregation, temperature: float
) -> Decoded:
    """Every entity the component writes from the cached probabilities (no thresholds), each with its score
    and whether spaCy's NER scorer counts it right; gold entities counted per label."""
    labels, scores, correct, where = [], [], [], []
    gold: dict[str, int] = {}
    for index, (eg, doc, x2y, model_input, pieces) in enumerate(
        zip(data.examples, data.docs, data.x2y, cached.inputs, cached.pieces, strict=True)
    ):
        reference = eg.reference
        if not reference.has_annotation("ENT_IOB"):
            continue  # spaCy's scorer skips it too
        golds = {(ent.label_, ent.start, ent.end) for ent in reference.ents}
        for label, _, _ in golds:
            gold[label] = gold.get(label, 0) + 1
        words = aggregate(pieces, aggregation, temperature)
        prediction = DocPredictions(model_input.tokens, model_input.segments, words)
        for span, span_score in component.found_spans(doc, prediction):
            indices = x2y[span.start : span.end]
            if not len(indices):
                continue
            first, last = int(indices[0]), int(indices[-1])
            if any(token.ent_iob == 0 for token in reference[first : last + 1]):
                continue  # gold annotation missing there: neither right nor wrong
            labels.append(span.label_)
            scores.append(span_score)
            correct.append((span.label_, first, last + 1) in golds)
            where.append((index, span.start, span.end))
    candidates = Candidates(
        numpy.array(labels, dtype=object),
        numpy.array(scores, dtype=float),
        numpy.array(correct, dtype=bool),
        gold,
    )
    return Decoded(candidates, numpy.array(where, dtype=numpy.int64).reshape(-1, 3))


def scores_at_temperature(
    cached: Cached, docs: Sequence[Doc], aggregation: Aggregation, decoded: Decoded
) -> Callable[[float], numpy.ndarray]:
    """A function of the temperature giving the decoded entities' scores: the mean over their words of the
    best label's probability after the temperature. Exact for ``first`` aggregation; for the others the
    temperature is applied to the aggregated distributions (the fit's approximation; tune re-decodes)."""
    offsets = numpy.r_[0, numpy.cumsum([len(doc) for doc in docs])]
    positions, distributions = [], []
    for index, (model_input, pieces) in enumerate(zip(cached.inputs, cached.pieces)):
        words, probs = word_probabilities(pieces, aggregation)
        positions.append(offsets[index] + model_input.tokens[words])
        distributions.append(probs)
    at = numpy.concatenate(positions) if positions else numpy.zeros(0, numpy.int64)
    probs = numpy.concatenate(distributions) if distributions else numpy.zeros((0, 1), numpy.float32)
    starts = offsets[decoded.where[:, 0]] + decoded.where[:, 1]
    ends = offsets[decoded.where[:, 0]] + decoded.where[:, 2]

    def scores_at(temperature: float) -> numpy.ndarray:
        token_scores = numpy.zeros(int(offsets[-1]) + 1)
        token_scores[at] = with_temperature(probs, temperature).max(1)
        total = numpy.r_[0.0, numpy.cumsum(token_scores)]
        return (total[ends] - total[starts]) / numpy.maximum(ends - starts, 1)

    return scores_at
