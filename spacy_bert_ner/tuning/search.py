"""``tune``: try input settings and aggregations on dev (:mod:`.forward`: one forward pass per input
setting, every aggregation decoded from the cached probabilities), choose thresholds and temperature by
counting (:mod:`.thresholds`, :mod:`.calibration`), and write the chosen settings into a copy of the
pipeline with tune.json.

Entities are decoded by the component itself (:meth:`BertNER.found_spans`) and matched to gold ones the way
spaCy's NER scorer does (through the example's alignment, skipping gold spans without annotation), so the
dev scores tune reports are the ones ``spacy evaluate`` gives the tuned pipeline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from spacy.language import Language

from ..errors import ConfigError
from ..hf.inference.options import Aggregation
from ..pipeline.bert_ner import BertNER
from ..scores import CountedScores
from .budget import REFERENCE, Budget, Cost, costs_of, within
from .calibration import Bin, expected_calibration_error, fit_temperature, reliability
from .forward import (
    Cached,
    Dataset,
    Decoded,
    InputSetting,
    bert_ner_component,
    current_setting,
    decode,
    forward_all,
    input_grid,
    scores_at_temperature,
    time_settings,
)
from .held_out import HeldOut, ReadingCheck, check_held_out, check_reading
from .thresholds import Candidates, Thresholds, best_f1, for_target, score
from .timing import Rounds, Timing
from .tune_json import result_as_json
from .tune_settings import Objective, TuneSettings


@dataclass
class Trial:
    """One input setting and aggregation at temperature 1: its scores, with and without thresholds."""

    setting: InputSetting
    aggregation: Aggregation
    plain: CountedScores  # no thresholds
    tuned: CountedScores  # with ``thresholds``
    thresholds: Thresholds
    reached: dict[str, bool]
    cost: Cost  # the setting's speed (forward.time_settings, or the costs given)
    within_budget: bool = True

    def rank(self, objective: Objective) -> tuple:
        met = all(self.reached.values())
        if objective.metric == "p":
            return (met, self.tuned.r, self.tuned.f)
        if objective.metric == "r":
            return (met, self.tuned.p, self.tuned.f)
        return (self.tuned.f,)

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.setting.describe(),
            **self.setting.as_config(),
            "aggregation": self.aggregation,
            **self.cost.as_dict(),
            "within_budget": self.within_budget,
            "scores": self.plain.as_dict(),
            "thresholds": self.thresholds,
            "scores_with_thresholds": self.tuned.as_dict(),
            "target_reached": self.reached,
        }


@dataclass
class Result:
    component: str
    objective: Objective
    trials: list[Trial]
    chosen: dict[str, Any]  # the component settings written
    default: CountedScores  # the pipeline as it was, on dev
    tuned: CountedScores  # the chosen settings, on dev
    temperature: float
    reached: dict[str, bool]  # with a target: per label (or overall), whether dev reaches it
    reliability_before: list[Bin]
    reliability_after: list[Bin]
    ece_before: float
    ece_after: float
    seconds: float
    budget: Budget = Budget()
    timing: Timing = Timing()
    chosen_cost: Optional[Cost] = None
    evaluation: dict[str, Any] = field(default_factory=dict)  # --eval data, if given
    settings: Optional["TuneSettings"] = None  # what was tried, as asked
    held_out: Optional[HeldOut] = None  # the temperature and thresholds checked on held-out halves of dev
    reading_held_out: Optional[ReadingCheck] = None  # the reading's choice, checked the same way


def thresholds_for(
    candidates: Candidates, objective: Objective, use_thresholds: bool
) -> tuple[Thresholds, dict[str, bool]]:
    if objective.metric == "f1":
        return (best_f1(candidates) if use_thresholds else {}), {}
    assert objective.target is not None
    result = for_target(candidates, objective.metric, objective.target, objective.scope)
    return result.thresholds, result.reached


def tune(
    nlp: Language,
    dev: Path,
    settings: TuneSettings = TuneSettings(),
    costs: Optional[Mapping[InputSetting, float]] = None,
) -> Result:
    """Try the input settings and aggregations ``settings`` names on ``dev``, choose the best for its
    objective among those within its budget, fit the temperature and thresholds for it; the pipeline itself
    is not changed.

    Every setting is timed as ``settings.timing`` says (the reference reading, context 0 one sentence per
    input, is always tried: time ratios are relative to it); ``costs`` gives the seconds per setting
    instead."""
    start = time.perf_counter()
    name, component = bert_ner_component(nlp, settings.component)
    data = Dataset.load(nlp, name, dev)
    grid = input_grid(
        component,
        settings.contexts,
        settings.packing,
        settings.whole_docs,
        settings.windows,
        settings.dtypes,
        dict(settings.tries),
    )
    cache = forward_all(component, data.docs, list(dict.fromkeys([*grid, REFERENCE])), settings.progress)
    cost = _costs(component, data, cache, settings.timing, costs)
    trials, decoded = _trials(component, data, cache, cost, settings)
    classifier = component.classifier
    current = current_setting(component)
    default = score(
        decode(component, data, cache[current], classifier.aggregation, classifier.temperature).candidates,
        component.thresholds,
    )
    best, reading = _choose_reading(trials, decoded, (current, classifier.aggregation), data, settings)
    fit = _calibrate(component, data, cache[best.setting], best.aggregation, settings)
    chosen = {
        **best.setting.as_config(),
        "aggregation": best.aggregation,
        "temperature": fit.temperature,
        "thresholds": fit.thresholds,
    }
    before, after = fit.untempered.candidates, fit.calibrated.candidates
    return Result(
        component=name,
        objective=settings.objective,
        trials=trials,
        chosen=chosen,
        default=default,
        tuned=score(after, fit.thresholds),
        temperature=fit.temperature,
        reached=fit.reached,
        reliability_before=reliability(before.scores, before.correct),
        reliability_after=reliability(after.scores, after.correct),
        ece_before=expected_calibration_error(before.scores, before.correct),
        ece_after=expected_calibration_error(after.scores, after.correct),
        seconds=time.perf_counter() - start,
        budget=settings.budget,
        timing=settings.timing,
        chosen_cost=best.cost,
        settings=settings,
        held_out=fit.held_out,
        reading_held_out=reading,
    )


def _costs(
    component: BertNER,
    data: Dataset,
    cache: Mapping[InputSetting, Cached],
    timing: Timing,
    costs: Optional[Mapping[InputSetting, float]],
) -> dict[InputSetting, Cost]:
    """Each setting's speed: timed on dev as ``timing`` says, or from the seconds ``costs`` gives."""
    timed: Optional[dict[InputSetting, Rounds]] = None
    if costs is not None:
        missing = [setting.describe() for setting in cache if setting not in costs]
        if missing:
            raise ConfigError(f"tune: costs gives no time for {'; '.join(missing)}")
        seconds = {setting: costs[setting] for setting in cache}
        n_words = sum(len(model_input.words) for model_input in cache[REFERENCE].inputs)
    else:
        timed, n_words = time_settings(component, data.docs, list(cache), timing)
        seconds = {setting: rounds.best for setting, rounds in timed.items()}
    return costs_of(seconds, n_words, timed)


