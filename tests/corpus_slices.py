"""Slices of the shared corpora for tests that need real files but not all of them."""

from __future__ import annotations

from pathlib import Path


def first_articles(source: Path, n: int, target: Path) -> Path:
    """The first ``n`` articles (``-DOCSTART-`` blocks) of a CoNLL-2003 column file, written to ``target``."""
    lines, seen = [], 0
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("-DOCSTART-"):
            seen += 1
            if seen > n:
                break
        lines.append(line)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(lines), encoding="utf-8")
    return target
