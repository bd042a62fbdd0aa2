"""Whether a ``train-hf`` run learned, said in words: a model whose dev entity F1 stays under ``[budget]
min_dev_f1`` or that predicts no entity on dev did not learn (the run stops, naming the likely causes and the
settings to change); a run that stopped while dev F1 was still rising could use more steps. No spaCy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .settings import HFTrainSettings

# Learning rates outside this range are named as a likely cause (BERT fine-tuning uses 2e-5 to 5e-5;
# small backbones such as MiniLM train well at 1e-4).
USUAL_LEARNING_RATES = (1e-5, 3e-4)


@dataclass(frozen=True)
class NotLearned:
    """What showed that a run did not learn (``found``), and the whole message with the likely causes."""

    found: str
    message: str


def not_learned(
    settings: HFTrainSettings,
    dev: Mapping[str, Any],
    budget: Mapping[str, Any],
    train_types: Counter,
    dev_types: Counter,
    learning_rate: float,
) -> Optional[NotLearned]:
    """Why the run did not learn, with the likely causes and the settings to change; None when dev entity F1
    reaches ``[budget] min_dev_f1`` and the model predicts entities on dev. ``dev``: metrics.json's dev
    split; ``budget``: its ``budget`` record; ``*_types``: entities per type in train and dev."""
    floor = settings.budget.min_dev_f1
    f1 = 100 * (dev["word_seqeval"]["f"] or 0.0)
    predicted = dev["predicted_entities"]
    if f1 >= floor and predicted > 0:
        return None
    if predicted == 0:
        found = (
            f"the model predicts no entity on dev's {dev['sentences']:,} sentences "
            f"({dev['gold_entities']:,} gold entities)"
        )
    else:
        found = f"dev entity F1 {f1:.2f} is under [budget] min_dev_f1 = {floor:g}"
    steps, per_epoch = budget["steps_taken"], budget["steps_per_epoch"]
    causes = [
        f"too few optimizer steps ({steps:,} taken, {steps / per_epoch:.1f} epochs of {per_epoch:,}): raise "
        "[budget] min_steps (or --training_args.max_steps)"
    ]
    rate = learning_rate
    low, high = USUAL_LEARNING_RATES
    if not low <= rate <= high:
        causes.insert(
            0,
            f"the learning rate ([training_args] learning_rate = {rate:g}, usually {low:g} to {high:g}): "
            "set --training_args.learning_rate 5e-5 (1e-4 for small backbones)",
        )
    else:
        causes.append(f"the learning rate ([training_args] learning_rate = {rate:g}): try 5e-5 or 1e-4")
    missing = sorted(set(dev_types) - set(train_types))
    if missing:
        causes.insert(
            0,
            f"entity types dev has and train lacks ({', '.join(missing)}): annotate them in train",
        )
    n_train = sum(train_types.values())
    if n_train < 50:
        causes.append(f"train holds {n_train} entities: annotate more")
    found = f"{settings.source}: the model did not learn: {found} after {steps:,} optimizer steps"
    return NotLearned(
        found,
        f"{found}. Likely causes: {'; '.join(causes)}. The model was not saved (metrics.json holds the dev "
        "curve); to keep it anyway, pass --budget.keep_unlearned true",
    )


def still_rising(settings: HFTrainSettings, budget: Mapping[str, Any]) -> Optional[str]:
    """What to change when the run stopped while dev F1 was still rising; None when it was not."""
    if not budget["still_rising"]:
        return None
    last, before = budget["dev_curve"][-1], budget["dev_curve"][-2]
    if budget["stopped"] == "max_seconds":
        stopped = f"[limits] max_seconds = {settings.limits.max_seconds:g} stopped it"
        setting = "raise [limits] max_seconds"
    else:
        stopped = f"the plan's {budget['planned_steps']:,} steps ran out"
        setting = "raise [budget] min_steps (or --training_args.max_steps / num_train_epochs)"
    return (
        f"{settings.source}: dev entity F1 was still rising when training stopped "
        f"({100 * before['word_f']:.2f} at step {before['step']:,}, {100 * last['word_f']:.2f} at step "
        f"{last['step']:,}; {stopped}): more steps will likely help: {setting}"
    )
