"""Articles -> DocBin files (spaCy's own :class:`~spacy.tokens.DocBin`), with the counts the converter
prints; DocBin files -> Docs."""

from __future__ import annotations

import gc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from tqdm import tqdm

from ..errors import DataError
from .conll import Article
from .docs import docs_to_conll, group_sentences, sentences_to_doc


@dataclass
class SplitStats:
    """Counts of one converted split, as the stats table prints them."""

    name: str
    articles: int = 0
    sentences: int = 0
    tokens: int = 0
    docs: int = 0
    entities: Counter = field(default_factory=Counter)

    @property
    def n_entities(self) -> int:
        return sum(self.entities.values())


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


def articles_to_docbin(
    articles: Sequence[Article],
    stats: SplitStats,
    n_sents: int | None = None,
    keep_articles: bool = True,
    progress: bool = False,
    vocab: Vocab | None = None,
) -> DocBin:
    """Build a DocBin from articles (:func:`~spacy_bert_ner.data.docs.group_sentences` says how they
    become Docs) and fill ``stats`` with what went in."""
    vocab = vocab or Vocab()
    docbin = DocBin(store_user_data=True)
    stats.articles = sum(1 for a in articles if a.docstart) or (1 if keep_articles else 0)
    total = sum(len(s.words) for a in articles for s in a.sentences)
    with tqdm(total=total, unit="tok", desc=stats.name, disable=not progress, leave=False) as bar:
        for sentences, docstart in group_sentences(articles, n_sents, keep_articles):
            doc = sentences_to_doc(vocab, sentences, docstart)
            stats.docs += 1
            stats.sentences += len(sentences)
            stats.tokens += len(doc)
            stats.entities.update(label for sent in sentences for _, _, label in sent.ents)
            bar.update(len(doc))
            docbin.add(doc)
    return docbin


def write_docbin(
    articles: Sequence[Article],
    output: str | Path,
    name: str,
    n_sents: int | None = None,
    keep_articles: bool = True,
    progress: bool = False,
) -> SplitStats:
    """Convert articles to a ``.spacy`` file at ``output``; return the split's counts."""
    stats = SplitStats(name)
    docbin = articles_to_docbin(articles, stats, n_sents, keep_articles, progress)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(output)
    return stats


def read_docbin(path: str | Path, vocab: Vocab | None = None) -> list[Doc]:
    """All Docs of a ``.spacy`` file, with a clear error when it is missing or not a DocBin."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; pass a .spacy file written by `convert`")
    try:
        docbin = DocBin(store_user_data=True).from_disk(path)
    except ValueError as err:
        raise DataError(f"{path}: not a spaCy DocBin file ({err})") from None
    return list(docbin.get_docs(vocab or Vocab()))


def export_conll(path: str | Path) -> str:
    """``export-conll``: a DocBin written by ``convert`` as 4-column (TOKEN POS CHUNK NER) IOB2 CoNLL text."""
    return docs_to_conll(read_docbin(path))
