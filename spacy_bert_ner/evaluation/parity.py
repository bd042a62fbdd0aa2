"""seqeval parity: score the same predictions with spaCy's NER scorer and with seqeval, and compare.

:func:`parity` takes gold Docs and the Docs a pipeline predicted for copies of their words (same tokens),
and scores them three ways:

- ``spacy``: :func:`spacy.scorer.get_ner_prf` on ``Example(predicted, gold)`` pairs, the scorer behind
  ``spacy.ner_scorer.v1`` (``ents_p``, ``ents_r``, ``ents_f``, ``ents_per_type``);
- ``seqeval``: seqeval's default mode (the conlleval rule, what the HF course reports) over IOB2 tag
  sequences built from ``doc.ents`` with :func:`spacy_bert_ner.bio.spans_to_iob2`;
- ``seqeval_strict``: seqeval's ``mode="strict", scheme=IOB2`` over the same sequences.

spaCy and seqeval default mode must agree to ``tolerance`` overall and per type. Conventions that make
the two exactly comparable:

- Sequences are gold sentences (``doc.sents``; a doc without sentence starts is one sequence). spaCy counts
  entities per doc, seqeval per sequence, so an entity (gold or predicted) crossing a sentence boundary
  would be one entity to spaCy and two to seqeval. Sentences such an entity joins are scored as one
  sequence; :attr:`ParityResult.crossing` counts those entities.
- Tokens: the pipeline sees the gold words, as conlleval does. ``spacy evaluate`` retokenizes the gold
  text with the pipeline's tokenizer (unless ``--gold-preproc``) and aligns, so its figures can differ a
  little from these where spaCy's tokenizer splits a CoNLL token.
- Undefined ratios are 0: precision with no predicted entities, recall with no gold ones (spaCy's
  ``PRFScore`` adds 1e-100 to denominators; seqeval gets ``zero_division=0``). With no entity at all, gold
  or predicted, spaCy returns None for every figure, and so do we for seqeval: the two agree.
- A type is listed if it occurs in gold or in the predictions (both scorers do so).
- Docs with no NER annotation are skipped (as spaCy does); a doc with *partly* missing annotation is an
  error, because spaCy would silently ignore predictions over the missing tokens and seqeval cannot.

The sequences are well-formed IOB2 by construction (re-encoded from spans), so strict mode gives the same
figures as default mode here. The two differ on raw model label sequences (``I-PER I-PER`` opening
without ``B-``; ``B-PER I-LOC``), e.g. in the HF course's subword-level metric
(:func:`spacy_bert_ner.hf.finetune.course_metric.course_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example

from ..bio import spans_to_iob2
from ..errors import DataError, ModelError
from ..pipeline.load import configure_process, load_pipeline
from ..scores import FIGURES, Scores, from_spacy, seqeval_scores

TOLERANCE = 1e-9
SCORERS = ("spacy", "seqeval", "seqeval_strict")  # the three columns, in the order the table shows them


@dataclass(frozen=True)
class Unit:
    """One seqeval sequence: tokens ``start:end`` of doc ``doc`` (a gold sentence, or several joined)."""

    doc: int
    start: int
    end: int
    sentences: int = 1


@dataclass
class SentenceDiff:
    """A sequence on which the scorers disagree: its words and both tag lists."""

    unit: Unit
    words: list[str]
    gold: list[str]
    predicted: list[str]
    differences: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "doc": self.unit.doc,
            "start": self.unit.start,
            "end": self.unit.end,
            "words": self.words,
            "gold": self.gold,
            "predicted": self.predicted,
            "differences": self.differences,
        }

    def lines(self) -> list[str]:
        """Three aligned lines (words, gold tags, predicted tags) for the terminal."""
        return aligned_lines(self.words, self.gold, self.predicted)


def aligned_lines(words: Sequence[str], gold: Sequence[str], predicted: Sequence[str]) -> list[str]:
    """Words, gold tags and predicted tags as three lines, each column as wide as its widest entry (the
    terminal's and the report's view of a differing sentence)."""
    widths = [max(len(w), len(g), len(p)) for w, g, p in zip(words, gold, predicted)]
    rows = [("words", words), ("gold", gold), ("predicted", predicted)]
    return [f"{name:>9}  " + " ".join(x.ljust(n) for x, n in zip(row, widths)) for name, row in rows]


@dataclass
class ParityResult:
    """The three scorings of one set of predictions and whether spaCy and seqeval agree."""

    spacy: dict[str, Any]  # spaCy's own figures (ents_p, ...), as `spacy evaluate --output` writes them
    seqeval: Scores
    seqeval_strict: Scores
    differences: list[str]
    first_difference: Optional[SentenceDiff]
    counts: dict[str, int] = field(default_factory=dict)
    crossing: dict[str, int] = field(default_factory=dict)
    tolerance: float = TOLERANCE

    @property
    def agree(self) -> bool:
        return not self.differences

    @property
    def verdict(self) -> str:
        return "agree" if self.agree else "mismatch"

    def to_json(self) -> dict[str, Any]:
        """spaCy's figures at the top level (as ``spacy evaluate --output`` writes them), then the rest."""
        return {
            **self.spacy,
            "seqeval": self.seqeval,
            "seqeval_strict": self.seqeval_strict,
            "parity": {
                "verdict": self.verdict,
                "tolerance": self.tolerance,
                "differences": self.differences,
                "first_difference": self.first_difference.to_json() if self.first_difference else None,
                "crossing_entities": self.crossing,
                **self.counts,
            },
        }


