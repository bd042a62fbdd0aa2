"""Installs that compose: the check that names a conflict among the routes' packages and the command that
mends it, before any traceback; and, marked ``installs``, the environment this suite runs in works (.ci/run
runs those after README's two-step install, the core then the spaCy route's extra, in one venv)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest
from packaging.requirements import Requirement
from typer.testing import CliRunner

from spacy_bert_ner import installs
from spacy_bert_ner.cli import app
from spacy_bert_ner.errors import InstallError, InstallWarning

# README's two-step install as it was before the spaCy route's extra pinned kernels: transformers moved back
# to 4.53.2 and hub to 0.36.2 by the extra, kernels left at the 0.19.1 the core's transformers 5.x brought.
COMPOSED = {
    "transformers": (
        "4.53.2",
        ["huggingface-hub<1.0,>=0.30.0", 'kernels<0.7,>=0.6.1; extra == "hub-kernels"'],
    ),
    "huggingface-hub": ("0.36.2", ["filelock"]),
    "kernels": ("0.19.1", ["huggingface-hub>=1.32.0", "pyyaml>=6"]),
    "filelock": ("3.20.0", []),
}


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """Installed packages as COMPOSED says (a copy the test may change); the once-per-process check is
    forgotten before and after, so the CLI checks this world."""
    world = {name: (version, list(reqs)) for name, (version, reqs) in COMPOSED.items()}
    monkeypatch.setattr(installs, "installed_version", lambda name: world.get(name, (None,))[0])
    monkeypatch.setattr(installs, "requirements", lambda name: [Requirement(r) for r in world[name][1]])
    installs.guard_model_stack_once.cache_clear()
    yield world
    installs.guard_model_stack_once.cache_clear()


def test_the_conflict_and_the_range_transformers_own_extra_asks_for(composed: dict) -> None:
    problem = installs.install_problem()
    assert problem == (
        "The installed packages do not fit together: kernels 0.19.1 requires huggingface-hub>=1.32.0, but "
        '0.36.2 is installed. Fix: pip install "kernels<0.7,>=0.6.1" (the range transformers 4.53.2 asks '
        "for)."
    )


def test_a_requirement_no_extra_names_is_installed_as_required(composed: dict) -> None:
    """filelock: no installed package's extra names a range for huggingface-hub, so the fix is the
    requirement itself."""
    composed["huggingface-hub"] = ("0.36.2", ["filelock>=3.30"])
    composed["kernels"] = ("0.6.2", ["huggingface-hub<1.0,>=0.26.0"])
    assert installs.install_problem() == (
        "The installed packages do not fit together: huggingface-hub 0.36.2 requires filelock>=3.30, but "
        '3.20.0 is installed. Fix: pip install "filelock>=3.30".'
    )


def test_the_fitted_stack_has_no_problem(composed: dict) -> None:
    composed["kernels"] = ("0.6.2", ["huggingface-hub<1.0,>=0.26.0"])
    assert installs.conflicts() == [] and installs.install_problem() is None


def test_more_conflicts_are_counted(composed: dict) -> None:
    composed["transformers"] = ("4.53.2", ["huggingface-hub<0.30", 'kernels<0.7; extra == "hub-kernels"'])
    problem = installs.install_problem()
    assert problem is not None and "transformers 4.53.2 requires huggingface-hub<0.30" in problem
    assert "(1 more: pip check lists them)" in problem


def test_an_import_that_fails_becomes_the_one_line(composed: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers' model code cannot import (as kernels 0.19 fails on hub 0.36): the conflict and its fix,
    not kernels' traceback."""
    monkeypatch.setitem(sys.modules, "transformers.modeling_utils", None)  # importing it raises ImportError
    with pytest.raises(InstallError, match=r"kernels 0\.19\.1 requires .* Fix: pip install") as caught:
        installs.guard_model_stack()
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_conflict_that_still_imports_warns(composed: dict) -> None:
    with pytest.warns(InstallWarning, match="kernels 0.19.1 requires huggingface-hub>=1.32.0"):
        installs.guard_model_stack()


def test_every_command_checks_first(composed: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI says the line and exits 1 before the command runs (here check-gpu, the workflow's first
    step: it writes nothing)."""
    monkeypatch.setitem(sys.modules, "transformers.modeling_utils", None)
    result = CliRunner().invoke(app, ["check-gpu", "-g", "-1", "--output", str(tmp_path / "device.json")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        next(line for line in result.output.splitlines() if line.startswith("✘ The installed packages"))
    ]
    assert 'Fix: pip install "kernels<0.7,>=0.6.1"' in result.output
    assert not (tmp_path / "device.json").exists()


def test_a_process_checks_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's check and the one importing spacy_bert_ner.hf makes are one check; a failing one raises
    each time."""
    calls: list[int] = []
    monkeypatch.setattr(installs, "install_problem", lambda: calls.append(1))
    installs.guard_model_stack_once.cache_clear()
    try:
        installs.guard_model_stack_once()
        installs.guard_model_stack_once()
        assert calls == [1]

        def failing() -> None:
            calls.append(2)
            raise InstallError("conflict")

        monkeypatch.setattr(installs, "guard_model_stack", failing)
        installs.guard_model_stack_once.cache_clear()
        for _ in range(2):
            with pytest.raises(InstallError):
                installs.guard_model_stack_once()
        assert calls == [1, 2, 2]
    finally:
        installs.guard_model_stack_once.cache_clear()


@pytest.mark.installs
@pytest.mark.core
def test_this_environment_fits_together() -> None:
    """Whatever extras were installed, in whatever order, the routes' packages fit together and
    transformers' trainer and model code import."""
    assert installs.install_problem() is None
    from transformers import AutoModelForTokenClassification, Trainer  # noqa: F401
