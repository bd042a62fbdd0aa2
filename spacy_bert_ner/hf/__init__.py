"""torch / transformers only, no spaCy, in three folders by job: ``inference/`` (load a token classifier and
label words, through one of its runtimes), ``finetune/`` (train-hf's course recipe: labels, encoding, backbone
and head, metrics, the Trainer, its settings and budget) and ``export/`` (ONNX export, fusion, int8 recipes).

Importing it first checks that the installed model stack fits together
(:func:`spacy_bert_ner.installs.guard_model_stack`): where it does not, the one-line conflict and its fix
come before any traceback (an :class:`~spacy_bert_ner.errors.InstallError` where transformers cannot
import, an :class:`~spacy_bert_ner.errors.InstallWarning` where it still can)."""

from ..installs import guard_model_stack_once

guard_model_stack_once()
