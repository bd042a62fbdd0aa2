"""Small corpora cut from the shared CoNLL-2003 and WNUT-17 files: the first N training sentences of each,
beside that corpus's full dev and test files, as column files that ``convert --train/--dev/--test`` reads
(docs/own-data.md's path).

    python -m benchmarks.small_corpora /tmp/small --sizes 100,200,500,1000 --corpora conll2003,wnut17

writes ``/tmp/small/conll2003-100/{train,dev,test}.txt`` ... and ``wnut17-all/`` (every training sentence)
with ``--all``. A sentence is a run of non-blank lines; CoNLL-2003's ``-DOCSTART-`` lines are kept where they
fall (they start articles, not sentences), so the cut files convert exactly as the full ones do. Dev and test
are copied byte for byte.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from benchmarks.common import conll2003_dir, wnut17_dir


@dataclass(frozen=True)
class Source:
    """One shared corpus: its folder and its train / dev / test file names."""

    folder: Callable[[], Path]
    train: str
    dev: str
    test: str
    suffix: str  # what the cut files are called: train<suffix>, dev<suffix>, test<suffix>


SOURCES = {
    "conll2003": Source(conll2003_dir, "train.txt", "valid.txt", "test.txt", ".txt"),
    "wnut17": Source(
        wnut17_dir, "wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated", ".conll"
    ),
}


def is_docstart(line: str) -> bool:
    return line.startswith("-DOCSTART-")


def first_sentences(lines: Sequence[str], n: int) -> tuple[list[str], int]:
    """The lines of ``lines`` up to the end of its ``n``-th sentence (a run of non-blank lines that is not a
    ``-DOCSTART-`` line), and how many sentences they hold (fewer than ``n`` when the file has fewer)."""
    kept: list[str] = []
    sentences = 0
    in_sentence = False
    for line in lines:
        blank = not line.strip()
        if in_sentence and blank:
            sentences += 1
            in_sentence = False
            if sentences == n:
                kept.append(line)
                return kept, sentences
        elif not blank and not is_docstart(line):
            in_sentence = True
        kept.append(line)
    if in_sentence:
        sentences += 1
        kept.append("\n")
    return kept, sentences


def cut(source: Source, size: int | None, output: Path) -> int:
    """Write ``output``/train, dev and test of ``source``, train cut to its first ``size`` sentences (None:
    all); returns the number of training sentences written."""
    folder = source.folder()
    output.mkdir(parents=True, exist_ok=True)
    lines = (folder / source.train).read_text(encoding="utf-8").splitlines(keepends=True)
    kept, sentences = first_sentences(lines, size if size is not None else len(lines))
    if size is not None and sentences < size:
        raise SystemExit(f"{folder / source.train}: {sentences} sentences, fewer than {size}")
    (output / f"train{source.suffix}").write_text("".join(kept), encoding="utf-8")
    for split in ("dev", "test"):
        shutil.copyfile(folder / getattr(source, split), output / f"{split}{source.suffix}")
    return sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="the folder to write one sub-folder per corpus into")
    parser.add_argument("--sizes", default="100,200,500,1000", help="training sentences, comma-separated")
    parser.add_argument("--corpora", default="conll2003,wnut17", help=f"of {', '.join(SOURCES)}")
    parser.add_argument("--all", action="store_true", help="also each corpus with every training sentence")
    args = parser.parse_args()
    sizes: list[int | None] = [int(size) for size in args.sizes.split(",") if size]
    if args.all:
        sizes.append(None)
    for name in args.corpora.split(","):
        if name not in SOURCES:
            raise SystemExit(f"--corpora: unknown corpus {name!r}; choose from {', '.join(SOURCES)}")
        for size in sizes:
            folder = args.output / f"{name}-{size if size is not None else 'all'}"
            written = cut(SOURCES[name], size, folder)
            print(f"{folder}: {written:,} training sentences")


if __name__ == "__main__":
    main()
