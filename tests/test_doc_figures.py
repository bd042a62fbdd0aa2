"""Every measured figure in README.md and docs/ can be traced: it is rendered from results/ (between
``<!-- results:NAME -->`` markers, checked by tests/test_results.py), printed in a section that shows the
command that made it, or dated to the commit and day of its run. Earlier runs live in docs/history.md, each
under a heading that names its commit and date, and every commit named exists with that date."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]

# A measured figure: a score or ratio with decimals (86.87, 0.94), a speed-up (2.7x), a share (6%), a rate.
FIGURE = re.compile(
    r"(?<![\w.])\d{1,3}(?:,\d{3})*\.\d{1,2}(?!\w|\.[\dx])"
    r"|(?<![\w.])\d+(?:\.\d+)?x(?!\w)"
    r"|(?<![\w.])\d+(?:\.\d+)?%"
    r"|\b\d{1,3},\d{3} (?:words|tok)/s"
)
DATED = re.compile(r"commit ([0-9a-f]{7})\b[^.\n]{0,40}?(20\d\d-\d\d-\d\d)")
RENDERED = re.compile(r"<!-- results:([\w-]+) -->.*?<!-- /results:\1 -->", re.S)
CODE_BLOCK = re.compile(r"```.*?```", re.S)
INLINE_CODE = re.compile(r"`[^`\n]+`")
HEADING = re.compile(r"(?m)^(#{2,4} .*)$")
RESULTS = REPO / "results"
# The figures of a run that results/ holds, as pages print them: its F1s (x100, two decimals) and words/s.
SCORE_KEYS = {"ents_f", "f", "dev_f", "test_f", "word_f", "best_dev_word_f", "eval_word_f"}
SPEED_KEYS = {"words_per_second", "words_per_second_median"}
BREAKDOWNS = {"per_type", "ents_per_type"}  # per-label figures: small counts, which coincide by chance
THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w,]|\.\d)")  # a words/s as tables print it: 3,410


def sections(text: str) -> list[tuple[str, str]]:
    """A page cut at its ``##``, ``###`` and ``####`` headings: (heading, body), the part before the first
    as ``(top)``."""
    parts = HEADING.split(text)
    return [("(top)", parts[0]), *zip(parts[1::2], parts[2::2])]


def figures(body: str) -> list[str]:
    """The measured figures in a section's prose: not in code, inline code or a rendered block."""
    prose = INLINE_CODE.sub("", CODE_BLOCK.sub("", RENDERED.sub("", body)))
    return FIGURE.findall(prose)


def traced(body: str) -> bool:
    """Whether a section says where its figures come from: a rendered block, a command, or a dated run."""
    return bool(RENDERED.search(body) or "```bash" in body or DATED.search(body))


def untraced(text: str) -> dict[str, list[str]]:
    """Each section of a page with figures and nothing to trace them to, with its first figures."""
    return {head: found[:5] for head, body in sections(text) if (found := figures(body)) and not traced(body)}


def current_figures(results: Path = RESULTS) -> dict[str, str]:
    """Each figure of the runs ``results`` holds, as a page would print it (``87.32``, ``3,410``), and the
    first file and field that holds it."""
    found: dict[str, str] = {}

    def walk(value: Any, key: str, where: str) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                if name not in BREAKDOWNS:
                    walk(item, name, f"{where}/{name}")
        elif isinstance(value, list):
            for item in value:
                walk(item, key, where)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if key in SCORE_KEYS and 0 < value < 1:
                found.setdefault(f"{100 * value:.2f}", where)
            elif key in SPEED_KEYS and value >= 1000:
                found.setdefault(f"{value:,.0f}", where)

    for path in sorted(results.rglob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")), "", str(path.relative_to(results.parent)))
    return found


def current_commits(results: Path = RESULTS) -> set[str]:
    """The commits of the runs ``results`` holds (each run.json's, seven characters)."""
    return {
        json.loads(path.read_text(encoding="utf-8"))["commit"][:7]
        for path in sorted(results.rglob("run.json"))
    }


def typed_current(
    text: str, current: dict[str, str], commits: set[str] = frozenset()
) -> dict[str, list[str]]:
    """Each section of a page that types a figure of a current run (outside rendered blocks and code: in
    prose or a table) and is not dated to a run of its own (a commit that is not a current run's), with the
    figures and where results/ holds them."""
    typed = {}
    for head, body in sections(text):
        prose = INLINE_CODE.sub("", CODE_BLOCK.sub("", RENDERED.sub("", body)))
        values = [figure.split(" ")[0] for figure in figures(body)] + THOUSANDS.findall(prose)
        hits = list(dict.fromkeys(f"{value} ({current[value]})" for value in values if value in current))
        own_run = any(commit not in commits for commit, _ in DATED.findall(body))
        if hits and not own_run:
            typed[head] = hits
    return typed


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.name != "history.md"], ids=lambda p: str(p.relative_to(REPO))
)
def test_no_page_types_a_figure_of_a_current_run(page: Path) -> None:
    """A figure results/ holds is shown only in a block rendered from it (``python -m tools.main_job
    render``), so it cannot go stale when the run is made again; a section dated to its own run's commit
    reports that run, whose figures may equal today's."""
    assert typed_current(page.read_text(encoding="utf-8"), current_figures(), current_commits()) == {}, (
        "type no figure of a current run: render it (tools/main_job.py render) or link to its table"
    )


