"""``train-hf``: the Hugging Face course recipe (:mod:`spacy_bert_ner.hf.recipe`) on the DocBins that
``convert`` wrote (:mod:`spacy_bert_ner.data.tagged`): the glue between the spaCy side and the HF side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

from ..bio import TaggedSentence
from ..data.tagged import read_documents
from ..errors import DataError
from ..hf.recipe import Prepared, prepare
from ..hf.settings import HFTrainSettings, load_settings


def read_splits(settings: HFTrainSettings) -> dict[str, list[list[TaggedSentence]]]:
    """train / dev (/ test) sentences of a ``train-hf`` config, one list per Doc; errors name the ``[paths]``
    field."""
    splits = {}
    for split, path in settings.split_paths().items():
        try:
            splits[split] = read_documents(path)
        except DataError as err:
            detail = str(err).removeprefix(f"{path}: ")
            raise DataError(f"{settings.field('paths', split, str(path))}: {detail}") from None
    return splits


def prepare_training(config_path: str | Path, overrides: Optional[Mapping[str, Any]] = None) -> Prepared:
    """Read and check the config and the corpus, load the backbone, build the Trainer: every input error
    stops here, before the first training step."""
    settings = load_settings(config_path, overrides)
    return prepare(settings, read_splits(settings))
