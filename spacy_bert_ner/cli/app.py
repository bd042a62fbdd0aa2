"""The typer app every command module adds its commands to (the CLI library spaCy itself uses)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="spacy_bert_ner",
    help="spacy-bert-ner: CoNLL-2003 -> DocBin, BERT NER training, wrapping and evaluation for spaCy.",
    no_args_is_help=True,
    add_completion=False,
)
