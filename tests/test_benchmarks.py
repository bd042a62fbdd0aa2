"""The scripts under benchmarks/ and tools/: each one imports and answers ``--help`` (so a stale import or a
broken option fails here, not on the day someone runs it), they share helpers by import and never by
``sys.path``, and the timing helper reports the spread of its rounds."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import Rounds, columns

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("benchmarks", "tools")
# Modules that are not scripts (no main(), no --help): what the scripts share, and what
# tests/test_project.py writes project.yml's deps with.
HELPERS = {"benchmarks.common", "tools.step_deps"}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


SOURCES = sorted(path for folder in FOLDERS for path in (REPO / folder).rglob("*.py"))
SCRIPTS = [module_name(p) for p in SOURCES if p.name != "__init__.py" and module_name(p) not in HELPERS]


def test_every_module_is_a_script_or_a_named_helper() -> None:
    """A script has a main() and runs it as ``python -m``; anything else must be named in HELPERS."""
    assert len(SCRIPTS) >= 10
    for name in SCRIPTS:
        text = (REPO / Path(*name.split("."))).with_suffix(".py").read_text(encoding="utf-8")
        assert "\ndef main(" in text and '\nif __name__ == "__main__":\n' in text, name
    for name in HELPERS:
        assert (REPO / Path(*name.split("."))).with_suffix(".py").is_file(), name


def test_every_folder_is_a_package() -> None:
    folders = {path.parent for path in SOURCES}
    assert [f for f in folders if not (f / "__init__.py").is_file()] == []


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_answers_help(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    module = importlib.import_module(name)
    monkeypatch.setattr(sys, "argv", [f"{name.rsplit('.', 1)[-1]}.py", "--help"])
    with pytest.raises(SystemExit) as exited:
        module.main()
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ")


def imported_names(path: Path) -> list[tuple[int, str, str | None]]:
    """Every ``import M`` and ``from M import N`` of a module, top-level or in a function: (line, M, N)."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            assert node.level == 0 and node.module, f"{path}:{node.lineno}: a relative import"
            found += [(node.lineno, node.module, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_import_resolves(path: Path) -> None:
    """--help runs only a script's top-level imports; the ones inside its functions must name something that
    exists too (the report screenshot's demo once imported two modules that were gone)."""
    broken = []
    for line, module, name in imported_names(path):
        try:
            found = importlib.import_module(module)
            if name is not None and not hasattr(found, name):
                importlib.import_module(f"{module}.{name}")
        except ImportError as error:
            broken.append(f"{path.relative_to(REPO)}:{line}: {module} {name or ''}: {error}")
    assert broken == []


def test_a_script_runs_as_a_module_from_the_root() -> None:
    """As the docs run them: ``python -m benchmarks.NAME`` from the repository root, no path set by hand."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.transformers_lines", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage: transformers_lines.py")


def test_no_script_edits_sys_path() -> None:
    """Scripts share helpers by importing benchmarks.common (or each other), never by editing sys.path."""
    found = [str(p.relative_to(REPO)) for p in SOURCES if "sys.path" in p.read_text(encoding="utf-8")]
    assert found == []


def test_the_report_demo_writes_a_report_of_both_pipelines(
    conll_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """tools/screenshot_report.sh --demo's Python, on its real input: the report it prints the path of
    names both demo pipelines (Chromium's screenshot of it stays a manual check)."""
    from tools import report_demo

    monkeypatch.setattr(sys, "argv", ["report_demo.py", str(tmp_path / "demo"), "--conll", str(conll_dir)])
    report_demo.main()
    report = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert report == tmp_path / "demo" / "report.html"
    html = report.read_text(encoding="utf-8")
    for name in report_demo.PIPELINES:  # its scores and parity rows, and its differing sentences
        assert f"<td>{name}</td>" in html and f"<h3 id='examples-{name}'>{name} " in html


def test_rounds_report_the_best_and_the_spread() -> None:
    rounds = Rounds([2.0, 2.5, 2.2])
    assert (rounds.best, rounds.median, rounds.worst) == (2.0, 2.2, 2.5)
    assert rounds.spread == pytest.approx(0.25)
    assert rounds.spread_cell() == "+25%"
    assert rounds.median_rate_cell(4_400) == "2,000"  # words/s of the median round
    assert rounds.add(3.0) == 3.0 and rounds.median == pytest.approx(2.35) and rounds.spread_cell() == "+50%"


def test_one_round_has_no_spread() -> None:
    rounds = Rounds([1.5])
    assert rounds.best == rounds.median == rounds.worst == 1.5 and rounds.spread == 0
    assert rounds.spread_cell() == "-" and rounds.median_rate_cell(3_000) == "-"


def test_columns_align_as_format_specs_do() -> None:
    widths = (-10, 7, 6)
    assert columns(("method", "1,234", "0.50"), widths) == f"{'method':<10} {1234:>7,} {0.5:>6.2f}"
    assert columns(("a", "b"), (-3, 3), sep="") == "a    b"


@pytest.mark.parametrize(
    "n, kept, counted",
    [
        (1, ["-DOCSTART- -X- -X- O\n", "\n", "EU B-ORG\n", "rejects O\n", "\n"], 1),
        (2, ["-DOCSTART- -X- -X- O\n", "\n", "EU B-ORG\n", "rejects O\n", "\n", "Peter B-PER\n", "\n"], 2),
        (5, ["-DOCSTART- -X- -X- O\n", "\n", "EU B-ORG\n", "rejects O\n", "\n", "Peter B-PER\n", "\n"], 2),
    ],
)
def test_small_corpora_cut_after_the_nth_sentence(n: int, kept: list[str], counted: int) -> None:
    """A sentence is a run of non-blank lines that is not a -DOCSTART- line; the cut keeps the blank line
    that ends the last one (a file without a final blank line gets one)."""
    from benchmarks.small_corpora import first_sentences

    lines = ["-DOCSTART- -X- -X- O\n", "\n", "EU B-ORG\n", "rejects O\n", "\n", "Peter B-PER\n"]
    assert first_sentences(lines, n) == (kept, counted)


def test_the_spacy_routes_dev_curve_is_read_from_its_console_table() -> None:
    """benchmarks.own_data's spaCy-route runs: (step, ents_f) per evaluation, found from the row's end (the
    loss columns' names hold spaces)."""
    from benchmarks.own_data import dev_curve

    console = (
        "E    #       LOSS TRANS...  LOSS NER  ENTS_F  ENTS_P  ENTS_R  SCORE \n"
        "---  ------  -------------  --------  ------  ------  ------  ------\n"
        "  0       0         123.45     50.00    0.00    0.00    0.00    0.00\n"
        "✔ Saved pipeline to output directory\n"
        " 12     200        1000.00   3000.12   34.80   54.44   25.58    0.35\n"
    )
    assert dev_curve(console) == [(0, 0.0), (200, 0.348)]
    assert dev_curve("no table here") == []
