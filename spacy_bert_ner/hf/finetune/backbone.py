"""The model train-hf fine-tunes: a backbone with a new token-classification head for the run's labels, or a
token classifier that keeps its head for the same labels."""

from __future__ import annotations

import json
from typing import Optional, Sequence

import torch
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from ...errors import (
    ModelError,
)
from ..inference.loading import (
    classifier_labels,
    load_word_tokenizer,
    require_fast,
    resolve_model,
)
from .settings import HFTrainSettings, one_line


def load_backbone(
    settings: HFTrainSettings, labels: Sequence[str]
) -> tuple[PreTrainedTokenizerFast, PreTrainedModel, Optional[list[str]]]:
    """The backbone (``[model] start_from`` when set, else ``[model] backbone``) as an
    ``AutoModelForTokenClassification`` for ``labels``, its fast tokenizer, and the labels it was fine-tuned
    for (None for a plain encoder).

    A backbone that is already a token classifier keeps its encoder; its classifier head is kept only for
    the same labels in the same order, and made anew (as for a plain encoder) otherwise, even for as many
    labels.
    """
    model = settings.model
    key, name = model.start
    where = settings.field("model", key, name)
    fix = (
        f"set [model] {key} (or --model.{key}) to a local model folder or a hub id; a hub id needs "
        "the hub or the HF cache (HF_HUB_OFFLINE=1)"
    )
    source = resolve_model(
        name,
        where=f"{where}: ",
        fix=f"set [model] {key} (or --model.{key}) to a folder saved with save_pretrained "
        "or to a hub id such as bert-base-cased",
    )
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    try:
        backbone_labels = classifier_labels(AutoConfig.from_pretrained(source, revision=model.revision))
        config = AutoConfig.from_pretrained(
            source, revision=model.revision, num_labels=len(id2label), id2label=id2label, label2id=label2id
        )
    except (OSError, ValueError) as err:
        raise ModelError(f"{where}: cannot load it ({one_line(err, 200)}); {fix}") from None
    try:
        tokenizer = load_word_tokenizer(source, model.revision)
    except (OSError, ValueError, TypeError) as err:
        raise ModelError(f"{where}: cannot load its tokenizer ({one_line(err, 200)}); {fix}") from None
    require_fast(tokenizer, where, "choose a backbone that ships tokenizer.json")
    # A head of another size is left out by from_pretrained (and initialised); one of the same size is
    # loaded, so it is initialised here unless the labels are the same.
    mismatched = {"ignore_mismatched_sizes": True} if backbone_labels is not None else {}
    try:
        classifier = AutoModelForTokenClassification.from_pretrained(
            source, config=config, revision=model.revision, **mismatched
        )
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelError(
            f"{where}: cannot load it as a token classifier ({one_line(err, 200)}); {fix}"
        ) from None
    if backbone_labels is not None and backbone_labels != list(labels):
        new_head(classifier)
    return tokenizer, classifier, backbone_labels


def new_head(model: PreTrainedModel) -> None:
    """Initialise every module outside the encoder (``base_model``: the classifier head) afresh, as
    ``from_pretrained`` initialises a head that the checkpoint lacks: linear weights from N(0, the config's
    ``initializer_range``), biases zero. Done here with torch's own init, not ``model._init_weights``:
    transformers 5 skips tensors it has loaded from the checkpoint, so a same-size head would be kept."""
    std = getattr(model.config, "initializer_range", 0.02)
    with torch.no_grad():
        for child in model.children():
            if child is model.base_model:
                continue
            for module in child.modules():
                if isinstance(module, torch.nn.Linear):
                    torch.nn.init.normal_(module.weight, mean=0.0, std=std)
                    if module.bias is not None:
                        torch.nn.init.zeros_(module.bias)


def head_note(
    backbone: str, backbone_labels: Optional[Sequence[str]], labels: Sequence[str]
) -> Optional[str]:
    """What became of a fine-tuned backbone's classifier head; None for a plain encoder."""
    if backbone_labels is None:
        return None
    if list(backbone_labels) == list(labels):
        return (
            f"backbone {backbone} was fine-tuned for {json.dumps(list(labels))}; its classifier head is kept "
            "(the same labels in the same order)"
        )
    return (
        f"backbone {backbone} was fine-tuned for {json.dumps(list(backbone_labels))}; its classifier head is "
        f"replaced by a new one for {json.dumps(list(labels))}"
    )
