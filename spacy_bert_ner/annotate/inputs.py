"""The records ``annotate`` reads: text files (one doc per line), JSONL (a text field), DocBins.

Inputs are found (:func:`find_inputs`: files, folders, globs), planned into shards of consecutive records
(:func:`plan_shards`, one quick pass that notes where each shard starts in each file), and read one shard
at a time (:func:`read_shard`), so any engine can process any shard alone, in any process or machine that
sees the files. Every line (or DocBin doc) is one record and keeps its place: a bad one (invalid JSON, no
text field, bytes that are not UTF-8, empty text) becomes a :class:`Record` with an ``error`` and its raw
content, never a silent gap. No model code here; Docs come back from DocBins with the caller's vocab.
"""

from __future__ import annotations

import functools
import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Optional, Sequence

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..errors import ConfigError, DataError

InputKind = Literal["text", "jsonl", "docbin"]
KINDS: dict[str, InputKind] = {".txt": "text", ".text": "text", ".jsonl": "jsonl", ".spacy": "docbin"}
KIND_HINT = (
    "text files (.txt, one doc per line), JSONL (.jsonl, one JSON object per line) or DocBins (.spacy)"
)


@dataclass(frozen=True)
class InputFile:
    """One input file; ``size`` and ``mtime_ns`` tell a resumed run whether it changed."""

    path: str
    kind: InputKind
    size: int
    mtime_ns: int

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "size": self.size, "mtime_ns": self.mtime_ns}


@dataclass(frozen=True)
class Part:
    """A run of consecutive records of one file inside a shard: from byte ``offset`` (text, JSONL) or doc
    ``offset`` (DocBin), record number ``first`` (a 1-based line or doc number) and ``count`` records."""

    file: int  # index into the plan's files
    offset: int
    first: int
    count: int


@dataclass(frozen=True)
class Shard:
    """Records ``start`` .. ``start + size - 1`` of all inputs (in order), in one or more file parts."""

    index: int
    start: int
    parts: tuple[Part, ...]

    @property
    def size(self) -> int:
        return sum(part.count for part in self.parts)


@dataclass
class Record:
    """One input record. ``source`` is ``path:N`` (N: its line, or its doc number in a DocBin, from 1).
    A good record has ``content`` (a text, or a Doc from a DocBin) and the JSONL's other fields in ``meta``;
    a bad one has ``error`` and, in ``raw``, what the file held."""

    index: int
    source: str
    content: Optional[str | Doc] = None
    meta: dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    raw: Optional[str] = None


def _kind_of(path: Path, given: str) -> InputKind:
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"{path} (from input {given!r}): unknown kind of file; annotate reads {KIND_HINT}")
    return kind


def find_inputs(inputs: Sequence[str]) -> list[InputFile]:
    """The files behind ``inputs`` in the order given: a file as it is, a folder's files of known kinds
    (recursively, sorted), a glob's matches (sorted). Each input must yield at least one file."""
    paths: list[tuple[Path, str]] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in KINDS)
            if not found:
                raise DataError(f"input folder {given}: no {KIND_HINT} in it")
            paths.extend((p, given) for p in found)
        elif path.is_file():
            paths.append((path, given))
        elif glob.has_magic(given):
            found = sorted(Path(p) for p in glob.glob(given, recursive=True) if Path(p).is_file())
            if not found:
                raise DataError(f"input {given!r}: the pattern matches no file")
            paths.extend((p, given) for p in found)
        else:
            raise DataError(f"input {given}: no such file or folder")
    files, seen = [], set()
    for path, given in paths:
        key = os.path.realpath(path)
        if key in seen:
            raise DataError(f"input {path} (from {given!r}) is named twice; each record must be read once")
        seen.add(key)
        stat = path.stat()
        files.append(InputFile(str(path), _kind_of(path, given), stat.st_size, stat.st_mtime_ns))
    return files


def _line_offsets(path: str) -> Iterator[int]:
    """The byte offset where each line of a text or JSONL file starts (a last line without a newline
    counts; an empty file has none)."""
    offset = 0
    with open(path, "rb") as handle:
        for line in handle:
            yield offset
            offset += len(line)


@functools.lru_cache(maxsize=1)  # consecutive shards of one DocBin read it once
def _docbin(path: str) -> DocBin:
    try:
        return DocBin(store_user_data=True).from_disk(path)
    except Exception as err:  # noqa: BLE001 - DocBin raises several kinds for a file that is not one
        raise DataError(
            f"{path}: not a DocBin ({type(err).__name__}: {err}); write it with DocBin.to_disk"
        ) from None


# DocBin's per-Doc lists (spaCy 3.8): a part takes its slice of each; tests/test_annotate.py fails when a
# DocBin holds a per-Doc list not named here.
PER_DOC_FIELDS = ("tokens", "spaces", "cats", "span_groups", "flags", "user_data")


