"""The typer app every command module adds its commands to (the CLI library spaCy itself uses)."""

from __future__ import annotations

import typer

from ..installs import guard_model_stack_once
from .output import guarded

app = typer.Typer(
    name="spacy_bert_ner",
    help="spacy-bert-ner: a BERT named-entity recogniser in spaCy. Convert a corpus (CoNLL-2003, your "
    "own files) to DocBins, train a HF token classifier and assemble it as a spaCy pipeline (`bert_ner`), "
    "tune its inference, evaluate it on raw text and check spaCy's scores against seqeval, annotate whole "
    "corpora. The spaCy-native route trains with `python -m spacy train configs/bert_ner*.cfg`.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def check_installs() -> None:
    """Before any command: the installed model stack fits together, or one line with the conflict and its
    fix (exit 1 where transformers cannot import; :func:`spacy_bert_ner.installs.guard_model_stack`)."""
    guarded(guard_model_stack_once)
