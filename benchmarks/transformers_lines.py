"""The same model read by `bert_ner` under two transformers lines (4.53.x beside the spaCy route, 5.x alone):
run ``predict`` once in each environment, then ``compare`` the two files.

    python -m benchmarks.transformers_lines predict MODEL corpus/test.spacy lines-4.json   # in each venv
    python -m benchmarks.transformers_lines compare lines-4.json lines-5.json

``predict`` assembles a pipeline over MODEL (blank ``lang``, ``bert_ner``; the model's recorded reading), runs
it on the DocBin's docs with their gold words and sentence starts, and writes every entity and its score,
with the versions it ran on and its words/s. ``compare`` prints the versions, the entity counts, how many
entities differ, and the largest score difference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata
from pathlib import Path

from spacy.tokens import Doc, DocBin

from benchmarks.common import bert_ner_pipeline, host_line

VERSIONS = ("transformers", "tokenizers", "torch", "spacy")


def predict(model: Path, data: Path, output: Path, lang: str) -> None:
    nlp = bert_ner_pipeline(model, lang)
    ner = nlp.get_pipe("bert_ner")
    docs = [
        Doc(nlp.vocab, words=[t.text for t in gold], sent_starts=[bool(t.is_sent_start) for t in gold])
        for gold in DocBin().from_disk(data).get_docs(nlp.vocab)
    ]
    start = time.perf_counter()
    docs = list(ner.pipe(docs))
    seconds = time.perf_counter() - start
    found = []
    for i, doc in enumerate(docs):
        group = doc.spans["bert_ner"]
        found += [[i, s.start, s.end, s.label_, float(x)] for s, x in zip(group, group.attrs["scores"])]
    record = {
        "versions": {name: metadata.version(name) for name in VERSIONS},
        "model": str(model),
        "data": str(data),
        "words_per_second": sum(len(d) for d in docs) / seconds,
        "entities": found,
    }
    output.write_text(json.dumps(record) + "\n", encoding="utf-8")
    print(f"{len(found)} entities in {len(docs)} docs, {record['words_per_second']:,.0f} words/s -> {output}")


def compare(first: Path, second: Path) -> int:
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    for record, path in ((a, first), (b, second)):
        versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
        speed = f"{record['words_per_second']:,.0f} words/s"
        print(f"{path}: {len(record['entities'])} entities, {speed} ({versions})")
    spans_a = {tuple(e[:4]): e[4] for e in a["entities"]}
    spans_b = {tuple(e[:4]): e[4] for e in b["entities"]}
    only = len(spans_a.keys() ^ spans_b.keys())
    shared = spans_a.keys() & spans_b.keys()
    largest = max((abs(spans_a[k] - spans_b[k]) for k in shared), default=0.0)
    print(f"entities in one file only: {only}; largest score difference of the shared ones: {largest:.2e}")
    return 0 if only == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("predict", help="bert_ner over MODEL on a DocBin's gold words -> JSON")
    run.add_argument("model", type=Path)
    run.add_argument("data", type=Path)
    run.add_argument("output", type=Path)
    run.add_argument("--lang", default="en")
    check = commands.add_parser("compare", help="two predict files: the same entities and scores?")
    check.add_argument("first", type=Path)
    check.add_argument("second", type=Path)
    args = parser.parse_args()
    print(host_line(), flush=True)
    if args.command == "predict":
        predict(args.model, args.data, args.output, args.lang)
        return 0
    return compare(args.first, args.second)


if __name__ == "__main__":
    sys.exit(main())