def _docbin_part(docbin: DocBin, start: int, count: int) -> DocBin:
    """Docs ``start`` .. ``start + count - 1`` of ``docbin`` as a DocBin of their own, so a shard builds only
    its own Docs (``get_docs`` builds every Doc from the first). Sliced the way ``DocBin.merge`` joins:
    one entry per Doc in each per-Doc list, the strings shared."""
    part = DocBin(store_user_data=docbin.store_user_data)
    part.attrs = docbin.attrs
    part.strings = docbin.strings
    for name in PER_DOC_FIELDS:
        setattr(part, name, getattr(docbin, name)[start : start + count])
    return part


def _record_offsets(file: InputFile) -> Iterable[int]:
    """Where each record of ``file`` starts: a byte offset (text, JSONL) or a doc number (DocBin; ``-1``
    for a DocBin that cannot be read: read_shard reports its error as the file's one record)."""
    if file.kind != "docbin":
        return _line_offsets(file.path)
    try:
        return range(len(_docbin(file.path)))
    except DataError:
        return [-1]


def plan_shards(files: Sequence[InputFile], shard_size: int) -> list[Shard]:
    """All records of ``files`` cut into shards of ``shard_size`` consecutive records (the last may hold
    fewer); a shard may span files. Only where each shard's part of a file starts is kept, so planning
    takes memory per shard, not per record."""
    if shard_size < 1:
        raise ConfigError(f"--shard-size must be at least 1, got {shard_size}")
    shards: list[Shard] = []
    parts: list[Part] = []
    n_records = shard_start = 0
    for i, file in enumerate(files):
        part_start: Optional[tuple[int, int]] = None  # (offset, record number) where the open part starts
        number = 0
        for number, offset in enumerate(_record_offsets(file), 1):
            if part_start is None:
                part_start = (offset, number)
            n_records += 1
            if n_records - shard_start == shard_size:
                parts.append(Part(i, part_start[0], part_start[1], number - part_start[1] + 1))
                shards.append(Shard(len(shards), shard_start, tuple(parts)))
                parts, part_start, shard_start = [], None, n_records
        if part_start is not None:
            parts.append(Part(i, part_start[0], part_start[1], number - part_start[1] + 1))
    if parts:
        shards.append(Shard(len(shards), shard_start, tuple(parts)))
    return shards


def _text_record(index: int, source: str, line: bytes, kind: InputKind, text_key: str) -> Record:
    """A text or JSONL line as a record (its trailing newline dropped)."""
    line = line.rstrip(b"\n").rstrip(b"\r")
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as err:
        raw = line.decode("utf-8", errors="backslashreplace")
        return Record(
            index, source, error=f"not UTF-8: byte 0x{line[err.start]:02x} at column {err.start + 1}", raw=raw
        )
    if kind == "text":
        if not decoded.strip():
            return Record(index, source, error="empty text", raw=decoded)
        return Record(index, source, content=decoded)
    try:
        value = json.loads(decoded)
    except json.JSONDecodeError as err:
        return Record(index, source, error=f"invalid JSON: {err.msg} at column {err.colno}", raw=decoded)
    if not isinstance(value, dict):
        return Record(index, source, error=f"a JSON {type(value).__name__}, not an object", raw=decoded)
    if text_key not in value:
        fields = ", ".join(map(repr, value)) or "none"
        return Record(
            index, source, error=f"no {text_key!r} field (fields: {fields}; --text-key names it)", raw=decoded
        )
    text = value.pop(text_key)
    if not isinstance(text, str):
        return Record(
            index, source, error=f"field {text_key!r} is a {type(text).__name__}, not a string", raw=decoded
        )
    if not text.strip():
        return Record(index, source, error="empty text", raw=decoded)
    return Record(index, source, content=text, meta=value)


def read_shard(
    shard: Shard, files: Sequence[InputFile], vocab: Vocab, text_key: str = "text"
) -> Iterator[Record]:
    """The records of ``shard``, in order; bad ones carry their error instead of content."""
    index = shard.start
    for part in shard.parts:
        file = files[part.file]
        if file.kind == "docbin":
            try:
                docs = list(_docbin_part(_docbin(file.path), part.offset, part.count).get_docs(vocab))
            except DataError as err:
                yield Record(index, file.path, error=str(err).removeprefix(f"{file.path}: "), raw="")
                index += part.count
                continue
            for number, doc in enumerate(docs, part.first):
                source = f"{file.path}:{number}"
                if not doc.text.strip():
                    yield Record(index, source, error="empty text", raw=doc.text)
                else:
                    yield Record(index, source, content=doc)
                index += 1
            continue
        with open(file.path, "rb") as handle:
            handle.seek(part.offset)
            for number in range(part.first, part.first + part.count):
                yield _text_record(index, f"{file.path}:{number}", handle.readline(), file.kind, text_key)
                index += 1
