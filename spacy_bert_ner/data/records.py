"""Annotated text records (:mod:`.annotations`) -> spaCy Docs with ``doc.ents``, every span accounted for.

A record's tokens are its own when it gives them (spaCy / Prodigy ``tokens``), else the ``lang`` tokenizer's.
A span must cover whole tokens; one that does not is an error naming ``file:line``, the span's text and
offsets, unless ``misaligned`` says what to do (``expand`` or ``contract`` to whole tokens: repaired;
``skip``: left out), each counted in :class:`~.stats.SplitStats`. White space at a span's edges is trimmed
(a repair, counted). Spans past the text, overlapping spans and tokens that are not in the text are errors.
The Docs keep the record's text exactly (``doc.text == text``) and mark it as real text
(:data:`TEXT_KEY`), unlike Docs built from column files, whose text is their tokens joined by spaces.
"""

from __future__ import annotations

from typing import Iterable, Optional

import spacy
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.util import (
    compile_infix_regex,
    compile_prefix_regex,
    compile_suffix_regex,
    get_lang_class,
    get_words_and_spaces,
)
from spacy.vocab import Vocab, create_vocab

from ..errors import ConfigError, DataError
from .annotations import CharSpan, Record
from .convert_settings import MISALIGNED
from .docs import SOURCE_KEY, TEXT_KEY
from .stats import SplitStats

MISALIGNED_FIX = (
    "pass --misaligned expand (widen it to whole tokens), contract (narrow it) or skip (leave it out), "
    "or give the record's tokens"
)


def rule_tokenizer(lang: str) -> Tokenizer:
    """spaCy's tokenizer for ``lang``, as ``spacy.blank(lang).tokenizer`` builds it, without a Language
    object: making one imports every registered pipeline component (this package's included), which
    converting data has no use for. Languages with a tokenizer of their own (ja, zh, ...) get the blank
    pipeline's."""
    try:
        lang_class = get_lang_class(lang)
    except ImportError as err:
        raise ConfigError(f"--lang {lang!r}: not a language spaCy knows ({err})") from None
    defaults = lang_class.Defaults
    if lang_class.default_config["nlp"]["tokenizer"].get("@tokenizers") != "spacy.Tokenizer.v1":
        return spacy.blank(lang).tokenizer
    return Tokenizer(
        create_vocab(lang, defaults),
        rules=defaults.tokenizer_exceptions,
        prefix_search=compile_prefix_regex(defaults.prefixes).search if defaults.prefixes else None,
        suffix_search=compile_suffix_regex(defaults.suffixes).search if defaults.suffixes else None,
        infix_finditer=compile_infix_regex(defaults.infixes).finditer if defaults.infixes else None,
        token_match=defaults.token_match,
        url_match=defaults.url_match,
    )


def records_to_docs(
    records: Iterable[Record],
    tokenizer: Tokenizer,
    stats: SplitStats,
    misaligned: str = "error",
) -> list[Doc]:
    """One Doc per record (``tokenizer``: a spaCy tokenizer for records without tokens); ``stats`` counts
    records and spans read, and spans repaired or skipped."""
    if misaligned not in MISALIGNED:
        raise ConfigError(f"--misaligned {misaligned!r}: use one of {', '.join(MISALIGNED)}")
    docs = []
    for record in records:
        stats.records += 1
        stats.spans_read += len(record.spans)
        for note in record.notes:
            stats.skipped.add(note, record.where)
        if record.skip is not None:
            stats.skipped.add(f"record: {record.skip}", record.where)
            continue
        doc = record_doc(record, tokenizer)
        doc.set_ents(record_spans(doc, record, misaligned, stats), default="outside")
        doc.user_data[TEXT_KEY] = "real"
        doc.user_data[SOURCE_KEY] = record.where
        docs.append(doc)
    return docs


