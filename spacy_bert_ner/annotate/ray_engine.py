"""``annotate --engine ray``: the unfinished shards as a Ray Dataset, annotated by an actor pool.

Each row of the Dataset names one shard; an actor (:class:`ShardAnnotator`, one pipeline load each) reads
that shard's records from the input files itself and returns the shard's files as bytes, which the driver
writes and lists in the manifest exactly as the local engine does (:func:`.engine.annotate_shard` makes
the files in both). A shard is the unit of retry:
Ray Data restarts an actor that dies and resubmits its shard, and a shard's files are only written (and
listed in the manifest) once whole, so nothing is lost or written twice. On a cluster the input files
must be readable at the same paths from every node (a shared file system); the outputs are written by
the driver. Ray is an optional dependency: ``pip install -e ".[ray]"`` in a checkout.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from typing import Any, Iterator

from ..errors import ConfigError, DataError
from ..pipeline.load import configure_process, load_pipeline
from .annotate_settings import AnnotateSettings, RaySettings
from .engine import Plan, Summary, annotate_shard, run_engine
from .inputs import InputFile, Part, Shard
from .outputs import ShardCounts, shard_name, write_shard_files

RAY_HINT = 'install it in this checkout: pip install -e ".[ray]"'
FILE_COLUMNS = {"spacy": ".spacy", "jsonl": ".jsonl", "errors_jsonl": ".errors.jsonl"}  # column: file suffix


def _shard_from_dict(data: dict[str, Any]) -> Shard:
    return Shard(data["index"], data["start"], tuple(Part(**part) for part in data["parts"]))


class ShardAnnotator:
    """A Ray Data actor: loads the pipeline once, then turns batches of shard numbers into shard files."""

    def __init__(self, pipeline: str, files: list[dict], shards: dict[int, dict], settings: dict) -> None:
        import ray

        self.settings = AnnotateSettings(**settings)
        # a bad record comes back in its shard's errors file; the driver stops on it under --strict, since
        # an exception here would only make Ray retry the shard
        self.strictless = dataclasses.replace(self.settings, strict=False)
        # Ray gives an actor its GPUs as CUDA_VISIBLE_DEVICES, so the first visible one is its own
        configure_process(0 if ray.get_gpu_ids() else -1, self.settings.torch_threads)
        self.nlp = load_pipeline(pipeline)
        self.files = [InputFile(**file) for file in files]
        self.shards = {int(k): _shard_from_dict(v) for k, v in shards.items()}

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {name: [] for name in ("shard", *FILE_COLUMNS, "docs", "errors", "words")}
        for index in batch["shard"]:
            shard = self.shards[int(index)]
            files, counts = annotate_shard(self.nlp, shard, self.files, self.strictless)
            out["shard"].append(shard.index)
            for column, suffix in FILE_COLUMNS.items():
                out[column].append(files.get(shard_name(shard.index, suffix), b""))
            out["docs"].append(counts.docs)
            out["errors"].append(counts.errors)
            out["words"].append(counts.words)
        return out


def _first_error(files: dict[str, bytes], index: int) -> DataError:
    from .engine import strict_failure
    from .inputs import Record

    line = json.loads(files[shard_name(index, ".errors.jsonl")].split(b"\n", 1)[0])
    return strict_failure(Record(-1, line["source"], error=line["error"]))


def _ray_finished_shards(
    plan: Plan, todo: list[Shard], settings: AnnotateSettings, ray_settings: RaySettings, bar: Any
) -> Iterator[int]:
    """The actors annotate ``todo``; here each shard's files are written and listed as they come back."""
    import ray

    if not ray.is_initialized():
        ray.init(address=ray_settings.address, include_dashboard=False, log_to_driver=False)
    dataset = ray.data.from_items([{"shard": shard.index} for shard in todo]).map_batches(
        ShardAnnotator,
        fn_constructor_kwargs={
            "pipeline": plan.pipeline,
            "files": [asdict(file) for file in plan.files],
            "shards": {shard.index: asdict(shard) for shard in todo},
            "settings": asdict(settings),
        },
        batch_size=1,
        concurrency=ray_settings.workers,
        num_gpus=ray_settings.gpus_per_worker,
    )
    for row in dataset.iter_rows():
        index = int(row["shard"])
        files = {
            shard_name(index, suffix): bytes(row[column])
            for column, suffix in FILE_COLUMNS.items()
            if column != "errors_jsonl" or len(row[column])
        }
        counts = ShardCounts(int(row["docs"]), int(row["errors"]), int(row["words"]))
        if settings.strict and counts.errors:
            raise _first_error(files, index)
        write_shard_files(plan.output_dir, index, files)
        plan.manifest.finish(index, counts)
        bar.update(plan.shards[index].size)
        yield index


def annotate_ray(
    plan: Plan, settings: AnnotateSettings, ray_settings: RaySettings, progress: bool = True
) -> Summary:
    """Annotate the plan's unfinished shards on Ray (``ray_settings.address``, or a local Ray)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError(f"--engine ray needs Ray: {RAY_HINT}") from None
    if settings.n_process != 1:
        raise ConfigError("--n-process is for --engine local; with --engine ray, set --workers")
    return run_engine(
        plan, lambda todo, bar: _ray_finished_shards(plan, todo, settings, ray_settings, bar), progress
    )
