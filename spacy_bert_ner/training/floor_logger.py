"""The spaCy route's loud stop: a ``[training.logger]`` that wraps another logger (spaCy's console logger)
and, when training ends, fails ``spacy train`` if the best dev entity F1 stayed under a floor (or no
evaluation ran), naming the likely causes and the settings to change, as ``train-hf`` does for its route.

spaCy keeps ``model-best`` and ``model-last`` either way (it saves them while training); the non-zero exit is
what stops ``spacy project run`` at ``train-spacy``.
"""

from __future__ import annotations

import sys
from typing import IO, Any, Callable, Optional

from spacy import Language
from spacy.util import registry

from ..errors import ConfigError, TrainingError

LogStep = Callable[[Optional[dict[str, Any]]], None]
Logger = Callable[[Language, IO, IO], tuple[LogStep, Callable[[], None]]]
SETTING = "[training.logger]"


def not_learned(best: Optional[float], step: Optional[int], steps: int, min_ents_f: float) -> tuple[str, str]:
    """What was found, and the whole message: that, the likely causes and the settings to change."""
    found = (
        "no evaluation of dev ran"
        if best is None
        else f"the best dev ents_f, {best:.4f} (step {step:,}), is under {SETTING} min_ents_f = "
        f"{min_ents_f:g}"
    )
    found = f"spacy train: the model did not learn: {found} after {steps:,} steps"
    return found, (
        f"{found}. Likely causes: too few steps (raise --training.max_steps; a small corpus needs several "
        "hundred), the learning rate ([training.optimizer.learn_rate]), entity types dev has and train "
        "lacks, or too few annotated entities. model-best holds it; to go on with it anyway, pass "
        "--training.logger.keep_unlearned true"
    )


@registry.loggers("spacy-bert-ner.floor_logger.v1")
def make_floor_logger(logger: Logger, min_ents_f: float = 0.05, keep_unlearned: bool = False) -> Logger:
    """``logger`` (e.g. ``spacy.ConsoleLogger.v1``) as it is, plus a check when training ends: the best
    ``ents_f`` of the dev evaluations must reach ``min_ents_f`` (0-1), else a one-line
    :class:`~spacy_bert_ner.errors.TrainingError` (unless ``keep_unlearned``: then a warning line)."""
    if not 0 <= min_ents_f <= 1:
        raise ConfigError(f"{SETTING} min_ents_f = {min_ents_f}: a dev entity F1 from 0 to 1, e.g. 0.05")

    def setup(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr) -> tuple[LogStep, Callable]:
        log_step, finalize = logger(nlp, stdout, stderr)
        seen: dict[str, Any] = {"best": None, "step": None, "steps": 0}

        def step(info: Optional[dict[str, Any]]) -> None:
            log_step(info)
            if info is None:
                return
            seen["steps"] = info.get("step", seen["steps"])
            score = (info.get("other_scores") or {}).get("ents_f") or 0.0
            if seen["best"] is None or score > seen["best"]:
                seen["best"], seen["step"] = score, info.get("step")

        def done() -> None:
            finalize()
            best = seen["best"]
            if best is not None and best >= min_ents_f:
                return
            found, message = not_learned(best, seen["step"], seen["steps"], min_ents_f)
            if keep_unlearned:
                stderr.write(f"⚠ {found}; kept, as {SETTING} keep_unlearned asks\n")
                return
            stderr.write(f"✘ {message}\n")  # one line (wasabi would wrap it), then the exception
            raise TrainingError(message)

        return step, done

    return setup
