"""``annotate``'s one entry point: plan the run, then annotate its unfinished shards with the engine
chosen."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence, get_args

from ..errors import ConfigError
from .annotate_settings import AnnotateSettings, RaySettings
from .engine import Summary, annotate_local, plan_run

EngineName = Literal["local", "ray"]


def annotate_corpus(
    pipeline: str,
    inputs: Sequence[str],
    output_dir: Path,
    settings: AnnotateSettings,
    *,
    engine: EngineName = "local",
    ray: RaySettings = RaySettings(),
    progress: bool = True,
) -> Summary:
    """Annotate ``inputs`` with ``pipeline`` into ``output_dir`` (:func:`plan_run`): here, in
    ``settings.n_process`` processes (``engine="local"``), or on a Ray cluster (``engine="ray"``, as
    ``ray`` says: its actors, their GPUs, its address or a local Ray)."""
    if engine not in get_args(EngineName):
        raise ConfigError(f"--engine must be local or ray, got {engine!r}")
    if engine == "local" and settings.gpu_id >= 0 and settings.n_process > 1:
        raise ConfigError(
            f"--gpu-id {settings.gpu_id} with --n-process {settings.n_process}: forked worker processes "
            "cannot share one GPU (CUDA does not survive a fork); on a GPU use --n-process 1, or "
            "--engine ray --gpus-per-worker for several"
        )
    plan = plan_run(pipeline, inputs, output_dir, settings)
    if engine == "ray":
        from .ray_engine import annotate_ray

        return annotate_ray(plan, settings, ray, progress)
    return annotate_local(plan, settings, progress)
