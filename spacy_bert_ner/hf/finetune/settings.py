"""The settings of ``train-hf``: a config file (``configs/hf_bert_ner.cfg``) read by confection, with
``--section.key value`` overrides, validated by a pydantic schema.

Sections and keys are fixed (a typo stops the run, with "did you mean"); ``[training_args]`` takes exactly
the fields of ``transformers.TrainingArguments``. Every problem raises
:class:`~spacy_bert_ner.errors.ConfigError` with one line: the config file, ``[section] key = value``, what
is wrong and the fix. No spaCy here.
"""

from __future__ import annotations

import configparser
import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Mapping, Optional

import torch
from confection import Config, ConfigValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError
from transformers import TrainingArguments

from ...errors import ConfigError
from ...output_paths import output_problem
from .align import ALIGNMENTS, check_label_set
from .compat import TRAINING_ARGUMENT_NAMES, training_arguments

CONFIG_TEMPLATE = "configs/hf_bert_ner.cfg"
CONVERT_HINT = "python -m spacy_bert_ner convert PATH/TO/conll2003 corpus"
TRAINING_ARGS_DOCS = (
    "https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments"
)
CHECKPOINTS_DIR = "checkpoints"  # training_args.output_dir default, under [paths] output
OUTPUT_MODEL_DIR = "model"  # the final HF model folder, under [paths] output
METRICS_FILE = "metrics.json"
SPLITS = ("train", "dev", "test")
INVALID_SETTING = "invalid_setting"  # the pydantic error type of our own validators' messages


def _invalid(message: str) -> PydanticCustomError:
    """A validation error whose message :func:`_describe` prints as it is (after
    ``[section] key = value:``)."""
    return PydanticCustomError(INVALID_SETTING, message)


def _label_set(labels: list[str]) -> list[str]:
    try:
        check_label_set(labels)
    except ConfigError as err:
        raise _invalid(f"{err}; fix the list in the config") from None
    return labels