def test_the_check_finds_a_typed_current_figure() -> None:
    current = {"87.37": "results/cpu-profile/raw_hf.json/ents_f", "3,410": "run/speed.json/words_per_second"}
    page = "# Page\n\n## Headline\n\nThe shipped pipeline scores 87.37 at 3,410 words/s.\n"
    assert typed_current(page, current) == {
        "## Headline": [
            "87.37 (results/cpu-profile/raw_hf.json/ents_f)",
            "3,410 (run/speed.json/words_per_second)",
        ]
    }
    rendered = "## Headline\n\n<!-- results:scores -->\n87.37\n<!-- /results:scores -->\n"
    dated = "## Earlier\n\nIt scored 87.37 (commit abcdef0, 2026-12-01).\n"
    assert typed_current(rendered + dated, current) == {}
    table = "## Speed\n\n| pipeline | words/s |\n| --- | ---: |\n| shipped | 3,410 |\n"
    assert typed_current(table, current) == {"## Speed": ["3,410 (run/speed.json/words_per_second)"]}
    # dated to the current run's own commit: still a typed copy of it
    assert typed_current(dated, current, {"abcdef0"}) == {
        "## Earlier": ["87.37 (results/cpu-profile/raw_hf.json/ents_f)"]
    }


def test_current_figures_are_read_from_results(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    run = {"ents_f": 0.8737, "ents_per_type": {"LOC": {"f": 0.9}}, "speed": {"words_per_second": 3410.4}}
    (tmp_path / "run" / "raw.json").write_text(json.dumps(run), encoding="utf-8")
    assert current_figures(tmp_path) == {
        "87.37": f"{tmp_path.name}/run/raw.json/ents_f",
        "3,410": f"{tmp_path.name}/run/raw.json/speed/words_per_second",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_figure_is_rendered_commanded_or_dated(page: Path) -> None:
    assert untraced(page.read_text(encoding="utf-8")) == {}, (
        "sections with figures but no rendered block, command or 'commit abcdef0, YYYY-MM-DD'"
    )


def test_the_check_finds_an_untraced_figure() -> None:
    page = (
        "# Page\n\n## Speed\n\nIt reads 2.4x as fast at F1 87.32.\n\n"
        "## Dated\n\n91.2 (commit abcdef0, 2026-12-01)\n"
    )
    assert untraced(page) == {"## Speed": ["2.4x", "87.32"]}
    assert untraced(page.replace("It reads", "```bash\npython bench.py\n```\nIt reads")) == {}


def test_each_earlier_run_in_history_names_its_commit_and_date() -> None:
    history = (DOCS / "history.md").read_text(encoding="utf-8")
    headings = re.findall(r"(?m)^## (.*)$", history)
    assert headings and [h for h in headings if not DATED.search(h)] == []


def test_every_dated_commit_exists_with_that_date() -> None:
    shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=REPO, capture_output=True, text=True
    )
    if shallow.returncode != 0 or shallow.stdout.strip() == "true":
        pytest.skip("needs the repository's whole history (not a git checkout, or a shallow clone)")
    named = {m for page in PAGES for m in DATED.findall(page.read_text(encoding="utf-8"))}
    wrong = {}
    for commit, day in sorted(named):
        shown = subprocess.run(
            ["git", "show", "-s", "--format=%ad", "--date=short", f"{commit}^{{commit}}"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0 or shown.stdout.strip() != day:
            wrong[commit] = f"named with {day}, git says {shown.stdout.strip() or 'no such commit'}"
    assert wrong == {}
