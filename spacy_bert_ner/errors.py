"""The package's exceptions: one base, one child per kind of input that failed.

Every message names where the problem is (file and line, config field, option, model folder), what was
found and how to fix it. The CLI catches :class:`BertNerError` and prints the message as one line; as
``ValueError`` subclasses they also stop spaCy's config validation and user code the usual way.
"""

from __future__ import annotations


class BertNerError(ValueError):
    """Input that spacy-bert-ner cannot use; the message says where, what, and the fix."""


class DataError(BertNerError):
    """A corpus, tag sequence, DocBin, dataset or metrics file that is malformed, missing or inconsistent."""


class ConfigError(BertNerError):
    """A setting out of range or unknown: a train-hf config field, a component setting, a CLI option."""


class ModelError(BertNerError):
    """A model, tokenizer or saved pipeline that cannot be loaded or cannot serve as a word-level tagger."""
