"""Every measured figure in README.md and docs/ can be traced: it is rendered from results/ (between
``<!-- results:NAME -->`` markers, checked by tests/test_results.py), printed in a section that shows the
command that made it, or dated to the commit and day of its run. Earlier runs live in docs/history.md, each
under a heading that names its commit and date, and every commit named exists with that date."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

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
HEADING = re.compile(r"(?m)^(#{2,3} .*)$")


def sections(text: str) -> list[tuple[str, str]]:
    """A page cut at its ``##`` and ``###`` headings: (heading, body), the part before the first as
    ``(top)``."""
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
