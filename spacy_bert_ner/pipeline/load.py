"""A saved spaCy pipeline loaded for evaluation (``parity``, ``evaluate-raw``, the report) or ``annotate``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from spacy.language import Language

from ..errors import ModelError


def load_pipeline(path: str | Path, gpu_id: int = -1, torch_threads: Optional[int] = None) -> Language:
    """``spacy.load`` a pipeline folder or an installed pipeline package (on GPU ``gpu_id`` if >= 0), with
    an error that names the fix; torch set to ``torch_threads`` threads first if given (processes forked
    later inherit it)."""
    import spacy

    is_package = isinstance(path, str) and not Path(path).exists() and spacy.util.is_package(path)
    if not is_package and not (Path(path) / "config.cfg").is_file():
        raise ModelError(
            f"{path}: not a saved spaCy pipeline (no config.cfg); pass the folder `spacy train` wrote "
            "(e.g. training/model-best) or `python -m spacy_bert_ner assemble`'s output, or an installed "
            "pipeline package's name"
        )
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    return spacy.load(path if is_package else Path(path))
