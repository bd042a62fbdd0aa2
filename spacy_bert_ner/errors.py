"""The package's exceptions and warnings: one base each, one child per kind of input.

Every message names where the problem is (file and line, config field, option, model folder), what was
found and how to fix it. The CLI catches :class:`BertNerError` and prints the message as one line; as
``ValueError`` subclasses they also stop spaCy's config validation and user code the usual way.

Warnings say what was done with input that did not stop the run (a repair, a skipped file, a setting with
nothing to act on). Each is a :class:`BertNerWarning` of one kind, so a user can silence or escalate a kind
as spaCy's users do with its warnings, e.g. ``warnings.filterwarnings("ignore", category=RepairWarning)``
or ``python -W error::spacy_bert_ner.errors.DataWarning``.
"""

from __future__ import annotations


class BertNerError(ValueError):
    """Input that spacy-bert-ner cannot use; the message says where, what, and the fix."""


class DataError(BertNerError):
    """A corpus, tag sequence, DocBin, dataset or metrics file that is malformed, missing or inconsistent."""


class ConfigError(BertNerError):
    """A setting out of range or unknown: a train-hf config field, a component setting, a CLI option."""


class FusionError(ConfigError):
    """An ONNX graph could not be fused into ONNX Runtime's kernels as an int8 recipe needs: the reason,
    and the recipes to choose instead (``optimize`` skips that recipe and says why)."""


class ModelError(BertNerError):
    """A model, tokenizer or saved pipeline that cannot be loaded or cannot serve as a word-level tagger."""


class TrainingError(BertNerError):
    """A training run that ended without a usable model (dev F1 under the floor, no entity predicted): the
    figures, the likely causes and the settings to change."""


class InstallError(ImportError):
    """The installed packages do not fit together and the model stack cannot be imported: the conflict and
    the one command that mends it (an ImportError, as the failure it replaces)."""


class BertNerWarning(UserWarning):
    """Input used with a change or a gap; the message says where, what, and the way out."""


class DataWarning(BertNerWarning):
    """Data read with a gap or a loss: a split or file left out, sentences cut, entity types a split lacks."""


class RepairWarning(DataWarning):
    """Tags repaired as they were read: I- tags that open an entity, by the conlleval rule."""


class ConfigWarning(BertNerWarning):
    """A setting or option that has nothing to act on for this input, so it changes nothing."""


class TrainingWarning(BertNerWarning):
    """A training run that ended with a model worth checking: stopped while dev F1 was still rising, or kept
    on purpose though it did not learn."""


class InstallWarning(BertNerWarning):
    """The installed packages do not fit together, though the model stack still imports: the conflict and
    the command that mends it."""
