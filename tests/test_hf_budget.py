"""train-hf's budget: the optimizer steps chosen from the corpus, dev scored along the way with the best
checkpoint restored, early stopping, and the run's verdict (a model that did not learn stops the run; one
stopped while dev F1 was still rising warns). A tiny backbone memorises the training articles when it is
scored on them, which gives runs that learn in seconds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from train_hf_inputs import cli_args
from transformers import TrainingArguments
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.hf.finetune.schedule import DevCurve, Evaluation, Plan, Schedule, plan_training
from spacy_bert_ner.hf.finetune.settings import BudgetSection, load_settings
from spacy_bert_ner.hf.finetune.verdict import not_learned, still_rising

pytestmark = [
    pytest.mark.core,
    pytest.mark.filterwarnings("ignore:mtime may not be reliable on this filesystem:UserWarning"),
]
REPO = Path(__file__).resolve().parent.parent
TEXTS_CONFIG = REPO / "configs" / "hf_bert_ner_texts_cpu.cfg"


# -- the plan ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs, batch, epochs, max_steps, budget, expected",
    [
        # 100 sentences, batches of 16: 7 steps an epoch; 3 epochs are 21 steps, min_steps raises them
        (100, 16, 3, -1, {"min_steps": 600}, Plan(600, 7, "min_steps")),
        # a large corpus: the epochs decide
        (14_041, 16, 3, -1, {"min_steps": 600}, Plan(2_634, 878, "epochs")),
        # [training_args] max_steps fixes the count, below min_steps too
        (100, 16, 3, 400, {"min_steps": 600}, Plan(400, 7, "max_steps")),
        # no min_steps: the course's fixed epochs; a fraction of an epoch rounds up
        (100, 16, 2.5, -1, {}, Plan(18, 7, "epochs")),
        # evaluations: ceil(steps / evaluations); warmup: ceil(steps * fraction)
        (
            100,
            16,
            3,
            -1,
            {"min_steps": 600, "evaluations": 12, "warmup": 0.1},
            Plan(600, 7, "min_steps", 50, 60),
        ),
        (100, 16, 3, 605, {"evaluations": 12}, Plan(605, 7, "max_steps", 51)),
        # the last partial batch counts; gradient accumulation is set below
        (17, 16, 1, -1, {}, Plan(2, 2, "epochs")),
    ],
)
def test_plan_counts_optimizer_steps(
    tmp_path: Path, inputs: int, batch: int, epochs: float, max_steps: int, budget: dict, expected: Plan
) -> None:
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=batch,
        num_train_epochs=epochs,
        max_steps=max_steps,
        use_cpu=True,
        report_to="none",
    )
    assert plan_training(BudgetSection(**budget), args, inputs) == expected


def test_plan_counts_accumulated_batches(tmp_path: Path) -> None:
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=8, gradient_accumulation_steps=4, use_cpu=True
    )
    assert plan_training(BudgetSection(), args, 100).steps_per_epoch == 3  # 13 batches // 4


def test_plan_arguments_restore_the_best_checkpoint() -> None:
    assert Plan(600, 7, "min_steps").arguments() == {"max_steps": 600}
    arguments = Plan(600, 7, "min_steps", 50, 60).arguments()
    assert arguments == {
        "max_steps": 600,
        "warmup_steps": 60,
        "eval_strategy": "steps",
        "eval_steps": 50,
        "save_strategy": "steps",
        "save_steps": 50,
        "load_best_model_at_end": True,
        "metric_for_best_model": "word_f",
        "greater_is_better": True,
    }
    line = Plan(600, 7, "min_steps", 50).describe()
    assert "600 optimizer steps (85.7 epochs of 7 steps), set by [budget] min_steps" in line
    assert "dev scored every 50 steps, the best checkpoint kept" in line


# -- the curve and what it says ------------------------------------------------------------------------------


def schedule_with(f1s: list[float], interval: int = 50) -> Schedule:
    plan = Plan(interval * len(f1s), 10, "min_steps", interval)
    curve = DevCurve([Evaluation((i + 1) * interval, 0.0, f, f, None) for i, f in enumerate(f1s)])
    return Schedule(plan, curve)


@pytest.mark.parametrize(
    "f1s, best_step, rising",
    [
        ([0.1, 0.3, 0.5], 150, True),
        ([0.1, 0.5, 0.4], 100, False),
        ([0.1, 0.5, 0.5], 100, False),  # a tie is not better: the first is kept, and nothing rose
        ([0.5], 50, False),  # one evaluation shows no trend
        ([0.0, 0.0], 50, False),
    ],
)
def test_best_evaluation_and_still_rising(f1s: list[float], best_step: int, rising: bool) -> None:
    schedule = schedule_with(f1s)
    assert schedule.curve.best().step == best_step
    assert schedule.still_rising() is rising
    record = schedule.record(steps_taken=50 * len(f1s))
    assert (record["best_step"], record["still_rising"], record["stopped"]) == (
        best_step,
        rising,
        "planned_steps",
    )
    assert [e["word_f"] for e in record["dev_curve"]] == f1s


@pytest.fixture
def texts_settings(hf_corpus: Path) -> Any:
    overrides = {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
    return load_settings(TEXTS_CONFIG, overrides)


def dev_split(f: float | None, predicted: int) -> dict:
    return {"word_seqeval": {"f": f}, "predicted_entities": predicted, "gold_entities": 120, "sentences": 40}


def test_still_rising_names_the_setting_that_gives_more_time(texts_settings: Any) -> None:
    record = schedule_with([0.1, 0.3, 0.5]).record(150)
    message = still_rising(texts_settings, record)
    assert "still rising" in message and "30.00 at step 100, 50.00 at step 150" in message
    assert "raise [budget] min_steps" in message
    assert still_rising(texts_settings, schedule_with([0.1, 0.5, 0.4]).record(150)) is None


@pytest.mark.parametrize(
    "f, predicted, learning_rate, fragments",
    [
        (0.0, 0, 1e-4, ["predicts no entity on dev's 40 sentences (120 gold entities)", "too few optimizer"]),
        (0.03, 12, 1e-4, ["dev entity F1 3.00 is under [budget] min_dev_f1 = 5", "learning_rate = 0.0001"]),
        (
            0.01,
            12,
            1e-7,
            ["the learning rate ([training_args] learning_rate = 1e-07, usually 1e-05 to 0.0003)"],
        ),
        (None, 0, 1e-4, ["predicts no entity"]),
    ],
)
def test_not_learned_names_the_causes_and_the_fix(
    texts_settings: Any, f: float | None, predicted: int, learning_rate: float, fragments: list[str]
) -> None:
    record = schedule_with([0.0, 0.0]).record(100)
    train, dev = Counter({"PER": 30}), Counter({"PER": 100, "LOC": 20})
    verdict = not_learned(texts_settings, dev_split(f, predicted), record, train, dev, learning_rate)
    for fragment in fragments:
        assert fragment in verdict.message
    assert "entity types dev has and train lacks (LOC)" in verdict.message
    assert "train holds 30 entities" in verdict.message
    assert "100 optimizer steps" in verdict.found and "--budget.keep_unlearned true" in verdict.message


def test_a_model_over_the_floor_learned(texts_settings: Any) -> None:
    record = schedule_with([0.2]).record(50)
    assert not_learned(texts_settings, dev_split(0.2, 40), record, Counter(), Counter(), 1e-4) is None


# -- runs ----------------------------------------------------------------------------------------------------


def train(hf_corpus: Path, backbone: Path, output: Path, *extra: str) -> tuple[Any, dict]:
    """train-hf on the tiny corpus, scored on its own training articles (so a tiny model can learn)."""
    args = cli_args(hf_corpus, backbone, output, "--paths.dev", str(hf_corpus / "train.spacy"), *extra)
    args.remove("--budget.keep_unlearned")  # cli_args keeps every model: these runs are judged
    args.remove("true")
    result = CliRunner().invoke(app, args)
    metrics = json.loads((output / "metrics.json").read_text()) if (output / "metrics.json").is_file() else {}
    return result, metrics


def test_the_best_checkpoint_is_restored(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    """Dev is scored every 25 steps; the run's last evaluation is worse than its best, and the saved model
    is the best one: its dev F1 is the best evaluation's."""
    result, metrics = train(
        hf_corpus, backbone, tmp_path / "run", "--training_args.learning_rate", "1e-3",
        "--training_args.max_steps", "200", "--budget.evaluations", "8", "--budget.patience", "null",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    budget = metrics["budget"]
    curve = [(e["step"], e["word_f"]) for e in budget["dev_curve"]]
    assert [step for step, _ in curve] == [25, 50, 75, 100, 125, 150, 175, 200]
    best_step, best_f = max(curve, key=lambda e: (e[1], -e[0]))
    assert (budget["best_step"], budget["best_dev_word_f"]) == (best_step, best_f)
    assert curve[-1][1] < best_f, "this seed's last evaluation should be worse than its best"
    assert metrics["dev"]["word_seqeval"]["f"] == pytest.approx(best_f)
    assert (budget["stopped"], budget["steps_taken"], budget["planned_steps"]) == ("planned_steps", 200, 200)
    assert metrics["learned"] is True and (tmp_path / "run" / "model" / "config.json").is_file()


def test_a_run_stopped_while_rising_warns(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    result, metrics = train(
        hf_corpus, backbone, tmp_path / "run", "--training_args.learning_rate", "3e-3",
        "--training_args.max_steps", "110", "--budget.evaluations", "4",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    curve = [e["step"] for e in metrics["budget"]["dev_curve"]]
    assert curve == [28, 56, 84, 110]  # the last step is scored though the interval does not fall on it
    assert metrics["budget"]["still_rising"] is True
    assert "⚠" in result.output and "dev entity F1 was still rising" in result.output
    assert "raise [budget] min_steps" in result.output


def test_a_model_that_did_not_learn_stops_the_run(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    """Three optimizer steps: the model predicts nothing; exit 1 with the causes, no model folder, and
    metrics.json with the curve."""
    result, metrics = train(hf_corpus, backbone, tmp_path / "run", "--training_args.max_steps", "3")
    assert result.exit_code == 1
    assert "✘" in result.output and "the model did not learn" in result.output
    assert (
        "too few optimizer steps (3 taken" in result.output
        and "--budget.keep_unlearned true" in result.output
    )
    assert not (tmp_path / "run" / "model").exists()
    assert metrics["learned"] is False and metrics["budget"]["steps_taken"] == 3


def test_keep_unlearned_keeps_the_model_and_warns(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    result, metrics = train(
        hf_corpus,
        backbone,
        tmp_path / "run",
        "--training_args.max_steps",
        "3",
        "--budget.keep_unlearned",
        "true",
    )
    assert result.exit_code == 0, result.output
    assert "⚠" in result.output and "kept, as [budget] keep_unlearned asks" in result.output
    assert metrics["learned"] is False and (tmp_path / "run" / "model" / "config.json").is_file()


def test_patience_stops_a_run_that_does_not_improve(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    """A learning rate too high to learn: dev F1 never rises above its first evaluation. Evaluations before
    [budget] min_steps (30) do not count, so the run stops two evaluations after step 30, long before its
    plan."""
    result, metrics = train(
        hf_corpus, backbone, tmp_path / "run", "--training_args.learning_rate", "0.5",
        "--training_args.max_steps", "400", "--budget.evaluations", "40", "--budget.patience", "2",
        "--budget.min_steps", "30", "--budget.keep_unlearned", "true",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    budget = metrics["budget"]
    assert budget["stopped"] == "patience" and budget["steps_taken"] == 40 < budget["planned_steps"]
    assert [e["step"] for e in budget["dev_curve"]] == [10, 20, 30, 40]
    assert budget["patience_from_step"] == 30
