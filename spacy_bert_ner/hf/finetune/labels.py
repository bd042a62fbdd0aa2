"""Which entity labels a train-hf run learns: the data's tags checked against a listed ``[model] labels``, or
the labels read from the data."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Iterable, Mapping, Sequence

from ...bio import TaggedSentence, tags_to_spans
from ...errors import (
    DataError,
    DataWarning,
)
from .align import MISSING
from .settings import CONVERT_HINT, HFTrainSettings

Documents = Sequence[Sequence[TaggedSentence]]  # one split: the sentences of each document


def known_tags(tags: Sequence[str]) -> list[str]:
    """``tags`` with :data:`.align.MISSING` (a word with no annotation) read as ``O``, as scores read it."""
    return ["O" if tag == MISSING else tag for tag in tags]


def entity_types(documents: Documents) -> Counter:
    """How many entities of each type one split holds."""
    return sentence_entity_types(tags for document in documents for _, tags in document)


def sentence_entity_types(sentences_tags: Iterable[Sequence[str]]) -> Counter:
    """How many entities of each type sentences' gold tags hold."""
    return Counter(type_ for tags in sentences_tags for _, _, type_ in tags_to_spans(known_tags(tags)))


def check_sentences(settings: HFTrainSettings, splits: Mapping[str, Documents]) -> None:
    """No empty train/dev split; a listed ``[model] labels`` covers every tag in the data and names only
    entity types that train, dev or test have."""
    listed = settings.model.labels
    for split, documents in splits.items():
        sentences = [sentence for document in documents for sentence in document]
        path = settings.split_paths()[split]
        where = settings.field("paths", split, str(path))
        if not sentences and split in ("train", "dev"):
            raise DataError(
                f"{where}: no sentences with words in it, nothing to "
                f"{'train on' if split == 'train' else 'evaluate'}; point it at a converted corpus "
                f"(`{CONVERT_HINT}`)"
            )
        if listed is None:
            continue
        known = {*listed, MISSING}
        unknown = Counter(tag for _, tags in sentences for tag in tags if tag not in known)
        if unknown:
            tags = ", ".join(f"{tag} ({n} words)" for tag, n in sorted(unknown.items()))
            raise DataError(
                f"{where}: the data has labels that [model] labels does not list: {tags}; add them to "
                f"[model] labels in {settings.source} (or --model.labels '[...]'), or leave [model] labels "
                "out to take them from the data"
            )
    if listed is not None:
        check_listed_types(settings, listed, splits)


def check_listed_types(
    settings: HFTrainSettings, listed: Sequence[str], splits: Mapping[str, Documents]
) -> None:
    """Every type that ``[model] labels`` names occurs in train, dev or test: an absent one is an output
    class that nothing trains or scores."""
    found = set().union(*(entity_types(documents) for documents in splits.values()))
    absent = [label for label in listed if label != "O" and label[2:] not in found]
    if absent:
        raise DataError(
            f"{settings.source} [model] labels: {', '.join(absent)} name entity types that occur in none of "
            f"[paths] {', '.join(splits)}; remove them from [model] labels, or leave [model] labels out "
            "(null) to take the labels from the data"
        )


def data_labels(types: Mapping[str, Counter]) -> list[str]:
    """The tag set of the data (``types``: :func:`entity_types` per split): ``O``, then ``B-X``, ``I-X`` for
    each type of train in sorted order, then for each type that only dev or test has, sorted."""
    trained = sorted(types["train"])
    others = sorted(set().union(*types.values()) - set(trained))
    return ["O", *(f"{prefix}-{type_}" for type_ in [*trained, *others] for prefix in "BI")]


def resolve_labels(settings: HFTrainSettings, splits: Mapping[str, Documents]) -> list[str]:
    """``[model] labels``, or when it is null the labels of the data (:func:`data_labels`); warns about
    entity types that dev or test have and train lacks (the model cannot learn them: each is a miss)."""
    types = {split: entity_types(documents) for split, documents in splits.items()}
    untrained = sorted({type_ for counts in types.values() for type_ in counts} - set(types["train"]))
    if untrained:
        counts = "; ".join(
            f"{type_} ({', '.join(f'{split} {n[type_]}' for split, n in types.items() if n[type_])})"
            for type_ in untrained
        )
        warnings.warn(
            f"{settings.field('paths', 'train', settings.paths.train)}: no entities of types that other "
            f"splits have: {counts}; the model cannot learn them, so each counts as a miss in those splits' "
            "scores; add examples of them to the training data",
            DataWarning,
        )
    if settings.model.labels is not None:
        return list(settings.model.labels)
    labels = data_labels(types)
    if len(labels) == 1:
        raise DataError(
            f"{settings.source} [model] labels = null: no entities in [paths] {', '.join(splits)} to take "
            f"the labels from; check that the DocBins carry doc.ents (`{CONVERT_HINT}` writes them)"
        )
    return labels
