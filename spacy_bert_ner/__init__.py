"""spacy-bert-ner: a BERT named-entity recogniser as a first-class spaCy citizen.

The ``bert_ner`` factory and the ``spacy-bert-ner.memory_guard.v1`` callback register through entry points
(``nlp.add_pipe("bert_ner")`` needs no import). The public names below load their module on first use, so
``import spacy_bert_ner`` stays light and each CLI command imports only the modules it runs.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

# public name -> the module that defines it
_PUBLIC = {
    "BertNER": "pipeline.bert_ner",
    "make_bert_ner": "pipeline.bert_ner",
    "assemble_pipeline": "pipeline.assemble",
    "make_memory_guard": "training.memory_guard",
    "BertNerError": "errors",
    "ConfigError": "errors",
    "DataError": "errors",
    "ModelError": "errors",
    "BertNerWarning": "errors",
    "DataWarning": "errors",
    "RepairWarning": "errors",
    "ConfigWarning": "errors",
    "read_conll": "data.conll",
    "docs_to_conll": "data.docs",
    "read_docbin": "data.docbin",
    "convert_source": "data.sources",
    "fetch_conll": "data.fetch",
    "TokenClassifier": "hf.inference.classifier",
    "ReadingOptions": "hf.inference.options",
    "load_token_classifier": "hf.inference.classifier",
    "load_settings": "hf.finetune.settings",
    "seqeval_scores": "scores",
    "parity": "evaluation.parity",
    "write_report": "evaluation.report",
    "tune": "tuning.search",
    "tune_pipeline": "tuning.search",
    "TuneSettings": "tuning.tune_settings",
    "optimize_pipeline": "tuning.optimize",
    "OptimizeSettings": "tuning.optimize_settings",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'spacy_bert_ner' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
