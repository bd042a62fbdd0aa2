"""The Hugging Face course's token-classification recipe, driven by a config file.

transformers / datasets / seqeval / confection only, no spaCy: sentences come in as ``(words, IOB2 tags)``
pairs (:mod:`spacy_bert_ner.data.tagged` reads them from DocBins). The steps, each checked before training:

1. :func:`load_settings`: the config (``configs/hf_bert_ner.cfg``) with overrides -> :class:`HFTrainSettings`;
2. :func:`check_sentences`: no empty split, no label in the data that the config does not list;
3. :func:`prepare`: ``TrainingArguments``, backbone and fast tokenizer, subword labels (:mod:`.align`),
   ``datasets.Dataset``, ``DataCollatorForTokenClassification``, ``Trainer`` with the course's
   ``compute_metrics`` (seqeval over the labelled subwords) run every evaluation;
4. :func:`fit`: ``Trainer.train``, ``save_model`` (a standard HF folder with ``id2label`` / ``label2id``),
   then a final evaluation of dev (and test) reported twice: the course's subword-level seqeval and
   word-level seqeval over each word's first-subword prediction (the ``bert_ner`` component's rule).

Every problem found in steps 1-3 raises a :class:`~spacy_bert_ner.errors.BertNerError` with one line naming
the config field and the fix. The Trainer runs on Accelerate, so ``accelerate launch -m spacy_bert_ner train-hf ...`` trains on
several GPUs or machines; only the main process writes the model and metrics.
"""

from __future__ import annotations

import configparser
import dataclasses
import difflib
import json
import math
import os
import resource
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy
import torch
from confection import Config, ConfigValidationError
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from ..errors import ConfigError, ModelError
from ..evaluation.scores import course_compute_metrics, course_scores, seqeval_scores
from .align import ALIGNMENTS, align_labels, check_label_set, word_tags

TaggedSentence = tuple[Sequence[str], Sequence[str]]  # (words, one IOB2 tag per word)
SPLITS = ("train", "dev", "test")
# Every section and key the config may have (a typo stops the run instead of being ignored).
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "paths": ("train", "dev", "test", "output"),
    "model": ("backbone", "revision", "labels", "alignment", "max_length"),
    "limits": ("max_seconds",),
    "training_args": (),  # any TrainingArguments field, checked against the dataclass
}
CHECKPOINTS_DIR = "checkpoints"  # training_args.output_dir default, under [paths] output
MODEL_DIR = "model"  # the final HF model folder, under [paths] output
METRICS_FILE = "metrics.json"
CONVERT_HINT = "python -m spacy_bert_ner convert ../shared/data/conll2003 corpus"