class _Section(BaseModel):
    """A config section: unknown keys are errors; numbers are not read from strings or booleans."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PathsSection(_Section):
    train: str = Field(
        min_length=1, description="a .spacy file is required; pass --paths.train corpus/train.spacy"
    )
    dev: str = Field(min_length=1, description="a .spacy file is required; pass --paths.dev corpus/dev.spacy")
    test: Optional[str] = Field(None, description="null, or a .spacy file to score once after training")
    output: str = Field(min_length=1, description="required; pass --paths.output training/hf_bert_ner")

    @field_validator("train", "dev", "test")
    @classmethod
    def _corpus_file_exists(cls, value: Optional[str], info: Any) -> Optional[str]:
        if value is not None and not Path(value).is_file():
            raise _invalid(
                f"file not found; write it with `{CONVERT_HINT}` or pass --paths.{info.field_name} PATH"
            )
        return value

    @field_validator("output")
    @classmethod
    def _output_writable(cls, value: str) -> str:
        problem = output_problem(Path(value), "folder")
        if problem:
            raise _invalid(f"{problem}; pass --paths.output with a folder path")
        return value


class ModelSection(_Section):
    backbone: str = Field(
        min_length=1,
        description="a HF hub id or model folder is required, e.g. --model.backbone bert-base-cased",
    )
    revision: Optional[str] = Field(None, description="null or a hub revision (branch, tag or commit)")
    start_from: Optional[str] = Field(
        None,
        description="must be null (or empty) or a fine-tuned token classifier: a model folder or hub id",
    )
    labels: Optional[Annotated[list[str], AfterValidator(_label_set)]] = Field(
        None,
        description="must be null (the labels of the training data) or a list of IOB2 labels, e.g. "
        '["O", "B-PER", "I-PER"]',
    )
    alignment: Literal["all_subwords", "first_subword"] = Field(
        "all_subwords", description=f"must be one of {', '.join(ALIGNMENTS)}"
    )
    max_length: Optional[int] = Field(
        None, ge=3, description="must be null (the model's maximum) or a number of subwords >= 3"
    )
    context: int = Field(
        0, ge=0, description="must be a number of subwords >= 0 (0: single sentences, 64: FLERT's choice)"
    )
    pack_sentences: bool = Field(False, description="must be true or false")

    @field_validator("start_from", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value  # the workflow passes "" for "not set"

    @property
    def start(self) -> tuple[str, str]:
        """The setting training starts from and its value: ``start_from`` when set, else ``backbone``."""
        return ("start_from", self.start_from) if self.start_from else ("backbone", self.backbone)


class LimitsSection(_Section):
    max_seconds: Optional[float] = Field(None, gt=0, description="must be null or a positive number")


# The TrainingArguments that [budget] evaluations sets (evaluation and checkpoint interval, the best
# checkpoint restored at the end): a config that sets [budget] evaluations must leave them out.
BUDGET_ARGUMENTS = (
    "eval_strategy",
    "eval_steps",
    "save_strategy",
    "save_steps",
    "load_best_model_at_end",
    "metric_for_best_model",
    "greater_is_better",
)


class BudgetSection(_Section):
    """How long to train, chosen from the corpus (:mod:`.schedule`), and the floor a run must reach."""

    min_steps: Optional[int] = Field(
        None, ge=1, description="must be null or a number of optimizer steps >= 1 (e.g. 600)"
    )
    evaluations: Optional[int] = Field(
        None, ge=1, description="must be null or how many times dev is scored over the planned steps (>= 1)"
    )
    patience: Optional[int] = Field(
        None, ge=1, description="must be null or a number of evaluations without a better dev F1 (>= 1)"
    )
    min_delta: float = Field(
        0.0, ge=0, le=100, description="must be a dev F1 gain in points, 0 to 100 (e.g. 0.5)"
    )
    warmup: Optional[float] = Field(
        None, ge=0, lt=1, description="must be null or the fraction of the planned steps to warm up, 0 to 1"
    )
    min_dev_f1: float = Field(
        5.0, ge=0, le=100, description="must be a dev entity F1 in points, 0 to 100 (e.g. 5.0)"
    )
    keep_unlearned: bool = Field(False, description="must be true or false")

    @field_validator("patience")
    @classmethod
    def _patience_needs_evaluations(cls, value: Optional[int], info: Any) -> Optional[int]:
        if value is not None and info.data.get("evaluations") is None:
            raise _invalid(
                "early stopping counts evaluations of dev; set [budget] evaluations (e.g. 12) too, or "
                "patience = null"
            )
        return value


# [training_args]: the keys are the TrainingArguments fields (length grouping in either transformers line's
# spelling: .compat); their values are checked by TrainingArguments itself (make_training_args), which
# knows its own rules.
# A type checker sees a plain model; at run time the class is built from TrainingArguments' own fields.
if TYPE_CHECKING:
    TrainingArgsSection = BaseModel
else:
    TrainingArgsSection = create_model(
        "TrainingArgsSection",
        __config__=ConfigDict(extra="forbid", frozen=True),
        **{name: (Any, None) for name in sorted(TRAINING_ARGUMENT_NAMES)},
    )


class HFTrainSettings(BaseModel):
    """A checked ``train-hf`` config. :attr:`source` (the config file) starts every message about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: PathsSection
    model: ModelSection
    limits: LimitsSection = LimitsSection()
    budget: BudgetSection = BudgetSection()
    training_args: TrainingArgsSection
    _source: str = PrivateAttr("")

    @property
    def source(self) -> str:
        return self._source

    @property
    def training_arguments(self) -> dict[str, Any]:
        """The ``[training_args]`` the config sets, as ``TrainingArguments`` keyword arguments."""
        return self.training_args.model_dump(exclude_unset=True)

    @property
    def output(self) -> Path:
        return Path(self.paths.output)

    @property
    def model_dir(self) -> Path:
        return self.output / OUTPUT_MODEL_DIR

    @property
    def metrics_path(self) -> Path:
        return self.output / METRICS_FILE

    def split_paths(self) -> dict[str, Path]:
        """``train``, ``dev`` and (when set) ``test``: the corpus files to read."""
        paths = {split: getattr(self.paths, split) for split in SPLITS}
        return {split: Path(path) for split, path in paths.items() if path is not None}

    def field(self, section: str, key: str, value: Any) -> str:
        """``config.cfg [section] key = value``: how messages point at a setting."""
        return f"{self.source} [{section}] {key} = {json.dumps(value, default=str)}"


SECTIONS: dict[str, type[BaseModel]] = {
    "paths": PathsSection,
    "model": ModelSection,
    "limits": LimitsSection,
    "budget": BudgetSection,
    "training_args": TrainingArgsSection,
}


