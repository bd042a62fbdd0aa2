"""One exception base: every error the package raises on bad input is a BertNerError (and a ValueError)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from spacy_bert_ner.errors import BertNerError, ConfigError, DataError, ModelError

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_bert_ner"


@pytest.mark.parametrize("error", [DataError, ConfigError, ModelError])
def test_every_kind_is_a_bert_ner_error_and_a_value_error(error: type[Exception]) -> None:
    assert issubclass(error, BertNerError) and issubclass(error, ValueError)


def test_exception_classes_are_defined_only_in_errors_py() -> None:
    """No module defines an exception class of its own beside errors.py (warnings are not errors)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id.endswith(("Error", "Exception")) for base in node.bases
            ):
                found.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert found == [
        "errors.py: BertNerError",
        "errors.py: DataError",
        "errors.py: ConfigError",
        "errors.py: ModelError",
    ]


def test_no_module_raises_a_bare_value_error() -> None:
    """Input errors are raised as one of the named kinds, so the CLI's single `except BertNerError` sees
    them."""
    bare = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and func.id == "ValueError":
                    bare.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert bare == []
