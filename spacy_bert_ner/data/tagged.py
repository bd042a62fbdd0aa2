"""DocBins -> ``(words, IOB2 tags)`` per sentence, the input of the train-hf recipe
(:mod:`spacy_bert_ner.hf`).

The spaCy side of the Hugging Face route: the same ``train.spacy`` / ``dev.spacy`` the spaCy route reads
become one training example per sentence, the unit the HF course trains on, grouped by Doc so that a
sentence can be read with its neighbours (``[model] context``). Whitespace tokens are left out, as the
``bert_ner`` component leaves them out at prediction time (by their text: a DocBin read with a blank
``Vocab`` has no ``is_space`` flags). Three things are read, not refused, and counted in a
:class:`ReadReport`:

- a Doc without sentence starts is split by spaCy's rule-based ``sentencizer`` (on a copy; the caller's Doc
  is not changed);
- a sentence boundary inside a gold entity is removed: the two sentences are read as one;
- a token with no NER annotation (``token.ent_iob == 0``, e.g. a Doc no annotator saw) gets the tag
  :data:`MISSING`, which training ignores (label -100) and word-level scores read as ``O``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

from ..bio import MISSING, TaggedSentence, spans_to_iob2
from .docbin import read_docbin


@dataclass
class ReadReport:
    """What reading one DocBin changed or marked, as counts (all 0 but ``docs``: read as it is)."""

    docs: int = 0
    docs_split_by_sentencizer: int = 0  # Docs with no sentence starts, split by spaCy's sentencizer
    boundaries_removed: int = 0  # sentence starts inside a gold entity, removed
    missing_tokens: int = 0  # words (not whitespace) with no NER annotation, tagged MISSING
    docs_unannotated: int = 0  # Docs with no NER annotation at all (their words count in missing_tokens)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """What was done, in one line; empty when nothing was."""
        parts = []
        if self.docs_split_by_sentencizer:
            parts.append(
                f"{self.docs_split_by_sentencizer} of {self.docs} docs had no sentence starts and were "
                "split by spaCy's sentencizer"
            )
        if self.boundaries_removed:
            parts.append(
                f"{self.boundaries_removed} sentence boundaries fell inside an entity and were removed "
                "(the sentences either side are read as one)"
            )
        if self.missing_tokens:
            parts.append(
                f"{self.missing_tokens} words have no NER annotation ({self.docs_unannotated} docs none "
                "at all): they are not trained on (label -100) and count as O in word-level scores"
            )
        return "; ".join(parts)


def with_sentences(doc: Doc, report: ReadReport) -> Doc:
    """``doc``, or a copy split by spaCy's ``sentencizer`` when it has tokens and no sentence starts."""
    if not len(doc) or doc.has_annotation("SENT_START"):
        return doc
    report.docs_split_by_sentencizer += 1
    return Sentencizer()(doc.copy())


def sentence_bounds(doc: Doc, report: ReadReport) -> list[tuple[int, int]]:
    """``(start, end)`` token offsets of the sentences, with every boundary inside an entity removed."""
    inside = {i for ent in doc.ents for i in range(ent.start + 1, ent.end)}
    starts = [sent.start for sent in doc.sents]
    kept = [start for start in starts if start not in inside]
    report.boundaries_removed += len(starts) - len(kept)
    return list(zip(kept, [*kept[1:], len(doc)]))


def doc_tags(doc: Doc) -> list[str]:
    """One IOB2 tag per token of ``doc``; :data:`MISSING` where its NER annotation is missing."""
    tags = spans_to_iob2([(ent.start, ent.end, ent.label_) for ent in doc.ents], len(doc))
    return [MISSING if token.ent_iob == 0 else tag for token, tag in zip(doc, tags)]


def doc_sentences(doc: Doc, report: ReadReport) -> list[TaggedSentence]:
    """One ``(words, tags)`` pair per sentence of ``doc`` with at least one non-whitespace word; counts what
    was done in ``report``."""
    report.docs += 1
    report.docs_unannotated += int(len(doc) > 0 and not doc.has_annotation("ENT_IOB"))
    doc = with_sentences(doc, report)
    tags = doc_tags(doc)
    sentences: list[TaggedSentence] = []
    for start, end in sentence_bounds(doc, report):
        kept = [i for i in range(start, end) if not doc[i].text.isspace()]  # is_space needs lex attrs
        report.missing_tokens += sum(tags[i] == MISSING for i in kept)
        if kept:
            sentences.append(([doc[i].text for i in kept], [tags[i] for i in kept]))
    return sentences


def docs_documents(docs: Iterable[Doc]) -> tuple[list[list[TaggedSentence]], ReadReport]:
    """Per doc, its sentences, and the report of what reading them did."""
    report = ReadReport()
    return [doc_sentences(doc, report) for doc in docs], report


def docs_sentences(docs: Iterable[Doc]) -> list[TaggedSentence]:
    """The sentences of all ``docs``, in order (see :func:`docs_documents`)."""
    documents, _ = docs_documents(docs)
    return [sentence for document in documents for sentence in document]


def read_documents(path: str | Path) -> tuple[list[list[TaggedSentence]], ReadReport]:
    """The sentences of a ``.spacy`` file as ``(words, IOB2 tags)`` pairs, one list per Doc, and the
    report."""
    return docs_documents(read_docbin(path))


def read_sentences(path: str | Path) -> list[TaggedSentence]:
    """All sentences of a ``.spacy`` file as ``(words, IOB2 tags)`` pairs."""
    return docs_sentences(read_docbin(path))
