"""The one place that knows how the two transformers lines the core runs on differ: 4.53.x (installed beside
the spaCy route's spacy-transformers, which pins it) and 5.x (the core's own install).

What differs and is handled here:
- Length-grouped batches: ``TrainingArguments(group_by_length=True)`` on 4.x is
  ``train_sampling_strategy="group_by_length"`` on 5.x. A ``[training_args]`` section may use either
  spelling on either line; :func:`training_arguments` turns it into this line's.
- With length grouping on, both lines' Trainer also groups *evaluation* batches by length;
  :func:`evaluation_in_order` turns that off for one prediction pass.

Differences handled without a check of the version (so nothing here): tokenizers are loaded through
``AutoTokenizer`` (5.x dropped most slow classes and the constructors' ``vocab_file=``), ``Trainer`` gets
the tokenizer as ``processing_class`` (both lines), and a new classifier head is initialised with torch's
own init (:func:`.backbone.new_head`), because 5.x's ``_init_weights`` skips weights it loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Iterator

import transformers
from transformers import TrainingArguments

from ...errors import ConfigError

TRANSFORMERS_MAJOR = int(transformers.__version__.split(".")[0])

# This line's TrainingArguments fields, and the other line's spelling of length grouping.
_FIELDS = {f.name for f in dataclasses.fields(TrainingArguments) if f.init}
GROUPING_4 = "group_by_length"
GROUPING_5 = "train_sampling_strategy"
TRAINING_ARGUMENT_NAMES: frozenset[str] = frozenset(_FIELDS | {GROUPING_4, GROUPING_5})
# train_sampling_strategy values that 4.x can express (with group_by_length).
_SAMPLING_ON_4 = {"random": False, "group_by_length": True}


def training_arguments(args: dict[str, Any], where: str = "[training_args]") -> dict[str, Any]:
    """``args`` with length grouping spelled as this transformers line spells it; ``where`` names the
    section in the error when the two spellings disagree or 4.x cannot express the value."""
    args = dict(args)
    grouped = args.pop(GROUPING_4, None)
    strategy = args.pop(GROUPING_5, None)
    if grouped is not None and strategy is not None and bool(grouped) != (strategy == "group_by_length"):
        raise ConfigError(
            f"{where}: group_by_length = {grouped} and train_sampling_strategy = {strategy!r} disagree; "
            "set one of them (group_by_length is transformers 4's name, train_sampling_strategy 5's)"
        )
    if strategy is None and grouped is not None:
        strategy = "group_by_length" if grouped else "random"
    if strategy is None:
        return args
    if GROUPING_5 in _FIELDS:
        return {**args, GROUPING_5: strategy}
    if strategy not in _SAMPLING_ON_4:
        raise ConfigError(
            f"{where} train_sampling_strategy = {strategy!r}: needs transformers 5 (installed: "
            f"{transformers.__version__}); on 4.x use group_by_length = true or leave it out"
        )
    return {**args, GROUPING_4: _SAMPLING_ON_4[strategy]}


def groups_by_length(args: TrainingArguments) -> bool:
    """Whether the Trainer batches inputs of similar length together (training and evaluation alike)."""
    if GROUPING_5 in _FIELDS:
        return getattr(args, GROUPING_5) == "group_by_length"
    return bool(getattr(args, GROUPING_4))


@contextlib.contextmanager
def evaluation_in_order(args: TrainingArguments) -> Iterator[None]:
    """Within the block, evaluation batches follow the dataset's order even where training groups by
    length (both lines' Trainer also groups evaluation inputs, which would reorder predictions)."""
    name = GROUPING_5 if GROUPING_5 in _FIELDS else GROUPING_4
    before = getattr(args, name)
    setattr(args, name, "random" if name == GROUPING_5 else False)
    try:
        yield
    finally:
        setattr(args, name, before)
