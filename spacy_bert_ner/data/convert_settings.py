"""How ``convert`` reads its sources (:class:`ConvertSettings`), validated once
(:mod:`spacy_bert_ner.validation`); the CLI reads its option defaults here. No reading code."""

from __future__ import annotations

from typing import Literal, Optional, get_args

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ..bio import SCHEMES
from ..validation import INVALID_SETTING, settings
from .annotations import SPAN_FORMATS

FORMATS: tuple[str, ...] = ("auto", "columns", *SPAN_FORMATS, "docbin")
Misaligned = Literal["error", "expand", "contract", "skip"]  # what to do with a span off token boundaries
MISALIGNED: tuple[str, ...] = get_args(Misaligned)
TAG_SCHEMES: tuple[str, ...] = ("auto", *SCHEMES)  # auto: IOB1 or IOB2, read off the tags


@settings("convert settings")
class ConvertSettings:
    """How ``convert`` reads its sources; every field is a ``convert`` option of the same name
    (``keep_articles``: ``--no-articles`` turns it off).

    scheme: column files and HF rows: auto (IOB1/IOB2), iob1, iob2, bioes, bilou.
    strict: reject I- tags that open an entity instead of repairing them.
    n_sents: sentences per Doc (column files, HF rows); None: one Doc per article.
    keep_articles: one Doc per ``-DOCSTART-`` article.
    revision: the dataset revision of ``hf:`` sources.
    format: one of :data:`FORMATS` (auto: by suffix and content).
    misaligned: span formats: what to do with a span off token boundaries (:data:`MISALIGNED`).
    lang: the spaCy language whose tokenizer splits texts given without tokens, and the Docs' vocab.
    dev_split: hold out this part of train's Docs as dev when no dev split is given.
    seed: which Docs ``dev_split`` holds out.
    """

    scheme: str = "auto"
    strict: bool = False
    n_sents: Optional[int] = Field(None, ge=1)
    keep_articles: bool = True
    revision: Optional[str] = None
    format: str = "auto"
    misaligned: str = "error"  # Misaligned
    lang: str = "en"
    dev_split: Optional[float] = Field(None, gt=0, lt=1)
    seed: int = 0
    progress: bool = False

    @field_validator("scheme", "format", "misaligned")
    @classmethod
    def _one_of(cls, value: str, info: ValidationInfo) -> str:
        known = {"scheme": TAG_SCHEMES, "format": FORMATS, "misaligned": MISALIGNED}[str(info.field_name)]
        if value not in known:
            raise PydanticCustomError(INVALID_SETTING, f"use one of {', '.join(known)}")
        return value
