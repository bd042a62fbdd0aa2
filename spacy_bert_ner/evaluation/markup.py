"""What the report's HTML sections share: text escaped for HTML, figures as percentages with a dash where
a figure is undefined, and the JSON files they are given as ``--OPTION NAME=PATH``."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Optional

from ..errors import DataError
from ..scores import percent

DASH = "&ndash;"  # in place of a figure that is undefined


def escaped(value: object) -> str:
    """``value`` as text, escaped for HTML."""
    return html.escape(str(value))


def html_percent(value: Optional[float]) -> str:
    """:func:`~spacy_bert_ner.scores.percent` for the page: two decimals, or a dash if undefined."""
    return percent(value, DASH)


def read_named_json(option: str, name: str, path: str | Path, fix: Optional[str] = None) -> Any:
    """The JSON file given as ``--OPTION NAME=PATH``; a missing file (with ``fix``, the way to the right one)
    or one that is not JSON is one :class:`~spacy_bert_ner.errors.DataError` line naming the option."""
    path = Path(path)
    where = f"--{option} {name}={path}"
    if not path.is_file():
        raise DataError(f"{where}: file not found" + (f"; {fix}" if fix else ""))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{where}: not JSON ({err})") from None
