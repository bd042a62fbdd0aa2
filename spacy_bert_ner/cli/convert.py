"""Data commands: convert, export-conll, fetch-conll."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from wasabi import msg

from ..output_paths import check_output
from .app import app
from .output import guarded

if TYPE_CHECKING:
    from ..data.docbin import SplitStats


def print_stats(rows: list[tuple[SplitStats, Path]]) -> None:
    """The per-split stats table: articles, sentences, tokens, entities per type."""
    labels = sorted({label for stats, _ in rows for label in stats.entities})
    header = ["split", "docs", "articles", "sentences", "tokens", "entities", *labels, "output"]
    data = [
        [
            s.name,
            s.docs,
            s.articles,
            s.sentences,
            s.tokens,
            s.n_entities,
            *(s.entities[label] for label in labels),
            str(out),
        ]
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
        None,
        "--n-sents",
        "-n",
        min=1,
        help="Sentences per Doc (never crossing articles); default: one Doc per article",
    ),
    scheme: str = typer.Option("auto", help="NER tag scheme: auto (IOB1/IOB2), iob1, iob2, bioes, bilou"),
    strict: bool = typer.Option(
        False, "--strict", help="Reject I- tags that open an entity instead of repairing them"
    ),
    no_articles: bool = typer.Option(
        False,
        "--no-articles",
        help="Ignore -DOCSTART- boundaries (as HF datasets does): one Doc per --n-sents",
    ),
    revision: Optional[str] = typer.Option(None, help="Dataset revision, for hf: sources"),
) -> None:
    """Convert CoNLL-2003 (column files or a HF dataset) to spaCy DocBin files, with a stats table."""
    from ..data.sources import convert_source

    def run() -> list[tuple[SplitStats, Path]]:
        check_output(output_dir, "folder", "OUTPUT_DIR")
        progress = sys.stderr.isatty()
        return convert_source(
            source,
            output_dir,
            scheme=scheme,
            strict=strict,
            n_sents=n_sents,
            keep_articles=not no_articles,
            revision=revision,
            progress=progress,
        )

    rows = guarded(run)
    print_stats(rows)
    msg.good(f"Wrote {len(rows)} DocBin file(s) to {output_dir}")


@app.command("export-conll")
def export_conll_cli(
    docbin: Path = typer.Argument(..., help="A .spacy file written by `convert`"),
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
        msg.good(f"Wrote {output}")


@app.command("fetch-conll")
def fetch_conll_cli(
    source: str = typer.Argument(..., help="A folder of CoNLL files, one CoNLL file, or hf:DATASET_ID"),
    dest: Path = typer.Argument(..., help="Folder for train.txt, valid.txt, test.txt"),
    revision: Optional[str] = typer.Option(None, help="Dataset revision, for hf: sources"),
) -> None:
    """Put CoNLL-2003 into DEST as train.txt / valid.txt / test.txt (copied, or written from HF datasets)."""
    from ..data.sources import fetch_conll

    def run() -> dict[str, Path]:
        check_output(dest, "folder", "DEST")
        return fetch_conll(source, dest, revision)

    written = guarded(run)
    msg.good(f"Wrote {', '.join(str(p) for p in written.values())}")
