"""The docs: README.md is a short front door whose links resolve, and docs/ builds with mkdocs, every page in
its nav."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README_MAX_LINES = 200


def nav_pages(nav: list | dict | str) -> list[str]:
    """Every page path in a mkdocs nav, however deeply nested."""
    if isinstance(nav, str):
        return [nav]
    items = nav.values() if isinstance(nav, dict) else nav
    return [page for item in items for page in nav_pages(item)]


def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds: no broken page link or anchor, no page left out of the nav."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def test_readme_is_short() -> None:
    """README.md stays a front door; the rest lives in docs/."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, at most {README_MAX_LINES}"


def test_readme_relative_links_exist() -> None:
    """Every relative link in README.md names a file or folder of the repository."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    targets = [link for link in links if not link.startswith(("http://", "https://", "#"))]
    assert targets, "README.md links to no docs page"
    missing = [t for t in targets if not (REPO / t.split("#", 1)[0]).exists()]
    assert missing == []


def test_every_docs_page_is_in_the_nav() -> None:
    """mkdocs.yml's nav lists every Markdown page under docs/, and nothing else."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert sorted(nav_pages(config["nav"])) == pages


# Words a reader outside the project cannot decode: tracker numbers, its private name for the workflow run,
# goals the reader cannot see.
INTERNAL = re.compile(r"\bissues? \d+\b|\bmain job\b|\bthe targets?\b", re.IGNORECASE)


def command_help() -> str:
    """Every spacy_bert_ner command's --help, one after the other."""
    from typer.testing import CliRunner

    from spacy_bert_ner.cli import app

    runner = CliRunner()
    calls = [["--help"], *([c.name, "--help"] for c in app.registered_commands if c.name)]
    return "\n".join(runner.invoke(app, call).output for call in calls)


def test_no_internal_words_in_readme_docs_or_help() -> None:
    texts = {
        str(p.relative_to(REPO)): p.read_text(encoding="utf-8")
        for p in [REPO / "README.md", *DOCS.glob("*.md")]
    }
    texts["--help"] = command_help()
    assert texts["--help"].count("Usage:") >= 10, texts["--help"][:500]
    found = {name: INTERNAL.findall(text) for name, text in texts.items()}
    assert {name: words for name, words in found.items() if words} == {}


def test_readme_quickstart_runs_as_written(
    conll_rigged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """README's Quickstart, run as written with a rigged CoNLL model in place of the hub id (offline), prints
    the entities its comment shows, and its save and load work."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- quickstart -->", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    code = block.replace('"dslim/bert-base-NER"', repr(str(conll_rigged)))
    assert code != block, "the Quickstart no longer loads dslim/bert-base-NER"
    shown = next(line for line in block.splitlines() if line.startswith("# [")).removeprefix("# ")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md Quickstart", "exec"), {})
    assert capsys.readouterr().out.strip() == shown
    assert (tmp_path / "my_pipeline" / "bert_ner" / "model").is_dir()


def test_quickstart_is_near_the_top() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines.index("## Quickstart") < 40


def test_app_help_groups_the_commands_in_the_order_users_meet_them() -> None:
    from typer.testing import CliRunner

    from spacy_bert_ner.cli import app

    out = CliRunner().invoke(app, ["--help"]).output
    names = ("Data", "Training", "Inference", "Evaluation", "Workflow")
    panels = [out.index(f"─ {panel} ") for panel in names]
    assert panels == sorted(panels)
    assert all(command.name in out for command in app.registered_commands)


def test_convert_help_names_every_split_name_and_suffix() -> None:
    import typer.main

    from spacy_bert_ner.cli import app
    from spacy_bert_ner.data.sources import CORPUS_SUFFIXES, SPLIT_OF_STEM

    convert = typer.main.get_command(app).commands["convert"]  # type: ignore[attr-defined]
    (source,) = [param for param in convert.params if param.name == "source"]
    words = set(re.findall(r"[\w.]+", source.help))
    assert set(SPLIT_OF_STEM) - words == set() and set(CORPUS_SUFFIXES) - words == set()
