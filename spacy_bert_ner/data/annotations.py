"""Annotation-tool exports with character-offset spans -> :class:`Record` (text, spans, optional tokens).

Pure JSON reading, no spaCy: :mod:`.records` turns records into Docs. Three formats, detected from each
record's keys or named outright:

- ``spacy`` (spaCy / Prodigy JSONL): ``{"text", "spans": [{"start", "end", "label"}], "tokens": [{"text",
  "start", "end"}]?}``; with ``tokens`` the tokens are used as given;
- ``doccano``: ``{"text", "label": [[start, end, label], ...]}``, or ``"entities": [{"start_offset",
  "end_offset", "label"}]`` (doccano's newer export);
- ``labelstudio`` (Label Studio's JSON export): a list of tasks ``{"data": {"text"}, "annotations":
  [{"result": [{"type": "labels", "value": {"start", "end", "labels": [label]}}]}]}``.

A file is JSON Lines (one record a line) or one JSON document (a list of records, or one record). Every
problem is a :class:`~spacy_bert_ner.errors.DataError` naming ``file:line`` (JSON Lines, and JSON syntax
errors) or the file and record number (records of one JSON document).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Optional

from ..errors import DataError

SpanFormat = Literal["spacy", "doccano", "labelstudio"]
SPAN_FORMATS: tuple[str, ...] = ("spacy", "doccano", "labelstudio")
FORMAT_HINT = "pass --format spacy, doccano or labelstudio to say which"


@dataclass
class CharSpan:
    """One annotated span: character offsets into the record's text (end exclusive) and its label."""

    start: int
    end: int
    label: str


@dataclass
class Token:
    """A token given by the record (spaCy / Prodigy ``tokens``): its text and character offsets."""

    text: str
    start: int
    end: int


@dataclass
class Record:
    """One annotated text as an annotation tool exported it."""

    text: str
    spans: list[CharSpan]
    where: str  # file:line, or file record N, for messages
    tokens: Optional[list[Token]] = None
    notes: list[str] = field(default_factory=list)  # what the reader left out of this record, and why
    skip: Optional[str] = None  # why the whole record is not used (a Label Studio task never annotated)
    format: str = ""  # the export it was read as: spacy, doccano or labelstudio


def read_json_records(text: str, origin: str, fmt: str = "auto") -> Iterator[Record]:
    """The records of a JSON Lines or JSON file's ``text`` (``origin`` names it), in ``fmt`` or detected."""
    for where, data in json_items(text, origin):
        yield parse_record(data, where, fmt)


