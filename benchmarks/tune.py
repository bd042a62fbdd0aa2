"""What ``tune`` costs and buys: its time beside one ``spacy evaluate`` on dev, and the default and tuned
pipelines judged on test (gold tokens and raw text), for best F1 and for a precision target.

    python -m benchmarks.tune training/hf/pipeline                       # corpus/dev.spacy, corpus/test.spacy
    python -m benchmarks.tune PIPELINE --dev D.spacy --test T.spacy --target-precision 0.95

Every step is a fresh process, timed wall-clock from start to exit (loading included), one at a time:

1. ``python -m spacy evaluate PIPELINE DEV`` (the yardstick: tune should take at most 3x this);
2. ``python -m spacy_bert_ner tune PIPELINE DEV OUT/f1`` (best F1) and ``... OUT/precision
   --target-precision P`` (only dev chooses);
3. ``spacy evaluate`` (gold tokens) and ``evaluate-raw`` (raw text through the pipeline's tokenizer and
   sentence splitter) of the default and both tuned pipelines on TEST.

Then the tuned settings' entity scores on test, at temperature 1 and at the fitted one: their expected
calibration error. Printed: the times, a table of test F1 (gold tokens, raw text) per pipeline, each
label's test precision under the precision target and its distance to P, and the expected calibration
error on test before and after the temperature.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import CORPUS, REPO, child_env, host_line, timed


def run(args: list[str], log: Path) -> float:
    """Run a command (output to ``log``); its wall seconds."""
    with open(log, "w", encoding="utf-8") as out:
        seconds, code = timed(
            subprocess.call, args, stdout=out, stderr=subprocess.STDOUT, env=child_env(), cwd=REPO
        )
    if code:
        raise SystemExit(f"{' '.join(args[:5])} ... failed ({code}); see {log}:\n{log.read_text()[-3000:]}")
    return seconds


def spacy_evaluate(pipeline: Path | str, data: Path, work: Path, name: str) -> tuple[float, dict]:
    out = work / f"{name}.json"
    seconds = run(
        [sys.executable, "-m", "spacy", "evaluate", str(pipeline), str(data), "--output", str(out)],
        work / f"{name}.log",
    )
    return seconds, json.loads(out.read_text())


def raw_text(pipeline: Path | str, data: Path, work: Path, name: str) -> dict:
    out = work / f"{name}.json"
    run(
        [
            sys.executable,
            "-m",
            "spacy_bert_ner",
            "evaluate-raw",
            str(pipeline),
            str(data),
            "--output",
            str(out),
        ],
        work / f"{name}.log",
    )
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pipeline", help="a saved pipeline with a bert_ner component (assemble's output)")
    parser.add_argument("--dev", type=Path, default=CORPUS / "dev.spacy")
    parser.add_argument("--test", type=Path, default=CORPUS / "test.spacy")
    parser.add_argument("--target-precision", type=float, default=0.95)
    parser.add_argument("--keep", type=Path, default=None, help="keep the tuned pipelines and logs here")
    args = parser.parse_args()
    print(host_line(), flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="tune-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        evaluate_seconds, _ = spacy_evaluate(args.pipeline, args.dev, work, "evaluate-dev")
        tune = [sys.executable, "-m", "spacy_bert_ner", "tune", args.pipeline, str(args.dev)]
        timing = {}
        for name, extra in (("f1", []), ("precision", ["--target-precision", str(args.target_precision)])):
            shutil.rmtree(work / name, ignore_errors=True)
            timing[name] = run([*tune, str(work / name), "--no-progress", *extra], work / f"tune-{name}.log")
        print(
            f"dev: spacy evaluate {evaluate_seconds:.1f} s; tune (best F1) {timing['f1']:.1f} s = "
            f"{timing['f1'] / evaluate_seconds:.2f}x; tune (precision >= {args.target_precision:g}) "
            f"{timing['precision']:.1f} s = {timing['precision'] / evaluate_seconds:.2f}x (target <= 3x)"
        )
        print(
            f"\n{'pipeline':<34}{'dev F1':>8}{'test F1 (gold tokens)':>23}{'test F1 (raw text)':>20}"
            f"{'test P':>8}{'test R':>8}"
        )
        pipelines = {
            "default": args.pipeline,
            "tuned, best F1": work / "f1",
            f"tuned, P >= {args.target_precision:g}": work / "precision",
        }
        reports = {name: json.loads((work / name / "tune.json").read_text()) for name in ("f1", "precision")}
        test = {}
        for i, (name, path) in enumerate(pipelines.items()):
            _, test[name] = spacy_evaluate(path, args.test, work, f"evaluate-test-{i}")
            raw = raw_text(path, args.test, work, f"raw-test-{i}")
            dev_f = (
                reports["f1"]["dev_default" if i == 0 else "dev_tuned"]["f"]
                if i < 2
                else reports["precision"]["dev_tuned"]["f"]
            )
            t = test[name]
            print(
                f"{name:<34}{dev_f * 100:>8.2f}{t['ents_f'] * 100:>23.2f}{raw['ents_f'] * 100:>20.2f}"
                f"{t['ents_p'] * 100:>8.2f}{t['ents_r'] * 100:>8.2f}",
                flush=True,
            )
        for name, report in reports.items():
            print(f"\n{name}: chosen {json.dumps(report['chosen'])}")
        target = args.target_precision
        precision = test[f"tuned, P >= {target:g}"]["ents_per_type"]
        default = test["default"]["ents_per_type"]
        print(f"\nper-label test precision under --target-precision {target:g} (tuned on dev):")
        print(
            f"{'label':<8}{'default P':>10}{'tuned P':>9}{'- target':>10}{'tuned R':>9}{'dev P':>8}"
            f"{'reached on dev':>16}"
        )
        reached = reports["precision"]["target_reached"]
        dev_types = reports["precision"]["dev_tuned"]["per_type"]
        for label in sorted(precision):
            p = precision[label]["p"]
            print(
                f"{label:<8}{default[label]['p'] * 100:>10.2f}{p * 100:>9.2f}{(p - target) * 100:>+10.2f}"
                f"{precision[label]['r'] * 100:>9.2f}"
                f"{dev_types.get(label, {}).get('p', 0) * 100:>8.2f}{str(reached.get(label, '-')):>16}"
            )
        print(
            "\nexpected calibration error of entity scores on test (10 bins), "
            "before -> after the temperature:"
        )
        from spacy_bert_ner.pipeline.load import load_pipeline
        from spacy_bert_ner.tuning.search import evaluate_settings

        for name, report in reports.items():  # the tuned settings on test, at temperature 1 and fitted
            nlp = load_pipeline(work / name)
            (tuned,) = evaluate_settings(
                nlp, report["component"], args.test, [report["chosen"]], progress=False
            )
            calibration = report["calibration"]
            print(
                f"  {name:<10} temperature {calibration['temperature']:g}: "
                f"dev {calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}; "
                f"test {tuned['ece_at_temperature_1']:.4f} -> {tuned['ece']:.4f}"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
