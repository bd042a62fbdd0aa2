"""DocBins -> ``(words, IOB2 tags)`` per sentence, the input of the train-hf recipe
(:mod:`spacy_bert_ner.hf`).

The spaCy side of the Hugging Face route: the same ``train.spacy`` / ``dev.spacy`` the spaCy route reads
(whole articles with sentence starts and ``doc.ents``, as ``convert`` writes them) become one training
example per sentence, the unit the HF course trains on, grouped by Doc so that a sentence can be read with
its neighbours (``[model] context``). Whitespace tokens are left out, as the ``bert_ner`` component leaves
them out at prediction time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from spacy.tokens import Doc

from ..bio import TaggedSentence, spans_to_iob2
from ..errors import DataError
from .docbin import read_docbin


def doc_sentences(doc: Doc) -> Iterator[TaggedSentence]:
    """One ``(words, tags)`` pair per sentence of ``doc`` with at least one non-whitespace word."""
    for sent in doc.sents:
        spans = [(ent.start - sent.start, ent.end - sent.start, ent.label_) for ent in sent.ents]
        tags = spans_to_iob2(spans, len(sent))
        kept = [i for i, token in enumerate(sent) if not token.is_space]
        if kept:
            yield [sent[i].text for i in kept], [tags[i] for i in kept]


def docs_documents(docs: Iterable[Doc], origin: str) -> list[list[TaggedSentence]]:
    """Per doc, its sentences; a doc with tokens but no sentence starts is an error naming the fix."""
    documents: list[list[TaggedSentence]] = []
    for i, doc in enumerate(docs):
        if len(doc) and not doc.has_annotation("SENT_START"):
            raise DataError(
                f"{origin}: doc {i} has no sentence starts; the HF route trains per sentence. Write the "
                "DocBin with `python -m spacy_bert_ner convert` (it sets them) or set token.is_sent_start"
            )
        documents.append(list(doc_sentences(doc)))
    return documents


def docs_sentences(docs: Iterable[Doc], origin: str) -> list[TaggedSentence]:
    """The sentences of all ``docs``, in order (see :func:`docs_documents`)."""
    return [sentence for document in docs_documents(docs, origin) for sentence in document]


def read_documents(path: str | Path) -> list[list[TaggedSentence]]:
    """The sentences of a ``.spacy`` file as ``(words, IOB2 tags)`` pairs, one list per Doc."""
    return docs_documents(read_docbin(path), str(path))


def read_sentences(path: str | Path) -> list[TaggedSentence]:
    """All sentences of a ``.spacy`` file as ``(words, IOB2 tags)`` pairs."""
    return docs_sentences(read_docbin(path), str(path))