def load_config(path: str | Path, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Read a confection config with ``{"section.key": value}`` overrides (as ``--section.key value``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; start from {CONFIG_TEMPLATE}")
    try:
        return Config().from_disk(path, overrides=dict(overrides or {}), interpolate=True)
    except ConfigValidationError as err:
        raise ConfigError(f"{path}: {one_line(err)}") from None
    except (configparser.Error, ValueError) as err:  # syntax errors, values that are not JSON
        raise ConfigError(
            f"{path}: not a valid config file ({type(err).__name__}: {one_line(err)})"
        ) from None


def settings_from_config(config: Mapping[str, Any], source: str) -> HFTrainSettings:
    """Validate a loaded config against the schema; the first problem raises a one-line ConfigError."""
    try:
        settings = HFTrainSettings.model_validate(dict(config))
    except ValidationError as err:
        raise ConfigError(_describe(err, config, source)) from None
    settings._source = source
    return settings


def load_settings(path: str | Path, overrides: Optional[Mapping[str, Any]] = None) -> HFTrainSettings:
    """:func:`load_config` + :func:`settings_from_config` + the values of ``[training_args]``."""
    settings = settings_from_config(load_config(path, overrides), str(path))
    make_training_args(settings)
    return settings


def check_budget_arguments(settings: HFTrainSettings) -> None:
    """With ``[budget] evaluations`` set, the budget sets when dev is scored and which checkpoint is kept, and
    with ``[budget] warmup`` the warmup steps: ``[training_args]`` must leave those arguments out."""
    given = settings.training_arguments
    warmup = settings.budget.warmup
    clash: list[str] = [
        name for name in ("warmup_steps", "warmup_ratio") if warmup is not None and name in given
    ]
    if clash:
        raise ConfigError(
            f"{settings.source} [training_args] {clash[0]}: set by [budget] warmup = {warmup:g} (that "
            "fraction of the steps planned for the corpus); remove it, or set [budget] warmup = null"
        )
    if settings.budget.evaluations is None:
        return
    clash = [name for name in BUDGET_ARGUMENTS if name in given]
    if clash:
        raise ConfigError(
            f"{settings.source} [training_args] {clash[0]}: set by [budget] evaluations = "
            f"{settings.budget.evaluations} (dev is scored, and the best checkpoint kept, at an interval "
            "chosen from the corpus); remove it, or set [budget] evaluations = null to choose it yourself"
        )


def make_training_args(
    settings: HFTrainSettings, planned: Optional[Mapping[str, Any]] = None
) -> TrainingArguments:
    """``TrainingArguments(**[training_args])`` with ``planned`` (what :mod:`.schedule` chose from the corpus)
    over them; ``output_dir`` defaults to ``[paths] output``/checkpoints."""
    check_budget_arguments(settings)
    given = training_arguments(settings.training_arguments, f"{settings.source} [training_args]")
    args = {"output_dir": str(settings.output / CHECKPOINTS_DIR), **given, **(planned or {})}
    args.setdefault("dataloader_pin_memory", torch.cuda.is_available())  # without a GPU, pinning only warns
    try:
        return TrainingArguments(**args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{settings.source} [training_args]: {one_line(err)}") from None


# -- messages -----------------------------------------------------------------------------------------------


def one_line(err: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut at ``limit`` characters."""
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(error: ValidationError, config: Mapping[str, Any], source: str) -> str:
    """The first validation error as ``config [section] key = value: problem; fix``."""
    first = error.errors()[0]
    loc = [part for part in first["loc"] if isinstance(part, str)]
    kind = first["type"]
    if loc[:1] == ["training_args"] and len(loc) > 1 and kind == "extra_forbidden":
        key = loc[1]
        known = sorted(TrainingArgsSection.model_fields)
        return (
            f"{source} [training_args] {key}: not a transformers.TrainingArguments field"
            f"{_did_you_mean(key, known)}; see {TRAINING_ARGS_DOCS}"
        )
    section = loc[0] if loc else ""
    if len(loc) < 2:  # the section itself
        if kind == "extra_forbidden":
            return (
                f"{source}: unknown section [{section}]; "
                f"the sections are {', '.join(HFTrainSettings.model_fields)}"
            )
        if kind == "missing":
            return f"{source}: no [{section}] section; start from {CONFIG_TEMPLATE}"
        return f"{source}: [{section}] must be a section, got {config.get(section)!r}"
    key = loc[1]
    model = SECTIONS[section]
    known = list(model.model_fields)
    if kind == "extra_forbidden":
        return (
            f"{source} [{section}]: unknown setting {key!r}{_did_you_mean(key, known)}; "
            f"[{section}] takes {', '.join(known)}"
        )
    value = config.get(section, {}).get(key)
    where = f"{source} [{section}] {key} = {json.dumps(value, default=str)}"
    if kind == INVALID_SETTING:
        return f"{where}: {first['msg']}"
    return f"{where}: {model.model_fields[key].description}"
