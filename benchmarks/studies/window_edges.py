"""Do tokens near a transformer window's edge score worse? Entity F1 by distance to the nearest window edge.

    python -m benchmarks.studies.window_edges training/spacy/model-best corpus/dev.spacy

The spaCy route's spacy-transformers backbone reads each doc in windows of spaCy tokens
(``spacy-transformers.strided_spans.v1``: ``window`` tokens every ``stride``, read from the pipeline's
config). With ``stride == window`` the windows do not overlap, so a token at a window's edge has no context
beyond it. Here the pipeline labels the gold Docs (gold tokens, as ``spacy evaluate`` does), and every gold
and predicted entity is put in the bucket of its distance, in tokens, to the nearest inner window edge (a
doc's own start and end are not window edges); each bucket gets its own P / R / F.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

from benchmarks.common import columns, host_line
from spacy_bert_ner.scores import prf

BUCKETS = [(0, 0), (1, 3), (4, 7), (8, 15), (16, 31), (32, 63), (64, 10**9)]


def edge_distance(start: int, end: int, n_tokens: int, window: int, stride: int) -> int:
    """Tokens between the span [start, end) and the nearest inner edge of a window that covers it best.

    With windows starting every ``stride`` tokens, a token is read in each window that covers it; take the
    window where the span sits farthest from an edge that is not the doc's own start or end."""
    best = -1
    first = max(0, (end - window + stride - 1) // stride) * stride
    for lo in range(first, start + 1, stride):
        hi = min(lo + window, n_tokens)
        if hi < end:
            continue
        left = start - lo if lo > 0 else 10**9
        right = hi - end if hi < n_tokens else 10**9
        best = max(best, min(left, right))
    return max(best, 0)  # -1: no window holds the whole span, which straddles an edge


def bucket_of(distance: int) -> str:
    for lo, hi in BUCKETS:
        if lo <= distance <= hi:
            return f"{lo}-{hi}" if hi < 10**9 else f">={lo}"
    return "unread"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument(
        "--stride",
        type=int,
        help="read with windows every STRIDE tokens instead of the config's (inference only)",
    )
    args = parser.parse_args()
    print(host_line(), flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import spacy
    from spacy.tokens import Doc

    from spacy_bert_ner.data.docbin import read_docbin

    overrides = {} if args.stride is None else {"components.transformer.model.get_spans.stride": args.stride}
    nlp = spacy.load(args.pipeline, config=overrides)
    getter = nlp.config["components"]["transformer"]["model"]["get_spans"]
    window, stride = int(getter["window"]), int(getter["stride"])
    gold_docs = read_docbin(args.data, nlp.vocab)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "gold": 0})
    docs = (Doc(nlp.vocab, words=[t.text for t in g]) for g in gold_docs)
    for gold, pred in zip(gold_docs, nlp.pipe(docs, batch_size=16), strict=True):
        n = len(gold)
        gold_ents = {(e.start, e.end, e.label_) for e in gold.ents}
        pred_ents = {(e.start, e.end, e.label_) for e in pred.ents}
        for ent in gold_ents:
            key = bucket_of(edge_distance(ent[0], ent[1], n, window, stride))
            counts[key]["gold"] += 1
            counts[key]["tp" if ent in pred_ents else "fn"] += 1
        for ent in pred_ents - gold_ents:
            counts[bucket_of(edge_distance(ent[0], ent[1], n, window, stride))]["fp"] += 1
    print(f"{args.pipeline}: windows of {window} tokens every {stride}; {len(gold_docs)} docs of {args.data}")
    widths = (18, 6, 7, 7, 7)
    print(columns(("distance to edge", "gold", "P", "R", "F"), widths))
    order = [bucket_of(lo) for lo, _ in BUCKETS] + ["unread"]
    total = {"tp": 0, "fp": 0, "fn": 0, "gold": 0}
    for key in order:
        if key not in counts:
            continue
        c = counts[key]
        for k in total:
            total[k] += c[k]
        print(bucket_row(key, c, widths))
    print(bucket_row("all", total, widths))


def bucket_row(name: str, c: dict[str, int], widths: tuple[int, ...]) -> str:
    """A bucket's gold entities and its P / R / F (%), from its counts as spaCy's scorer takes them."""
    figures = (f"{v * 100:.2f}" for v in prf(c["tp"], c["fp"], c["fn"]))
    return columns((name, str(c["gold"]), *figures), widths)


if __name__ == "__main__":
    main()
