"""What every command shares: one-line messages, input errors turned into one line and exit 1, JSON files."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, TypeVar

import typer
from wasabi import color

from ..errors import BertNerError, InstallError

T = TypeVar("T")


def say(icon: str, fg: str, text: str) -> None:
    """One unwrapped line on stderr (wasabi wraps at 80 columns, which would split file:line messages)."""
    typer.echo(color(f"{icon} {text}", fg=fg) if sys.stderr.isatty() else f"{icon} {text}", err=True)


def guarded(func: Callable[[], T], flags: Optional[Mapping[str, str]] = None) -> T:
    """Run ``func``; print its warnings, and turn an input error (:class:`BertNerError`) or an install that
    does not import (:class:`InstallError`) into one clear line and exit 1. ``flags``: the command's flag for
    each settings field an error may name (:func:`flags_of`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return func()
        except (BertNerError, InstallError) as err:
            failure = as_flags(str(err), flags or {})
        finally:
            for warning in caught:
                say("⚠", "yellow", str(warning.message))
    say("✘", "red", failure)
    raise typer.Exit(1)


def flags_of(settings: Any, **flags: str) -> dict[str, str]:
    """``--field-name`` for each field of a settings dataclass, and the ``flags`` given for fields named
    otherwise on the command line (``rounds="--timing-rounds"``)."""
    return {field.name: "--" + field.name.replace("_", "-") for field in dataclasses.fields(settings)} | flags


def as_flags(message: str, flags: Mapping[str, str]) -> str:
    """The library's message naming settings fields (``max_f1_drop = -1: ...``,
    :mod:`spacy_bert_ner.validation`) as the command's user typed them (``--max-f1-drop = -1: ...``)."""
    for name, flag in flags.items():
        message = re.sub(rf"(?<![\w.-]){re.escape(name)}(?:\.\d+)?(?= = )", flag, message)  # .N: an item
    return message


def write_json(output: Path, data: object) -> None:
    """Write a command's figures to its --output file (indented JSON) and say so."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    say("✔", "green", f"Wrote {output}")
