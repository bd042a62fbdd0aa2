"""The Hugging Face route's commands: train-hf, assemble."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import ConfigError
from ..output_paths import check_output
from .app import app
from .output import guarded, say


@app.command(
    "train-hf",
    rich_help_panel="Training",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def train_hf_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="A train-hf config, e.g. configs/hf_bert_ner.cfg"),
    gpu_id: Optional[int] = typer.Option(
        None,
        "--gpu-id",
        "-g",
        help="-1: train on the CPU; N: on GPU N only; not given: the HF Trainer's choice (every visible GPU)",
    ),
) -> None:
    """Fine-tune a Hugging Face token classifier by the HF course recipe (Trainer) on converted DocBins.

    Override any setting as --section.key value, e.g. --paths.train corpus/train.spacy
    --model.backbone bert-base-cased --training_args.max_steps 100. Writes \\[paths] output: model/ (a HF
    folder), metrics.json. Several GPUs or machines: accelerate launch -m spacy_bert_ner train-hf CONFIG ...
    """
    from spacy.cli._util import parse_config_overrides

    from ..hf.finetune.recipe import fit, is_main_process, summary
    from ..training.train_hf import prepare_training

    overrides = {**parse_config_overrides(ctx.args), **guarded(lambda: training_device(gpu_id))}
    prepared = guarded(lambda: prepare_training(config_path, overrides))  # before the first training step
    if is_main_process():
        for line in prepared.notes:
            say("ℹ", "blue", line)
    metrics = guarded(lambda: fit(prepared))  # a model that did not learn stops here, exit 1
    if is_main_process():
        typer.echo(json.dumps(metrics, indent=2))
        for line in summary(metrics):
            say("ℹ", "blue", line)
        settings = prepared.settings
        say("✔", "green", f"Saved the model to {settings.model_dir}, metrics to {settings.metrics_path}")


@app.command(
    "train-curve",
    rich_help_panel="Training",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def train_curve_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="A train-hf config, e.g. configs/hf_bert_ner_texts_cpu.cfg"),
    output: Path = typer.Argument(..., help="Where each share's run and curve.json go"),
    fractions: str = typer.Option(
        "0.25,0.5,0.75,1", help="Shares of the training set to train on, comma-separated; the last 1"
    ),
) -> None:
    """How much data is enough: train-hf on growing shares of the training set (the same config and budget
    rule), dev entity F1 for each, and what the curve's end says about annotating more.

    Override settings as train-hf takes them (--paths.train corpus/train.spacy ...). Writes OUTPUT/curve.json
    (the report draws it: report --curve NAME=OUTPUT/curve.json) and one run folder per share.
    """
    from spacy.cli._util import parse_config_overrides
    from wasabi import msg

    from ..training.train_curve import train_curve

    def run() -> dict:
        check_output(output, "folder", "OUTPUT")
        try:
            shares = [float(part) for part in fractions.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"--fractions {fractions!r}: numbers, e.g. 0.25,0.5,0.75,1") from None
        return train_curve(config_path, output, parse_config_overrides(ctx.args), shares)

    curve = guarded(run)
    rows = [
        [
            f"{100 * p['fraction']:.0f}%",
            f"{p['sentences']:,}",
            f"{100 * p['dev_f']:.2f}",
            f"{p['best_step']:,}" if p["best_step"] is not None else "-",
            f"{p['steps_taken']:,}",
            f"{p['train_seconds'] / 60:.1f}",
            "yes" if p["learned"] else "no",
        ]
        for p in curve["points"]
    ]
    header = ["share", "sentences", "dev F1", "best step", "steps", "minutes", "learned"]
    msg.table(rows, header=header, divider=True, aligns=["r"] * len(header))
    say("ℹ", "blue", curve["reading"])
    say("✔", "green", f"Wrote {output / 'curve.json'}")


@app.command("assemble", rich_help_panel="Training")
def assemble_cli(
    model_dir: Path = typer.Argument(..., help="A fine-tuned HF token classifier folder (train-hf's model/)"),
    output_dir: Path = typer.Argument(..., help="Where to save the spaCy pipeline"),
    lang: str = typer.Option("en", help="Language of the blank pipeline (its tokenizer)"),
    name: str = typer.Option("bert_ner", help="Name of the component in the pipeline"),
    sentencizer: bool = typer.Option(
        True,
        help="Split sentences first (line_sentences: at line breaks, then spaCy's sentencizer), so bert_ner "
        "labels text sentence by sentence",
    ),
) -> None:
    """Turn a HF token classifier folder into a spaCy pipeline: blank LANG [+ line_sentences + sentencizer]
    + bert_ner."""
    from ..pipeline.assemble import assemble_pipeline

    def run() -> Path:
        check_output(output_dir, "folder", "OUTPUT_DIR")
        return assemble_pipeline(model_dir, output_dir, lang, name, sentencizer)

    guarded(run)
    say("✔", "green", f"Saved the pipeline to {output_dir}: spacy.load({str(output_dir)!r})")


def training_device(gpu_id: Optional[int]) -> dict[str, Any]:
    """The device ``train-hf --gpu-id`` asks for, as config overrides and the process's visible GPUs: -1 the
    CPU (``use_cpu``); N that GPU alone (``CUDA_VISIBLE_DEVICES=N``, set before CUDA starts, so the Trainer
    neither picks GPU 0 nor spreads over every GPU with DataParallel); None leaves both to the Trainer."""
    if gpu_id is None:
        return {}
    if gpu_id < 0:
        return {"training_args.use_cpu": True}
    import torch

    if os.environ.get("LOCAL_RANK") is not None:
        raise ConfigError(
            f"--gpu-id {gpu_id}: torchrun / accelerate launch give each process its GPU; drop --gpu-id"
        )
    if not torch.cuda.is_available() or gpu_id >= torch.cuda.device_count():
        raise ConfigError(
            f"--gpu-id {gpu_id}: this machine has {torch.cuda.device_count()} CUDA GPU(s) visible; pass "
            "--gpu-id -1 to train on the CPU"
        )
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:  # already narrowed: N counts within that list
        os.environ["CUDA_VISIBLE_DEVICES"] = visible.split(",")[gpu_id]
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_id)
    return {"training_args.use_cpu": False}
