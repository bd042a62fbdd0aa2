"""Time our CoNLL-2003 -> DocBin conversion against `spacy convert -c ner`, in one process, same files.

    python -m benchmarks.convert [--repeats N]

Both run in this process after a warm-up on a small file (so interpreter start-up and first imports
are excluded), both write .spacy files to a temporary folder. Prints tokens/s per split and the ratio, from
the median run of each, and each tool's spread per split (how much longer its slowest run took than its
fastest).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from spacy.cli.convert import convert as spacy_convert
from wasabi import msg

from benchmarks.common import Rounds, conll2003_dir, host_line, timed
from spacy_bert_ner.data.sources import convert_source

SPLITS = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}


def time_ours(path: Path, out: Path) -> tuple[float, int]:
    seconds, [(stats, _)] = timed(convert_source, str(path), out / "ours")
    return seconds, stats.tokens


def time_spacy(path: Path, out: Path) -> float:
    seconds, _ = timed(spacy_convert, path, out, file_type="spacy", converter="ner", silent=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per tool and split; the median is shown, and the spread"
    )
    args = parser.parse_args()
    print(host_line(), flush=True)
    data = conll2003_dir()
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
            ours, theirs = Rounds(), Rounds()
            for _ in range(args.repeats):
                seconds, tokens = time_ours(data / name, out)
                ours.add(seconds)
            for _ in range(args.repeats):
                theirs.add(time_spacy(data / name, out))
            totals[0] += tokens
            totals[1] += ours.median
            totals[2] += theirs.median
            rows.append((split, tokens, ours.median, theirs.median, ours.spread_cell(), theirs.spread_cell()))
        rows.append(("all", *totals, "", ""))
    table = [
        (
            split,
            f"{tokens:,}",
            f"{o:.2f}",
            f"{tokens / o:,.0f}",
            f"{s:.2f}",
            f"{tokens / s:,.0f}",
            f"{s / o:.1f}x",
            ours_spread,
            spacy_spread,
        )
        for split, tokens, o, s, ours_spread, spacy_spread in rows
    ]
    header = ["split", "tokens", "ours s", "ours tok/s", "spacy convert s", "spacy tok/s", "speed-up"]
    header += ["ours spread", "spacy spread"]
    msg.table(table, header=header, divider=True, aligns=["l"] + ["r"] * 8)
    print(f"(median of {args.repeats} run(s) each; in process, after a warm-up; 1 thread)")


if __name__ == "__main__":
    main()
