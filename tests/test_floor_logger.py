"""The spaCy route's loud stop: spacy-bert-ner.floor_logger.v1 passes every step to the logger it wraps and,
when training ends, fails when the best dev ents_f stayed under its floor."""

from __future__ import annotations

import io
from typing import Any, Optional

import pytest
import spacy
from spacy.util import registry

from spacy_bert_ner.errors import ConfigError, TrainingError
from spacy_bert_ner.training.floor_logger import make_floor_logger

pytestmark = pytest.mark.core


class Recorder:
    """A logger that records what it was given."""

    def __init__(self) -> None:
        self.steps: list[Optional[dict[str, Any]]] = []
        self.finalized = False

    def __call__(self, nlp, stdout, stderr):
        return self.steps.append, self.finalize

    def finalize(self) -> None:
        self.finalized = True


def evaluation(step: int, ents_f: Optional[float]) -> dict[str, Any]:
    return {"step": step, "score": ents_f or 0.0, "other_scores": {"ents_f": ents_f}}


def run(scores: list[Optional[float]], **settings: Any) -> tuple[Recorder, str]:
    """Log an evaluation (ents_f) every 100 steps with a plain step between each, then finish."""
    inner, stderr = Recorder(), io.StringIO()
    log_step, finalize = make_floor_logger(inner, **settings)(spacy.blank("en"), io.StringIO(), stderr)
    for n, score in enumerate(scores, start=1):
        log_step(None)
        log_step(evaluation(100 * n, score))
    try:
        finalize()
    finally:
        assert inner.finalized and len(inner.steps) == 2 * len(scores)
    return inner, stderr.getvalue()


def test_a_model_over_the_floor_finishes_quietly() -> None:
    _, stderr = run([0.01, 0.3, 0.2])
    assert stderr == ""


@pytest.mark.parametrize(
    "scores, found",
    [
        (
            [0.0, None, 0.02],
            "the best dev ents_f, 0.0200 (step 300), is under [training.logger] min_ents_f = 0.05",
        ),
        ([], "no evaluation of dev ran"),
    ],
)
def test_a_model_under_the_floor_stops_spacy_train(scores: list, found: str) -> None:
    with pytest.raises(TrainingError) as raised:
        run(scores)
    message = str(raised.value)
    assert message.startswith("spacy train: the model did not learn: " + found)
    assert "--training.max_steps" in message and "--training.logger.keep_unlearned true" in message


def test_keep_unlearned_only_warns() -> None:
    _, stderr = run([0.01], keep_unlearned=True)
    assert stderr.startswith("⚠ spacy train: the model did not learn: the best dev ents_f, 0.0100 (step 100)")
    assert stderr.endswith("; kept, as [training.logger] keep_unlearned asks\n") and stderr.count("\n") == 1


def test_the_floor_is_a_fraction() -> None:
    with pytest.raises(ConfigError, match=r"min_ents_f = 5: a dev entity F1 from 0 to 1"):
        make_floor_logger(Recorder(), min_ents_f=5)


def test_configs_resolve_it_around_spacys_console_logger() -> None:
    config = {
        "logger": {
            "@loggers": "spacy-bert-ner.floor_logger.v1",
            "min_ents_f": 0.05,
            "logger": {"@loggers": "spacy.ConsoleLogger.v1", "progress_bar": False},
        }
    }
    setup = registry.resolve(config)["logger"]
    stdout, stderr = io.StringIO(), io.StringIO()
    log_step, finalize = setup(spacy.blank("en"), stdout, stderr)
    with pytest.raises(TrainingError):
        finalize()
    assert stderr.getvalue().startswith("✘ spacy train: the model did not learn: no evaluation of dev ran")