def _trials(
    component: BertNER,
    data: Dataset,
    cache: Mapping[InputSetting, Cached],
    cost: Mapping[InputSetting, Cost],
    settings: TuneSettings,
) -> tuple[list[Trial], dict[tuple[InputSetting, str], Decoded]]:
    """Every setting and aggregation decoded at temperature 1 and scored, with and without thresholds."""
    allowed = within(settings.budget, cost)
    trials: list[Trial] = []
    decoded: dict[tuple[InputSetting, str], Decoded] = {}
    for setting, cached in cache.items():
        for aggregation in settings.aggregations:
            decoded[setting, aggregation] = decode(component, data, cached, aggregation, 1.0)
            candidates = decoded[setting, aggregation].candidates
            thresholds, reached = thresholds_for(candidates, settings.objective, settings.thresholds)
            plain, tuned = score(candidates), score(candidates, thresholds)
            trials.append(
                Trial(
                    setting, aggregation, plain, tuned, thresholds, reached, cost[setting], setting in allowed
                )
            )
    return trials, decoded


def _choose_reading(
    trials: list[Trial],
    decoded: Mapping[tuple[InputSetting, str], Decoded],
    own: tuple[InputSetting, str],
    data: Dataset,
    settings: TuneSettings,
) -> tuple[Trial, Optional[ReadingCheck]]:
    """The best trial within budget; for F1, a reading other than the pipeline's ``own`` only where its
    gain holds on held-out halves of dev (:func:`.held_out.check_reading`)."""
    objective = settings.objective
    best = max((t for t in trials if t.within_budget), key=lambda trial: trial.rank(objective))
    readings = {(t.setting, t.aggregation): t for t in trials if t.within_budget}
    if objective.metric != "f1" or own not in readings or (best.setting, best.aggregation) == own:
        return best, None
    names = {key: f"{key[0].describe()}, {key[1]}" for key in readings}
    picked = {key: decoded[key] for key in readings}
    reading = check_reading(picked, names, own, data, settings.min_held_out_gain)
    if not reading.kept:  # the choice fits dev's noise: the pipeline's own reading
        best = readings[own]
    return best, reading


@dataclass
class _Fit:
    """The chosen reading's temperature and thresholds, and its candidates before and after them."""

    temperature: float
    thresholds: Thresholds
    reached: dict[str, bool]
    untempered: Decoded
    calibrated: Decoded
    held_out: Optional[HeldOut]


