"""torch / transformers only, no spaCy: load a token classifier, label words, align labels, the train-hf
recipe.

Importing it first checks that the installed model stack fits together
(:func:`spacy_bert_ner.installs.guard_model_stack`): where it does not, the one-line conflict and its fix
come before any traceback (an :class:`~spacy_bert_ner.errors.InstallError` where transformers cannot
import, an :class:`~spacy_bert_ner.errors.InstallWarning` where it still can)."""

from ..installs import guard_model_stack_once

guard_model_stack_once()
