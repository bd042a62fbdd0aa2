"""What ``annotate`` is asked (:class:`AnnotateSettings`, and :class:`RaySettings` for its Ray engine),
validated once (:mod:`spacy_bert_ner.validation`); the CLI reads its option defaults here. No annotating
code."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

from ..validation import settings


@settings("annotate settings")
class AnnotateSettings:
    """What shapes the outputs (``shard_size``, ``text_key``: a resumed run must keep them) and how the
    work runs (the rest).

    shard_size: input records per output shard.
    text_key: the JSONL field holding the text.
    batch_size: Docs per ``nlp.pipe`` batch.
    n_process: worker processes, a shard at a time each.
    strict: stop at the first bad record instead of listing it.
    gpu_id: the GPU to run the pipeline on; -1: the CPU.
    torch_threads: torch threads per process; None: torch's own (all cores).
    """

    shard_size: int = Field(1000, ge=1)
    text_key: str = "text"
    batch_size: int = Field(50, ge=1)
    n_process: int = Field(1, ge=1)
    strict: bool = False
    gpu_id: int = Field(-1, ge=-1)
    torch_threads: Optional[int] = Field(None, ge=1)


@settings("ray settings")
class RaySettings:
    """The Ray engine's cluster and actors.

    address: the cluster (``ray start``'s address); None: start (or join) a local Ray.
    workers: actors, one pipeline each.
    gpus_per_worker: GPUs per actor.
    """

    address: Optional[str] = None
    workers: int = Field(1, ge=1)
    gpus_per_worker: float = Field(0.0, ge=0)
