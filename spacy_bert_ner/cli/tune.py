"""``tune``: bert_ner's inference settings, temperature and thresholds chosen on dev."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..hf.inference.options import AGGREGATIONS, DTYPE_NAMES, FORWARD_OPTIONS
from ..tuning.timing import Timing
from ..tuning.tune_settings import TuneSettings
from .app import app
from .output import flags_of, guarded, say

DEFAULTS, TIMING = TuneSettings(), Timing()  # the library's defaults, which the options show
FLAGS = flags_of(
    TuneSettings,
    rounds="--timing-rounds",
    max_words="--timing-words",
    max_time_ratio="--max-time-ratio",
    min_words_per_second="--min-words-per-second",
    tries="--try",
)


@app.command("tune", rich_help_panel="Inference", no_args_is_help=True)
def tune_cli(
    pipeline: str = typer.Argument(
        ..., help="A saved pipeline with a bert_ner component (folder or package)"
    ),
    dev: Path = typer.Argument(..., help="Gold .spacy DocBin to tune on (e.g. corpus/dev.spacy)"),
    output: Path = typer.Argument(..., help="Where to save the tuned copy of the pipeline (with tune.json)"),
    target_precision: Optional[float] = typer.Option(
        None,
        "--target-precision",
        min=0.0,
        max=1.0,
        help="Reach this precision (per label, or --target-scope overall) with the most recall",
    ),
    target_recall: Optional[float] = typer.Option(
        None,
        "--target-recall",
        min=0.0,
        max=1.0,
        help="Reach this recall (per label, or overall) with the most precision",
    ),
    target_scope: str = typer.Option(
        "label",
        "--target-scope",
        help="label: each label its own target and threshold; overall: one threshold for all",
    ),
    contexts: Optional[str] = typer.Option(
        None, "--contexts", help="Contexts (wordpieces) to try, e.g. 0,32,64; default: 0 and the pipeline's"
    ),
    packing: bool = typer.Option(
        DEFAULTS.packing, "--packing/--no-packing", help="Also try packed sentences for each context"
    ),
    whole_docs: bool = typer.Option(
        DEFAULTS.whole_docs, "--whole-docs", help="Also try windows over whole docs (no sentences)"
    ),
    windows: Optional[str] = typer.Option(
        None,
        "--windows",
        help="Window lengths (wordpieces) to try over whole docs, e.g. 128,256 (implies --whole-docs)",
    ),
    max_time_ratio: Optional[float] = typer.Option(
        None,
        "--max-time-ratio",
        help="Choose only among readings that take at most this many times as long on dev as context 0, one "
        "sentence per input (e.g. 1.1)",
    ),
    min_words_per_second: Optional[float] = typer.Option(
        None,
        "--min-words-per-second",
        help="Choose only among readings that read at least this many words/s on dev (on this machine)",
    ),
    timing_rounds: int = typer.Option(
        TIMING.rounds, "--timing-rounds", help="Time each reading as the best of this many round-robin passes"
    ),
    timing_words: int = typer.Option(
        TIMING.max_words,
        "--timing-words",
        help="Time each reading on the first dev docs up to this many words",
    ),
    dtypes: str = typer.Option(
        "",
        "--dtypes",
        help=f"Also try every input setting in these dtypes ({', '.join(DTYPE_NAMES)}), e.g. float32,int8 "
        "(int8: CPU only)",
    ),
    tries: Optional[list[str]] = typer.Option(
        None,
        "--try",
        help="NAME=VALUE[,VALUE...], repeatable: also try every input setting with these values of a reading "
        f"option that changes the model's input ({', '.join(FORWARD_OPTIONS)}), e.g. --try stride=64,96",
    ),
    aggregations: str = typer.Option(
        ",".join(DEFAULTS.aggregations),
        "--aggregations",
        help=f"Aggregations to try, of {', '.join(AGGREGATIONS)}",
    ),
    thresholds: bool = typer.Option(
        DEFAULTS.thresholds, "--thresholds/--no-thresholds", help="Choose per-label thresholds (for best F1)"
    ),
    temperature: bool = typer.Option(
        DEFAULTS.temperature, "--temperature/--no-temperature", help="Fit the temperature"
    ),
    min_held_out_gain: float = typer.Option(
        DEFAULTS.min_held_out_gain,
        "--min-held-out-gain",
        help="F1 points the temperature and thresholds must gain on held-out halves of dev to be kept "
        "(fitted on one half, scored on the other, both ways); 0: any gain",
    ),
    component: Optional[str] = typer.Option(
        None, "--component", help="The bert_ner component's name, if several"
    ),
    eval_data: Optional[Path] = typer.Option(
        None,
        "--eval",
        help="Also score the pipeline before and after on this DocBin (e.g. corpus/test.spacy); "
        "not used to choose",
    ),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
) -> None:
    """Choose bert_ner's inference settings (sentences, context, packing, aggregation), temperature and
    per-label thresholds on gold dev data, with one forward pass per input setting; save a copy of the
    pipeline with them in its config.cfg, and OUTPUT/tune.json with every setting tried and the
    calibration (score bins -> precision) before and after the temperature."""
    from ..scores import percent
    from ..tuning.budget import Budget
    from ..tuning.search import tune_pipeline
    from .arguments import objective_for, parse_tries, whole_numbers

    def run():
        settings = TuneSettings(
            component=component,
            objective=objective_for(target_precision, target_recall, target_scope),
            contexts=whole_numbers(contexts, "--contexts", "0,64"),
            packing=packing,
            whole_docs=whole_docs,
            windows=whole_numbers(windows, "--windows", "128,256"),
            dtypes=tuple(d for d in dtypes.split(",") if d),
            tries=parse_tries(tries or []),
            aggregations=tuple(a for a in aggregations.split(",") if a),
            thresholds=thresholds,
            temperature=temperature,
            min_held_out_gain=min_held_out_gain,
            progress=progress,
            budget=Budget(max_time_ratio, min_words_per_second),
            timing=Timing(timing_rounds, timing_words),
        )
        return tune_pipeline(pipeline, dev, output, settings, eval_data=eval_data, gpu_id=gpu_id)

    result = guarded(run, FLAGS)
    rows = [
        [
            t.setting.describe(),
            t.aggregation,
            percent(t.plain.f),
            percent(t.tuned.p),
            percent(t.tuned.r),
            percent(t.tuned.f),
            f"{t.cost.words_per_second:,.0f}",
            f"{t.cost.time_ratio:.2f}",
            "yes" if t.within_budget else "no",
        ]
        for t in result.trials
    ]
    msg.table(
        rows,
        header=[
            "input",
            "aggregation",
            "F (argmax)",
            "P",
            "R",
            "F (thresholds)",
            "words/s",
            "x ctx 0",
            "budget",
        ],
        divider=True,
        aligns=["l", "l", "r", "r", "r", "r", "r", "r", "l"],
    )
    chosen = result.chosen
    say("ℹ", "blue", f"objective: {result.objective.describe()}; budget: {result.budget.describe()}")
    say("ℹ", "blue", f"chosen: {chosen}")
    say(
        "ℹ",
        "blue",
        f"dev F1 {percent(result.default.f)} -> {percent(result.tuned.f)} (P {percent(result.tuned.p)}, R "
        f"{percent(result.tuned.r)}); calibration error {result.ece_before:.4f} -> {result.ece_after:.4f} at "
        f"temperature {result.temperature:g}; {result.seconds:.1f} s",
    )
    if result.reading_held_out is not None:
        kept = result.reading_held_out.kept
        say("ℹ" if kept else "⚠", "blue" if kept else "yellow", result.reading_held_out.reason())
    if result.held_out is not None:
        say(
            "ℹ" if result.held_out.kept else "⚠",
            "blue" if result.held_out.kept else "yellow",
            result.held_out.reason(),
        )
    missed = sorted(label for label, reached in result.reached.items() if not reached)
    if missed:
        say(
            "⚠",
            "yellow",
            f"{result.objective.describe()}: not reached on dev for {', '.join(missed)}; "
            "they keep the threshold that comes closest (tune.json: target_reached)",
        )
    for name in ("default", "tuned"):
        if result.evaluation:
            found = result.evaluation[name]["scores"]
            say(
                "ℹ",
                "blue",
                f"{result.evaluation['data']} ({name}): "
                f"P {percent(found['p'])} R {percent(found['r'])} F {percent(found['f'])}",
            )
    say("✔", "green", f"Wrote {output / 'tune.json'}")
    say("✔", "green", f"Saved the tuned pipeline to {output}: spacy.load({str(output)!r})")
