"""``optimize``: the int8 CPU copy of a bert_ner pipeline, shipped only within an F1 gate."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..hf.export.int8_recipes import INT8_RECIPES
from ..host import this_host
from ..tuning.optimize_settings import CALIBRATED_RECIPES, DEFAULT_RECIPES, OptimizeSettings
from ..tuning.timing import Timing
from .app import app
from .output import flags_of, guarded, say

DEFAULTS, TIMING = OptimizeSettings(), Timing()  # the library's defaults, which the options show
FLAGS = flags_of(OptimizeSettings, rounds="--timing-rounds", max_words="--timing-words")


@app.command("optimize", rich_help_panel="Inference", no_args_is_help=True)
def optimize_cli(
    pipeline: str = typer.Argument(
        ..., help="A saved pipeline with a bert_ner component (e.g. tune's output)"
    ),
    output: Path = typer.Argument(..., help="Where to save the int8 copy (with optimize.json)"),
    dev: Path = typer.Option(
        ..., "--dev", help="Gold .spacy DocBin to check the copy on (e.g. corpus/dev.spacy)"
    ),
    calibration: Optional[Path] = typer.Option(
        None,
        "--calibration",
        help="Training DocBin whose first docs calibrate the static recipes (e.g. corpus/train.spacy)",
    ),
    recipes: Optional[str] = typer.Option(
        None,
        "--recipes",
        help=f"int8 recipes to try, comma-separated; default: {','.join(DEFAULT_RECIPES)} (all: "
        f"{', '.join(INT8_RECIPES)}; static ones need --calibration, which adds "
        f"{','.join(CALIBRATED_RECIPES)} to the default; -fused ones read with ONNX Runtime's fused "
        "attention kernels)",
    ),
    max_f1_drop: float = typer.Option(
        DEFAULTS.max_f1_drop,
        "--max-f1-drop",
        help="The most dev F1 points the int8 copy may lose against the float pipeline",
    ),
    else_float: bool = typer.Option(
        False, "--else-float", help="If no recipe passes the gate, save the float pipeline to OUTPUT instead"
    ),
    speed_tolerance: float = typer.Option(
        DEFAULTS.speed_tolerance,
        "--speed-tolerance",
        help="Recipes within this fraction of the fastest one's words/s read alike: of those within "
        "--max-f1-drop, the one losing the least dev F1 is saved",
    ),
    min_speedup: float = typer.Option(
        DEFAULTS.min_speedup,
        "--min-speedup",
        help="The least words/s an int8 copy must read at, as a multiple of the float pipeline's (0: any)",
    ),
    calibration_docs: int = typer.Option(
        DEFAULTS.calibration_docs,
        "--calibration-docs",
        help="How many training docs calibrate a static recipe",
    ),
    timing_rounds: int = typer.Option(
        TIMING.rounds, "--timing-rounds", help="Time each reading as the best of this many"
    ),
    timing_words: int = typer.Option(
        TIMING.max_words, "--timing-words", help="Time on the first dev docs up to this many words"
    ),
    component: Optional[str] = typer.Option(
        None, "--component", help="The bert_ner component's name, if several"
    ),
    gpu_id: int = typer.Option(
        -1,
        "--gpu-id",
        "-g",
        help="A GPU run (>= 0) reads in float on the GPU: save the float pipeline as it is",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
) -> None:
    """Make bert_ner read in int8 on the CPU through ONNX Runtime: export the model, quantize it by each
    recipe, check every copy on dev against the float pipeline (entities and F1, after choosing its own
    temperature and thresholds) and save the fastest within --max-f1-drop to OUTPUT (of recipes within
    --speed-tolerance of its words/s, the one losing the least F1), with optimize.json.
    Refuses, with the figures, when none is within it (needs the onnx extra)."""
    from ..scores import percent
    from ..tuning.optimize import optimize_pipeline
    from ..tuning.optimize_settings import default_recipes

    def run():
        settings = OptimizeSettings(
            component=component,
            recipes=tuple(r.strip() for r in recipes.split(",") if r.strip())
            if recipes
            else default_recipes(calibration is not None),
            max_f1_drop=max_f1_drop,
            calibration_docs=calibration_docs,
            speed_tolerance=speed_tolerance,
            min_speedup=min_speedup,
            timing=Timing(timing_rounds, timing_words),
            progress=progress,
        )
        return optimize_pipeline(
            pipeline,
            output,
            dev,
            settings,
            calibration=calibration,
            else_float=else_float,
            gpu_id=gpu_id,
        )

    result = guarded(run, FLAGS)
    if result is None:
        say("ℹ", "blue", f"--gpu-id {gpu_id}: int8 reads on the CPU; saved the float pipeline to {output}")
        return
    base = result.float_torch
    rows = [
        [
            reading.name,
            percent(reading.scores.f),
            f"{100 * (reading.scores.f - base.scores.f):+.2f}",
            f"{reading.words_per_second:,.0f}",
            f"{reading.words_per_second / base.words_per_second:.2f}",
            str(len(reading.entities ^ base.entities)),
            "yes" if reading.batch_invariant else "no",
            "chosen" if reading.name == result.chosen else "",
        ]
        for reading in [base, result.float_onnx, *result.recipes]
    ]
    msg.table(
        rows,
        header=[
            "reading",
            "dev F1",
            "vs float",
            "words/s",
            "x float",
            "entities differing",
            "batch-invariant",
            "",
        ],
        divider=True,
        aligns=["l", "r", "r", "r", "r", "r", "l", "l"],
    )
    for recipe, why in result.skipped.items():
        say("⚠", "yellow", f"skipped {recipe}: {why}")
    if result.passed:
        say("✔", "green", f"int8 recipe {result.chosen}: saved to {output}: spacy.load({str(output)!r})")
    else:
        say("⚠", "yellow", result.refusal())
        say("✔", "green", f"--else-float: saved the float pipeline to {output}")
    host = this_host()
    say("✔", "green", f"Wrote {output / 'optimize.json'} ({result.seconds:.0f} s on {host.describe()})")
