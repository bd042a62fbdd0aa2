"""What the report's HTML sections share: text escaped for HTML, and figures as percentages with a dash where
a figure is undefined."""

from __future__ import annotations

import html
from typing import Optional

from ..scores import percent

DASH = "&ndash;"  # in place of a figure that is undefined


def escaped(value: object) -> str:
    """``value`` as text, escaped for HTML."""
    return html.escape(str(value))


def html_percent(value: Optional[float]) -> str:
    """:func:`~spacy_bert_ner.scores.percent` for the page: two decimals, or a dash if undefined."""
    return percent(value, DASH)
