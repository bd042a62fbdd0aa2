"""The package's public names: each resolves from the top level, to the object its module defines."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import spacy_bert_ner


@pytest.mark.parametrize("name", [n for n in spacy_bert_ner.__all__ if n != "__version__"])
def test_public_name_resolves_to_its_module_object(name: str) -> None:
    module = importlib.import_module(f"spacy_bert_ner.{spacy_bert_ner._PUBLIC[name]}")
    assert getattr(spacy_bert_ner, name) is getattr(module, name)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        spacy_bert_ner.nope  # noqa: B018


def test_importing_the_package_loads_no_submodule() -> None:
    """`import spacy_bert_ner` stays light: the CLI commands and spaCy's entry points load what they use."""
    code = (
        "import sys, spacy_bert_ner; print(sorted(m for m in sys.modules if m.startswith('spacy_bert_ner')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['spacy_bert_ner']"


def test_the_api_page_names_every_public_name_once() -> None:
    """docs/api.md has a row for each name of ``__all__`` and names nothing that is not public."""
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1] for line in page.splitlines() if line.startswith("| `")]
    named = [name.strip(" `") for row in rows for name in row.split(",")]
    public = [name for name in spacy_bert_ner.__all__ if name != "__version__"]
    assert sorted(named) == sorted(public)
