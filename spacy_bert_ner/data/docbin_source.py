"""A DocBin given to ``convert`` (an annotation tool's output, e.g. ``prodigy data-to-spacy``): read as it is,
checked, and copied, with what the package's routes will make of it said up front."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..errors import DataError
from .docbin import read_docbin
from .docs import SOURCE_KEY, TEXT_KEY
from .stats import SplitStats


def has_real_text(doc: Doc) -> bool:
    """Whether a Doc's text looks like a source's own text, not tokens joined by spaces (as ``Doc(vocab,
    words)`` and column files give: every token followed by one space)."""
    return len(doc) > 0 and not all(token.whitespace_ for token in doc)


def read_docbin_source(path: Path, vocab: Vocab, stats: SplitStats) -> list[Doc]:
    """The Docs of a DocBin, checked: every entity has a label; counts of what the routes will not use."""
    docs = read_docbin(path, vocab)
    missing_tokens = unannotated_docs = 0
    unused_spans: Counter = Counter()
    for i, doc in enumerate(docs):
        where = f"{path} doc {i}"
        stats.records += 1
        stats.spans_read += len(doc.ents)
        for ent in doc.ents:
            if not ent.label_.strip():
                raise DataError(
                    f"{where}: entity {ent.text!r} (tokens {ent.start}-{ent.end}) has an empty label"
                )
        if not doc.has_annotation("ENT_IOB"):
            unannotated_docs += 1
        else:
            missing_tokens += sum(1 for token in doc if token.ent_iob == 0)
        for key, group in doc.spans.items():
            unused_spans[key] += len(group)
        if has_real_text(doc):
            doc.user_data.setdefault(TEXT_KEY, "real")
        doc.user_data.setdefault(SOURCE_KEY, where)
    if unannotated_docs:
        stats.notes.append(
            f"{unannotated_docs:,} Doc(s) have no NER annotation at all: copied as they are; they teach "
            "nothing, and parity refuses them (annotate them, or set doc.ents to mark them all O)"
        )
    if missing_tokens:
        stats.notes.append(
            f"{missing_tokens:,} token(s) have missing NER annotation (neither O nor in an entity): copied "
            "as they are; both training routes ignore them, parity refuses them"
        )
    for key, n in sorted(unused_spans.items()):
        stats.notes.append(f"doc.spans[{key!r}] holds {n:,} span(s): copied, but only doc.ents is trained on")
    return docs
