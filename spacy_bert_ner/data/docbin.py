"""Articles -> Docs -> DocBin files (spaCy's own :class:`~spacy.tokens.DocBin`); DocBin files -> Docs."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from tqdm import tqdm

from ..errors import DataError
from .conll import Article
from .docs import docs_to_conll, group_sentences, sentences_to_doc
from .stats import SplitStats


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: conversion allocates millions of acyclic lists and strings,
    and GC passes over them cost ~10% of the run while freeing nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def articles_to_docs(
    articles: Sequence[Article],
    n_sents: int | None = None,
    keep_articles: bool = True,
    progress: bool = False,
    vocab: Vocab | None = None,
    name: str = "",
) -> list[Doc]:
    """The Docs of ``articles`` (:func:`~spacy_bert_ner.data.docs.group_sentences` says how they become
    Docs)."""
    vocab = vocab or Vocab()
    docs = []
    total = sum(len(s.words) for a in articles for s in a.sentences)
    with tqdm(total=total, unit="tok", desc=name, disable=not progress, leave=False) as bar:
        for sentences, docstart in group_sentences(articles, n_sents, keep_articles):
            doc = sentences_to_doc(vocab, sentences, docstart)
            bar.update(len(doc))
            docs.append(doc)
    return docs


def articles_to_docbin(
    articles: Sequence[Article],
    stats: SplitStats,
    n_sents: int | None = None,
    keep_articles: bool = True,
    progress: bool = False,
    vocab: Vocab | None = None,
) -> DocBin:
    """A DocBin of ``articles``' Docs (:func:`articles_to_docs`); ``stats`` gets what went in."""
    docs = articles_to_docs(articles, n_sents, keep_articles, progress, vocab, stats.name)
    stats.articles = sum(1 for a in articles if a.docstart) or (1 if keep_articles else 0)
    stats.count_docs(docs)
    return docs_to_docbin(docs)


def docs_to_docbin(docs: Iterable[Doc]) -> DocBin:
    """A DocBin holding ``docs`` with their ``user_data``."""
    docbin = DocBin(store_user_data=True)
    for doc in docs:
        docbin.add(doc)
    return docbin


def write_docbin(docs: Iterable[Doc], output: str | Path) -> Path:
    """Write ``docs`` to a ``.spacy`` file at ``output`` (its folder made if needed)."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    docs_to_docbin(docs).to_disk(output)
    return output


def read_docbin(path: str | Path, vocab: Vocab | None = None) -> list[Doc]:
    """All Docs of a ``.spacy`` file, with a clear error when it is missing or not a DocBin."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; pass a .spacy file (a spaCy DocBin, e.g. from `convert`)")
    try:
        docbin = DocBin(store_user_data=True).from_disk(path)
    except ValueError as err:
        raise DataError(f"{path}: not a spaCy DocBin file ({err})") from None
    return list(docbin.get_docs(vocab or Vocab()))


def export_conll(path: str | Path) -> str:
    """``export-conll``: a DocBin written by ``convert`` as 4-column (TOKEN POS CHUNK NER) IOB2 CoNLL text."""
    return docs_to_conll(read_docbin(path))
