"""spaCy training callbacks registered by this package: keep CPU training memory from climbing, and show it.

Why: on CPU, a transformer trained on batches of varying shape frees and re-allocates large tensors of
ever-different sizes. glibc's malloc raises its mmap threshold after such frees, so later tensors come
from the heap, and freed heap memory stays mapped. Measured here (MiniLM, configs/bert_ner_cpu.cfg):
at step 100 the process held 5.3 GB RSS of which malloc had 0.5 GB in use and 4.3 GB free but kept.
Returning that free memory (``malloc_trim``) and pinning the mmap threshold keeps RSS at what is in use.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import psutil
from spacy import Language
from spacy.util import registry

from ..errors import ConfigError
from ..heap import return_free_memory, set_mmap_threshold


@registry.callbacks("spacy-bert-ner.memory_guard.v1")
def make_memory_guard(
    trim_every: int = 10,
    mmap_threshold_mb: Optional[int] = 4,
    log_every: int = 100,
    log_path: Optional[str] = None,
) -> Callable[[Language, dict], None]:
    """A ``[training.before_update]`` callback that keeps RSS from climbing on glibc (not perfectly
    flat: docs/training-spacy.md) and records it.

    trim_every: give free heap memory back to the OS (``malloc_trim(0)``) every N steps; 0 turns it off.
    mmap_threshold_mb: serve allocations of at least this many MB by mmap, so freeing them returns
        them at once (pins glibc's otherwise rising threshold); null leaves malloc as it is.
    log_every / log_path: every N steps (0: never) read RSS twice, before and after a trim: ``rss_mb`` is
        what the steps since the last trim built up (it swings with the size of those batches),
        ``kept_mb`` is what the process still holds once free heap memory is returned (live tensors,
        weights, optimizer state, caches: where a leak would show). Printed to stderr as
        ``step N rss X MB, kept Y MB (trim Z ms)`` and, with a path, appended as JSON lines
        ``{"step", "rss_mb", "kept_mb", "trim_ms"}`` (benchmarks/train.py summarises them).
    On a C library other than glibc nothing is trimmed and ``kept_mb`` equals ``rss_mb``.
    """
    for field, value in (("trim_every", trim_every), ("log_every", log_every)):
        if value < 0:
            raise ConfigError(f"memory_guard: {field} must be >= 0, got {value}")
    if mmap_threshold_mb is not None:
        set_mmap_threshold(mmap_threshold_mb)
    process = psutil.Process()

    def before_update(nlp: Language, args: dict[str, Any]) -> None:
        step = args["step"]
        if log_every and step % log_every == 0:
            rss_mb = process.memory_info().rss / 2**20
            # a logged step always trims, so kept_mb is measured the same way each time
            trim_ms = return_free_memory()
            kept_mb = process.memory_info().rss / 2**20
            print(
                f"step {step} rss {rss_mb:.0f} MB, kept {kept_mb:.0f} MB (trim {trim_ms:.0f} ms)",
                file=sys.stderr,
                flush=True,
            )
            if log_path:
                Path(log_path).parent.mkdir(parents=True, exist_ok=True)
                row = {
                    "step": step,
                    "rss_mb": round(rss_mb, 1),
                    "kept_mb": round(kept_mb, 1),
                    "trim_ms": round(trim_ms, 1),
                }
                with open(log_path, "a", encoding="utf-8") as file:
                    file.write(json.dumps(row) + "\n")
        elif trim_every and step % trim_every == 0:
            return_free_memory()

    return before_update
