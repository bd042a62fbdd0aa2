"""One exception base: every error the package raises on bad input is a BertNerError (and a ValueError); one
warning base: every warning it emits is a BertNerWarning of one kind, so users can filter by category."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from spacy_bert_ner import errors
from spacy_bert_ner.errors import (
    BertNerError,
    BertNerWarning,
    ConfigError,
    DataError,
    ModelError,
    TrainingError,
)

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_bert_ner"


@pytest.mark.parametrize("error", [DataError, ConfigError, ModelError, TrainingError])
def test_every_kind_is_a_bert_ner_error_and_a_value_error(error: type[Exception]) -> None:
    assert issubclass(error, BertNerError) and issubclass(error, ValueError)


def test_exception_and_warning_classes_are_defined_only_in_errors_py() -> None:
    """No module defines an exception or warning class of its own beside errors.py."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id.endswith(("Error", "Exception", "Warning"))
                for base in node.bases
            ):
                found.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert found == [
        "errors.py: BertNerError",
        "errors.py: DataError",
        "errors.py: ConfigError",
        "errors.py: FusionError",
        "errors.py: ModelError",
        "errors.py: TrainingError",
        "errors.py: InstallError",
        "errors.py: BertNerWarning",
        "errors.py: DataWarning",
        "errors.py: RepairWarning",
        "errors.py: ConfigWarning",
        "errors.py: TrainingWarning",
        "errors.py: InstallWarning",
    ]


WARNING_KINDS = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, BertNerWarning)
}


def untyped_warnings(source: str) -> list[int]:
    """The lines of the ``warnings.warn(...)`` calls in ``source`` whose category (second argument or
    ``category=``) is not one of errors.py's warning classes."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        func = node.func if isinstance(node, ast.Call) else None
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "warn"
            and getattr(func.value, "id", "") == "warnings"
        ):
            assert isinstance(node, ast.Call)
            given = node.args[1:2] + [k.value for k in node.keywords if k.arg == "category"]
            if not (given and isinstance(given[0], ast.Name) and given[0].id in WARNING_KINDS):
                lines.append(node.lineno)
    return lines


def test_every_warning_the_package_emits_has_a_kind() -> None:
    """As the test above bans a bare ValueError: a warning is one of errors.py's kinds, never a plain
    UserWarning, so `warnings.filterwarnings(..., category=DataWarning)` reaches every one of its kind."""
    untyped = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := untyped_warnings(path.read_text(encoding="utf-8")))
    }
    assert untyped == {}


def test_the_check_finds_an_untyped_warning() -> None:
    source = "import warnings\nwarnings.warn('x')\nwarnings.warn('y', UserWarning)\n"
    source += "warnings.warn('z', DataWarning)\n"
    assert untyped_warnings(source) == [2, 3]


def test_a_kind_of_warning_can_be_silenced_or_escalated_alone() -> None:
    from spacy_bert_ner.errors import ConfigWarning, DataWarning, RepairWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=RepairWarning)
        warnings.warn("repaired", RepairWarning)
        warnings.warn("cut", DataWarning)
        warnings.warn("no context", ConfigWarning)
    assert [str(w.message) for w in caught] == ["cut", "no context"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        with pytest.raises(RepairWarning):
            warnings.warn("repaired", RepairWarning)


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
