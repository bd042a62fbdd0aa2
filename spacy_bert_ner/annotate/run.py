"""``annotate``: run any spaCy pipeline over a corpus into resumable DocBin + JSONL shards.

:func:`plan_run` finds the inputs, plans the shards and opens (or resumes) the manifest; an engine then
annotates the shards the manifest does not list yet: :func:`annotate_local` streams them through
``nlp.pipe`` (``n_process`` worker processes, spaCy's own multiprocessing), :mod:`.ray_engine` through a
Ray Data actor pool. Both write each finished shard with :func:`.outputs.write_shard`, so their outputs
have the same layout and a run stopped in one can be resumed by either.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from ..errors import ConfigError, DataError
from ..evaluation.pipeline import load_pipeline as load_saved_pipeline
from .inputs import InputFile, Record, Shard, find_inputs, plan_shards, read_shard
from .outputs import Manifest, ShardCounts, remove_temporaries, shard_files, write_shard


@dataclass(frozen=True)
class AnnotateSettings:
    """What shapes the outputs (``shard_size``, ``text_key``: a resumed run must keep them) and how the
    work runs (the rest)."""

    shard_size: int = 1000
    text_key: str = "text"
    batch_size: int = 50
    n_process: int = 1
    strict: bool = False
    gpu_id: int = -1
    torch_threads: Optional[int] = None


@dataclass
class Plan:
    pipeline: str
    output_dir: Path
    files: list[InputFile]
    shards: list[Shard]
    manifest: Manifest

    @property
    def todo(self) -> list[Shard]:
        return [shard for shard in self.shards if not self.manifest.is_finished(shard.index)]

    @property
    def n_records(self) -> int:
        return sum(shard.size for shard in self.shards)


@dataclass
class Summary:
    """What a run did: shards written now and skipped (finished before), and totals over all shards."""

    shards_written: int
    shards_skipped: int
    written: ShardCounts  # by this run
    total: ShardCounts  # all finished shards
    seconds: float
    output_dir: Path


def pipeline_identity(pipeline: str) -> str:
    """The pipeline as the manifest records it: a folder's absolute path, or a package name."""
    path = Path(pipeline)
    return str(path.resolve()) if path.exists() else pipeline


def plan_run(pipeline: str, inputs: Sequence[str], output_dir: Path, settings: AnnotateSettings) -> Plan:
    """Find and plan the inputs, then open ``output_dir``'s manifest (resuming a run it holds)."""
    if settings.shard_size % settings.batch_size:
        below = max(n for n in range(1, settings.batch_size) if settings.shard_size % n == 0)
        above = min(n for n in range(settings.batch_size, settings.shard_size + 1) if settings.shard_size % n == 0)
        raise ConfigError(
            f"--batch-size {settings.batch_size} must divide --shard-size {settings.shard_size}, so that no "
            "batch spans two shards and a resumed run computes exactly what an uninterrupted one does; use "
            f"--batch-size {below} or {above}"
        )
    files = find_inputs(inputs)
    shards = plan_shards(files, settings.shard_size)
    output_dir.mkdir(parents=True, exist_ok=True)
    remove_temporaries(output_dir)
    manifest_settings: dict[str, Any] = {
        "pipeline": pipeline_identity(pipeline),
        "inputs": [file.describe() for file in files],
        "shard_size": settings.shard_size,
        "text_key": settings.text_key,
    }
    return Plan(pipeline, output_dir, files, shards, Manifest(output_dir, manifest_settings, len(shards)))


def load_pipeline(pipeline: str, gpu_id: int = -1, torch_threads: Optional[int] = None) -> Any:
    """The pipeline (folder or package; on GPU ``gpu_id`` when >= 0), torch set to ``torch_threads``
    threads first if given (worker processes started by ``nlp.pipe`` inherit it)."""
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    return load_saved_pipeline(pipeline, gpu_id)


def strict_failure(record: Record) -> DataError:
    return DataError(
        f"{record.source}: {record.error}; fix or remove the record, or run without --strict (bad records "
        "then go to shard-N.errors.jsonl and the run goes on)"
    )


class ShardCollector:
    """Receives every record of the shards being done, in order (a Doc for good ones), and writes each
    shard as soon as its last record arrives."""

    def __init__(self, plan: Plan, on_shard: Callable[[ShardCounts], None]) -> None:
        self.plan = plan
        self.on_shard = on_shard
        self.sizes = {shard.index: shard.size for shard in plan.shards}
        self.starts = {shard.index: shard.start for shard in plan.shards}
        self.shard_size = plan.manifest.settings["shard_size"]
        self.current: Optional[int] = None
        self.results: list[tuple[Record, Any]] = []
        self.written = ShardCounts()
        self.n_written = 0

    def add(self, record: Record, doc: Any) -> None:
        index = record.index // self.shard_size
        if index != self.current:
            self.current, self.results = index, []
        self.results.append((record, doc))
        if len(self.results) == self.sizes[index]:
            self._write(index)

    def _write(self, index: int) -> None:
        files, counts = shard_files(index, self.results)
        write_shard(self.plan.output_dir, index, files, self.plan.manifest, counts)
        self.written.docs += counts.docs
        self.written.errors += counts.errors
        self.written.words += counts.words
        self.n_written += 1
        self.results = []
        self.on_shard(counts)


def progress_bar(plan: Plan, enabled: bool) -> Any:
    """A tqdm bar over all the plan's records, started at those of finished shards."""
    from tqdm import tqdm

    done = sum(shard.size for shard in plan.shards if plan.manifest.is_finished(shard.index))
    return tqdm(total=plan.n_records, initial=done, unit="doc", disable=not enabled, dynamic_ncols=True)


def annotate_local(plan: Plan, settings: AnnotateSettings, progress: bool = True) -> Summary:
    """Annotate the plan's unfinished shards with ``nlp.pipe`` (``settings.n_process`` processes)."""
    start = time.perf_counter()
    todo = plan.todo
    skipped = len(plan.shards) - len(todo)
    plan.manifest.save()  # also for a corpus with no records, or nothing left to do
    if not todo:
        return Summary(
            0, skipped, ShardCounts(), plan.manifest.totals(), time.perf_counter() - start, plan.output_dir
        )
    nlp = load_pipeline(plan.pipeline, settings.gpu_id, settings.torch_threads)
    records: deque[Record] = deque()  # read, waiting for their Doc

    def contents() -> Iterator[Any]:
        for shard in todo:
            for record in read_shard(shard, plan.files, nlp.vocab, settings.text_key):
                if record.error is not None and settings.strict:
                    raise strict_failure(record)
                records.append(record)
                # a bad record holds its place with an empty text, so batches stay within shards
                yield "" if record.error is not None else record.content

    with progress_bar(plan, progress) as bar:
        words_start = time.perf_counter()

        def on_shard(counts: ShardCounts) -> None:
            elapsed = max(time.perf_counter() - words_start, 1e-9)
            bar.set_postfix(
                words_per_s=f"{collector.written.words / elapsed:,.0f}", errors=collector.written.errors
            )

        collector = ShardCollector(plan, on_shard)
        for doc in nlp.pipe(contents(), batch_size=settings.batch_size, n_process=settings.n_process):
            record = records.popleft()
            collector.add(record, doc if record.error is None else None)
            bar.update(1)
    return Summary(
        shards_written=collector.n_written,
        shards_skipped=skipped,
        written=collector.written,
        total=plan.manifest.totals(),
        seconds=time.perf_counter() - start,
        output_dir=plan.output_dir,
    )
