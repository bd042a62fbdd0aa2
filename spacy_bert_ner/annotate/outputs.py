"""What ``annotate`` writes, one shard at a time, and how a stopped run knows where to resume.

A shard's files are built in memory (:func:`shard_files`) and written atomically (temporary file, then
``os.replace``); only then does :class:`Manifest` (``manifest.json``, also replaced atomically) list the
shard as finished. A run killed at any moment leaves finished shards whole and listed, and nothing else
that a rerun would trust: the rerun skips listed shards and redoes the others, so its outputs equal an
uninterrupted run's. Engines (local processes, Ray) differ only in where the Docs come from.
"""

from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from spacy.tokens import Doc, DocBin

from ..errors import ConfigError
from .inputs import Record

MANIFEST = "manifest.json"
MANIFEST_FORMAT_VERSION = 1
USER_DATA_KEY = "spacy_bert_ner.annotate"  # doc.user_data[...] = {"id": source, "meta": {JSONL fields}}


def shard_name(index: int, suffix: str) -> str:
    """``shard-00012.spacy``, ``shard-00012.jsonl``, ``shard-00012.errors.jsonl``."""
    return f"shard-{index:05d}{suffix}"


def entity_scores(doc: Doc) -> dict[tuple[int, int, str], float]:
    """Each span's score, from span groups whose ``attrs["scores"]`` has one per span (bert_ner, spancat)."""
    found: dict[tuple[int, int, str], float] = {}
    for group in doc.spans.values():
        scores = group.attrs.get("scores")
        if scores is None or len(scores) != len(group):
            continue
        for span, score in zip(group, scores):
            if not math.isnan(float(score)):
                found.setdefault((span.start, span.end, span.label_), float(score))
    return found


def doc_entry(doc: Doc, record: Record) -> dict[str, Any]:
    """One JSONL line: the record's id, its entities with character offsets (and score where the pipeline
    gives one), and the JSONL input's other fields under ``meta``."""
    scores = entity_scores(doc)
    entities = []
    for ent in doc.ents:
        entity: dict[str, Any] = {
            "start": ent.start_char,
            "end": ent.end_char,
            "label": ent.label_,
            "text": ent.text,
        }
        score = scores.get((ent.start, ent.end, ent.label_))
        if score is not None:
            entity["score"] = round(score, 6)
        entities.append(entity)
    entry: dict[str, Any] = {"id": record.source, "entities": entities}
    if record.meta:
        entry["meta"] = record.meta
    return entry


@dataclass
class ShardCounts:
    docs: int = 0
    errors: int = 0
    words: int = 0

    def add(self, other: "ShardCounts") -> None:
        self.docs += other.docs
        self.errors += other.errors
        self.words += other.words


