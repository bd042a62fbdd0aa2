"""Test F1 of HF-route models read five ways: what document context changes, from gold sentences to raw text.

    python -m benchmarks.studies.context_table corpus/test.spacy \\
        training/hf_ctx0/model training/hf_ctx64/model

Each model folder (``train-hf``'s ``model/``) is wrapped as ``assemble`` does (``line_sentences`` +
``sentencizer`` + ``bert_ner``, whose ``context`` defaults to what the model's config.json records) and scored
by spaCy's NER scorer on:

- ``articles, gold sentences``: one Doc per article with CoNLL's sentence starts (``bert_ner`` only): what
  ``train-hf``'s word-level figure measures;
- ``(a) articles, sentencizer``: one Doc per article on gold tokens, sentences from the sentencizer (gold
  tokens hold no line breaks, so ``line_sentences`` does nothing): what ``spacy evaluate`` reports for the
  assembled pipeline;
- ``(b) articles, no sentences``: one Doc per article, no sentence boundaries: windows over the article;
- ``(c) one Doc per gold sentence``: the sentencizer still runs;
- ``raw text``: each article as plain text (one line per sentence), the pipeline's own tokenizer and
  sentence splitters (``evaluate-raw``); again with the punctuation ``sentencizer`` alone
  (``line_sentences`` off), and again laid out as paragraphs (``evaluate-raw --layout paragraphs``: prose
  sentences run together, headlines, datelines and table rows on their own lines).

Prints one row per way and one F1 column per model, plus the seconds each took.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import spacy
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example

from benchmarks.common import host_line

SPLITTERS = ("line_sentences", "sentencizer")  # the sentence splitters assemble puts before bert_ner


def sentence_docs(gold: Doc) -> list[Doc]:
    """One Doc per gold sentence, with its entities."""
    out = []
    for sent in gold.sents:
        doc = sent.as_doc()
        out.append(doc)
    return out


def predicted(nlp: spacy.Language, docs: list[Doc], disable: tuple[str, ...] = ()) -> list[Doc]:
    with nlp.select_pipes(disable=list(disable)):
        return list(nlp.pipe(docs, batch_size=32))


def words_only(gold: Doc, sentence_starts: bool) -> Doc:
    starts = [t.is_sent_start for t in gold] if sentence_starts else None
    return Doc(gold.vocab, words=[t.text for t in gold], sent_starts=starts)


def f1(examples: list[Example]) -> float:
    return get_ner_prf(examples)["ents_f"]


def evaluate_model(model: Path, gold_docs: list[Doc]) -> dict[str, tuple[float, float]]:
    from spacy_bert_ner.evaluation.raw_text import raw_text_examples
    from spacy_bert_ner.pipeline.assemble import assemble_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        nlp = spacy.load(assemble_pipeline(model, Path(tmp) / "pipeline"))
    print(f"{model}: context {nlp.get_pipe('bert_ner').classifier.context}", flush=True)
    sentences = [doc for gold in gold_docs for doc in sentence_docs(gold)]

    def read(inputs: list[Doc], golds: list[Doc], disable: tuple[str, ...] = ()) -> list[Example]:
        return [Example(p, g) for p, g in zip(predicted(nlp, inputs, disable), golds, strict=True)]

    def raw_without(disable: tuple[str, ...]) -> list[Example]:
        with nlp.select_pipes(disable=list(disable)):
            return raw_text_examples(nlp, gold_docs)

    def articles() -> list[Doc]:  # fresh Docs each time: nlp.pipe annotates the Docs it is given
        return [words_only(g, False) for g in gold_docs]

    ways = {
        "articles, gold sentences": lambda: read(
            [words_only(g, True) for g in gold_docs], gold_docs, SPLITTERS
        ),
        "(a) articles, sentencizer": lambda: read(articles(), gold_docs),
        "(b) articles, no sentences": lambda: read(articles(), gold_docs, SPLITTERS),
        "(c) one Doc per gold sentence": lambda: read([words_only(g, False) for g in sentences], sentences),
        "raw text (own tokenizer, line_sentences + sentencizer)": lambda: raw_text_examples(nlp, gold_docs),
        "raw text, sentencizer alone": lambda: raw_without(("line_sentences",)),
        "raw text as paragraphs": lambda: raw_text_examples(nlp, gold_docs, layout="paragraphs"),
    }
    results = {}
    for name, make in ways.items():
        start = time.perf_counter()
        score = f1(make())
        results[name] = (score, time.perf_counter() - start)
        print(f"  {name}: F1 {score * 100:.2f} ({results[name][1]:.0f} s)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="gold .spacy file (convert's test.spacy)")
    parser.add_argument("models", type=Path, nargs="+", help="train-hf model folders")
    parser.add_argument("--output", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    print(host_line(), flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from spacy_bert_ner.data.docbin import read_docbin

    gold_docs = read_docbin(args.data)
    table = {str(model): evaluate_model(model, gold_docs) for model in args.models}
    metrics = {}
    for model in args.models:
        path = model.parent / "metrics.json"
        if path.is_file():
            split = json.loads(path.read_text())
            metrics[str(model)] = split.get("test", {}).get("word_seqeval", {}).get("f")
    names = list(next(iter(table.values())))
    width = max(map(len, names)) + 2
    print("\n" + "way".ljust(width) + "".join(f"{m.parent.name:>22}" for m in args.models))
    if metrics:
        row = "train-hf word-level (metrics.json)".ljust(width)
        print(row + "".join(f"{(metrics.get(str(m)) or float('nan')) * 100:>22.2f}" for m in args.models))
    for name in names:
        cells = "".join(
            f"{table[str(m)][name][0] * 100:>14.2f} ({table[str(m)][name][1]:>4.0f} s)" for m in args.models
        )
        print(name.ljust(width) + cells)
    if args.output:
        args.output.write_text(json.dumps({"ways": table, "train_hf_word_f": metrics}, indent=2) + "\n")


if __name__ == "__main__":
    main()
