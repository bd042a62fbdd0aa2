"""How long ``train-hf`` trains, chosen from the corpus (``[budget]``), and what happened on the way.

A fixed epoch count trains 100 sentences in batches of 16 for 21 optimizer steps, too few to leave "every
word is O". :func:`plan_training` counts the optimizer steps instead: ``[training_args] num_train_epochs``
epochs, but at least ``[budget] min_steps`` (``[training_args] max_steps`` > 0 fixes the count). With
``[budget] evaluations`` dev is scored that many times over the plan (word-level entity F1, ``eval_word_f``),
a checkpoint is written at each, the best one is restored at the end (the Trainer's
``load_best_model_at_end``), and ``[budget] patience`` evaluations without a dev F1 better by more than
``[budget] min_delta`` points stop the run (the Trainer's ``EarlyStoppingCallback``), counted only from
``[budget] min_steps`` on (:class:`PatienceAfter`: a small corpus always gets its minimum, and a larger share
of the same corpus is never cut shorter than a smaller one). :class:`DevCurve`
records each evaluation and makes sure the last step is scored too, whether the run ends by the plan or by
``[limits] max_seconds`` (:class:`TimeBudget`).

transformers / torch only, no spaCy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import torch
from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments

from .settings import BudgetSection

WORD_F1 = "word_f"  # the metric the best checkpoint and early stopping follow (the Trainer logs eval_word_f)
Rule = Literal["max_steps", "min_steps", "epochs"]
StopReason = Literal["planned_steps", "patience", "max_seconds"]


@dataclass(frozen=True)
class Plan:
    """The optimizer steps a run takes, which setting decided them, and the interval between evaluations of
    dev (None: ``[training_args]`` decides when dev is scored)."""

    steps: int
    steps_per_epoch: int
    rule: Rule
    interval: Optional[int] = None
    warmup_steps: Optional[int] = None  # None: [training_args] decides

    @property
    def epochs(self) -> float:
        return self.steps / self.steps_per_epoch

    def arguments(self) -> dict[str, Any]:
        """The ``TrainingArguments`` the plan sets: the step count, and with an interval the evaluation and
        checkpoint schedule with the best checkpoint (by dev word-level F1) restored at the end."""
        arguments: dict[str, Any] = {"max_steps": self.steps}
        if self.warmup_steps is not None:
            arguments["warmup_steps"] = self.warmup_steps  # an int: 4.x reads a float < 1 as steps
        if self.interval is not None:
            arguments.update(
                eval_strategy="steps",
                eval_steps=self.interval,
                save_strategy="steps",
                save_steps=self.interval,
                load_best_model_at_end=True,
                metric_for_best_model=WORD_F1,
                greater_is_better=True,
            )
        return arguments

    def describe(self) -> str:
        """One line for the terminal: how many steps, why, and how often dev is scored."""
        why = {
            "max_steps": "[training_args] max_steps",
            "min_steps": "[budget] min_steps (more than num_train_epochs gives on this corpus)",
            "epochs": "[training_args] num_train_epochs",
        }[self.rule]
        line = (
            f"training for {self.steps:,} optimizer steps ({self.epochs:.1f} epochs of "
            f"{self.steps_per_epoch:,} steps), set by {why}"
        )
        if self.interval is not None:
            line += f"; dev scored every {self.interval:,} steps, the best checkpoint kept"
        return line


def steps_per_epoch(args: TrainingArguments, n_inputs: int) -> int:
    """Optimizer steps in one pass over ``n_inputs`` training inputs, as the Trainer counts them (batches of
    every process together, gradient accumulation, the last partial batch kept)."""
    batches = math.ceil(n_inputs / (args.train_batch_size * args.world_size))
    return max(batches // args.gradient_accumulation_steps, 1)


def plan_training(budget: BudgetSection, args: TrainingArguments, n_inputs: int) -> Plan:
    """The plan for a corpus of ``n_inputs`` training inputs: ``[training_args] max_steps`` when it is set
    (> 0), else ``num_train_epochs`` epochs or ``[budget] min_steps``, whichever is more; with ``[budget]
    evaluations``, dev is scored every ``ceil(steps / evaluations)`` steps (and at the last step); with
    ``[budget] warmup``, that fraction of the steps warms the learning rate up."""
    per_epoch = steps_per_epoch(args, n_inputs)
    rule: Rule
    if args.max_steps > 0:
        steps, rule = args.max_steps, "max_steps"
    else:
        steps, rule = math.ceil(args.num_train_epochs * per_epoch), "epochs"
        if budget.min_steps is not None and budget.min_steps > steps:
            steps, rule = budget.min_steps, "min_steps"
    interval = math.ceil(steps / budget.evaluations) if budget.evaluations is not None else None
    warmup = math.ceil(steps * budget.warmup) if budget.warmup is not None else None
    return Plan(steps, per_epoch, rule, interval, warmup)


class TimeBudget(TrainerCallback):
    """Stop training after ``seconds`` of wall time (``[limits] max_seconds``); all processes agree.
    ``stopped_at`` is the step it stopped at (None: it did not stop the run)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.stopped_at: Optional[int] = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        stop = time.monotonic() - self.start >= self.seconds
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            flag = torch.tensor([float(stop)], device=args.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            stop = bool(flag.item())
        if stop:
            control.should_training_stop = True
            self.stopped_at = state.global_step
        return control


@dataclass
class Evaluation:
    """One scoring of dev during training."""

    step: int
    epoch: float
    word_f: float  # word-level entity F1 (0-1), the metric the run follows
    subword_f: float  # the course's subword-level F1 (0-1)
    loss: Optional[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "word_f": self.word_f,
            "subword_f": self.subword_f,
            "loss": self.loss,
        }


@dataclass
class DevCurve(TrainerCallback):
    """Records each evaluation of dev, and asks for one at the last step (by the plan or by a time stop)
    when the interval did not fall on it, with a checkpoint, so the best-checkpoint choice sees the end."""

    evaluations: list[Evaluation] = field(default_factory=list)

    def on_step_end(self, args, state, control, **kwargs):
        last = control.should_training_stop or state.global_step >= state.max_steps
        # "epoch": the epoch's end scores dev anyway, after this step
        if last and args.eval_strategy == "steps" and not control.should_evaluate:
            control.should_evaluate = True
            control.should_save = args.save_strategy != "no"
        return control

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics = metrics or {}
        if f"eval_{WORD_F1}" in metrics:
            self.evaluations.append(
                Evaluation(
                    step=state.global_step,
                    epoch=float(state.epoch or 0.0),
                    word_f=float(metrics[f"eval_{WORD_F1}"]),
                    subword_f=float(metrics.get("eval_subword_f", 0.0)),
                    loss=metrics.get("eval_loss"),
                )
            )
        return control

    def best(self) -> Optional[Evaluation]:
        """The first evaluation with the highest dev word-level F1 (the checkpoint the Trainer restores:
        a later tie is not better)."""
        best: Optional[Evaluation] = None
        for evaluation in self.evaluations:
            if best is None or evaluation.word_f > best.word_f:
                best = evaluation
        return best


class PatienceAfter(EarlyStoppingCallback):
    """The Trainer's early stopping, with evaluations before step ``after`` left out of the patience count
    (they still compete for the best checkpoint). Counted from the start, patience stopped a 100-sentence
    run at step 350 of the 600 it was planned, below what 75% of the same corpus reached in 600."""

    def __init__(self, patience: int, threshold: float, after: int) -> None:
        super().__init__(patience, early_stopping_threshold=threshold)
        self.after = after

    def on_evaluate(self, args, state, control, metrics, **kwargs):
        if state.global_step < self.after:
            return control
        return super().on_evaluate(args, state, control, metrics, **kwargs)


@dataclass
class Schedule:
    """A run's plan and the callbacks that carry it out: the time limit, the dev curve, early stopping."""

    plan: Plan
    curve: DevCurve
    time_budget: Optional[TimeBudget] = None
    early: Optional[PatienceAfter] = None

    @classmethod
    def of(cls, plan: Plan, budget: BudgetSection, max_seconds: Optional[float]) -> "Schedule":
        early = (
            # a gain of min_delta points or less does not reset the patience (the best checkpoint is still
            # the best evaluation's, however small its lead); nothing counts before min_steps
            PatienceAfter(budget.patience, budget.min_delta / 100, min(budget.min_steps or 0, plan.steps))
            if plan.interval is not None and budget.patience is not None
            else None
        )
        return cls(plan, DevCurve(), TimeBudget(max_seconds) if max_seconds else None, early)

    @property
    def callbacks(self) -> list[TrainerCallback]:
        """In the order they must run: a time stop before the curve asks for the last evaluation."""
        return [c for c in (self.time_budget, self.curve, self.early) if c is not None]

    def stop_reason(self) -> StopReason:
        """Why training ended: ``max_seconds`` (the time limit), ``patience`` (no better dev F1 for that
        many evaluations) or ``planned_steps`` (the plan ran to its end)."""
        if self.time_budget is not None and self.time_budget.stopped_at is not None:
            return "max_seconds"
        if self.early is not None and (
            self.early.early_stopping_patience_counter >= self.early.early_stopping_patience
        ):
            return "patience"
        return "planned_steps"

    def still_rising(self) -> bool:
        """The run stopped by its plan or its time limit while dev F1 was rising: the last evaluation is the
        best, and better than the one before it."""
        evaluations = self.curve.evaluations
        return (
            self.stop_reason() != "patience"
            and len(evaluations) >= 2
            and self.curve.best() is evaluations[-1]
            and evaluations[-1].word_f > evaluations[-2].word_f
        )

    def record(self, steps_taken: int) -> dict[str, Any]:
        """metrics.json's ``budget``: the plan, the steps taken, the best evaluation, the dev F1 curve and
        why training stopped."""
        best = self.curve.best()
        return {
            "planned_steps": self.plan.steps,
            "rule": self.plan.rule,
            "steps_per_epoch": self.plan.steps_per_epoch,
            "eval_interval": self.plan.interval,
            "patience": self.early.early_stopping_patience if self.early is not None else None,
            "min_delta": 100 * self.early.early_stopping_threshold if self.early is not None else None,
            "patience_from_step": self.early.after if self.early is not None else None,
            "steps_taken": steps_taken,
            "best_step": best.step if best is not None else None,
            "best_dev_word_f": best.word_f if best is not None else None,
            "stopped": self.stop_reason(),
            "still_rising": self.still_rising(),
            "dev_curve": [evaluation.as_dict() for evaluation in self.curve.evaluations],
        }
