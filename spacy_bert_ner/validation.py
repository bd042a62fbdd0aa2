"""One way to validate settings: a frozen pydantic dataclass (:func:`settings`) whose bad values raise one
:class:`~spacy_bert_ner.errors.ConfigError` line naming each field, the value and what it must be
(:func:`one_line`). The library names fields; the CLI maps them to its flags (``cli/output.py``). No spaCy,
no torch."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, TypeVar

from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass
from typing_extensions import dataclass_transform

from .errors import ConfigError

T = TypeVar("T")
# Settings may hold other settings and plain records (e.g. an Objective); pydantic checks their type only.
CONFIG = ConfigDict(arbitrary_types_allowed=True, extra="forbid")
INVALID_SETTING = "invalid_setting"  # the error type of a field validator's PydanticCustomError


def one_line(what: str, err: ValidationError, known: tuple[str, ...]) -> str:
    """``WHAT: name = value: what it must be; ...`` for every problem of ``err``; an unknown name lists the
    ``known`` ones."""
    problems = []
    for error in err.errors():
        loc = list(error["loc"])
        if loc and isinstance(loc[0], int) and loc[0] < len(known):  # a positional argument: its field
            loc[0] = known[loc[0]]
        name = ".".join(str(part) for part in loc) or what
        message = error["msg"]
        if error["type"] == "unexpected_keyword_argument":
            message = f"not an option; known: {', '.join(known)}"
        problems.append(f"{name} = {error.get('input')!r}: {message}")
    return f"{what}: {'; '.join(problems)}"


@dataclass_transform(frozen_default=True)
def settings(what: str) -> Callable[[type[T]], type[T]]:
    """Make the decorated class a frozen pydantic dataclass whose construction raises :class:`ConfigError`
    (:func:`one_line`, headed ``what``) instead of pydantic's ``ValidationError``."""

    def make(cls: type[T]) -> type[T]:
        validated: Any = pydantic_dataclass(frozen=True, config=CONFIG)(cls)
        init = validated.__init__
        known = tuple(field.name for field in dataclasses.fields(validated))

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                init(self, *args, **kwargs)
            except ValidationError as err:
                raise ConfigError(one_line(what, err, known)) from None

        validated.__init__ = __init__
        return validated

    return make
