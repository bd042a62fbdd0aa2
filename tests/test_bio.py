"""The one decoding rule: hand-computed cases, and equivalence with seqeval's default mode."""

from __future__ import annotations

import itertools

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from spacy_bert_ner.bio import scheme_of_labels, spans_to_iob2, split_tag, tags_to_spans
from spacy_bert_ner.errors import DataError


@pytest.mark.parametrize(
    "tags,expected",
    [
        ([], []),
        (["O", "O"], []),
        (["B-PER", "I-PER", "O"], [(0, 2, "PER")]),
        (["I-PER", "I-PER"], [(0, 2, "PER")]),  # I- after nothing starts an entity (conlleval)
        (["O", "I-LOC"], [(1, 2, "LOC")]),  # I- after O starts one
        (["B-PER", "I-LOC"], [(0, 1, "PER"), (1, 2, "LOC")]),  # a type change is a new entity
        (["B-ORG", "B-ORG"], [(0, 1, "ORG"), (1, 2, "ORG")]),  # adjacent B-X B-X: two entities
        (["I-ORG", "B-ORG", "I-ORG"], [(0, 1, "ORG"), (1, 3, "ORG")]),  # IOB1 separator
        (["B-WORK-OF-ART", "I-WORK-OF-ART"], [(0, 2, "WORK-OF-ART")]),  # hyphenated type
        (["B-PER", "E-PER", "S-LOC"], [(0, 2, "PER"), (2, 3, "LOC")]),
        (["S-PER", "S-PER"], [(0, 1, "PER"), (1, 2, "PER")]),
        (["B-PER", "I-PER", "E-PER", "I-PER"], [(0, 3, "PER"), (3, 4, "PER")]),  # I after E starts
    ],
)
def test_tags_to_spans_cases(tags: list[str], expected: list[tuple[int, int, str]]) -> None:
    assert tags_to_spans(tags) == expected


def test_bilou_reads_as_bioes() -> None:
    assert tags_to_spans(["B-PER", "L-PER", "U-LOC"], "bilou") == [(0, 2, "PER"), (2, 3, "LOC")]


def _seqeval(tags: list[str]) -> list[tuple[int, int, str]]:
    return [(start, end + 1, label) for label, start, end in get_entities(list(tags))]


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_equals_seqeval_default_mode_on_every_short_sequence(length: int) -> None:
    alphabet = ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B", "I-A-B"]
    for tags in itertools.product(alphabet, repeat=length):
        assert tags_to_spans(list(tags)) == _seqeval(list(tags)), tags


@pytest.mark.parametrize("tag", ["B", "B-", "X-PER", "b-PER", "", "E-PER"])
def test_invalid_tags_raise(tag: str) -> None:
    with pytest.raises(DataError, match="invalid tag"):
        split_tag(tag, "iob2")


def test_spans_to_iob2_round_trip() -> None:
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]
    assert spans_to_iob2(tags_to_spans(tags), len(tags)) == tags


@pytest.mark.parametrize(
    "labels,scheme",
    [
        (["O", "B-PER", "I-PER"], "iob2"),
        (["O", "I-PER"], "iob2"),
        (["O", "B-PER", "I-PER", "E-PER", "S-PER"], "bioes"),
        (["O", "B-PER", "I-PER", "L-PER", "U-PER"], "bilou"),
    ],
)
def test_scheme_of_labels(labels: list[str], scheme: str) -> None:
    assert scheme_of_labels(labels) == scheme


@pytest.mark.parametrize(
    "labels,message",
    [
        (["O", "PER", "B-LOC"], r"\['PER'\]"),
        (["O", "B-PER", "L-PER", "E-PER"], r"\['E-PER'\]"),
        (["O"], "no entity labels"),
        (["LABEL_0", "LABEL_1"], "LABEL_0"),
    ],
)
def test_scheme_of_labels_errors_name_the_labels(labels: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message):
        scheme_of_labels(labels)
