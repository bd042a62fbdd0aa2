"""spaCy training callbacks registered by this package."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import psutil
from spacy import Language
from spacy.util import registry


@registry.callbacks("spacy-bert-ner.rss_monitor.v1")
def make_rss_monitor(every: int = 100, path: Optional[str] = None) -> Callable[[Language, dict], None]:
    """A ``[training.before_update]`` callback that records the process RSS every ``every`` steps.

    Prints ``step N rss X MB`` to stderr and, with ``path``, appends ``{"step", "rss_mb"}`` JSON lines
    there, so a run's memory curve can be checked (``benchmarks/train.py`` reads it).
    """
    if every < 1:
        raise ValueError(f"rss_monitor: every must be >= 1, got {every}")
    process = psutil.Process()

    def before_update(nlp: Language, args: dict[str, Any]) -> None:
        step = args["step"]
        if step % every:
            return
        rss_mb = process.memory_info().rss / 2**20
        print(f"step {step} rss {rss_mb:.0f} MB", file=sys.stderr, flush=True)
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as file:
                file.write(json.dumps({"step": step, "rss_mb": round(rss_mb, 1)}) + "\n")

    return before_update
