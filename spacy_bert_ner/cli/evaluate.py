"""Evaluation commands: parity, evaluate-raw, report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..output_paths import check_output
from .app import app
from .output import guarded, say, write_json


@app.command("parity", rich_help_panel="Evaluation")
def parity_cli(
    pipeline: Path = typer.Argument(..., help="A saved spaCy pipeline (spaCy-native, or `assemble`'s)"),
    data: Path = typer.Argument(..., help="A gold .spacy DocBin (e.g. convert's corpus/test.spacy)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON file: all figures, the verdict"),
    batch_size: int = typer.Option(64, min=1, help="Docs per nlp.pipe batch"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    tolerance: float = typer.Option(1e-9, help="Largest allowed |spaCy - seqeval| of any P/R/F"),
) -> None:
    """Score a pipeline's predictions with spaCy's scorer, seqeval default mode and seqeval strict IOB2.

    The pipeline runs once over the gold words. spaCy and seqeval's default mode (conlleval) must agree to
    --tolerance overall and per type, else this prints the first sentence they disagree on and exits 1.
    """
    from ..evaluation.parity import SCORERS, pipeline_parity, rows
    from ..scores import percent

    def run():
        if output is not None:
            check_output(output, "file", "--output")
        return pipeline_parity(pipeline, data, batch_size=batch_size, gpu_id=gpu_id, tolerance=tolerance)

    result = guarded(run)
    names = {"spacy": "spaCy", "seqeval": "seqeval", "seqeval_strict": "strict"}
    header = ["type", "gold", *(f"{names[scorer]} {k}" for scorer in SCORERS for k in "PRF")]
    table = [[type_, "-" if n is None else n, *map(percent, figures)] for type_, n, figures in rows(result)]
    msg.table(table, header=header, divider=True, aligns=["l"] + ["r"] * (len(header) - 1))
    counts, crossing = result.counts, result.crossing
    say(
        "ℹ",
        "blue",
        f"{counts['docs']} docs ({counts['skipped_docs']} without NER annotation skipped), "
        f"{counts['sentences']} sentences in {counts['sequences']} seqeval sequences, "
        f"{counts['tokens']} tokens; "
        "entities crossing a sentence boundary (their sentences are one sequence): "
        f"gold {crossing['gold']}, predicted {crossing['predicted']}",
    )
    if output is not None:
        write_json(output, result.to_json())
    if result.agree:
        say("✔", "green", f"spaCy and seqeval (default mode) agree to {tolerance:g}, overall and per type")
        return
    say("✘", "red", f"spaCy and seqeval (default mode) disagree: {'; '.join(result.differences)}")
    first = result.first_difference
    if first is None:
        say("✘", "red", "no single sentence differs on its own: the totals do")
    else:
        where = f"doc {first.unit.doc}, tokens {first.unit.start}-{first.unit.end}"
        say("✘", "red", f"first differing sentence ({where}): {'; '.join(first.differences)}")
        for line in first.lines():
            typer.echo(line, err=True)
    raise typer.Exit(1)


@app.command("evaluate-raw", rich_help_panel="Evaluation")
def evaluate_raw_cli(
    pipeline: Path = typer.Argument(..., help="A saved spaCy pipeline (spaCy-native, or `assemble`'s)"),
    data: Path = typer.Argument(..., help="A gold .spacy DocBin (e.g. convert's corpus/test.spacy)"),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="JSON file: the figures, the texts read and the token differences"
    ),
    batch_size: int = typer.Option(32, min=1, help="Texts per nlp.pipe batch"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    text: str = typer.Option(
        "auto",
        help="Which text each gold doc is read as: 'auto' (its own text where the DocBin marks it real, "
        "as `convert` does for annotation-tool exports; else its tokens rebuilt), 'doc' (always its own "
        "text) or 'tokens' (always rebuilt from its tokens)",
    ),
    layout: str = typer.Option(
        "lines",
        help="How text rebuilt from tokens is laid out: 'lines' (one line per gold sentence) or "
        "'paragraphs' (prose sentences ending . ? or ! run together, headlines, datelines and table rows on "
        "their own lines)",
    ),
) -> None:
    """Score a pipeline as users run it: each gold doc as plain text (its own text where it has one, else
    its tokens rebuilt, one line per sentence), read by the pipeline's own tokenizer and sentence splitter;
    gold entities are matched across the two tokenizations by spaCy's NER scorer. The figure beside `spacy
    evaluate`'s gold-token one."""
    from ..evaluation.raw_text import evaluate_raw
    from ..scores import percent

    def run() -> dict:
        if output is not None:
            check_output(output, "file", "--output")
        return evaluate_raw(pipeline, data, batch_size=batch_size, gpu_id=gpu_id, layout=layout, text=text)

    result = guarded(run)
    rows = [
        [t, *(percent(s[k] if s else None) for k in "prf")]
        for t, s in sorted(result["ents_per_type"].items())
    ]
    rows.append(["ALL", *(percent(result[f"ents_{k}"]) for k in "prf")])
    msg.table(rows, header=["type", "P", "R", "F"], divider=True, aligns=["l", "r", "r", "r"])
    say("ℹ", "blue", raw_text_summary(result["raw_text"], layout))
    if output is not None:
        write_json(output, result)


def raw_text_summary(raw_text: dict, layout: str) -> str:
    """One line: the texts read (own or rebuilt), the gold tokens the pipeline's tokenizer does not keep, and
    the time the pipeline took."""
    sources, tokens = raw_text["text_sources"], raw_text["tokens"]
    line = (
        f"{raw_text['docs']} texts: {sources['doc_text']} the doc's own text, {sources['rebuilt']} rebuilt "
        f"from tokens (--layout {layout}); {tokens['gold_tokens_split']} of {tokens['gold_tokens']} gold "
        "tokens are split by the pipeline's tokenizer"
    )
    if sources["doc_text"]:
        line += f", {tokens['gold_tokens_merged']} share a predicted token with another gold token"
    if "seconds" in raw_text:
        line += f"; {raw_text['words']:,} gold words read in {raw_text['seconds']:.1f} s"
    return line


@app.command("report", rich_help_panel="Evaluation")
def report_cli(
    output: Path = typer.Argument(..., help="The HTML page to write, e.g. metrics/report.html"),
    metrics: Optional[list[str]] = typer.Option(
        None,
        "--metrics",
        "-m",
        help="NAME=FILE, repeatable: JSON from `parity`, `evaluate-raw`, "
        "`spacy evaluate` (--output) or train-hf",
    ),
    pipeline: Optional[list[str]] = typer.Option(
        None, "--pipeline", "-p", help="NAME=PATH, repeatable: a saved pipeline whose errors to show"
    ),
    tune: Optional[list[str]] = typer.Option(
        None, "--tune", "-t", help="NAME=FILE, repeatable: a tune.json (chosen settings, reliability plot)"
    ),
    optimize: Optional[list[str]] = typer.Option(
        None,
        "--optimize",
        "-O",
        help="NAME=FILE, repeatable: an optimize.json (the shipped reading, int8 or float)",
    ),
    curve: Optional[list[str]] = typer.Option(
        None, "--curve", help="NAME=FILE, repeatable: a curve.json from train-curve (the learning curve)"
    ),
    data: Optional[Path] = typer.Option(None, "--data", "-d", help="Gold .spacy file the pipelines run over"),
    n_examples: int = typer.Option(20, "--n-examples", "-n", min=0, help="Differing sentences per pipeline"),
    seed: int = typer.Option(0, help="Seed of the sample of differing sentences (shown in corpus order)"),
    batch_size: int = typer.Option(64, min=1, help="Docs per nlp.pipe batch"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipelines on; -1: CPU"),
    title: str = typer.Option("NER evaluation report", help="Page title"),
) -> None:
    """Write one self-contained HTML page: per-type P/R/F of every metrics file side by side, the parity
    verdicts, subword- vs word-level F1, and displaCy renderings (gold | predicted) of a deterministic
    sample of sentences where each pipeline differs from gold."""
    from ..evaluation.report import parse_named, write_report

    def run() -> Path:
        check_output(output, "file", "OUTPUT")
        named_metrics = parse_named(metrics or [], "--metrics")
        named_pipelines = parse_named(pipeline or [], "--pipeline")
        named_tune = parse_named(tune or [], "--tune")
        return write_report(
            output,
            named_metrics,
            named_pipelines,
            data=data,
            n_examples=n_examples,
            seed=seed,
            batch_size=batch_size,
            gpu_id=gpu_id,
            title=title,
            tune=named_tune,
            optimize=parse_named(optimize or [], "--optimize"),
            curve=parse_named(curve or [], "--curve"),
        )

    written = guarded(run)
    say("✔", "green", f"Wrote {written}")
