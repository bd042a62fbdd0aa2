"""What loading a model for word-level tagging needs in both routes (``bert_ner`` and train-hf): where a
model name points, a fast tokenizer that takes pre-split words, and the longest input the model takes.

transformers only. Errors are :class:`~spacy_bert_ner.errors.ModelError`; the caller says where the name
came from (``where``) and how to fix it (``fix``), so the one rule serves a component setting and a config
field alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional

from ...errors import ModelError

DEFAULT_MAX_LENGTH = 512  # when neither the tokenizer nor the model config states a limit
UNSET_LIMIT = 1_000_000  # tokenizers without a limit report ~1e30 as model_max_length


def resolve_model(name_or_path: str, where: str = "", fix: str = "") -> str:
    """An existing local folder as an absolute path, else the string as a hub id.

    A name that can only be a path (``./x``, ``/x``, ``~/x``, more than one ``/``) and is no folder raises
    :class:`ModelError`: ``{where}no model folder at ... (from NAME); {fix}``.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path.resolve())
    looks_local = (
        name_or_path.startswith((".", "/", "~"))
        or name_or_path.count("/") > 1
        or os.sep != "/"
        and os.sep in name_or_path
    )
    if looks_local or path.exists():
        raise ModelError(f"{where}no model folder at {path.resolve()} (from {name_or_path!r}); {fix}")
    return name_or_path


def load_word_tokenizer(source: str, revision: Optional[str] = None) -> Any:
    """``AutoTokenizer`` for pre-split words (``is_split_into_words``); byte-level BPE tokenizers (RoBERTa,
    GPT-2 style) are reloaded with ``add_prefix_space=True``, which they need for that. Loading errors
    (``OSError``, ``ValueError``) are the caller's to word; see :func:`require_fast` for the tokenizer
    kind."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, use_fast=True)
    if getattr(tokenizer, "add_prefix_space", None) is False:
        tokenizer = AutoTokenizer.from_pretrained(
            source, revision=revision, use_fast=True, add_prefix_space=True
        )
    return tokenizer


def require_fast(tokenizer: Any, where: str, fix: str) -> None:
    """Raise :class:`ModelError` unless ``tokenizer`` is a fast (Rust) one: word alignment needs
    ``word_ids``."""
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(
            f"{where}: its tokenizer ({type(tokenizer).__name__}) is not a 'fast' (Rust) tokenizer, "
            f"which word alignment (word_ids) needs; {fix}"
        )


def label_names(id2label: Mapping[int, str] | Mapping[str, str], source: str = "the model") -> list[str]:
    """A model config's ``id2label`` (int keys, or str keys as in config.json) as the labels by id; the ids
    must be 0..n-1."""
    ids = sorted(int(i) for i in id2label)
    if ids != list(range(len(ids))):
        raise ModelError(f"{source}: config.json id2label keys {ids} are not 0..{len(ids) - 1}")
    by_id = {int(i): label for i, label in id2label.items()}
    return [by_id[i] for i in ids]


def classifier_labels(model_config: Any) -> Optional[list[str]]:
    """The labels of a token classifier's head (``architectures`` ending in ``ForTokenClassification``), by
    id; None for any other checkpoint (a plain encoder, a masked LM), which has no such head."""
    architectures = getattr(model_config, "architectures", None) or []
    if not any(name.endswith("ForTokenClassification") for name in architectures):
        return None
    return label_names(model_config.id2label, getattr(model_config, "name_or_path", "") or "the model")


def max_input_length(tokenizer: Any, model_config: Any, wanted: Optional[int] = None) -> int:
    """The longest input in wordpieces, special tokens included: ``wanted`` capped by the tokenizer's limit
    and the model's position embeddings (512 when none of them says)."""
    limits = [wanted, getattr(model_config, "max_position_embeddings", None)]
    if tokenizer.model_max_length < UNSET_LIMIT:
        limits.append(tokenizer.model_max_length)
    known = [limit for limit in limits if limit]
    return min(known) if known else DEFAULT_MAX_LENGTH