def _calibrate(
    component: BertNER, data: Dataset, cached: Cached, aggregation: Aggregation, settings: TuneSettings
) -> _Fit:
    """Fit the temperature and thresholds ``settings`` asks for; for F1, keep them only where their gain
    holds on held-out halves of dev (:func:`.held_out.check_held_out`)."""
    fit_temp, use_thresholds = settings.temperature, settings.thresholds
    untempered = decode(component, data, cached, aggregation, 1.0)
    temperature = 1.0
    if fit_temp:
        scores_at = scores_at_temperature(cached, data.docs, aggregation, untempered)
        temperature = fit_temperature(scores_at, untempered.candidates.correct)
    calibrated = decode(component, data, cached, aggregation, temperature)
    thresholds, reached = thresholds_for(calibrated.candidates, settings.objective, use_thresholds)
    held_out = None
    if settings.objective.metric == "f1" and (fit_temp or use_thresholds) and len(data.docs) >= 2:
        fitted = (fit_temp, use_thresholds, settings.min_held_out_gain)
        held_out = check_held_out(component, data, cached, aggregation, *fitted)
        if not held_out.kept:  # they fit dev's noise: the untuned reading of the chosen setting
            temperature, thresholds, calibrated = 1.0, {}, untempered
    return _Fit(temperature, thresholds, reached, untempered, calibrated, held_out)


def evaluate_settings(
    nlp: Language, name: str, path: Path, settings: Sequence[dict[str, Any]], progress: bool = True
) -> list[dict[str, Any]]:
    """Score ``nlp``'s component ``name`` on ``path`` under each of ``settings`` (component config values:
    sentences, context, pack_sentences, aggregation, temperature, thresholds): the scores, and the
    calibration of the scores at that temperature and at 1. Settings sharing an input share a forward pass."""
    component = dict(nlp.pipeline)[name]
    assert isinstance(component, BertNER)
    data = Dataset.load(nlp, name, path)
    inputs = [InputSetting.from_config(s) for s in settings]
    cache = forward_all(component, data.docs, inputs, progress)
    results = []
    for values, setting in zip(settings, inputs):
        at_one = decode(component, data, cache[setting], values["aggregation"], 1.0).candidates
        scaled = decode(
            component, data, cache[setting], values["aggregation"], values["temperature"]
        ).candidates
        results.append(
            {
                "settings": dict(values),
                "scores": score(scaled, values["thresholds"]).as_dict(),
                "ece_at_temperature_1": expected_calibration_error(at_one.scores, at_one.correct),
                "ece": expected_calibration_error(scaled.scores, scaled.correct),
                "reliability": [b.as_dict() for b in reliability(scaled.scores, scaled.correct)],
            }
        )
    return results


def settings_of(component: BertNER) -> dict[str, Any]:
    """The component's current values of the settings tune chooses."""
    classifier = component.classifier
    return {
        **current_setting(component).as_config(),
        "aggregation": classifier.aggregation,
        "temperature": classifier.temperature,
        "thresholds": dict(component.thresholds),
    }


def write_tuned(nlp: Language, name: str, chosen: dict[str, Any], output: Path) -> None:
    """``nlp`` saved to ``output`` (made with its parents) with ``chosen`` in its config.cfg's
    ``[components.<name>]``."""
    from spacy.util import load_config

    output.mkdir(parents=True, exist_ok=True)  # nlp.to_disk makes the folder, not its parents
    nlp.to_disk(output)
    config = load_config(output / "config.cfg", interpolate=False)
    config["components"][name].update(chosen)
    config.to_disk(output / "config.cfg")


def tune_pipeline(
    pipeline: str,
    dev: Path,
    output: Path,
    settings: TuneSettings = TuneSettings(),
    *,
    eval_data: Optional[Path] = None,
    gpu_id: int = -1,
) -> Result:
    """``tune`` as the CLI runs it: load ``pipeline``, :func:`tune` it on ``dev`` with ``settings``, score it
    before and after on ``eval_data`` if given, and save the tuned copy with tune.json to ``output``."""
    from ..output_paths import check_output
    from ..pipeline.load import configure_process, load_pipeline

    check_output(output, "folder", "OUTPUT")
    if Path(pipeline).exists() and output.resolve() == Path(pipeline).resolve():
        raise ConfigError(
            f"OUTPUT {output} is the pipeline itself; tune writes a tuned copy: choose another folder"
        )
    configure_process(gpu_id)
    nlp = load_pipeline(pipeline)
    result = tune(nlp, dev, settings)
    component = nlp.get_pipe(result.component)
    assert isinstance(component, BertNER)
    before = settings_of(component)
    if eval_data is not None:
        default_eval, tuned_eval = evaluate_settings(
            nlp, result.component, eval_data, [before, result.chosen], settings.progress
        )
        result.evaluation = {"data": str(eval_data), "default": default_eval, "tuned": tuned_eval}
    write_tuned(nlp, result.component, result.chosen, output)
    tune_json = json.dumps(result_as_json(result, pipeline, dev, output), indent=2) + "\n"
    (output / "tune.json").write_text(tune_json, encoding="utf-8")
    return result