# -- spaCy --------------------------------------------------------------------------------------------------


def spacy_scores(examples: Iterable[Example]) -> dict[str, Any]:
    """spaCy's NER scores (``spacy.ner_scorer.v1`` = :func:`spacy.scorer.get_ner_prf`), types sorted."""
    scores = get_ner_prf(examples)
    per_type = scores["ents_per_type"]
    if per_type is not None:
        scores["ents_per_type"] = {label: per_type[label] for label in sorted(per_type)}
    return scores


def compare(spacy: Scores, seqeval: Scores, tolerance: float = TOLERANCE) -> list[str]:
    """What differs between spaCy's and seqeval's scores (both in the shape of
    :mod:`~spacy_bert_ner.scores`), one line per figure."""
    differences = []

    def check(what: str, a: Optional[float], b: Optional[float]) -> None:
        if (a is None) != (b is None) or (a is not None and b is not None and abs(a - b) > tolerance):
            differences.append(f"{what}: spaCy {a!r} != seqeval {b!r}")

    for key in FIGURES:
        check(f"overall {key.upper()}", spacy[key], seqeval[key])
    spacy_types, seqeval_types = spacy["per_type"], seqeval["per_type"]
    only = sorted(set(spacy_types) ^ set(seqeval_types))
    if only:
        differences.append(f"types scored by one side only: {only}")
    for type_ in sorted(set(spacy_types) & set(seqeval_types)):
        for key in FIGURES:
            check(f"{type_} {key.upper()}", spacy_types[type_][key], seqeval_types[type_][key])
    return differences


# -- predictions and sequences ------------------------------------------------------------------------------


def word_copies(nlp: Language, gold_docs: Iterable[Doc]) -> Iterable[Doc]:
    """Fresh Docs with each gold doc's words and spaces (no annotation), in ``nlp``'s vocab."""
    for gold in gold_docs:
        yield Doc(nlp.vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold])


