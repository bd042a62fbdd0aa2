"""Where a bert_ner model's reading time goes: its ONNX graphs timed and profiled on the pipeline's batches.

    python -m benchmarks.studies.onnx_profile training/hf/tuned --test corpus/test.spacy --repeat 3

The pipeline's components before ``bert_ner`` read the raw test articles (one line per CoNLL sentence, as
``evaluate-raw`` reads them), and ``bert_ner`` builds the batches it would give its model (context, packing
and batch budget as configured). On exactly those batches, in this one process:

- ``float32 torch``: the model's torch forward pass (``torch.inference_mode``), what ``runtime = "torch"``
  runs;
- ``float32 onnx``: the graph ``torch.onnx.export`` writes (``spacy_bert_ner.hf.export.onnx_export``);
- ``float32 onnx fused``: that graph fused into ONNX Runtime's transformer kernels
  (``spacy_bert_ner.hf.export.onnx_fusion``);
- ``int8 RECIPE``: each ``--recipes`` copy (``spacy_bert_ner.hf.export.quantize``).

Each is timed over all batches, warm, the best of ``--repeat`` round-robin rounds (words/s: gold words over
those seconds, the model alone: no tokenizer, no decoding), then each ONNX graph is read once more under ONNX
Runtime's profiler, which prints the share of kernel time its most expensive op types take.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import torch

from benchmarks.common import CORPUS, Rounds, columns, host_line

DEFAULT_TEST = CORPUS / "test.spacy"
DEFAULT_RECIPES = "dynamic-per-channel-7bit,dynamic-per-channel-7bit-fused"
TOP_OPS = 6  # op types listed per graph


def pipeline_batches(path: str, test: Path, limit: int | None) -> tuple[Any, list[dict[str, Any]], int]:
    """The pipeline's bert_ner classifier, the batches it gives its model for the raw test articles, and
    the articles' gold word count."""
    import spacy

    from spacy_bert_ner.data.docbin import read_docbin
    from spacy_bert_ner.evaluation.raw_text import article_text
    from spacy_bert_ner.pipeline.load import load_pipeline

    gold_docs = read_docbin(test, spacy.blank("en").vocab)[:limit]
    nlp = load_pipeline(path)
    docs = [nlp.make_doc(article_text(doc)) for doc in gold_docs]
    for name, proc in nlp.pipeline:
        if name == "bert_ner":
            break
        docs = list(proc.pipe(docs)) if hasattr(proc, "pipe") else [proc(doc) for doc in docs]
    ner = nlp.get_pipe("bert_ner")
    inputs = [ner.model_input(doc) for doc in docs]
    classifier = ner.classifier
    batches = list(classifier.model_inputs([i.words for i in inputs], [i.bounds for i in inputs]))
    return classifier, batches, sum(len(doc) for doc in gold_docs)


def onnx_reader(path: Path, threads: int, profile: str | None = None) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def op_shares(
    path: Path, batches: list[dict[str, Any]], threads: int, folder: Path
) -> list[tuple[str, float]]:
    """Each op type's share of kernel time over one read of ``batches`` (ONNX Runtime's profiler)."""
    session = onnx_reader(path, threads, str(folder / path.stem))
    for batch in batches:
        session.run(None, batch)
    events = json.loads(Path(session.end_profiling()).read_text())
    kernel: Counter[str] = Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            kernel[event["args"]["op_name"]] += event["dur"]
    total = sum(kernel.values()) or 1
    return [(op, taken / total) for op, taken in kernel.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline", help="a saved pipeline with a float bert_ner (e.g. training/hf/tuned)")
    parser.add_argument(
        "--test", type=Path, default=DEFAULT_TEST, help="gold test DocBin (one Doc per article)"
    )
    parser.add_argument("--recipes", default=DEFAULT_RECIPES, help="int8 recipes, comma-separated")
    parser.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime threads")
    parser.add_argument("--repeat", type=int, default=3, help="round-robin rounds; each graph's best counts")
    parser.add_argument("--limit", type=int, help="only the first N articles")
    args = parser.parse_args()
    print(host_line(), flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from spacy_bert_ner.hf.export.int8_recipes import recipe_named
    from spacy_bert_ner.hf.export.onnx_export import export_onnx
    from spacy_bert_ner.hf.export.onnx_fusion import fuse_graph
    from spacy_bert_ner.hf.export.quantize import quantize_graph

    torch.set_num_threads(args.threads)
    classifier, batches, n_words = pipeline_batches(args.pipeline, args.test, args.limit)
    pieces = sum(int(batch["attention_mask"].sum()) for batch in batches)
    padded = sum(batch["attention_mask"].size for batch in batches)
    print(
        f"{args.pipeline}: {n_words:,} words -> {len(batches)} batches, {pieces:,} wordpieces "
        f"({padded:,} with padding); {args.threads} thread(s), best of {args.repeat}; "
        f"torch {torch.__version__}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="onnx_profile_") as scratch:
        folder = Path(scratch)
        graphs = {"float32 onnx": export_onnx(classifier.model, folder / "float32.onnx")}
        graphs["float32 onnx fused"] = folder / "fused.onnx"
        fuse_graph(graphs["float32 onnx"], graphs["float32 onnx fused"])
        for name in [r.strip() for r in args.recipes.split(",") if r.strip()]:
            graphs[f"int8 {name}"] = quantize_graph(
                graphs["float32 onnx"], folder / f"{name}.onnx", recipe_named(name)
            )
        model = classifier.model

        def torch_forward() -> None:
            with torch.inference_mode():
                for batch in batches:
                    model(**{key: torch.from_numpy(value) for key, value in batch.items()})

        def onnx_run(session: Any) -> Callable[[], None]:
            def run() -> None:
                for batch in batches:
                    session.run(None, batch)

            return run

        runs: dict[str, Callable[[], None]] = {"float32 torch": torch_forward}
        for name, path in graphs.items():
            runs[name] = onnx_run(onnx_reader(path, args.threads))
        rounds = {name: Rounds() for name in runs}
        for run in runs.values():  # warm-up, untimed
            run()
        for _ in range(args.repeat):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                rounds[name].add(time.perf_counter() - start)
        base = rounds["float32 torch"].best
        widths = [-34, 9, 9, 8, 7]
        print(columns(["graph", "seconds", "words/s", "x torch", "spread"], widths))
        for name, taken in rounds.items():
            cells = [name, f"{taken.best:.2f}", f"{n_words / taken.best:,.0f}", f"{base / taken.best:.2f}"]
            print(columns([*cells, taken.spread_cell()], widths))
        print("\nkernel time by op type (ONNX Runtime's profiler, one read of every batch):")
        for name, path in graphs.items():
            shares = op_shares(path, batches, args.threads, folder)
            listed = ", ".join(f"{op} {share:.0%}" for op, share in shares[:TOP_OPS])
            print(f"  {name}: {listed}")


if __name__ == "__main__":
    main()
