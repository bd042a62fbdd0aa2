"""Does a text's reading depend on the texts read beside it? Entities of each test doc read in the default
batches against read alone (one sequence per forward pass), per reading of the same pipeline.

    python -m benchmarks.studies.batch_invariance training/hf/tuned --int8 training/hf/shipped \\
        --test corpus/test.spacy

Readings: ``float32 torch`` and ``float32 onnx`` of PIPELINE (its ``bert_ner`` with ``runtime`` torch or
onnx, dtype float32), and with ``--int8`` an ``optimize`` copy (int8 through ONNX Runtime) as saved and with
``batch_invariant = false`` (its sequences batched as ``batch_size`` says). Each
reads the test docs on their gold tokens (``nlp.pipe``) twice: with ``batch_size`` as configured
(wordpieces per forward pass: many sequences, padded to the longest) and with ``batch_size = 1`` (every
sequence alone, no padding). The table gives, per reading, the entities found each way, how many
(doc, start, end, label) differ between the two, how many docs hold a difference, and spaCy's entity F1
each way, and the words per second each way (the docs read once after a warm-up on the first 16). Float
readings should differ in 0 entities; an int8 graph quantized dynamically computes its activation scales
from the tensor it multiplies, so unless it reads each sequence alone (``bert_ner``'s int8 reading does,
:mod:`spacy_bert_ner.hf.export.quantize`), its entities can move with the batch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.common import CORPUS, columns, host_line

DEFAULT_TEST = CORPUS / "test.spacy"
Entity = tuple[int, int, int, str]  # doc, start token, end token, label


def read(path: Path, reading: dict[str, Any], gold_docs: list) -> tuple[set[Entity], float, int, float]:
    """The entities of every doc read by the pipeline at ``path`` with its ``bert_ner`` settings changed by
    ``reading``, spaCy's entity F1 against the gold docs, the batch size it read with, and words per
    second."""
    import spacy
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    nlp = spacy.load(path, config={"components": {"bert_ner": reading}})
    inputs = [gold_to_input(nlp, doc) for doc in gold_docs]
    list(nlp.pipe(inputs[:16]))  # warm-up: ONNX Runtime opens its session on first use
    start = time.perf_counter()
    docs = list(nlp.pipe(inputs))
    seconds = time.perf_counter() - start
    found = {(i, e.start, e.end, e.label_) for i, doc in enumerate(docs) for e in doc.ents}
    f1 = get_ner_prf([Example(pred, gold) for pred, gold in zip(docs, gold_docs, strict=True)])["ents_f"]
    configured = nlp.get_pipe("bert_ner").classifier.options.batch_size
    return found, f1, configured, sum(len(doc) for doc in docs) / seconds


def gold_to_input(nlp: Any, gold: Any) -> Any:
    """The gold doc's words and sentence starts, without its entities (what ``spacy evaluate`` reads)."""
    from spacy.tokens import Doc

    doc = Doc(nlp.vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold])
    for token, gold_token in zip(doc, gold, strict=True):
        token.is_sent_start = gold_token.is_sent_start
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline", type=Path, help="a float bert_ner pipeline (assemble's or tune's output)")
    parser.add_argument("--int8", type=Path, help="an optimize copy of it (dtype int8)")
    parser.add_argument("--test", type=Path, default=DEFAULT_TEST, help="the gold DocBin to read")
    parser.add_argument("--limit", type=int, default=0, help="read only the first N docs (0: all)")
    args = parser.parse_args()
    print(host_line(), flush=True)

    import spacy
    from spacy.tokens import DocBin

    readings: list[tuple[str, Path, dict[str, Any]]] = [
        ("float32 torch", args.pipeline, {"runtime": "torch", "dtype": "float32"}),
        ("float32 onnx", args.pipeline, {"runtime": "onnx", "dtype": "float32"}),
    ]
    if args.int8 is not None:
        readings.append(("int8, batch_invariant false", args.int8, {"batch_invariant": False}))
        readings.append(("int8 (as optimize saved it)", args.int8, {}))
    gold_docs = list(DocBin().from_disk(args.test).get_docs(spacy.blank("en").vocab))
    if args.limit:
        gold_docs = gold_docs[: args.limit]
    print(f"{len(gold_docs):,} docs, {sum(len(d) for d in gold_docs):,} words from {args.test}", flush=True)
    widths = (-30, 12, 12, 11, 13, 10, 13, 17)
    header = ("reading", "batch size", "entities", "alone", "differing", "in docs", "F1", "words/s")
    print(columns(header, widths, sep=" "))
    for name, path, reading in readings:
        batched, f1_batched, configured, speed_batched = read(path, reading, gold_docs)
        alone, f1_alone, _, speed_alone = read(path, {**reading, "batch_size": 1}, gold_docs)
        differing = batched ^ alone
        row = (
            name,
            f"{configured:,}",
            f"{len(batched):,}",
            f"{len(alone):,}",
            f"{len(differing):,}",
            f"{len({e[0] for e in differing}):,}",
            f"{100 * f1_batched:.2f}/{100 * f1_alone:.2f}",
            f"{speed_batched:,.0f}/{speed_alone:,.0f}",
        )
        print(columns(row, widths, sep=" "), flush=True)


if __name__ == "__main__":
    main()
