"""CoNLL column files (CoNLL-2003 style) <-> sentences: a strict reader and a lossless IOB2 writer.

No spaCy and no model code here: the reader turns text into :class:`Sentence` records with decoded
spans, the writer turns token columns back into text.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..bio import SCHEMES, Span, spans_to_iob2, split_tag, tags_to_spans
from ..errors import ConfigError, DataError, RepairWarning

DOCSTART = "-DOCSTART-"
DOCSTART_LINES = {4: "-DOCSTART- -X- -X- O", 2: "-DOCSTART- O"}
COLUMN_LAYOUTS = {4: "TOKEN POS CHUNK NER", 2: "TOKEN NER"}
BOM = "\ufeff"  # U+FEFF at the start of a file: the byte-order mark (EF BB BF in UTF-8)


@dataclass
class Sentence:
    """One sentence: its tokens, optional POS and chunk columns, and decoded entity / chunk spans."""

    words: list[str]
    ner_tags: list[str]
    pos: list[str] | None = None
    chunk_tags: list[str] | None = None
    origin: str = ""
    first_line: int | None = None  # file line of the first token; None for dataset rows
    ents: list[Span] = field(default_factory=list)
    chunks: list[Span] | None = None

    def location(self, i: int = 0) -> str:
        """Where token ``i`` came from, for error messages."""
        if self.first_line is None:
            return f"{self.origin}, token {i + 1}"
        return f"{self.origin}:{self.first_line + i}"


@dataclass
class Article:
    """The sentences between two ``-DOCSTART-`` lines; ``docstart`` says whether one opened it."""

    sentences: list[Sentence]
    docstart: bool


def _decode_column(
    sentences: Sequence[Sentence], column: str, scheme: str, strict: bool, source: str
) -> tuple[str, int, str]:
    """Validate one tag column, resolve ``auto`` to iob1/iob2, decode spans. Returns (scheme, repaired,
    where the first repair is)."""
    tag_scheme = "iob2" if scheme == "auto" else scheme
    distinct: set[str] = set()
    for sent in sentences:
        distinct.update(getattr(sent, column))
    for tag in sorted(distinct):
        try:
            split_tag(tag, tag_scheme)
        except DataError as err:
            sent, i = next((s, t.index(tag)) for s in sentences if tag in (t := getattr(s, column)))
            hint = " (pass --scheme bioes or --scheme bilou for those tags)" if scheme == "auto" else ""
            raise DataError(f"{sent.location(i)}: {column} column: {err}{hint}") from None
    target = "ents" if column == "ner_tags" else "chunks"
    openings = 0  # entities opened by I-/E- (IOB1 style, or errors in IOB2/BIOES)
    first_opening = ""
    b_opens_entity = False  # IOB1 uses B- only right after an entity of the same type
    for sent in sentences:
        tags = getattr(sent, column)
        spans = tags_to_spans(tags, tag_scheme)
        setattr(sent, target, spans)
        for start, _, label in spans:
            if tags[start][0] in "IE":
                openings += 1
                first_opening = first_opening or f"{sent.location(start)} ({tags[start]})"
            elif not b_opens_entity and tags[start][0] == "B":
                b_opens_entity = start == 0 or split_tag(tags[start - 1], tag_scheme)[1] != label
    resolved = scheme
    if scheme == "auto":
        resolved = "iob1" if openings and not b_opens_entity else "iob2"
    repaired = 0 if resolved == "iob1" else openings
    if repaired and strict:
        raise DataError(
            f"{source}: {repaired} {column} tag(s) open an entity with I- in {resolved} data, first at "
            f"{first_opening}; fix them to B-, drop --strict to repair them by the conlleval rule, or pass "
            "--scheme iob1 if the file is IOB1"
        )
    return resolved, repaired, first_opening


def decode_tags(sentences: Sequence[Sentence], scheme: str, strict: bool, source: str) -> dict[str, object]:
    """Validate and decode the NER (and chunk) columns of ``sentences`` in place.

    ``scheme`` is ``auto`` or one of :data:`~spacy_bert_ner.bio.SCHEMES` and applies to the NER column;
    the chunk column is always auto-detected (IOB1/IOB2). Repairs of I- openings in IOB2 data warn with
    their count, or raise under ``strict``.
    """
    if scheme != "auto" and scheme not in SCHEMES:
        raise ConfigError(f"unknown scheme {scheme!r}: use auto or one of {', '.join(SCHEMES)}")
    info: dict[str, object] = {}
    info["ner_scheme"], info["ner_repaired"], info["ner_first_repair"] = _decode_column(
        sentences, "ner_tags", scheme, strict, source
    )
    if sentences and sentences[0].chunk_tags is not None:
        info["chunk_scheme"], info["chunk_repaired"], _ = _decode_column(
            sentences, "chunk_tags", "auto", strict, source
        )
    for column in ("ner", "chunk"):
        if info.get(f"{column}_repaired"):
            warnings.warn(
                f"{source}: repaired {info[f'{column}_repaired']} {column} tag(s) where I- opened an entity "
                f"in {info[f'{column}_scheme']} data (conlleval rule: they start an entity); "
                "pass --strict to reject them instead",
                RepairWarning,
                stacklevel=2,
            )
    return info


def read_text(path: Path) -> str:
    """The file's text, decoded as UTF-8; a byte-order mark that some editors write first is dropped (it is
    an encoding marker, not text, and would hide a first ``-DOCSTART-`` line)."""
    if not path.exists():
        raise DataError(f"{path}: file not found; pass a CoNLL column file or a folder of them")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not valid UTF-8 (byte {data[err.start]:#04x} at offset {err.start}); "
            "re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`"
        ) from None


def split_fields(line: str) -> list[str]:
    """A column line's fields: split at tabs when it has any (a token may then hold spaces), else at runs of
    spaces. A line that starts with a separator has an empty first field (no token)."""
    if "\t" in line:
        return [field.strip(" ") for field in re.split(r"\t+", line)]
    fields = re.split(r" +", line)
    return fields


def parse_conll(text: str, origin: str) -> tuple[list[Article], ColumnLayout]:
    """Parse CoNLL column text into articles of sentences (tags not yet validated or decoded) and the file's
    layout. Lines that hold only white space (a lone tab, spaces) end a sentence as a blank line does; the
    layout records where they were, so the caller reports them."""
    articles: list[Article] = []
    article = Article([], docstart=False)
    layout: ColumnLayout | None = None
    blank_like: list[int] = []  # lines of white space only (not empty): read as sentence ends
    block: list[tuple[int, str, list[str]]] = []  # (line number, line, fields) of the sentence being read

    def flush() -> None:
        nonlocal block, layout
        if not block:
            return
        if layout is None:
            layout = ColumnLayout.of(origin, *block[0])
        for lineno, line, fields in block:
            layout.check(origin, lineno, line, fields)
        cols = [list(col) for col in zip(*(fields for _, _, fields in block))]
        first = block[0][0]
        if layout.conll2003:
            sent = Sentence(cols[0], cols[3], cols[1], cols[2], origin, first)
        else:
            sent = Sentence(cols[0], cols[-1], None, None, origin, first)
        article.sentences.append(sent)
        block = []

    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip(" \t\r")
        if not line:
            if raw.strip("\r"):
                blank_like.append(lineno)
            flush()
        elif line.startswith(DOCSTART) and line.split(None, 1)[0] == DOCSTART:
            flush()
            if article.sentences or article.docstart:
                articles.append(article)
            article = Article([], docstart=True)
        else:
            block.append((lineno, line, split_fields(line)))
    flush()
    if article.sentences or article.docstart:
        articles.append(article)
    if layout is None or not any(a.sentences for a in articles):
        raise DataError(
            f"{origin}: no sentences found; expected CoNLL column lines, the token first and the NER tag "
            f"last ({COLUMN_LAYOUTS[4]} or {COLUMN_LAYOUTS[2]}), a blank line after each sentence"
        )
    layout.blank_like = blank_like
    return articles, layout


@dataclass
class ColumnLayout:
    """How a column file is laid out: its number of columns (one for the whole file, set by its first token
    line), whether they are CoNLL-2003's four, and the white-space-only lines it holds."""

    n_columns: int
    since: int  # the line that set the layout
    conll2003: bool  # TOKEN POS CHUNK NER: POS and chunks are kept; otherwise only token and NER are read
    blank_like: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, origin: str, lineno: int, line: str, fields: list[str]) -> ColumnLayout:
        layout = cls(len(fields), lineno, len(fields) == 4)
        layout.check(origin, lineno, line, fields)
        return layout

    @property
    def description(self) -> str:
        if self.conll2003:
            return COLUMN_LAYOUTS[4]
        if self.n_columns == 2:
            return COLUMN_LAYOUTS[2]
        return f"TOKEN, {self.n_columns - 2} column(s) not read, NER"

    @property
    def unread_columns(self) -> list[int]:
        """The 1-based columns that no Doc keeps (the ones between token and tag, unless CoNLL-2003's)."""
        return [] if self.conll2003 else list(range(2, self.n_columns))

    def check(self, origin: str, lineno: int, line: str, fields: list[str]) -> None:
        """Raise the error that says what is wrong with one line, if anything."""
        where = f"{origin}:{lineno}"
        if fields[0] == "":
            raise DataError(
                f"{where}: empty token in {line!r}: the line starts with a separator; the token is the first "
                "column and cannot be empty"
            )
        if len(fields) == 1:
            raise DataError(
                f"{where}: no tag in {line!r}: one column only; a column file holds the token first and its "
                "NER tag last (O outside entities), separated by tabs or spaces"
            )
        if "" in fields:
            raise DataError(f"{where}: empty field {fields.index('') + 1} in {line!r}")
        if len(fields) != self.n_columns:
            raise DataError(
                f"{where}: {len(fields)} columns in {line!r}, but this file has {self.n_columns} "
                f"({self.description}) since line {self.since}; one layout per file"
            )