def record_doc(record: Record, tokenizer: Tokenizer) -> Doc:
    """The record's text as a Doc: its own tokens when given (checked against the text), else tokenized."""
    if record.tokens is None:
        return tokenizer(record.text)
    vocab: Vocab = tokenizer.vocab
    end = 0
    for i, token in enumerate(record.tokens, start=1):
        if record.text[token.start : token.end] != token.text or token.start < end:
            found = record.text[token.start : token.end]
            raise DataError(
                f"{record.where}: token {i} {token.text!r} [{token.start}:{token.end}] does not match the "
                f"text there ({found!r}) or overlaps the token before; tokens must be the text's own "
                "characters, in order"
            )
        end = token.end
    words, spaces = get_words_and_spaces([t.text for t in record.tokens], record.text)
    return Doc(vocab, words=words, spaces=spaces)


def record_spans(doc: Doc, record: Record, misaligned: str, stats: SplitStats) -> list[Span]:
    """The record's spans as token spans of ``doc``, checked, trimmed and aligned."""
    text = record.text
    spans: list[Span] = []
    for i, char_span in enumerate(record.spans, start=1):
        what = f"span {i} [{char_span.start}:{char_span.end}] ({char_span.label})"
        start, end = _trimmed(char_span, text, record.where, what)
        if (start, end) != (char_span.start, char_span.end):
            stats.repaired.add("white space at its edge trimmed", record.where)
        span = doc.char_span(start, end, label=char_span.label)
        if span is None:
            span = _aligned(doc, start, end, char_span.label, misaligned, stats, record.where, what)
        if span is not None:
            spans.append(span)
    return _without_duplicates(spans, record.where, stats)


def _trimmed(span: CharSpan, text: str, where: str, what: str) -> tuple[int, int]:
    """The span's offsets after checking they lie in the text, with white space at the edges removed."""
    if not 0 <= span.start < span.end <= len(text):
        raise DataError(
            f"{where}: {what}: offsets outside the text (length {len(text)}) or start >= end; "
            "offsets count characters from 0, end exclusive"
        )
    covered = text[span.start : span.end]
    if not covered.strip():
        raise DataError(f"{where}: {what}: covers only white space ({covered!r}); remove the span")
    start = span.start + len(covered) - len(covered.lstrip())
    return start, span.end - (len(covered) - len(covered.rstrip()))


def _aligned(
    doc: Doc, start: int, end: int, label: str, misaligned: str, stats: SplitStats, where: str, what: str
) -> Optional[Span]:
    """A span whose offsets are not token boundaries, as ``misaligned`` says."""
    if misaligned == "error":
        tokens = [t.text for t in doc if t.idx < end and t.idx + len(t) > start]
        raise DataError(
            f"{where}: {what} {doc.text[start:end]!r} does not fall on token boundaries (tokens there: "
            f"{tokens}); {MISALIGNED_FIX}"
        )
    if misaligned == "skip":
        stats.skipped.add("span not on token boundaries (--misaligned skip)", where)
        return None
    span = doc.char_span(start, end, label=label, alignment_mode=misaligned)
    if span is None:
        stats.skipped.add(
            "span not on token boundaries and no whole token inside it (--misaligned contract)", where
        )
        return None
    stats.repaired.add(
        f"not on token boundaries: {misaligned}ed to whole tokens (--misaligned {misaligned})", where
    )
    return span


def _without_duplicates(spans: list[Span], where: str, stats: SplitStats) -> list[Span]:
    """The spans in order; an exact repeat is skipped (counted), any other overlap is an error."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if kept and span.start < kept[-1].end:
            last = kept[-1]
            if (span.start, span.end, span.label_) == (last.start, last.end, last.label_):
                stats.skipped.add("span given twice (the same tokens and label)", where)
                continue
            raise DataError(
                f"{where}: overlapping spans {last.text!r} ({last.label_}, chars {last.start_char}-"
                f"{last.end_char}) and {span.text!r} ({span.label_}, chars {span.start_char}-"
                f"{span.end_char}); doc.ents holds one label per token: keep one of them"
            )
        kept.append(span)
    return kept
