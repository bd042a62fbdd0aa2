"""Corpus annotation throughput and memory: a plain ``nlp.pipe`` loop beside ``annotate`` and its Ray engine.

    python -m benchmarks.annotate training/hf/pipeline                  # 50k docs, every method
    python -m benchmarks.annotate PIPELINE --docs 20000 --methods loop,local1,local2 --memory-docs 0

The corpus is CoNLL-2003's test sentences as plain text (tokens joined by spaces), one doc per line,
repeated to ``--docs`` docs, in one .txt file. Every method runs in a fresh process (the pipeline loaded
there; ``OMP_NUM_THREADS`` set to its torch threads):

- ``loop``: the competitor, what a user writes by hand: ``for doc in nlp.pipe(lines, batch_size=50)``,
  reading ``doc.ents`` and writing nothing, one torch thread;
- ``local1`` / ``local2``: ``annotate --n-process 1`` / ``2 --torch-threads 1`` (DocBin + JSONL shards
  written, manifest kept);
- ``local1x2``: ``annotate --n-process 1`` with 2 torch threads (what a user gets without options);
- ``ray1`` / ``ray2``: ``annotate --engine ray --workers 1`` / ``2``, a local Ray started by the run,
  one torch thread per actor.

Reported: docs, words (non-space tokens), wall seconds from process start to exit (pipeline loading and
Ray start-up included: a user waits for them too), words/s, the ratio to ``local1``, and the peak of the
summed RSS of the method's process tree (sampled every 0.2 s). ``--memory-docs N`` then runs ``local1`` on
N/10 and N docs: the peak RSS of the larger run should stay within 10% of the smaller one's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.common import REPO, child_env, columns, conll2003_dir, host_line

METHODS = ("loop", "local1", "local2", "local1x2", "ray1", "ray2")

LOOP = """
import sys, torch, spacy
torch.set_num_threads(1)
nlp = spacy.load(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    lines = [line.rstrip("\\n") for line in f]
words = ents = 0
for doc in nlp.pipe(lines, batch_size=50):
    words += sum(not t.is_space for t in doc)
    ents += len(doc.ents)
print("words", words, "ents", ents)
"""


def write_corpus(conll: Path, n_docs: int, path: Path) -> int:
    """CoNLL test sentences as text lines, repeated to ``n_docs`` lines; returns the number of words."""
    from spacy_bert_ner.data.conll import read_conll

    articles, _ = read_conll(conll / "test.txt")
    sentences = [" ".join(s.words) for a in articles for s in a.sentences]
    lines = [sentences[i % len(sentences)] for i in range(n_docs)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(line.split()) for line in lines)


def command(method: str, pipeline: str, corpus: Path, out: Path) -> tuple[list[str], int]:
    """The method's command line and its torch threads per process."""
    if method == "loop":
        return [sys.executable, "-c", LOOP, pipeline, str(corpus)], 1
    annotate = [
        sys.executable,
        "-m",
        "spacy_bert_ner",
        "annotate",
        pipeline,
        str(corpus),
        str(out),
        "--no-progress",
    ]
    options = {
        "local1": (["--torch-threads", "1"], 1),
        "local2": (["--n-process", "2", "--torch-threads", "1"], 1),
        "local1x2": (["--torch-threads", "2"], 2),
        "ray1": (["--engine", "ray", "--workers", "1", "--torch-threads", "1"], 1),
        "ray2": (["--engine", "ray", "--workers", "2", "--torch-threads", "1"], 1),
    }
    extra, threads = options[method]
    return annotate + extra, threads


def run(cmd: list[str], threads: int) -> tuple[float, float, str]:
    """Wall seconds, peak summed RSS (MB) of the process tree, and the output's tail."""
    env = child_env(OMP_NUM_THREADS=str(threads), RAY_DEDUP_LOGS="0")
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    output = process.stdout.read().decode(errors="replace")
    if process.returncode:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({process.returncode}):\n{output[-3000:]}")
    return seconds, peak / 2**20, output.strip().splitlines()[-1] if output.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pipeline", help="a saved spaCy pipeline (e.g. assemble's output)")
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {METHODS}")
    parser.add_argument("--memory-docs", type=int, default=100_000, help="0: skip the memory check")
    parser.add_argument("--conll", type=Path, default=conll2003_dir())
    args = parser.parse_args()
    print(host_line(), flush=True)
    methods = args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    work = Path(tempfile.mkdtemp(prefix="annotate-bench-"))
    try:
        corpus = work / "corpus.txt"
        n_words = write_corpus(args.conll, args.docs, corpus)
        print(f"corpus: {args.docs:,} docs, {n_words:,} whitespace words; {os.cpu_count()} cores")
        widths = (-44, 9, 10, 10, 13)
        print(columns(("method", "seconds", "words/s", "x local1", "peak RSS MB"), widths, sep=""))
        rates: dict[str, float] = {}
        labels = {
            "loop": "nlp.pipe loop, 1 thread",
            "local1": "annotate --n-process 1, 1 thread",
            "local2": "annotate --n-process 2, 1 thread each",
            "local1x2": "annotate --n-process 1, 2 threads",
            "ray1": "annotate --engine ray --workers 1",
            "ray2": "annotate --engine ray --workers 2",
        }
        for method in methods:
            out = work / f"out-{method}"
            seconds, peak, _ = run(*command(method, args.pipeline, corpus, out))
            rates[method] = n_words / seconds
            ratio = f"{rates[method] / rates['local1']:.2f}" if "local1" in rates else "-"
            cells = (labels[method], f"{seconds:.1f}", f"{rates[method]:,.0f}", ratio, f"{peak:,.0f}")
            print(columns(cells, widths, sep=""), flush=True)
            shutil.rmtree(out, ignore_errors=True)
        if args.memory_docs:
            print(
                f"\nmemory: annotate --n-process 1 (1 thread) on {args.memory_docs // 10:,} and "
                f"{args.memory_docs:,} docs"
            )
            peaks = []
            for n_docs in (args.memory_docs // 10, args.memory_docs):
                write_corpus(args.conll, n_docs, corpus)
                out = work / f"out-memory-{n_docs}"
                seconds, peak, _ = run(*command("local1", args.pipeline, corpus, out))
                peaks.append(peak)
                print(f"{n_docs:>9,} docs: {seconds:8.1f} s, peak RSS {peak:,.0f} MB", flush=True)
                shutil.rmtree(out, ignore_errors=True)
            print(f"peak RSS ratio {peaks[1] / peaks[0]:.3f} (target <= 1.10)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
