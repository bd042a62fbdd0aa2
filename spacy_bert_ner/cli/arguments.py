"""The ``tune`` command's arguments as the library's values: ``--try NAME=VALUES``, ``--contexts``,
``--windows``, the precision or recall target; a bad one raises :class:`~spacy_bert_ner.errors.ConfigError`
naming the option."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence, cast

from ..errors import ConfigError
from ..tuning.tune_settings import Objective


def parse_tries(values: Sequence[str]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """``["stride=64,96", "dtype=int8"]`` (``--try``) -> ``(("stride", (64, 96)), ("dtype", ("int8",)))``;
    each value read as JSON (numbers, true/false, null), else kept as text."""
    tries = []
    for given in values:
        name, sep, listed = given.partition("=")
        if not sep or not name.strip() or not listed.strip():
            raise ConfigError(f"--try {given!r}: write NAME=VALUE[,VALUE...], e.g. --try stride=64,96")
        tries.append((name.strip(), tuple(json_or_text(v.strip()) for v in listed.split(",") if v.strip())))
    return tuple(tries)


def json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def whole_numbers(value: Optional[str], option: str, example: str) -> Optional[list[int]]:
    """``"0,64"`` -> ``[0, 64]`` (None stays None); anything else names ``option`` and an ``example``."""
    if value is None:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"{option}: comma-separated whole numbers of wordpieces, e.g. {example}; got {value!r}"
        ) from None


def objective_for(
    target_precision: Optional[float] = None, target_recall: Optional[float] = None, scope: str = "label"
) -> Objective:
    """The objective a precision or recall target asks for (per label or overall); the best F1 without."""
    if target_precision is not None and target_recall is not None:
        raise ConfigError(
            "--target-precision and --target-recall: give one of them (or neither, for the best F1)"
        )
    if scope not in ("label", "overall"):
        raise ConfigError(f"--target-scope must be label or overall, got {scope!r}")
    if target_precision is not None:
        return Objective("p", target_precision, cast(Any, scope))
    if target_recall is not None:
        return Objective("r", target_recall, cast(Any, scope))
    return Objective()
