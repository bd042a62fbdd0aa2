"""A saved spaCy pipeline loaded for evaluation (``parity``, ``evaluate-raw``, the report) or ``annotate``,
and the one place that sets what a run of them changes in the process (GPU, torch threads).

:func:`load_pipeline` changes no process state, as ``spacy.load`` does not; :func:`configure_process` is the
call that does, made by what runs a command (the CLI's ``*_pipeline`` functions, the annotate workers, the Ray
actor), never by a library function that takes an ``nlp``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from spacy.language import Language

from ..errors import ModelError


def configure_process(gpu_id: int = -1, torch_threads: Optional[int] = None) -> None:
    """What a command sets for the whole process: torch's thread count (``torch_threads``, if given;
    processes forked later inherit it) and spaCy's GPU (``gpu_id`` >= 0: ``spacy.require_gpu``)."""
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    if gpu_id >= 0:
        import spacy

        spacy.require_gpu(gpu_id)


def load_pipeline(path: str | Path) -> Language:
    """``spacy.load`` a pipeline folder or an installed pipeline package, with an error that names the fix.
    Changes no process state: call :func:`configure_process` first for a GPU or a thread count."""
    import spacy

    is_package = isinstance(path, str) and not Path(path).exists() and spacy.util.is_package(path)
    if not is_package and not (Path(path) / "config.cfg").is_file():
        raise ModelError(
            f"{path}: not a saved spaCy pipeline (no config.cfg); pass the folder `spacy train` wrote "
            "(e.g. training/model-best) or `python -m spacy_bert_ner assemble`'s output, or an installed "
            "pipeline package's name"
        )
    return spacy.load(path if is_package else Path(path))