def predict(nlp: Language, gold_docs: Sequence[Doc], batch_size: int = 64) -> list[Doc]:
    """Run ``nlp`` once over copies of the gold docs' words; the predicted docs, in order."""
    predicted = list(nlp.pipe(word_copies(nlp, gold_docs), batch_size=batch_size))
    for i, (gold, doc) in enumerate(zip(gold_docs, predicted)):
        if len(doc) != len(gold):
            raise ModelError(
                f"doc {i}: the pipeline changed the tokens ({len(gold)} in, {len(doc)} out); parity needs "
                "the gold tokens: remove retokenizing components (merge_entities, ...) from the pipeline"
            )
    return predicted


def load_and_predict(
    pipeline: str | Path, data: str | Path, batch_size: int = 64, gpu_id: int = -1
) -> tuple[list[Doc], list[Doc]]:
    """Load a pipeline and a gold ``.spacy`` file; return the gold docs and the pipeline's predictions."""
    from ..data.docbin import read_docbin

    configure_process(gpu_id)
    nlp = load_pipeline(pipeline)
    gold = read_docbin(data, nlp.vocab)
    return gold, predict(nlp, gold, batch_size)


def pipeline_parity(
    pipeline: str | Path,
    data: str | Path,
    *,
    batch_size: int = 64,
    gpu_id: int = -1,
    tolerance: float = TOLERANCE,
) -> "ParityResult":
    """``parity``: run ``pipeline`` once over the gold words of ``data`` and compare the scorers
    (:func:`parity`)."""
    gold, predicted = load_and_predict(pipeline, data, batch_size, gpu_id)
    return parity(gold, predicted, tolerance)


def is_annotated(gold: Doc, index: int = 0) -> bool:
    """Whether a gold doc has NER annotation; raise :class:`~spacy_bert_ner.errors.DataError` if only some
    tokens have it."""
    if not gold.has_annotation("ENT_IOB"):
        return False
    missing = [t.i for t in gold if t.ent_iob == 0]
    if missing:
        raise DataError(
            f"gold doc {index}: tokens {missing[:10]} have no NER annotation (neither O nor an entity) while "
            "others do; spaCy ignores predictions there and seqeval cannot, so parity needs complete "
            "annotation: mark them O (e.g. doc.set_ents(list(doc.ents), default='outside'))"
        )
    return True


def units_of(gold: Doc, predicted: Doc, index: int = 0) -> tuple[list[Unit], int, int]:
    """The seqeval sequences of one doc (gold sentences, joined where an entity crosses their boundary)
    and how many gold and predicted entities cross a sentence boundary."""
    if len(gold) == 0:
        return [], 0, 0
    if gold.has_annotation("SENT_START"):
        starts = [sent.start for sent in gold.sents]
    else:
        starts = [0]
    boundaries = set(starts[1:])
    crossing = []
    for ents in (gold.ents, predicted.ents):
        n = 0
        for ent in ents:
            inside = {b for b in starts[1:] if ent.start < b < ent.end}
            if inside:
                n += 1
                boundaries -= inside
        crossing.append(n)
    kept = [0] + sorted(boundaries) + [len(gold)]
    units = [
        Unit(index, a, b, sentences=sum(1 for s in starts if a <= s < b)) for a, b in zip(kept, kept[1:])
    ]
    return units, crossing[0], crossing[1]


def unit_tags(doc: Doc, unit: Unit) -> list[str]:
    """IOB2 tags of the unit's tokens from ``doc.ents`` (the one encoding rule, bio.spans_to_iob2)."""
    spans = [
        (ent.start - unit.start, ent.end - unit.start, ent.label_)
        for ent in doc.ents
        if unit.start <= ent.start and ent.end <= unit.end
    ]
    return spans_to_iob2(spans, unit.end - unit.start)


def unit_differs(gold: Doc, predicted: Doc, unit: Unit) -> bool:
    """Whether the predicted entities of a unit differ from the gold ones."""

    def ents(doc: Doc) -> set[tuple[int, int, str]]:
        return {(e.start, e.end, e.label_) for e in doc.ents if unit.start <= e.start and e.end <= unit.end}

    return ents(gold) != ents(predicted)


# -- parity -------------------------------------------------------------------------------------------------


