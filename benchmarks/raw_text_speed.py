"""Shipped pipelines on raw test articles: raw-text F1 and words/s beside the HF pipeline and bare forward.

    python -m benchmarks.raw_text_speed training/hf/tuned training/spacy/model-best
    python -m benchmarks.raw_text_speed training/hf/tuned training/hf/shipped --onnx --threads 1,2 --repeat 3

Every method reads the same test articles in this one process, at each ``--threads`` count in turn:

- each PIPELINE given: ``nlp.pipe`` over the articles as plain text, one line per CoNLL sentence (what
  ``evaluate-raw`` reads: the pipeline's own tokenizer and sentence splitters), scored by spaCy's NER scorer
  through the alignment to the gold tokens; the time of each component (tokenizer included) is printed too.
  A pipeline's ``bert_ner`` reads as its config says (an ``optimize`` copy: int8 through ONNX Runtime);
  with ``--onnx``, the first pipeline is also read as a float32 ONNX graph (``runtime = "onnx"``, exported
  when loaded), the same weights and settings on the other runtime;
- ``hf-pipeline bs32``: ``transformers.pipeline("token-classification", aggregation_strategy="simple",
  batch_size=32)`` over the same lines, each line one input, with the first pipeline's ``bert_ner`` model and
  tokenizer (loaded once, shared); its character offsets are mapped to gold words for seqeval's F1;
- ``bare forward``: the floor for that model: the gold words of every line tokenized in one batched call,
  sorted by length, batched under 1,024 wordpieces (sequences x longest), one ``torch.inference_mode``
  forward pass each, no context, first-wordpiece argmax; only that is timed (decoding for F1 is not).

Before the timed rounds, each pipeline's entities on the test articles are compared with the first
pipeline's (start, end and label on the raw text): how many differ.

Words/s is gold words (CoNLL tokens) over wall seconds, warm (a short untimed warm-up first; models loaded
beforehand). ``--repeat N`` runs N round-robin rounds and keeps each method's best; the table shows the
median round's words/s and the spread (how much longer the slowest round took than the best) beside it.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from benchmarks.common import CORPUS, Rounds, Spans, char_spans_to_words, columns, entity_f1, host_line, timed

DEFAULT_TEST = CORPUS / "test.spacy"
BARE_BUDGET = 1024  # wordpieces per batch (sequences x longest), bert_ner's default


@dataclass
class Method:
    name: str
    run: Callable[[], Any]  # timed
    score: Callable[[Any], float]  # untimed: F1 from the run's output
    rounds: dict[int, Rounds] = field(default_factory=dict)  # threads -> seconds of each round
    f1: float = float("nan")
    parts: dict[int, dict[str, float]] = field(default_factory=dict)  # threads -> component seconds


def pipeline_method(
    name: str, path: str, gold_docs: list, texts: list[str], reading: dict[str, Any] | None = None
) -> tuple[Method, Any]:
    """``path`` loaded as saved, or with its bert_ner's config values changed by ``reading``."""
    import spacy
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    from spacy_bert_ner.pipeline.load import load_pipeline

    nlp = (
        load_pipeline(path)
        if reading is None
        else spacy.load(path, config={"components": {"bert_ner": reading}})
    )
    parts_by_threads: dict[int, dict[str, float]] = {}

    def run() -> list:
        """The pipeline over all texts, one component at a time (each timed; the same work as nlp.pipe)."""
        parts: dict[str, float] = {}
        start = time.perf_counter()
        docs = [nlp.make_doc(text) for text in texts]
        parts["tokenizer"] = time.perf_counter() - start
        for pipe_name, proc in nlp.pipeline:
            start = time.perf_counter()
            docs = list(proc.pipe(docs)) if hasattr(proc, "pipe") else [proc(doc) for doc in docs]
            parts[pipe_name] = time.perf_counter() - start
        parts_by_threads[torch.get_num_threads()] = parts
        return docs

    def score(docs: list) -> float:
        return get_ner_prf([Example(pred, gold) for pred, gold in zip(docs, gold_docs, strict=True)])[
            "ents_f"
        ]

    return Method(name, run, score, parts=parts_by_threads), nlp


def hf_pipeline_method(model: Any, tokenizer: Any, lines: list[list[str]], gold: list[Spans]) -> Method:
    from transformers import pipeline

    pipe = pipeline(
        "token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple", device=-1
    )
    texts = [" ".join(words) for words in lines]

    def run() -> list:
        return pipe(texts, batch_size=32)

    def score(outputs: list) -> float:
        found = [char_spans_to_words(words, ents) for words, ents in zip(lines, outputs, strict=True)]
        return entity_f1(lines, gold, found)

    return Method("hf-pipeline bs32", run, score)


