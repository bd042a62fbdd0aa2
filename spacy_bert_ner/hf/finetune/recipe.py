"""The Hugging Face course's token-classification recipe, run from checked settings: the Trainer's part.

transformers / datasets / torch only, no spaCy: sentences come in as ``(words, IOB2 tags)`` pairs grouped
by document (:mod:`spacy_bert_ner.training.train_hf` reads them from DocBins), settings from
:mod:`.settings`. The steps, each job in its own module:

1. labels (:mod:`.labels`): no empty split; a listed ``[model] labels`` covers every tag of the data and
   names only types the data has. Left out (null), the labels come from the data;
2. :func:`prepare`: ``TrainingArguments``, the backbone and its head (:mod:`.backbone`; a backbone that is
   already a token classifier keeps its head only for the same labels) and fast tokenizer
   (:mod:`~spacy_bert_ner.hf.inference.loading`), the inputs (:mod:`.encoding`: one per sentence, or per run
   of consecutive sentences that fit with ``[model] pack_sentences``, with up to ``[model] context``
   subwords of its document either side, labelled -100 so loss and metrics see the sentence only; subword
   labels by :mod:`.align`), ``datasets.Dataset``, ``DataCollatorForTokenClassification``, ``Trainer`` with
   the course's ``compute_metrics`` run every evaluation (:mod:`.metrics`); the model's config records how
   inputs were built (:func:`~spacy_bert_ner.hf.inference.context.record_reading`), so ``bert_ner`` reads
   the same way. Words tagged :data:`.align.MISSING` (no annotation) get -100 and count as ``O`` in
   word-level scores;
3. :func:`fit`: ``Trainer.train`` for the budget :mod:`.schedule` plans, ``save_model`` (a standard HF
   folder with ``id2label`` / ``label2id``), then a final evaluation of dev (and test) reported twice: the
   course's subword-level seqeval and word-level seqeval over each word's first-subword prediction (the
   ``bert_ner`` component's rule).

Every problem found in steps 1-2 raises a :class:`~spacy_bert_ner.errors.BertNerError` with one line naming
the config field and the fix. The Trainer runs on Accelerate, so ``accelerate launch -m spacy_bert_ner
train-hf ...`` trains on several GPUs or machines; only the main process writes the model and metrics.
"""

from __future__ import annotations

import json
import math
import os
import resource
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

import torch
from transformers import (
    DataCollatorForTokenClassification,
    Trainer,
    set_seed,
)

from ...bio import tags_to_spans
from ...errors import (
    ConfigWarning,
    DataWarning,
    TrainingError,
    TrainingWarning,
)
from ..inference.context import (
    record_reading,
)
from ..inference.loading import (
    max_input_length,
)
from .backbone import head_note, load_backbone
from .compat import evaluation_in_order
from .course_metric import course_scores
from .encoding import Encoded, check_context, encode
from .labels import Documents, check_sentences, known_tags, resolve_labels, sentence_entity_types
from .metrics import _argmax, training_metrics, word_level_tags, word_scores
from .schedule import Schedule, plan_training
from .settings import HFTrainSettings, make_training_args
from .verdict import not_learned, still_rising


class InOrderTrainer(Trainer):
    """The Trainer, with each evaluation reading its dataset in order (with length grouping on, both
    transformers lines' Trainer also batches evaluation inputs by length), so that the word-level metric
    pairs each prediction with its own sentence's words."""

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        with evaluation_in_order(self.args):
            return super().evaluate(*args, **kwargs)


@dataclass
class Prepared:
    """Everything :func:`fit` needs; built by :func:`prepare` before any training step."""

    settings: HFTrainSettings
    trainer: Trainer
    splits: dict[str, Encoded]
    labels: list[str]
    schedule: Schedule
    backbone_labels: Optional[list[str]] = None  # what a fine-tuned backbone's head was for
    data: dict[str, dict[str, int]] = field(default_factory=dict)  # per split: how it was read
    notes: list[str] = field(default_factory=list)  # lines for the terminal (the CLI prints them)


