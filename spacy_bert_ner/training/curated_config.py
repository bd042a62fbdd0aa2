"""A spacy-curated-transformers config against its backbone: the encoder's sizes in
``[components.transformer.model]`` must be the backbone's (``config.json``), or initialize fails deep in
``load_state_dict`` with a size mismatch per tensor. Checked before training (``check-gpu --spacy-config
--backbone``), where the backbone is a local folder.

Reads config text and JSON only: no spaCy model, no torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple, Optional

from spacy.util import load_config

CURATED_PREFIX = "spacy-curated-transformers."
# config.json key (HF BertConfig) -> BertTransformer.v1 setting
SIZES = {
    "vocab_size": "vocab_size",
    "hidden_size": "hidden_width",
    "intermediate_size": "intermediate_width",
    "num_attention_heads": "num_attention_heads",
    "num_hidden_layers": "num_hidden_layers",
    "max_position_embeddings": "max_position_embeddings",
    "type_vocab_size": "type_vocab_size",
}


def is_curated(config_path: Path) -> bool:
    """Whether a spaCy config builds its transformer with spacy-curated-transformers."""
    return CURATED_PREFIX in config_path.read_text(encoding="utf-8")


def encoder_settings(config_path: Path) -> dict[str, Any]:
    """``[components.transformer.model]`` as written (not interpolated beyond spaCy's own variables)."""
    return dict(load_config(config_path)["components"]["transformer"]["model"])


class Mismatch(NamedTuple):
    """One size the config and the backbone disagree on."""

    setting: str  # the BertTransformer.v1 setting
    configured: Any
    key: str  # the config.json key
    backbone: Any


def size_mismatches(config_path: Path, backbone: Path) -> list[Mismatch]:
    """Each size the config and the backbone's config.json disagree on (empty: they fit, or the backbone
    has no config.json to compare with)."""
    found = backbone / "config.json"
    if not found.is_file():
        return []
    hf = json.loads(found.read_text(encoding="utf-8"))
    model = encoder_settings(config_path)
    return [
        Mismatch(setting, model[setting], key, hf[key])
        for key, setting in SIZES.items()
        if key in hf and setting in model and model[setting] != hf[key]
    ]


def size_problem(config_path: Path, backbone: Optional[str]) -> Optional[str]:
    """One line naming the sizes a curated config must change to fit a local backbone folder, or None."""
    if backbone is None or not Path(backbone).is_dir() or not is_curated(config_path):
        return None
    mismatches = size_mismatches(config_path, Path(backbone))
    if not mismatches:
        return None
    found = "; ".join(f"{m.setting} = {m.configured} where it has {m.key} = {m.backbone}" for m in mismatches)
    overrides = " ".join(f"--components.transformer.model.{m.setting} {m.backbone}" for m in mismatches)
    return (
        f"{config_path} [components.transformer.model] does not fit the backbone {backbone}/config.json: "
        f"{found}. Set them in the config, or override them: spacy train ... {overrides}"
    )
