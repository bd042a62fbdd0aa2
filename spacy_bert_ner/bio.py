"""Pure functions for BIO-style tag sequences: validate, decode to spans, encode as IOB2.

There is ONE decoding rule in this package, :func:`tags_to_spans`. It is the conlleval rule that
seqeval's default mode implements: an ``I-X`` after ``O`` or after another type starts an entity,
``E-``/``S-`` close one. The converter, the ``bert_ner`` component and the parity check all use it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Literal, Sequence

from .errors import DataError

Scheme = Literal["iob1", "iob2", "bioes", "bilou"]
SCHEMES: tuple[str, ...] = ("iob1", "iob2", "bioes", "bilou")
Span = tuple[int, int, str]  # (start, end exclusive, label)
TaggedSentence = tuple[Sequence[str], Sequence[str]]  # (words, one tag per word)
MISSING = "-"  # the tag of a word with no NER annotation (spaCy's own marker): not trained on, scored as O

# Prefixes each scheme may use; BILOU's L/U are read as BIOES's E/S.
_PREFIXES: dict[str, frozenset[str]] = {
    "iob1": frozenset("BI"),
    "iob2": frozenset("BI"),
    "bioes": frozenset("BIES"),
    "bilou": frozenset("BILU"),
}
_CANONICAL = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}


@lru_cache(maxsize=4096)
def split_tag(tag: str, scheme: str = "bioes") -> tuple[str, str]:
    """Split ``"B-WORK-OF-ART"`` into ``("B", "WORK-OF-ART")``; ``"O"`` into ``("O", "")``.

    Returns the canonical prefix (BILOU's ``L``/``U`` become ``E``/``S``). Types may contain hyphens:
    only the first hyphen separates the prefix.
    """
    if tag == "O":
        return "O", ""
    prefix, sep, type_ = tag.partition("-")
    if not sep or not type_ or prefix not in _PREFIXES[scheme]:
        allowed = "/".join(f"{p}-X" for p in sorted(_PREFIXES[scheme]))
        raise DataError(f"invalid tag {tag!r}: expected O or {allowed} (scheme {scheme})")
    return _CANONICAL[prefix], type_


def _ends(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """conlleval's endOfChunk: does the entity open at the previous tag end before this one?"""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix != "O" and prev_type != type_


def _starts(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """conlleval's startOfChunk: does an entity start at this tag?"""
    if prefix in ("B", "S"):
        return True
    if prefix in ("I", "E") and prev_prefix in ("E", "S", "O"):
        return True
    return prefix != "O" and prev_type != type_


def tags_to_spans(tags: Sequence[str], scheme: str = "bioes") -> list[Span]:
    """Decode tags into ``(start, end, label)`` spans by the conlleval rule (seqeval default mode).

    Works for IOB1, IOB2, BIOES and BILOU input alike; ``scheme`` only limits the prefixes accepted.
    """
    spans: list[Span] = []
    start = -1
    prev_prefix, prev_type = "O", ""
    for i, tag in enumerate(tags):
        if tag == "O":  # fast path: O closes any open entity and never starts one
            if start >= 0:
                spans.append((start, i, prev_type))
                start = -1
            prev_prefix, prev_type = "O", ""
            continue
        if tag[0] == "I" and prev_prefix in ("B", "I") and tag[2:] == prev_type:
            prev_prefix = "I"  # fast path: I-X inside an X entity neither ends nor starts one
            continue
        prefix, type_ = split_tag(tag, scheme)
        if start >= 0 and _ends(prev_prefix, prefix, prev_type, type_):
            spans.append((start, i, prev_type))
            start = -1
        if _starts(prev_prefix, prefix, prev_type, type_):
            start = i
        prev_prefix, prev_type = prefix, type_
    if start >= 0:
        spans.append((start, len(tags), prev_type))
    return spans


def spans_to_iob2(spans: Iterable[Span], length: int) -> list[str]:
    """Encode non-overlapping spans as IOB2 tags over ``length`` tokens."""
    tags = ["O"] * length
    for start, end, label in spans:
        tags[start] = f"B-{label}"
        for i in range(start + 1, end):
            tags[i] = f"I-{label}"
    return tags


def scheme_of_labels(labels: Iterable[str]) -> Scheme:
    """The scheme of a model's label set (``id2label`` values); raises
    :class:`~spacy_bert_ner.errors.DataError` naming bad labels.

    IOB1 and IOB2 label sets look the same and decode the same way; they are reported as ``"iob2"``.
    """
    labels = list(labels)
    prefixes = {label.partition("-")[0] for label in labels if label != "O"}
    scheme: Scheme = "iob2"
    if prefixes & {"L", "U"}:
        scheme = "bilou"
    elif prefixes & {"E", "S"}:
        scheme = "bioes"
    bad = []
    for label in labels:
        try:
            split_tag(label, scheme)
        except DataError:
            bad.append(label)
    if bad:
        raise DataError(
            f"labels {bad} are not O or B-/I-/E-/S-/L-/U-TYPE tags of one scheme (read as {scheme}); "
            "rename them in the model's config.json id2label/label2id"
        )
    if not any(label != "O" for label in labels):
        raise DataError(f"label set {labels} has no entity labels (only O): it cannot predict entities")
    return scheme
