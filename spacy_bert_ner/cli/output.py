"""What every command shares: one-line messages, input errors turned into one line and exit 1, JSON files."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Callable, TypeVar

import typer
from wasabi import color

from ..errors import BertNerError, InstallError

T = TypeVar("T")


def say(icon: str, fg: str, text: str) -> None:
    """One unwrapped line on stderr (wasabi wraps at 80 columns, which would split file:line messages)."""
    typer.echo(color(f"{icon} {text}", fg=fg) if sys.stderr.isatty() else f"{icon} {text}", err=True)


def guarded(func: Callable[[], T]) -> T:
    """Run ``func``; print its warnings, and turn an input error (:class:`BertNerError`) or an install that
    does not import (:class:`InstallError`) into one clear line and exit 1."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return func()
        except (BertNerError, InstallError) as err:
            failure = str(err)
        finally:
            for warning in caught:
                say("⚠", "yellow", str(warning.message))
    say("✘", "red", failure)
    raise typer.Exit(1)


def write_json(output: Path, data: object) -> None:
    """Write a command's figures to its --output file (indented JSON) and say so."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    say("✔", "green", f"Wrote {output}")