def read_conll(path: str | Path, scheme: str = "auto", strict: bool = False) -> tuple[list[Article], dict]:
    """Read a CoNLL column file: articles of sentences with decoded spans, and what was resolved
    (``n_columns``, the schemes, repairs, ``unread_columns``, ``blank_like_lines``)."""
    path = Path(path)
    articles, layout = parse_conll(read_text(path), str(path))
    sentences = [s for a in articles for s in a.sentences]
    if layout.conll2003 and not _all_chunk_tags(sentences):
        layout.conll2003 = False  # four columns, but the third is no chunk column: read token and NER only
        for sent in sentences:
            sent.pos = sent.chunk_tags = None
    info = decode_tags(sentences, scheme, strict, str(path))
    info["n_columns"] = 4 if layout.conll2003 else 2
    info["layout"] = layout.description
    info["unread_columns"] = layout.unread_columns
    info["blank_like_lines"] = layout.blank_like
    return articles, info


def _all_chunk_tags(sentences: Sequence[Sentence]) -> bool:
    """Whether every third-column value of a four-column file is an IOB chunk tag (O, B-X, I-X)."""
    for tag in {tag for sent in sentences for tag in sent.chunk_tags or ()}:
        try:
            split_tag(tag, "iob2")
        except DataError:
            return False
    return True


def conll_lines(sentences: Iterable[Sentence], docstart: bool, n_columns: int) -> Iterator[str]:
    """Lines (without newline) of one article as IOB2 CoNLL: optional -DOCSTART-, blank after each
    sentence."""
    if docstart:
        yield DOCSTART_LINES[n_columns]
        yield ""
    for sent in sentences:
        ner = spans_to_iob2(sent.ents, len(sent.words))
        if n_columns == 4:
            assert sent.pos is not None and sent.chunks is not None
            chunk = spans_to_iob2(sent.chunks, len(sent.words))
            for row in zip(sent.words, sent.pos, chunk, ner):
                yield " ".join(row)
        else:
            for word, tag in zip(sent.words, ner):
                yield f"{word} {tag}"
        yield ""