def json_items(text: str, origin: str) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` per record: a JSON document that is a list gives its items, one object gives
    itself, anything else is read as JSON Lines."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = _loads(text, origin, 1)
        if not isinstance(data, list):
            raise DataError(f"{origin}: expected a JSON list of records, got {type(data).__name__}")
        for i, item in enumerate(data, start=1):
            yield f"{origin} record {i}", item
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):  # one record: named by the line it starts on
        yield f"{origin}:{text[: len(text) - len(stripped)].count(chr(10)) + 1}", data
        return
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield f"{origin}:{lineno}", _loads(line, origin, lineno)


def _loads(text: str, origin: str, first_line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        line = first_line + err.lineno - 1
        raise DataError(
            f"{origin}:{line}: invalid JSON ({err.msg}, column {err.colno}); each line of a .jsonl file "
            "holds one JSON object, a .json file one JSON document"
        ) from None


def detect_format(data: dict, where: str) -> SpanFormat:
    """Which export a record is, from its keys."""
    if "annotations" in data or ("data" in data and isinstance(data["data"], dict)):
        return "labelstudio"
    if "spans" in data:
        return "spacy"
    if "label" in data or "entities" in data or "labels" in data:
        return "doccano"
    if "text" in data:  # a text with no spans key: read as spaCy's format, no entities
        return "spacy"
    raise DataError(
        f"{where}: cannot tell the format from the keys {sorted(data)}: expected text + spans (spaCy / "
        "Prodigy), text + label or entities (doccano), or data + annotations (Label Studio); " + FORMAT_HINT
    )


def parse_record(data: Any, where: str, fmt: str = "auto") -> Record:
    """One record in ``fmt`` (or detected)."""
    if not isinstance(data, dict):
        raise DataError(f"{where}: expected a JSON object (a record), got {type(data).__name__}")
    if fmt == "auto":
        fmt = detect_format(data, where)
    readers = {"spacy": _spacy_record, "doccano": _doccano_record, "labelstudio": _labelstudio_record}
    if fmt not in readers:
        raise DataError(f"--format {fmt!r}: not a span format; use auto, {', '.join(SPAN_FORMATS)}")
    record = readers[fmt](data, where)
    record.format = fmt
    return record


def _text(data: dict, key: str, where: str) -> str:
    text = data.get(key)
    if not isinstance(text, str):
        found = "no such key" if key not in data else f"a {type(text).__name__}"
        raise DataError(f"{where}: {key!r} must be the annotated text (a string), found {found}")
    return text


def _span(start: Any, end: Any, label: Any, where: str, what: str) -> CharSpan:
    """A checked span: integer offsets, start < end, a non-empty string label (text bounds come later)."""
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise DataError(f"{where}: {what}: start and end must be integers, got {start!r} and {end!r}")
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"{where}: {what}: the label must be a non-empty string, got {label!r}")
    return CharSpan(start, end, label)


def _spacy_record(data: dict, where: str) -> Record:
    text = _text(data, "text", where)
    spans_data = data.get("spans") or []
    if not isinstance(spans_data, list):
        raise DataError(f"{where}: 'spans' must be a list of {{start, end, label}} objects")
    spans = []
    for i, span in enumerate(spans_data, start=1):
        what = f"span {i}"
        if not isinstance(span, dict) or not {"start", "end", "label"} <= span.keys():
            raise DataError(f"{where}: {what} {span!r}: expected an object with start, end and label")
        spans.append(_span(span["start"], span["end"], span["label"], where, what))
    tokens = None
    if data.get("tokens") is not None:
        tokens = []
        for i, token in enumerate(data["tokens"], start=1):
            if not isinstance(token, dict) or not {"text", "start", "end"} <= token.keys():
                raise DataError(f"{where}: token {i} {token!r}: expected an object with text, start and end")
            tokens.append(Token(token["text"], token["start"], token["end"]))
    return Record(text, spans, where, tokens)


def _doccano_record(data: dict, where: str) -> Record:
    text = _text(data, "text", where)
    spans = []
    if "entities" in data:
        for i, ent in enumerate(data["entities"] or [], start=1):
            what = f"entity {i}"
            if not isinstance(ent, dict) or not {"start_offset", "end_offset", "label"} <= ent.keys():
                raise DataError(
                    f"{where}: {what} {ent!r}: expected an object with start_offset, end_offset and label"
                )
            spans.append(_span(ent["start_offset"], ent["end_offset"], ent["label"], where, what))
    else:
        for i, item in enumerate(data.get("label", data.get("labels")) or [], start=1):
            what = f"label {i}"
            if not isinstance(item, list) or len(item) != 3:
                raise DataError(f"{where}: {what} {item!r}: expected [start, end, label]")
            start, end, label = item
            spans.append(_span(start, end, label, where, what))
    return Record(text, spans, where)


def _labelstudio_record(data: dict, where: str) -> Record:
    task = data.get("data")
    if not isinstance(task, dict):
        raise DataError(f"{where}: a Label Studio task needs a 'data' object holding the text")
    if "text" in task:
        text = _text(task, "text", where)
    else:
        strings = [key for key, value in task.items() if isinstance(value, str)]
        if len(strings) != 1:
            raise DataError(
                f"{where}: the task's data has no 'text' key and {len(strings)} string fields {strings}; "
                "name the text field 'text' in the labelling config"
            )
        text = task[strings[0]]
    annotations = [a for a in data.get("annotations") or [] if not a.get("was_cancelled")]
    cancelled = len(data.get("annotations") or []) - len(annotations)
    if not annotations:
        reason = "every annotation cancelled" if cancelled else "no annotation"
        return Record(text, [], where, skip=f"Label Studio task with {reason}")
    record = Record(text, [], where)
    if len(annotations) > 1:
        record.notes.extend(["annotation after a task's first: not used"] * (len(annotations) - 1))
    record.notes.extend(["cancelled annotation: not used"] * cancelled)
    for i, result in enumerate(annotations[0].get("result") or [], start=1):
        what = f"result {i}"
        value = result.get("value") if isinstance(result, dict) else None
        if not isinstance(value, dict) or "start" not in value or "labels" not in value:
            kind = result.get("type") if isinstance(result, dict) else None
            record.notes.append(f"annotation result of type {kind!r} (not a labelled text span): not used")
            continue
        labels = value["labels"]
        if not isinstance(labels, list) or len(labels) != 1:
            raise DataError(f"{where}: {what}: expected exactly one label per span, got {labels!r}")
        record.spans.append(_span(value["start"], value.get("end"), labels[0], where, what))
    return record