def _one_line(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class HFTrainSettings:
    """The checked contents of a ``train-hf`` config. ``source`` (the config file) prefixes every message."""

    source: str
    train: Path
    dev: Path
    test: Optional[Path]
    output: Path
    backbone: str
    revision: Optional[str]
    labels: list[str]
    alignment: str
    max_length: Optional[int]
    max_seconds: Optional[float]
    training_args: dict[str, Any]

    @property
    def model_dir(self) -> Path:
        return self.output / MODEL_DIR

    @property
    def metrics_path(self) -> Path:
        return self.output / METRICS_FILE

    def split_paths(self) -> dict[str, Path]:
        paths = {"train": self.train, "dev": self.dev, "test": self.test}
        return {split: path for split, path in paths.items() if path is not None}

    def field(self, section: str, key: str, value: Any) -> str:
        """``config.cfg [section] key = value``: how messages point at a setting."""
        return f"{self.source} [{section}] {key} = {json.dumps(value, default=str)}"


def load_config(path: str | Path, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Read a confection config with ``{"section.key": value}`` overrides (as ``--section.key value``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; start from configs/hf_bert_ner.cfg")
    try:
        return Config().from_disk(path, overrides=dict(overrides or {}), interpolate=True)
    except ConfigValidationError as err:
        raise ConfigError(f"{path}: {_one_line(err)}") from None
    except (configparser.Error, ValueError) as err:  # syntax errors, values that are not JSON
        raise ConfigError(
            f"{path}: not a valid config file ({type(err).__name__}: {_one_line(err)})"
        ) from None


def _check_keys(source: str, config: Config) -> None:
    for section in config:
        if section not in SECTION_KEYS:
            raise ConfigError(
                f"{source}: unknown section [{section}]; the sections are {', '.join(SECTION_KEYS)}"
            )
        if not isinstance(config[section], dict):
            raise ConfigError(f"{source}: [{section}] must be a section, got {config[section]!r}")
        known = SECTION_KEYS[section]
        for key in config[section]:
            if known and key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"{source} [{section}]: unknown setting {key!r}{hint}; "
                    f"[{section}] takes {', '.join(known)}"
                )
    for section in ("paths", "model", "training_args"):
        if section not in config:
            raise ConfigError(f"{source}: no [{section}] section; start from configs/hf_bert_ner.cfg")


def settings_from_config(config: Config, source: str) -> HFTrainSettings:
    """Check a loaded config: required fields, existing corpus files, labels, alignment, limits."""
    _check_keys(source, config)
    paths, model, limits = config["paths"], config["model"], config.get("limits", {})

    def corpus(key: str, required: bool) -> Optional[Path]:
        value = paths.get(key)
        where = f"{source} [paths] {key} = {json.dumps(value)}"
        if value is None or value == "":
            if not required:
                return None
            raise ConfigError(
                f"{where}: a .spacy file is required; pass --paths.{key} corpus/{key}.spacy"
            )
        path = Path(str(value))
        if not path.is_file():
            raise ConfigError(
                f"{where}: file not found; write it with `{CONVERT_HINT}` or pass --paths.{key} PATH"
            )
        return path

    train, dev, test = corpus("train", True), corpus("dev", True), corpus("test", False)
    output = paths.get("output")
    if not output:
        raise ConfigError(f"{source} [paths] output: required; pass --paths.output training/hf_bert_ner")
    backbone = model.get("backbone")
    if not isinstance(backbone, str) or not backbone:
        raise ConfigError(
            f"{source} [model] backbone = {json.dumps(backbone)}: a HF hub id or model folder is required, "
            "e.g. --model.backbone bert-base-cased"
        )
    labels = model.get("labels")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ConfigError(
            f"{source} [model] labels = {json.dumps(labels)}: must be a list of IOB2 labels, "
            'e.g. ["O", "B-PER", "I-PER"]'
        )
    try:
        check_label_set(labels)
    except ConfigError as err:
        raise ConfigError(f"{source} [model] labels: {err}; fix the list in the config") from None
    alignment = model.get("alignment", "all_subwords")
    if alignment not in ALIGNMENTS:
        raise ConfigError(
            f"{source} [model] alignment = {json.dumps(alignment)}: must be one of {', '.join(ALIGNMENTS)}"
        )
    max_length = model.get("max_length")
    if max_length is not None and (
        not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 3
    ):
        raise ConfigError(
            f"{source} [model] max_length = {json.dumps(max_length)}: must be null (the model's maximum) "
            "or a number of subwords >= 3"
        )
    max_seconds = limits.get("max_seconds")
    if max_seconds is not None and (not isinstance(max_seconds, (int, float)) or max_seconds <= 0):
        raise ConfigError(
            f"{source} [limits] max_seconds = {json.dumps(max_seconds)}: must be null or a positive number"
        )
    training_args = dict(config["training_args"])
    training_args.setdefault("output_dir", str(Path(str(output)) / CHECKPOINTS_DIR))
    return HFTrainSettings(
        source=source,
        train=train,  # type: ignore[arg-type]
        dev=dev,  # type: ignore[arg-type]
        test=test,
        output=Path(str(output)),
        backbone=backbone,
        revision=model.get("revision"),
        labels=list(labels),
        alignment=alignment,
        max_length=max_length,
        max_seconds=max_seconds,
        training_args=training_args,
    )


def load_settings(path: str | Path, overrides: Optional[Mapping[str, Any]] = None) -> HFTrainSettings:
    """:func:`load_config` + :func:`settings_from_config` + a check of ``[training_args]``."""
    settings = settings_from_config(load_config(path, overrides), str(path))
    make_training_args(settings)
    return settings


def make_training_args(settings: HFTrainSettings) -> TrainingArguments:
    """``TrainingArguments(**[training_args])``, with unknown fields and bad values named."""
    known = {f.name for f in dataclasses.fields(TrainingArguments) if f.init}
    for key in settings.training_args:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{settings.source} [training_args] {key}: not a transformers.TrainingArguments field; {hint}"
                "see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments"
            )
    args = dict(settings.training_args)
    args.setdefault("dataloader_pin_memory", torch.cuda.is_available())  # without a GPU, pinning only warns
    try:
        return TrainingArguments(**args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{settings.source} [training_args]: {_one_line(err)}") from None


# -- data ---------------------------------------------------------------------------------------------------


def check_sentences(settings: HFTrainSettings, splits: Mapping[str, Sequence[TaggedSentence]]) -> None:
    """No empty train/dev split, and every tag in the data is one of ``[model] labels``."""
    known = set(settings.labels)
    for split, sentences in splits.items():
        path = settings.split_paths()[split]
        where = settings.field("paths", split, str(path))
        if not sentences and split in ("train", "dev"):
            raise ConfigError(
                f"{where}: no sentences with words in it, nothing to "
                f"{'train on' if split == 'train' else 'evaluate'}; point it at a converted corpus "
                f"(`{CONVERT_HINT}`)"
            )
        unknown = Counter(tag for _, tags in sentences for tag in tags if tag not in known)
        if unknown:
            listed = ", ".join(f"{tag} ({n} words)" for tag, n in sorted(unknown.items()))
            raise ConfigError(
                f"{where}: the data has labels that [model] labels does not list: {listed}; add them to "
                f"[model] labels in {settings.source} (or --model.labels '[...]')"
            )


@dataclass
class Encoded:
    """One split as the Trainer sees it, plus what word-level evaluation needs."""

    dataset: Any  # datasets.Dataset: input_ids, attention_mask (token_type_ids), labels
    word_ids: list[list[Optional[int]]]
    tags: list[list[str]]  # the gold IOB2 tags per word
    n_words: int
    n_subwords: int
    n_truncated: int


def encode(
    tokenizer: PreTrainedTokenizerFast,
    sentences: Sequence[TaggedSentence],
    label2id: Mapping[str, int],
    alignment: str,
    max_length: int,
) -> Encoded:
    """Tokenize pre-split words (``is_split_into_words``) and align one label id per subword."""
    import datasets

    words = [list(w) for w, _ in sentences]
    tags = [list(t) for _, t in sentences]
    batch = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    columns: dict[str, list] = {key: list(values) for key, values in batch.items()}
    word_ids = [batch.word_ids(i) for i in range(len(words))]
    columns["labels"] = [align_labels(w, t, label2id, alignment) for w, t in zip(word_ids, tags)]
    n_truncated = sum(
        1
        for w, ws in zip(words, word_ids)
        if w and max((i for i in ws if i is not None), default=-1) < len(w) - 1
    )
    return Encoded(
        dataset=datasets.Dataset.from_dict(columns),
        word_ids=word_ids,
        tags=tags,
        n_words=sum(len(w) for w in words),
        n_subwords=sum(len(ids) for ids in columns["input_ids"]),
        n_truncated=n_truncated,
    )


# -- model --------------------------------------------------------------------------------------------------


def load_backbone(settings: HFTrainSettings) -> tuple[PreTrainedTokenizerFast, PreTrainedModel]:
    """The backbone as an ``AutoModelForTokenClassification`` with our labels, and its fast tokenizer."""
    where = settings.field("model", "backbone", settings.backbone)
    fix = (
        "set [model] backbone (or --model.backbone) to a local model folder or a hub id; a hub id needs "
        "the hub or the HF cache (HF_HUB_OFFLINE=1)"
    )
    local = Path(settings.backbone).expanduser()
    if settings.backbone.startswith((".", "/", "~")) and not local.is_dir():
        raise ModelError(
            f"{where}: no model folder at {local.resolve()}; set [model] backbone (or --model.backbone) to a "
            "folder saved with save_pretrained or to a hub id such as bert-base-cased"
        )
    id2label = dict(enumerate(settings.labels))
    label2id = {label: i for i, label in id2label.items()}
    try:
        config = AutoConfig.from_pretrained(
            settings.backbone,
            revision=settings.revision,
            num_labels=len(settings.labels),
            id2label=id2label,
            label2id=label2id,
        )
    except (OSError, ValueError) as err:
        raise ModelError(f"{where}: cannot load it ({_one_line(err, 200)}); {fix}") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            settings.backbone, revision=settings.revision, use_fast=True
        )
        if getattr(tokenizer, "add_prefix_space", None) is False:  # byte-level BPE needs it for split words
            tokenizer = AutoTokenizer.from_pretrained(
                settings.backbone, revision=settings.revision, use_fast=True, add_prefix_space=True
            )
    except (OSError, ValueError, TypeError) as err:
        raise ModelError(f"{where}: cannot load its tokenizer ({_one_line(err, 200)}); {fix}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(
            f"{where}: its tokenizer ({type(tokenizer).__name__}) is not a fast (Rust) tokenizer, which word "
            "alignment (word_ids) needs; choose a backbone that ships tokenizer.json"
        )
    try:
        model = AutoModelForTokenClassification.from_pretrained(
            settings.backbone, config=config, revision=settings.revision
        )
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelError(
            f"{where}: cannot load it as a token classifier ({_one_line(err, 200)}); {fix}"
        ) from None
    return tokenizer, model


def model_max_length(
    tokenizer: PreTrainedTokenizerFast, model: PreTrainedModel, wanted: Optional[int]
) -> int:
    """The longest input in subwords: ``[model] max_length`` capped by the tokenizer's and model's limits."""
    limits = [wanted, getattr(model.config, "max_position_embeddings", None)]
    if tokenizer.model_max_length < 1_000_000:  # unset limits are ~1e30
        limits.append(tokenizer.model_max_length)
    return min(x for x in limits if x) if any(limits) else 512


# -- metrics ------------------------------------------------------------------------------------------------


def _argmax(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``preprocess_logits_for_metrics``: keep each subword's best label id instead of all its logits."""
    return logits.argmax(-1)


def word_level_tags(
    predicted: numpy.ndarray, encoded: Encoded, id2label: Mapping[int, str]
) -> list[list[str]]:
    """Per sentence and word, the label predicted at the word's first subword (``O`` if it has none)."""
    return [
        word_tags(predicted[i], encoded.word_ids[i], len(encoded.tags[i]), id2label)
        for i in range(len(encoded.tags))
    ]


# -- training -----------------------------------------------------------------------------------------------


class TimeBudget(TrainerCallback):
    """Stop training after ``seconds`` of wall time (``[limits] max_seconds``); all processes agree."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()

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
        return control


@dataclass
class Prepared:
    """Everything :func:`fit` needs; built by :func:`prepare` before any training step."""

    settings: HFTrainSettings
    trainer: Trainer
    splits: dict[str, Encoded]
    labels: list[str]


def prepare(settings: HFTrainSettings, splits: Mapping[str, Sequence[TaggedSentence]]) -> Prepared:
    """Check the sentences, load the backbone, encode every split and build the Trainer."""
    check_sentences(settings, splits)
    args = make_training_args(settings)
    set_seed(args.seed)  # the classifier head is initialised in load_backbone
    tokenizer, model = load_backbone(settings)
    label2id = {label: i for i, label in enumerate(settings.labels)}
    max_length = model_max_length(tokenizer, model, settings.max_length)
    encoded = {
        split: encode(tokenizer, sentences, label2id, settings.alignment, max_length)
        for split, sentences in splits.items()
    }
    for split, enc in encoded.items():
        if enc.n_truncated:
            warnings.warn(
                f"{settings.split_paths()[split]}: {enc.n_truncated} sentence(s) longer than {max_length} "
                "subwords were cut; their last words are not trained on and count as O in word-level scores"
            )
    callbacks = [TimeBudget(settings.max_seconds)] if settings.max_seconds else []
    trainer = Trainer(
        model=model,
        args=args,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        train_dataset=encoded["train"].dataset,
        eval_dataset=encoded["dev"].dataset,
        processing_class=tokenizer,
        compute_metrics=course_compute_metrics(settings.labels),
        preprocess_logits_for_metrics=_argmax,
        callbacks=callbacks,
    )
    return Prepared(settings, trainer, encoded, list(settings.labels))


def evaluate_split(prepared: Prepared, split: str) -> dict[str, Any]:
    """Both scores of one split: ``subword_seqeval`` (the course's metric) and ``word_seqeval``."""
    encoded = prepared.splits[split]
    output = prepared.trainer.predict(encoded.dataset, metric_key_prefix=split)
    id2label = dict(enumerate(prepared.labels))
    predicted_tags = word_level_tags(output.predictions, encoded, id2label)
    return {
        "sentences": len(encoded.tags),
        "words": encoded.n_words,
        "subword_seqeval": course_scores(output.predictions, output.label_ids, prepared.labels),
        "word_seqeval": seqeval_scores(encoded.tags, predicted_tags, accuracy=True),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def fit(prepared: Prepared) -> dict[str, Any]:
    """Train, save the model folder, evaluate dev (and test); write and return the metrics.

    The metrics JSON (``[paths] output``/metrics.json) holds, per evaluated split, ``subword_seqeval`` (the
    course's ``compute_metrics`` over labelled subwords) and ``word_seqeval`` (first-subword prediction per
    word, decoded by seqeval's default mode = :func:`spacy_bert_ner.bio.tags_to_spans`), plus the per-epoch
    evaluations, throughput and peak memory.
    """
    settings, trainer = prepared.settings, prepared.trainer
    result = trainer.train()
    trainer.save_model(str(settings.model_dir))
    train = prepared.splits["train"]
    args = trainer.args
    # Sentences actually trained on (the Trainer's own *_per_second figures assume every planned step ran,
    # which a [limits] max_seconds stop breaks), times the mean sentence length.
    samples = result.global_step * args.train_batch_size * args.gradient_accumulation_steps * args.world_size
    runtime = result.metrics.get("train_runtime") or float("nan")
    words_per_second = samples * train.n_words / max(len(train.tags), 1) / runtime
    metrics: dict[str, Any] = {
        "config": settings.source,
        "backbone": settings.backbone,
        "alignment": settings.alignment,
        "labels": prepared.labels,
        "model_dir": str(settings.model_dir),
        "train": {
            "sentences": len(train.tags),
            "words": train.n_words,
            "subwords": train.n_subwords,
            "global_step": result.global_step,
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
    for split in ("dev", "test"):
        if split in prepared.splits:
            metrics[split] = evaluate_split(prepared, split)
    metrics["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trainer.is_world_process_zero():
        settings.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        settings.metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
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