def prepare(
    settings: HFTrainSettings,
    splits: Mapping[str, Documents],
    data: Optional[Mapping[str, Mapping[str, int]]] = None,
) -> Prepared:
    """Check the sentences, take the labels, load the backbone, encode every split and build the Trainer.
    ``data`` (per split, how it was read: :class:`spacy_bert_ner.data.tagged.ReadReport`) goes into the
    metrics."""
    check_sentences(settings, splits)
    labels = resolve_labels(settings, splits)
    args = make_training_args(settings)
    set_seed(args.seed)  # the classifier head is initialised in load_backbone
    tokenizer, model, backbone_labels = load_backbone(settings, labels)
    note = head_note(settings.model.start[1], backbone_labels, labels)
    label2id = {label: i for i, label in enumerate(labels)}
    max_length = max_input_length(tokenizer, model.config, settings.model.max_length)
    check_context(settings, tokenizer, max_length)
    if settings.model.context and all(len(document) <= 1 for document in splits["train"]):
        warnings.warn(
            f"{settings.field('model', 'context', settings.model.context)}: "
            "every Doc of [paths] train holds one sentence, so no sentence has context to read; "
            "convert CoNLL files with their -DOCSTART- lines "
            "(one Doc per article) for document context, or set [model] context 0",
            ConfigWarning,
        )
    # saved into config.json: bert_ner reads text the way the model was trained, by default
    record_reading(model.config, settings.model.context, settings.model.pack_sentences, max_length)
    encoded = {
        split: encode(
            tokenizer,
            documents,
            label2id,
            settings.model.alignment,
            max_length,
            settings.model.context,
            settings.model.pack_sentences,
        )
        for split, documents in splits.items()
    }
    for split, enc in encoded.items():
        if enc.n_truncated:
            warnings.warn(
                f"{settings.split_paths()[split]}: {enc.n_truncated} sentence(s) longer than {max_length} "
                "subwords were cut; their last words are not trained on and count as O in word-level scores",
                DataWarning,
            )
    plan = plan_training(settings.budget, args, len(encoded["train"].word_ids))
    schedule = Schedule.of(plan, settings.budget, settings.limits.max_seconds)
    trainer = InOrderTrainer(
        model=model,
        args=make_training_args(settings, plan.arguments()),
        data_collator=DataCollatorForTokenClassification(tokenizer),
        train_dataset=encoded["train"].dataset,
        eval_dataset=encoded["dev"].dataset,
        processing_class=tokenizer,
        compute_metrics=training_metrics(labels, encoded["dev"]),
        preprocess_logits_for_metrics=_argmax,
        callbacks=schedule.callbacks,
    )
    read = {split: dict(counts) for split, counts in (data or {}).items()}
    notes = [line for line in (note, plan.describe()) if line]
    return Prepared(settings, trainer, encoded, labels, schedule, backbone_labels, read, notes)


def predict_in_order(trainer: Trainer, dataset: Any, prefix: str) -> Any:
    """``trainer.predict`` with the predictions in the dataset's order (with ``group_by_length`` the Trainer
    also groups evaluation inputs by length, which would pair each prediction with another input's words),
    and without the Trainer's ``compute_metrics`` (the caller scores the predictions; the training metric
    knows dev's words only)."""
    compute_metrics, trainer.compute_metrics = trainer.compute_metrics, None
    try:
        with evaluation_in_order(trainer.args):
            return trainer.predict(dataset, metric_key_prefix=prefix)
    finally:
        trainer.compute_metrics = compute_metrics


