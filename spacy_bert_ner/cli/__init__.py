"""``python -m spacy_bert_ner``: the typer app and its commands, one module per group.

Each command parses its arguments, checks its output paths, calls one library function with named settings
and prints. A command imports the library modules it runs in its own body, so ``python -m spacy_bert_ner
CMD`` loads only what CMD uses beside this package: project.yml lists exactly those modules as each step's
deps (``tests/test_project.py`` derives them from what the steps import) and a change to one module re-runs
only the steps that use it.
"""

from __future__ import annotations

# Imported in the order a user meets the commands, which is the order --help lists them in.
from . import convert, train, tune, optimize, evaluate, annotate, workflow  # isort: skip  # noqa: F401 (add commands)
from .app import app

__all__ = ["app"]
