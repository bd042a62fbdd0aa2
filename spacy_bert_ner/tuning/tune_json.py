"""tune.json: what ``tune`` was asked to try, what it tried and chose, the calibration and the held-out
check."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def result_as_json(result: Any, pipeline: str, dev: Path, output: Path) -> dict[str, Any]:
    """tune.json of a :class:`~spacy_bert_ner.tuning.search.Result` (typed ``Any``: this module is imported by
    the one that defines it): what was tried and chosen, and the calibration before and after the
    temperature."""
    return {
        "pipeline": pipeline,
        "dev": str(dev),
        "output": str(output),
        "component": result.component,
        "objective": {
            "metric": result.objective.metric,
            "target": result.objective.target,
            "scope": result.objective.scope,
            "description": result.objective.describe(),
        },
        "search": search_space(result.settings) if result.settings else None,
        "budget": result.budget.as_dict(),
        "timing": {"rounds": result.timing.rounds, "max_words": result.timing.max_words},
        "chosen": result.chosen,
        "chosen_cost": result.chosen_cost.as_dict() if result.chosen_cost else None,
        "target_reached": result.reached,
        "dev_default": result.default.as_dict(),
        "dev_tuned": result.tuned.as_dict(),
        "tried": [trial.as_dict() for trial in result.trials],
        "calibration": {
            "temperature": result.temperature,
            "ece_before": result.ece_before,
            "ece_after": result.ece_after,
            "reliability_before": [b.as_dict() for b in result.reliability_before],
            "reliability_after": [b.as_dict() for b in result.reliability_after],
        },
        "held_out": result.held_out.as_dict() if result.held_out is not None else None,
        "reading_held_out": (
            result.reading_held_out.as_dict() if result.reading_held_out is not None else None
        ),
        "evaluation": result.evaluation,
        "seconds": round(result.seconds, 2),
    }


def search_space(settings: Any) -> dict[str, Any]:
    """What tune was asked to try (tune.json ``search``), from its
    :class:`~spacy_bert_ner.tuning.tune_settings.TuneSettings`."""
    return {
        "contexts": settings.contexts,
        "packing": settings.packing,
        "whole_docs": settings.whole_docs,
        "windows": settings.windows,
        "dtypes": list(settings.dtypes),
        "tries": {name: list(values) for name, values in settings.tries},
        "aggregations": list(settings.aggregations),
        "thresholds": settings.thresholds,
        "temperature": settings.temperature,
        "min_held_out_gain": settings.min_held_out_gain,
    }
