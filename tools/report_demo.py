"""A demo evaluation report built in seconds with no network, to look at the page as a reader will
(``tools/screenshot_report.sh --demo`` renders it in headless Chromium).

    python -m tools.report_demo /tmp/report-demo                  # writes /tmp/report-demo/report.html
    python -m tools.report_demo /tmp/report-demo --conll DIR --articles 3 --n-examples 8

Two tiny ``bert_ner`` pipelines, ``rigged`` and ``random`` (2-layer BERTs from ``tests/tiny_models.py``: one
whose labels are fixed per wordpiece, some right and some wrong, one with random weights and a vocab from
valid.txt), read the first ``--articles`` articles of CoNLL-2003 valid.txt (``--conll``: $CONLL2003_DIR, else
../shared/data/conll2003). Each pipeline's ``parity`` figures are written as ``parity --output`` writes them,
then the report takes both as ``report --metrics NAME=JSON --pipeline NAME=PATH --data dev.spacy`` would.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from benchmarks.common import conll2003_dir

PIPELINES = ("rigged", "random")


def build_demo(work: Path, valid: Path, n_articles: int = 3, n_examples: int = 8) -> Path:
    """The gold DocBin, both pipelines, their parity JSONs and the report, under ``work``; the report's
    path."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from spacy_bert_ner.data.conll import read_conll
    from spacy_bert_ner.data.docs import sentences_to_doc
    from spacy_bert_ner.evaluation.parity import pipeline_parity
    from spacy_bert_ner.evaluation.report import write_report
    from tests.tiny_models import (
        VALID_RIGGED,
        conll_sentences,
        save_random_classifier,
        save_rigged_classifier,
        train_tokenizer,
    )

    work.mkdir(parents=True, exist_ok=True)
    articles, _ = read_conll(valid)
    vocab = Vocab()
    data = work / "dev.spacy"
    DocBin(docs=[sentences_to_doc(vocab, a.sentences, a.docstart) for a in articles[:n_articles]]).to_disk(
        data
    )
    models = {
        "rigged": save_rigged_classifier(work / "rigged-model", VALID_RIGGED),
        "random": save_random_classifier(
            work / "random-model", train_tokenizer(conll_sentences(valid), work / "vocab")
        ),
    }
    for name, model in models.items():
        nlp = spacy.blank("en")
        nlp.add_pipe("bert_ner", config={"model": str(model)})
        nlp.to_disk(work / name)
        figures = pipeline_parity(work / name, data).to_json()
        (work / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return write_report(
        work / "report.html",
        {name: work / f"{name}.json" for name in PIPELINES},
        {name: work / name for name in PIPELINES},
        data=data,
        n_examples=n_examples,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="folder for the demo's files; the report is WORK/report.html")
    parser.add_argument("--conll", type=Path, default=conll2003_dir(), help="folder with valid.txt")
    parser.add_argument("--articles", type=int, default=3, help="the first N articles of valid.txt")
    parser.add_argument("--n-examples", type=int, default=8, help="differing sentences shown per pipeline")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = build_demo(args.work, args.conll / "valid.txt", args.articles, args.n_examples)
    print(report)


if __name__ == "__main__":
    main()
