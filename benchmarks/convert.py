"""Time our CoNLL-2003 -> DocBin conversion against `spacy convert -c ner`, in one process, same files.

    python benchmarks/convert.py [--repeats N]

Both run in this process after a warm-up on a small file (so interpreter start-up and first imports
are excluded), both write .spacy files to a temporary folder. Prints tokens/s per split and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from spacy.cli.convert import convert as spacy_convert
from wasabi import msg

from spacy_bert_ner.data.sources import convert_source

REPO = Path(__file__).resolve().parent.parent
SPLITS = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}


def time_ours(path: Path, out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    [(stats, _)] = convert_source(str(path), out / "ours")
    return time.perf_counter() - start, stats.tokens


def time_spacy(path: Path, out: Path) -> float:
    start = time.perf_counter()
    spacy_convert(path, out, file_type="spacy", converter="ner", silent=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per tool and split; the median is shown")
    args = parser.parse_args()
    data = Path(os.environ.get("CONLL2003_DIR", REPO.parent / "shared" / "data" / "conll2003"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        warm = out / "warm.txt"
        warm.write_text(
            "\n".join((data / "test.txt").read_text(encoding="utf-8").split("\n")[:2000]), encoding="utf-8"
        )
        time_ours(warm, out)
        time_spacy(warm, out)
        rows = []
        totals = [0, 0.0, 0.0]
        for split, name in SPLITS.items():
            ours = [time_ours(data / name, out) for _ in range(args.repeats)]
            tokens = ours[0][1]
            ours_s = statistics.median(t for t, _ in ours)
            spacy_s = statistics.median(time_spacy(data / name, out) for _ in range(args.repeats))
            totals[0] += tokens
            totals[1] += ours_s
            totals[2] += spacy_s
            rows.append((split, tokens, ours_s, spacy_s))
        rows.append(("all", *totals))
    table = [
        (
            split,
            f"{tokens:,}",
            f"{o:.2f}",
            f"{tokens / o:,.0f}",
            f"{s:.2f}",
            f"{tokens / s:,.0f}",
            f"{s / o:.1f}x",
        )
        for split, tokens, o, s in rows
    ]
    header = ["split", "tokens", "ours s", "ours tok/s", "spacy convert s", "spacy tok/s", "speed-up"]
    msg.table(table, header=header, divider=True, aligns=["l"] + ["r"] * 6)
    print(f"(median of {args.repeats} run(s) each; in process, after a warm-up; 1 thread)")


if __name__ == "__main__":
    main()
