"""spacy-bert-ner: a BERT named-entity recogniser as a first-class spaCy citizen."""

__version__ = "0.1.0"

from . import component  # noqa: F401  registers the bert_ner factory
