"""``annotate``: any pipeline over a corpus, resumably, in shards."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..annotate.annotate_settings import AnnotateSettings, RaySettings
from ..output_paths import check_output
from .app import app
from .output import flags_of, guarded, say

DEFAULTS, RAY = AnnotateSettings(), RaySettings()  # the library's defaults, which the options show
FLAGS = flags_of(AnnotateSettings) | flags_of(RaySettings, address="--address", workers="--workers")


@app.command("annotate", rich_help_panel="Inference", no_args_is_help=True)
def annotate_cli(
    pipeline: str = typer.Argument(
        ..., help="A saved spaCy pipeline folder or an installed pipeline package"
    ),
    paths: list[str] = typer.Argument(
        ...,
        metavar="INPUT... OUTPUT_DIR",
        help="Inputs: .txt or .text (one doc per line), .jsonl (a text field), .spacy DocBins, folders or "
        "globs of them; then the output folder (shard-N.spacy, shard-N.jsonl, shard-N.errors.jsonl, "
        "manifest.json)",
    ),
    shard_size: int = typer.Option(
        DEFAULTS.shard_size, "--shard-size", help="Input records per output shard"
    ),
    text_key: str = typer.Option(DEFAULTS.text_key, "--text-key", help="The JSONL field holding the text"),
    batch_size: int = typer.Option(DEFAULTS.batch_size, "--batch-size", help="Docs per nlp.pipe batch"),
    n_process: int = typer.Option(
        DEFAULTS.n_process, "--n-process", help="Worker processes, a shard at a time each"
    ),
    torch_threads: Optional[int] = typer.Option(
        DEFAULTS.torch_threads,
        "--torch-threads",
        help="torch threads per process; default: torch's (all cores)",
    ),
    gpu_id: int = typer.Option(DEFAULTS.gpu_id, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    strict: bool = typer.Option(
        DEFAULTS.strict, "--strict", help="Stop at the first bad record instead of listing it"
    ),
    engine: str = typer.Option("local", help="local: nlp.pipe processes here; ray: a Ray Data actor pool"),
    address: Optional[str] = typer.Option(
        RAY.address, help="--engine ray: the cluster (ray start's address); default: local Ray"
    ),
    workers: int = typer.Option(RAY.workers, help="--engine ray: actors, one pipeline each"),
    gpus_per_worker: float = typer.Option(
        RAY.gpus_per_worker, "--gpus-per-worker", help="--engine ray: GPUs per actor"
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
) -> None:
    """Annotate a corpus with any spaCy pipeline, resumably: shards are written whole and listed in
    manifest.json; rerun the same command after a stop or crash and it carries on where it was. Bad records
    go to shard-N.errors.jsonl with file:line (--strict: stop at the first)."""
    from ..annotate.corpus import annotate_corpus

    if len(paths) < 2:
        say("✘", "red", "annotate needs at least one INPUT and then OUTPUT_DIR")
        raise typer.Exit(2)
    *inputs, output = paths

    def run():
        settings = AnnotateSettings(
            shard_size=shard_size,
            text_key=text_key,
            batch_size=batch_size,
            n_process=n_process,
            strict=strict,
            gpu_id=gpu_id,
            torch_threads=torch_threads,
        )
        ray = RaySettings(address=address, workers=workers, gpus_per_worker=gpus_per_worker)
        check_output(Path(output), "folder", "OUTPUT_DIR")
        return annotate_corpus(
            pipeline, inputs, Path(output), settings, engine=engine, ray=ray, progress=progress
        )

    summary = guarded(run, FLAGS)
    total, now = summary.total, summary.written
    rate = (
        f"{now.docs / summary.seconds:,.0f} docs/s, {now.words / summary.seconds:,.0f} words/s"
        if summary.seconds
        else ""
    )
    say(
        "✔",
        "green",
        f"{summary.shards_written} shard(s) written now ({now.docs} docs, {now.errors} bad records; {rate}), "
        f"{summary.shards_skipped} finished before; in all {total.docs} docs, {total.errors} bad records -> "
        f"{summary.output_dir}",
    )
    if total.errors:
        say(
            "⚠",
            "yellow",
            f"{total.errors} bad record(s) listed with file:line in "
            f"{summary.output_dir}/shard-*.errors.jsonl",
        )
