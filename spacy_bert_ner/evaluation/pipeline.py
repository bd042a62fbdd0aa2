"""A saved spaCy pipeline loaded for evaluation (``parity``, ``evaluate-raw``, the report) or ``annotate``."""

from __future__ import annotations

from pathlib import Path

from spacy.language import Language

from ..errors import ModelError


def load_pipeline(path: str | Path, gpu_id: int = -1) -> Language:
    """``spacy.load`` a pipeline folder or an installed pipeline package (on GPU ``gpu_id`` if >= 0), with
    an error that names the fix."""
    import spacy

    if isinstance(path, str) and not Path(path).exists() and spacy.util.is_package(path):
        if gpu_id >= 0:
            spacy.require_gpu(gpu_id)
        return spacy.load(path)
    path = Path(path)
    if not (path / "config.cfg").is_file():
        raise ModelError(
            f"{path}: not a saved spaCy pipeline (no config.cfg); pass the folder `spacy train` wrote "
            "(e.g. training/model-best) or `python -m spacy_bert_ner assemble`'s output, or an installed "
            "pipeline package's name"
        )
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    return spacy.load(path)
