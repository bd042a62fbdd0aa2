"""``train-hf``: the Hugging Face course recipe (:mod:`spacy_bert_ner.hf.finetune.recipe`) on the DocBins that
``convert`` wrote (:mod:`spacy_bert_ner.data.tagged`): the glue between the spaCy side and the HF side."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Mapping, Optional

from ..bio import TaggedSentence
from ..data.tagged import ReadReport, read_documents
from ..errors import DataError, DataWarning
from ..hf.finetune.recipe import Prepared, prepare
from ..hf.finetune.settings import HFTrainSettings, load_settings


def read_splits(
    settings: HFTrainSettings,
) -> tuple[dict[str, list[list[TaggedSentence]]], dict[str, ReadReport]]:
    """train / dev (/ test) sentences of a ``train-hf`` config, one list per Doc, and how each file was
    read; one warning per file whose reading split, merged or marked anything. Errors name the ``[paths]``
    field."""
    splits, reports = {}, {}
    for split, path in settings.split_paths().items():
        where = settings.field("paths", split, str(path))
        try:
            splits[split], reports[split] = read_documents(path)
        except DataError as err:
            detail = str(err).removeprefix(f"{path}: ")
            raise DataError(f"{where}: {detail}") from None
        done = reports[split].describe()
        if done:
            warnings.warn(f"{where}: {done}", DataWarning)
    return splits, reports


def prepare_training(config_path: str | Path, overrides: Optional[Mapping[str, Any]] = None) -> Prepared:
    """Read and check the config and the corpus, load the backbone, build the Trainer: every input error
    stops here, before the first training step."""
    settings = load_settings(config_path, overrides)
    splits, reports = read_splits(settings)
    return prepare(settings, splits, {split: report.as_dict() for split, report in reports.items()})