def bare_method(name: str, model: Any, tokenizer: Any, lines: list[list[str]], gold: list[Spans]) -> Method:
    from spacy_bert_ner.bio import tags_to_spans
    from spacy_bert_ner.hf.finetune.align import word_tags

    def run() -> tuple:
        encodings = tokenizer(lines, is_split_into_words=True, add_special_tokens=True)
        ids = encodings["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        best: dict[int, list[int]] = {}
        start = 0
        with torch.inference_mode():
            while start < len(order):
                end = start + 1
                while end < len(order) and (end + 1 - start) * len(ids[order[end]]) <= BARE_BUDGET:
                    end += 1
                batch = order[start:end]
                width = len(ids[batch[-1]])
                input_ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                labels = model(input_ids=input_ids, attention_mask=mask).logits.argmax(-1)
                for row, i in enumerate(batch):
                    best[i] = labels[row, : len(ids[i])].tolist()
                start = end
        return encodings, best

    def score(output: tuple) -> float:
        encodings, best = output
        id2label = model.config.id2label
        found = [
            tags_to_spans(word_tags(best[i], encodings.word_ids(i), len(words), id2label))
            for i, words in enumerate(lines)
        ]
        return entity_f1(lines, gold, found)

    return Method(name, run, score)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipelines", nargs="+", help="saved pipelines; the first must hold a bert_ner")
    parser.add_argument(
        "--test", type=Path, default=DEFAULT_TEST, help="gold test DocBin (one Doc per article)"
    )
    parser.add_argument("--threads", default="1,2", help="torch thread counts to measure, in turn")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="round-robin rounds; each method's best counts, the spread is shown",
    )
    parser.add_argument("--limit", type=int, help="only the first N articles")
    parser.add_argument(
        "--onnx",
        action="store_true",
        help="also the first pipeline read as a float32 ONNX graph (runtime onnx)",
    )
    args = parser.parse_args()
    print(host_line(), flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import spacy

    from spacy_bert_ner.data.docbin import read_docbin
    from spacy_bert_ner.evaluation.raw_text import article_text

    gold_docs = read_docbin(args.test, spacy.blank("en").vocab)[: args.limit]
    texts = [article_text(doc) for doc in gold_docs]
    lines = [[t.text for t in sent] for doc in gold_docs for sent in doc.sents]
    gold = [
        [(e.start - s.start, e.end - s.start, e.label_) for e in s.ents] for d in gold_docs for s in d.sents
    ]
    n_words = sum(map(len, lines))
    methods, first_nlp = [], None
    for path in args.pipelines:
        method, nlp = pipeline_method(path, path, gold_docs, texts)
        if "bert_ner" in nlp.pipe_names:  # which reading: "training/hf/shipped (int8 onnx)"
            classifier = nlp.get_pipe("bert_ner").classifier
            method.name = f"{path} ({classifier.options.dtype} {classifier.runtime.name})"
        methods.append(method)
        first_nlp = first_nlp or nlp
    if args.onnx:
        name = f"{args.pipelines[0]} (float32 onnx)"
        reading = {"dtype": "float32", "runtime": "onnx"}
        methods.append(pipeline_method(name, args.pipelines[0], gold_docs, texts, reading)[0])
    ner = first_nlp.get_pipe("bert_ner")
    model, tokenizer = ner.classifier.model, ner.classifier.tokenizer
    methods.append(hf_pipeline_method(model, tokenizer, lines, gold))
    methods.append(bare_method("bare forward", model, tokenizer, lines, gold))
    threads = [int(n) for n in args.threads.split(",")]
    print(
        f"{len(gold_docs)} test articles, {len(lines)} lines, {n_words:,} words; torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; threads {threads}, "
        f"best of {args.repeat}",
        flush=True,
    )
    entities: dict[str, set] = {}
    for method in methods:  # warm-up and F1, untimed
        torch.set_num_threads(max(threads))
        output = method.run()
        method.f1 = method.score(output)
        if method.name.startswith(tuple(args.pipelines)):
            entities[method.name] = {
                (i, e.start_char, e.end_char, e.label_) for i, doc in enumerate(output) for e in doc.ents
            }
    first = methods[0].name
    for name, found in list(entities.items())[1:]:
        differing = len(found ^ entities[first])
        print(f"entities differing from {first}'s: {name}: {differing} of {len(entities[first]):,}")
    for round_ in range(args.repeat):
        for n in threads:
            torch.set_num_threads(n)
            for method in methods:
                seconds, _ = timed(method.run)
                method.rounds.setdefault(n, Rounds()).add(seconds)
                print(f"  round {round_ + 1}, {n} thread(s): {method.name}: {n_words / seconds:,.0f} words/s")
    print_table(methods, threads, n_words)


def print_table(methods: list[Method], threads: list[int], n_words: int) -> None:
    hf = next(m for m in methods if m.name == "hf-pipeline bs32")
    bare = next(m for m in methods if m.name == "bare forward")
    print(
        "\nF1: pipelines, spaCy's NER scorer on the raw text (evaluate-raw's figure); HF pipeline and bare "
        "forward pass, seqeval on the gold lines' words"
    )
    widths = (-40, 7, 9, 9, 7, 7, 9, 7)
    print(columns(("method", "threads", "words/s", "x HF bs32", "x bare", "F1", "median", "spread"), widths))
    for n in threads:
        for m in methods:
            best = m.rounds[n].best
            ratios = (f"{hf.rounds[n].best / best:.2f}", f"{bare.rounds[n].best / best:.2f}")
            spread = (m.rounds[n].median_rate_cell(n_words), m.rounds[n].spread_cell())
            cells = (m.name, str(n), f"{n_words / best:,.0f}", *ratios, f"{100 * m.f1:.2f}", *spread)
            print(columns(cells, widths))
    print("\nwhere each pipeline's time goes (seconds, best round's threads last measured):")
    for m in methods:
        for n, parts in sorted(m.parts.items()):
            print(f"  {m.name} ({n} thread(s)): " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))


if __name__ == "__main__":
    main()