def _json_line(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")


@contextmanager
def msgpack_encoders_read_once() -> Iterator[None]:
    """While inside, srsly's msgpack uses the encoders it finds on entry, instead of looking them up again
    on every call.

    ``srsly.msgpack_dumps`` builds a Packer per call, and each asks catalogue for the msgpack encoders:
    catalogue reads the metadata of every installed package (entry points) and scans its whole registry
    (233 entries with a pipeline loaded): 0.1-0.2 ms a call here. ``DocBin.add`` calls it three times per
    Doc (user data, span groups): half the time of annotating a short doc outside the model was this
    lookup. The encoders found on entry are the ones every call would have found, as long as nothing
    registers a new one meanwhile (nothing does while a shard's files are built).
    """
    from srsly.msgpack import msgpack_encoders

    if "get_all" in vars(msgpack_encoders):  # already inside (nested): keep the outer snapshot
        yield
        return
    found = msgpack_encoders.get_all()
    msgpack_encoders.get_all = lambda: dict(found)
    try:
        yield
    finally:
        del msgpack_encoders.get_all  # the class's method again


def shard_files(
    index: int, results: Iterable[tuple[Record, Optional[Doc]]]
) -> tuple[dict[str, bytes], ShardCounts]:
    """The files of shard ``index`` from its records in order (a Doc for each good one): the annotated
    Docs (a DocBin with user data), their entities (JSONL), and the bad records (JSONL, only if any)."""
    docbin = DocBin(store_user_data=True)
    entries, errors = bytearray(), bytearray()
    counts = ShardCounts()
    with msgpack_encoders_read_once():
        for record, doc in results:
            if record.error is not None or doc is None:
                errors += _json_line({"source": record.source, "error": record.error, "record": record.raw})
                counts.errors += 1
                continue
            doc.user_data[USER_DATA_KEY] = {"id": record.source, "meta": record.meta}
            docbin.add(doc)
            entries += _json_line(doc_entry(doc, record))
            counts.docs += 1
            counts.words += sum(not token.is_space for token in doc)
        docbin_bytes = docbin.to_bytes()
    files = {shard_name(index, ".spacy"): docbin_bytes, shard_name(index, ".jsonl"): bytes(entries)}
    if errors:
        files[shard_name(index, ".errors.jsonl")] = bytes(errors)
    return files, counts


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader (or a rerun after a kill) sees all of it or none."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class Manifest:
    """``manifest.json``: the run's settings and inputs, and the shards finished so far with their counts.

    A rerun with the same settings and unchanged inputs resumes; anything else is refused, since mixing
    shards of two different runs would silently give wrong outputs.
    """

    def __init__(self, output_dir: Path, settings: dict[str, Any], n_shards: int) -> None:
        self.path = output_dir / MANIFEST
        self.settings = settings
        self.n_shards = n_shards
        self.finished: dict[int, ShardCounts] = {}
        if self.path.exists():
            self._resume()

    def _resume(self) -> None:
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            finished = {int(k): ShardCounts(**v) for k, v in saved["finished"].items()}
            settings = saved["settings"]
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(
                f"{self.path}: not a manifest written by annotate ({err}); "
                "choose a new OUTPUT_DIR or remove it"
            ) from None
        if settings != self.settings:
            changed = sorted(
                k for k in {*settings, *self.settings} if settings.get(k) != self.settings.get(k)
            )
            raise ConfigError(
                f"{self.path}: OUTPUT_DIR holds a run with other {', '.join(changed)}; rerun with the same "
                "pipeline, inputs (unchanged) and settings to resume it, or choose a new OUTPUT_DIR"
            )
        self.finished = finished

    def is_finished(self, index: int) -> bool:
        return index in self.finished

    def finish(self, index: int, counts: ShardCounts) -> None:
        """Record shard ``index`` as finished (its files must already be in place)."""
        self.finished[index] = counts
        self.save()

    def save(self) -> None:
        data = {
            "format_version": MANIFEST_FORMAT_VERSION,
            "settings": self.settings,
            "n_shards": self.n_shards,
            "complete": len(self.finished) == self.n_shards,
            "finished": {str(k): vars(v) for k, v in sorted(self.finished.items())},
        }
        write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))

    def totals(self) -> ShardCounts:
        total = ShardCounts()
        for counts in self.finished.values():
            total.add(counts)
        return total


def write_shard_files(output_dir: Path, index: int, files: dict[str, bytes]) -> None:
    """Put a shard's files in place (each atomically); the caller then lists the shard in the manifest."""
    stale = output_dir / shard_name(index, ".errors.jsonl")
    if stale.name not in files and stale.exists():  # from an earlier, unfinished attempt
        stale.unlink()
    for name, data in files.items():
        write_atomic(output_dir / name, data)


def remove_temporaries(output_dir: Path) -> None:
    """Temporary files left by a killed run."""
    for path in output_dir.glob(".shard-*.tmp"):
        path.unlink(missing_ok=True)
    for path in output_dir.glob(f".{MANIFEST}.*.tmp"):
        path.unlink(missing_ok=True)