def parity(
    gold_docs: Sequence[Doc], predicted_docs: Sequence[Doc], tolerance: float = TOLERANCE
) -> ParityResult:
    """Score ``predicted_docs`` against ``gold_docs`` (same tokens, same order) with spaCy, seqeval default
    mode and seqeval strict; compare spaCy and default mode and find the first sequence they disagree on."""
    if len(gold_docs) != len(predicted_docs):
        raise DataError(f"{len(gold_docs)} gold docs but {len(predicted_docs)} predicted docs")
    examples, units, true, pred = [], [], [], []
    counts = {"docs": len(gold_docs), "skipped_docs": 0, "sentences": 0, "sequences": 0, "tokens": 0}
    crossing = {"gold": 0, "predicted": 0}
    for i, (gold, doc) in enumerate(zip(gold_docs, predicted_docs)):
        if [t.text for t in gold] != [t.text for t in doc]:
            raise DataError(f"doc {i}: predicted tokens differ from the gold tokens")
        examples.append(Example(doc, gold))
        if not is_annotated(gold, i):
            counts["skipped_docs"] += 1
            continue
        doc_units, crossing_gold, crossing_pred = units_of(gold, doc, i)
        crossing["gold"] += crossing_gold
        crossing["predicted"] += crossing_pred
        for unit in doc_units:
            units.append(unit)
            true.append(unit_tags(gold, unit))
            pred.append(unit_tags(doc, unit))
            counts["sentences"] += unit.sentences
        counts["tokens"] += len(gold)
    counts["sequences"] = len(units)
    spacy = spacy_scores(examples)
    default = seqeval_scores(true, pred, "default")
    differences = compare(from_spacy(spacy), default, tolerance)
    first = None
    if differences:
        first = first_difference(gold_docs, predicted_docs, units, true, pred, tolerance)
    return ParityResult(
        spacy=spacy,
        seqeval=default,
        seqeval_strict=seqeval_scores(true, pred, "strict"),
        differences=differences,
        first_difference=first,
        counts=counts,
        crossing=crossing,
        tolerance=tolerance,
    )


def first_difference(
    gold_docs: Sequence[Doc],
    predicted_docs: Sequence[Doc],
    units: Sequence[Unit],
    true: Sequence[list[str]],
    pred: Sequence[list[str]],
    tolerance: float = TOLERANCE,
) -> Optional[SentenceDiff]:
    """The first sequence that spaCy and seqeval score differently on its own (None if none does)."""
    for unit, gold_tags, pred_tags in zip(units, true, pred):
        gold = gold_docs[unit.doc][unit.start : unit.end].as_doc()
        doc = predicted_docs[unit.doc][unit.start : unit.end].as_doc()
        differences = compare(
            from_spacy(spacy_scores([Example(doc, gold)])),
            seqeval_scores([gold_tags], [pred_tags]),
            tolerance,
        )
        if differences:
            return SentenceDiff(unit, [t.text for t in gold], gold_tags, pred_tags, differences)
    return None


def rows(result: ParityResult) -> list[tuple[str, Optional[int], list[Optional[float]]]]:
    """Table rows: ``(type, gold support, [spaCy P, R, F, seqeval P, R, F, strict P, R, F])``, then ALL."""
    scorings = (from_spacy(result.spacy), result.seqeval, result.seqeval_strict)
    types = sorted(set().union(*(scores["per_type"] for scores in scorings)))
    default_types = result.seqeval["per_type"]
    out = []
    for type_ in types:
        figures = [
            scores["per_type"][type_][key] if type_ in scores["per_type"] else None
            for scores in scorings
            for key in FIGURES
        ]
        out.append((type_, default_types.get(type_, {}).get("support"), figures))
    overall = [scores[key] for scores in scorings for key in FIGURES]
    out.append(("ALL", sum(s["support"] for s in default_types.values()), overall))
    return out