def evaluate_split(prepared: Prepared, split: str) -> dict[str, Any]:
    """Both scores of one split: ``subword_seqeval`` (the course's metric) and ``word_seqeval``."""
    encoded = prepared.splits[split]
    output = predict_in_order(prepared.trainer, encoded.dataset, split)
    id2label = dict(enumerate(prepared.labels))
    predicted_tags = word_level_tags(output.predictions, encoded, id2label)
    return {
        "sentences": len(encoded.tags),
        "words": encoded.n_words,
        "gold_entities": sum(len(tags_to_spans(known_tags(tags))) for tags in encoded.tags),
        "predicted_entities": sum(len(tags_to_spans(tags)) for tags in predicted_tags),
        "subword_seqeval": course_scores(output.predictions, output.label_ids, prepared.labels),
        "word_seqeval": word_scores(encoded.tags, predicted_tags),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def fit(prepared: Prepared) -> dict[str, Any]:
    """Train (the best checkpoint restored when dev was scored along the way), evaluate dev (and test), judge
    whether the model learned, save the model folder; write and return the metrics.

    The metrics JSON (``[paths] output``/metrics.json) holds, per evaluated split, ``subword_seqeval`` (the
    course's ``compute_metrics`` over labelled subwords) and ``word_seqeval`` (first-subword prediction per
    word, decoded by seqeval's default mode = :func:`spacy_bert_ner.bio.tags_to_spans`), plus the labels
    (``labels``; ``backbone_labels``: those of a fine-tuned backbone, else null), how each split was read
    (``data``), the evaluations during training, the budget (:meth:`.schedule.Schedule.record`: steps
    planned and taken, best step, dev F1 curve, why training stopped), throughput and peak memory.

    A model that did not learn (:func:`.verdict.not_learned`) is not saved: metrics.json is written and a
    :class:`~spacy_bert_ner.errors.TrainingError` raised, unless ``[budget] keep_unlearned``; a run stopped
    while dev F1 was rising warns (:class:`~spacy_bert_ner.errors.TrainingWarning`).
    """
    settings, trainer = prepared.settings, prepared.trainer
    result = trainer.train()
    train = prepared.splits["train"]
    args = trainer.args
    # Inputs actually trained on (the Trainer's own *_per_second figures assume every planned step ran,
    # which a [limits] max_seconds stop breaks), times the mean words per input.
    samples = result.global_step * args.train_batch_size * args.gradient_accumulation_steps * args.world_size
    runtime = result.metrics.get("train_runtime") or float("nan")
    words_per_second = samples * train.n_words / max(len(train.word_ids), 1) / runtime
    metrics: dict[str, Any] = {
        "config": settings.source,
        "backbone": settings.model.backbone,
        "start_from": settings.model.start_from,  # a fine-tuned classifier trained on instead, or null
        "alignment": settings.model.alignment,
        "context": settings.model.context,
        "pack_sentences": settings.model.pack_sentences,
        "labels": prepared.labels,
        "backbone_labels": prepared.backbone_labels,
        "data": prepared.data,
        "model_dir": str(settings.model_dir),
        "train": {
            "sentences": len(train.tags),
            "inputs": len(train.word_ids),
            "words": train.n_words,
            "subwords": train.n_subwords,
            "global_step": result.global_step,
            "world_size": args.world_size,  # processes that trained together (torchrun / accelerate launch)
            "epoch": trainer.state.epoch,
            **{key: _jsonable(value) for key, value in result.metrics.items()},
            "words_per_second": _jsonable(words_per_second),
        },
        "epochs": [
            {key: _jsonable(value) for key, value in entry.items()}
            for entry in trainer.state.log_history
            if "eval_subword_f" in entry
        ],
    }
    metrics["budget"] = prepared.schedule.record(result.global_step)
    for split in ("dev", "test"):
        if split in prepared.splits:
            metrics[split] = evaluate_split(prepared, split)
    metrics["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    types = {split: sentence_entity_types(prepared.splits[split].tags) for split in ("train", "dev")}
    problem = not_learned(
        settings, metrics["dev"], metrics["budget"], types["train"], types["dev"], args.learning_rate
    )
    rising = still_rising(settings, metrics["budget"])
    metrics["learned"] = problem is None
    if rising:
        warnings.warn(rising, TrainingWarning)
    keep = problem is None or settings.budget.keep_unlearned
    if problem is not None and keep:
        warnings.warn(f"{problem.found}; kept, as [budget] keep_unlearned asks", TrainingWarning)
    if keep:
        trainer.save_model(str(settings.model_dir))
    if trainer.is_world_process_zero():
        settings.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        settings.metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    if problem is not None and not keep:
        raise TrainingError(problem.message)
    return metrics


def _figure(value: Optional[float]) -> str:
    return "undefined (no entities)" if value is None else f"{value:.4f}"


def summary(metrics: Mapping[str, Any]) -> Iterable[str]:
    """Short lines for the terminal: F1 of each evaluated split, both ways."""
    for split in ("dev", "test"):
        if split in metrics:
            s = metrics[split]
            yield (
                f"{split}: word-level seqeval F1 {_figure(s['word_seqeval']['f'])}, "
                f"subword-level (course) F1 {_figure(s['subword_seqeval']['f'])}"
            )


def is_main_process() -> bool:
    """True outside distributed runs and on rank 0 inside them (before or after the Trainer set them up)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return os.environ.get("RANK", "0") == "0"
