"""``train-curve``: how much data is enough. ``train-hf`` (the same config, the same budget rule) on growing
shares of the training set, dev entity F1 for each, and one line that reads the curve's end, as Prodigy's
``train-curve`` does: a last share that still adds F1 says more annotation will likely help.

The shares are nested: the training documents are shuffled once (the config's seed) and each share takes
the first documents of that order until it holds its part of the sentences, so 50% holds the 25% share's
documents and more.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..bio import TaggedSentence
from ..errors import ConfigError
from ..hf.finetune.recipe import fit, prepare
from ..hf.finetune.settings import load_settings
from ..host import this_host
from .train_hf import read_splits

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
CURVE_FILE = "curve.json"
# The last share's gain (F1 points) from which more annotation "will likely help".
HELPS = 1.0

Documents = list[list[TaggedSentence]]


@dataclass(frozen=True)
class Point:
    """One share of the training set trained on, and what it reached on dev."""

    fraction: float
    docs: int
    sentences: int
    dev_f: float  # word-level entity F1 (0-1) of the best checkpoint
    best_step: Optional[int]
    steps_taken: int
    train_seconds: float
    learned: bool  # over the config's [budget] min_dev_f1, with entities predicted


def check_fractions(fractions: Sequence[float]) -> list[float]:
    """Sorted, each in (0, 1], the last 1 (the whole training set)."""
    ordered = sorted(set(fractions))
    if not ordered or ordered[0] <= 0 or ordered[-1] != 1:
        raise ConfigError(
            f"--fractions {','.join(f'{f:g}' for f in fractions)}: shares of the training set in (0, 1], "
            "the largest 1 (the whole set), e.g. 0.25,0.5,0.75,1"
        )
    return ordered


def share(documents: Documents, fraction: float, seed: int) -> Documents:
    """The first documents of ``documents`` shuffled by ``seed`` until they hold ``fraction`` of its
    sentences (at least one document); every fraction's share starts with every smaller one's."""
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    wanted = fraction * sum(len(document) for document in documents)
    taken: Documents = []
    held = 0
    for index in order:
        if taken and held >= wanted:
            break
        taken.append(documents[index])
        held += len(documents[index])
    return taken


def reading(points: Sequence[Point]) -> str:
    """One line on the curve's end: what the last share added, and what that says about annotating more."""
    if len(points) < 2:
        return "one share trained: no curve to read; pass --fractions with more than one share"
    last, before = points[-1], points[-2]
    gain = 100 * (last.dev_f - before.dev_f)
    step = f"the last {100 * (last.fraction - before.fraction):.0f}% of the training set"
    if not last.learned:
        return f"{step} added {gain:+.1f} F1, and the model did not learn: check the labels and the settings"
    if gain >= HELPS:
        return f"{step} added {gain:.1f} F1: more annotation will likely help"
    if gain > 0:
        return f"{step} added {gain:.1f} F1: more annotation may help a little"
    return (
        f"{step} added {gain:+.1f} F1: more of the same annotation is unlikely to help; check the labels' "
        "consistency, or try other settings"
    )


def train_curve(
    config_path: str | Path,
    output: Path,
    overrides: Optional[Mapping[str, Any]] = None,
    fractions: Sequence[float] = FRACTIONS,
) -> dict[str, Any]:
    """Train the config on each share of its training set (a model folder and metrics.json per share under
    ``output``/NN), keeping models that did not learn (each is a point of the curve), and write
    ``output``/curve.json: the points, the reading and the host the minutes were measured on."""
    ordered = check_fractions(fractions)
    given = {**(overrides or {}), "budget.keep_unlearned": True}
    points = []
    for fraction in ordered:
        folder = output / f"{100 * fraction:03.0f}"
        settings = load_settings(config_path, {**given, "paths.output": str(folder)})
        splits, reports = read_splits(settings)
        seed = int(settings.training_arguments.get("seed", 42))
        splits["train"] = share(splits["train"], fraction, seed)
        prepared = prepare(settings, splits, {split: report.as_dict() for split, report in reports.items()})
        metrics = fit(prepared)
        points.append(
            Point(
                fraction=fraction,
                docs=len(splits["train"]),
                sentences=metrics["train"]["sentences"],
                dev_f=metrics["dev"]["word_seqeval"]["f"] or 0.0,
                best_step=metrics["budget"]["best_step"],
                steps_taken=metrics["budget"]["steps_taken"],
                train_seconds=metrics["train"]["train_runtime"],
                learned=metrics["learned"],
            )
        )
    curve = {
        "config": str(config_path),
        "overrides": given,
        "points": [asdict(point) for point in points],
        "reading": reading(points),
        "host": this_host().as_dict(),  # the shares' minutes are this machine's
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / CURVE_FILE).write_text(json.dumps(curve, indent=2) + "\n", encoding="utf-8")
    return curve
