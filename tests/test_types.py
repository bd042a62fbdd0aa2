"""mypy (pyproject.toml's [tool.mypy]: the package, annotated functions checked) finds no type error, and
every `# type: ignore` left in the package says why."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "spacy_bert_ner"


@pytest.mark.slow
def test_mypy_passes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_every_type_ignore_says_why() -> None:
    """An ignore names its error code and has a comment saying why, on its line or the line above."""
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if "type: ignore" not in line:
                continue
            coded = re.search(r"type: ignore\[[\w-]+(, [\w-]+)*\]", line)
            above = lines[number - 2].strip() if number > 1 else ""
            reason = re.search(r"type: ignore\[[^]]*\]\s+#\s*\S", line) or above.startswith("#")
            if not (coded and reason):
                unexplained.append(f"{path.relative_to(REPO)}:{number}")
    assert unexplained == []
