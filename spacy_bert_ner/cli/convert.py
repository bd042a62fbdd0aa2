"""Data commands: convert, export-conll, fetch-corpus, fetch-conll."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from wasabi import msg

from ..data.convert_settings import FORMATS, MISALIGNED, TAG_SCHEMES, ConvertSettings
from ..errors import ConfigError
from ..output_paths import check_output
from .app import app
from .output import flags_of, guarded, say

DEFAULTS = ConvertSettings()  # the library's defaults, which the options show
FLAGS = flags_of(ConvertSettings, format="--format", keep_articles="--no-articles")

if TYPE_CHECKING:
    from ..data.stats import SplitStats


def print_stats(rows: list[tuple[SplitStats, Path]]) -> None:
    """The per-split stats table (records and spans read, written, repaired, skipped; entities per type),
    then one line per reason anything was repaired, skipped or otherwise changed."""
    labels = sorted({label for stats, _ in rows for label in stats.entities})
    header = [
        "split",
        "format",
        "records",
        "docs",
        "articles",
        "sentences",
        "tokens",
        "spans read",
        "written",
        "repaired",
        "skipped",
        *labels,
        "output",
    ]
    data = [
        [
            s.name,
            s.format,
            s.records,
            s.docs,
            s.articles,
            s.sentences,
            s.tokens,
            s.spans_read,
            s.n_entities,
            s.repaired.total,
            s.skipped.total,
            *(s.entities[label] for label in labels),
            str(out),
        ]
        for s, out in rows
    ]
    msg.table(data, header=header, divider=True, aligns=["l", "l"] + ["r"] * (len(header) - 3) + ["l"])
    for stats, _ in rows:
        for line in stats.messages():
            say("ℹ", "blue", line)


@app.command("convert", rich_help_panel="Data")
def convert_cli(
    source: Optional[str] = typer.Argument(
        None,
        help="A folder of split files, one file, or hf:DATASET_ID[:CONFIG] for Hugging Face datasets (e.g. "
        "hf:eriktks/conll2003). In a folder the splits are found by name: train or eng.train; dev, valid, "
        "validation, testa or eng.testa; test, testb or eng.testb; with the suffix .txt .conll .iob .iob2 "
        ".tsv .jsonl .json .spacy or none. One file becomes OUTPUT_DIR/NAME.spacy (train, dev or test for "
        "the names above). Leave it out when naming the splits with --train",
        show_default=False,
    ),
    output_dir: Optional[Path] = typer.Argument(
        None, help="Folder for train.spacy, dev.spacy, test.spacy (those found)", show_default=False
    ),
    train: Optional[Path] = typer.Option(None, "--train", help="The training split: a file of any name"),
    dev: Optional[Path] = typer.Option(None, "--dev", help="The dev split: a file of any name"),
    test: Optional[Path] = typer.Option(None, "--test", help="The test split: a file of any name"),
    fmt: str = typer.Option(
        DEFAULTS.format,
        "--format",
        help=f"{' | '.join(FORMATS)}: auto (by suffix and content), columns (token first, NER tag last), "
        "spacy (spaCy / Prodigy JSONL: text, spans, tokens), doccano (text, label / entities), labelstudio "
        "(JSON export), docbin",
    ),
    misaligned: str = typer.Option(
        DEFAULTS.misaligned,
        help=f"{' | '.join(MISALIGNED)}: a span that does not fall on token boundaries: error, expand or "
        "contract it to whole tokens, or skip it",
    ),
    lang: str = typer.Option(
        DEFAULTS.lang, help="spaCy language whose tokenizer splits texts given without tokens"
    ),
    dev_split: Optional[float] = typer.Option(
        None, "--dev-split", help="No dev file: hold out this part of train's Docs as dev (e.g. 0.1; 0: none)"
    ),
    seed: int = typer.Option(DEFAULTS.seed, help="Which Docs --dev-split holds out"),
    n_sents: Optional[int] = typer.Option(
        DEFAULTS.n_sents,
        "--n-sents",
        "-n",
        help="Column files: sentences per Doc (never crossing articles); default: one Doc per article",
    ),
    scheme: str = typer.Option(
        DEFAULTS.scheme, help=f"Column files: NER tag scheme: {' | '.join(TAG_SCHEMES)} (auto: IOB1/IOB2)"
    ),
    strict: bool = typer.Option(
        DEFAULTS.strict, "--strict", help="Reject I- tags that open an entity instead of repairing them"
    ),
    no_articles: bool = typer.Option(
        not DEFAULTS.keep_articles,
        "--no-articles",
        help="Ignore -DOCSTART- boundaries (as HF datasets does): one Doc per --n-sents",
    ),
    revision: Optional[str] = typer.Option(None, help="Dataset revision, for hf: sources"),
) -> None:
    """Convert a corpus (column files, annotation-tool JSON / JSONL, DocBins, a HF dataset) to spaCy DocBin
    files, with a stats table. Nothing is written when any input has an error."""
    from ..data.sources import convert_splits, found_splits, named_splits

    named = {"train": given(train), "dev": given(dev), "test": given(test)}
    if any(named.values()) and output_dir is None and source is not None:
        output_dir, source = Path(source), None
    if output_dir is None:
        say(
            "✘",
            "red",
            "give OUTPUT_DIR: `convert SOURCE OUTPUT_DIR` or `convert --train FILE ... OUTPUT_DIR`",
        )
        raise typer.Exit(1)

    def run() -> list[tuple[SplitStats, Path]]:
        if source is not None and any(named.values()):
            raise ConfigError("give either SOURCE or --train/--dev/--test, not both")
        options = ConvertSettings(
            scheme=scheme,
            strict=strict,
            n_sents=n_sents,
            keep_articles=not no_articles,
            revision=revision,
            format=fmt,
            misaligned=misaligned,
            lang=lang,
            dev_split=dev_split or None,  # 0: none (a workflow variable's "off")
            seed=seed,
            progress=sys.stderr.isatty(),
        )
        check_output(output_dir, "folder", "OUTPUT_DIR")
        if any(named.values()):
            splits = named_splits(named)
        elif source is not None:
            splits = found_splits(source, revision)
        else:
            raise ConfigError("give SOURCE or --train FILE (with --dev FILE, --test FILE)")
        return convert_splits(splits, output_dir, options)

    rows = guarded(run, FLAGS)
    print_stats(rows)
    say("✔", "green", f"Wrote {len(rows)} DocBin file(s) to {output_dir}")


@app.command("export-conll", rich_help_panel="Data")
def export_conll_cli(
    docbin: Path = typer.Argument(
        ..., help="A .spacy file (DocBin) with sentence starts, e.g. from `convert`"
    ),
    output: Optional[Path] = typer.Argument(
        None, help="Where to write the CoNLL text (default: standard output)"
    ),
) -> None:
    """Write a converted DocBin back as 4-column (TOKEN POS CHUNK NER) IOB2 CoNLL text."""
    from ..data.docbin import export_conll

    def run() -> str:
        if output is not None:
            check_output(output, "file", "OUTPUT")
        return export_conll(docbin)

    text = guarded(run)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        say("✔", "green", f"Wrote {output}")


def given(path: Optional[Path]) -> Optional[Path]:
    """An optional path option; an empty value (a workflow variable left "") is no path."""
    return path if path is not None and str(path) not in ("", ".") else None


@app.command("fetch-corpus", rich_help_panel="Data")
def fetch_corpus_cli(
    source: Optional[str] = typer.Argument(
        None, help="A folder of split files, one file, or hf:DATASET_ID; ignored when --train is given"
    ),
    dest: Optional[Path] = typer.Argument(
        None, help="Folder for train / dev / test files and corpus.json", show_default=False
    ),
    train: Optional[Path] = typer.Option(None, "--train", help="The training split: a file of any name"),
    dev: Optional[Path] = typer.Option(None, "--dev", help="The dev split: a file of any name"),
    test: Optional[Path] = typer.Option(None, "--test", help="The test split: a file of any name"),
    revision: Optional[str] = typer.Option(None, help="Dataset revision, for hf: sources"),
) -> None:
    """Put a corpus into DEST as train / dev / test files (copied byte for byte, or written from HF datasets)
    for `convert DEST`, with corpus.json naming where each came from. The workflow's `data` step."""
    from ..data.fetch import fetch_corpus
    from ..data.sources import found_splits, named_splits

    named = {"train": given(train), "dev": given(dev), "test": given(test)}
    if dest is None and source:  # fetch-corpus --train FILE ... DEST
        dest, source = Path(source), None
    if dest is None:
        say("✘", "red", "give DEST: `fetch-corpus SOURCE DEST` or `fetch-corpus --train FILE ... DEST`")
        raise typer.Exit(1)

    def run() -> dict[str, Path]:
        check_output(dest, "folder", "DEST")
        if any(named.values()):
            splits = named_splits(named)
        elif source:
            splits = found_splits(source, revision)
        else:
            raise ConfigError("give SOURCE or --train FILE (with --dev FILE, --test FILE)")
        return fetch_corpus(splits, dest)

    written = guarded(run)
    say("✔", "green", f"Wrote {', '.join(str(p) for p in written.values())}")


@app.command("fetch-conll", rich_help_panel="Data")
def fetch_conll_cli(
    source: str = typer.Argument(..., help="A folder of CoNLL files, one CoNLL file, or hf:DATASET_ID"),
    dest: Path = typer.Argument(..., help="Folder for train.txt, valid.txt, test.txt"),
    revision: Optional[str] = typer.Option(None, help="Dataset revision, for hf: sources"),
) -> None:
    """Put CoNLL-2003 into DEST as train.txt / valid.txt / test.txt (copied, or written from HF datasets)."""
    from ..data.fetch import fetch_conll

    def run() -> dict[str, Path]:
        check_output(dest, "folder", "DEST")
        return fetch_conll(source, dest, revision)

    written = guarded(run)
    say("✔", "green", f"Wrote {', '.join(str(p) for p in written.values())}")
