"""Subword label alignment (the course's rule, first-subword-only) and the way back: hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import CONLL_LABELS, SPECIAL_TOKENS
from transformers import BertTokenizerFast

from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.hf.finetune.align import (
    IGNORE,
    align_labels,
    check_label_set,
    first_subwords,
    inside_tag,
    word_tags,
)

pytestmark = pytest.mark.core

X = IGNORE
# O 0, B-PER 1, I-PER 2, B-ORG 3, I-ORG 4, B-LOC 5, I-LOC 6, B-MISC 7, I-MISC 8
L2I = {label: i for i, label in enumerate(CONLL_LABELS)}
I2L = dict(enumerate(CONLL_LABELS))

# (case, word_ids as a tokenizer gives them, word tags, all_subwords ids, first_subword ids)
CASES = [
    ("one subword per word", [None, 0, 1, None], ["B-ORG", "O"], [X, 3, 0, X], [X, 3, 0, X]),
    (
        "B then I, both split",
        [None, 0, 0, 1, 1, None],
        ["B-PER", "I-PER"],
        [X, 1, 2, 2, 2, X],
        [X, 1, X, 2, X, X],
    ),
    ("B word in three subwords", [None, 0, 0, 0, None], ["B-LOC"], [X, 5, 6, 6, X], [X, 5, X, X, X]),
    ("O word split", [None, 0, 0, None], ["O"], [X, 0, 0, X], [X, 0, X, X]),
    ("I word split stays I", [None, 0, 1, 1, None], ["B-MISC", "I-MISC"], [X, 7, 8, 8, X], [X, 7, 8, X, X]),
    ("adjacent B-X B-X", [None, 0, 0, 1, None], ["B-PER", "B-PER"], [X, 1, 2, 1, X], [X, 1, X, 1, X]),
    ("I- after O kept", [None, 0, 1, 1, None], ["O", "I-ORG"], [X, 0, 4, 4, X], [X, 0, 4, X, X]),
    ("B-PER I-LOC kept", [None, 0, 1, None], ["B-PER", "I-LOC"], [X, 1, 6, X], [X, 1, 6, X]),
    ("word with no subwords", [None, 0, 2, None], ["B-LOC", "O", "B-PER"], [X, 5, 1, X], [X, 5, 1, X]),
    ("cut by truncation", [None, 0, 0, None], ["B-ORG", "I-ORG"], [X, 3, 4, X], [X, 3, X, X]),
    ("no special tokens", [0, 0, 1], ["B-PER", "O"], [1, 2, 0], [1, X, 0]),
    ("empty sentence", [None, None], [], [X, X], [X, X]),
]


@pytest.mark.parametrize(
    "word_ids, tags, all_subwords, first_subword", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_align_labels(word_ids, tags, all_subwords, first_subword) -> None:
    assert align_labels(word_ids, tags, L2I, "all_subwords") == all_subwords
    assert align_labels(word_ids, tags, L2I, "first_subword") == first_subword


def test_hyphenated_type_becomes_inside() -> None:
    labels = {"O": 0, "B-WORK-OF-ART": 1, "I-WORK-OF-ART": 2}
    assert inside_tag("B-WORK-OF-ART") == "I-WORK-OF-ART"
    assert align_labels([None, 0, 0, 0, None], ["B-WORK-OF-ART"], labels) == [X, 1, 2, 2, X]


def test_unknown_alignment() -> None:
    with pytest.raises(ValueError, match="all_subwords"):
        align_labels([0], ["O"], L2I, "average")  # type: ignore[arg-type]


def test_real_tokenizer_word_ids(tmp_path: Path) -> None:
    """A hand-written vocab: 'Jimi' -> Jim ##i, 'London' -> Lon ##do ##n, '???' -> [UNK]."""
    (tmp_path / "vocab.txt").write_text(
        "\n".join(SPECIAL_TOKENS + ["Jim", "##i", "Hendrix", "in", "Lon", "##do", "##n"])
    )
    tokenizer = BertTokenizerFast.from_pretrained(tmp_path, do_lower_case=False)
    words = ["Jimi", "Hendrix", "in", "London"]
    encoding = tokenizer(words, is_split_into_words=True)
    assert encoding.tokens() == ["[CLS]", "Jim", "##i", "Hendrix", "in", "Lon", "##do", "##n", "[SEP]"]
    tags = ["B-PER", "I-PER", "O", "B-LOC"]
    assert align_labels(encoding.word_ids(), tags, L2I) == [X, 1, 2, 2, 0, 5, 6, 6, X]
    assert align_labels(encoding.word_ids(), tags, L2I, "first_subword") == [X, 1, X, 2, 0, 5, X, X, X]


# (word_ids, n_words, first-subword positions)
FIRST = [
    ([None, 0, 0, 1, None], 2, [1, 3]),
    ([None, 0, 2, 2, None], 3, [1, -1, 2]),  # word 1 has no subwords
    ([None, 0, 0, None], 3, [1, -1, -1]),  # words 1 and 2 cut by truncation
    ([None, None], 0, []),
]


@pytest.mark.parametrize("word_ids, n_words, expected", FIRST)
def test_first_subwords(word_ids, n_words, expected) -> None:
    assert first_subwords(word_ids, n_words) == expected


def test_word_tags_take_the_first_subword_and_o_for_none() -> None:
    # subwords:  [CLS] Jim   ##i  (word 1 none) London  [SEP]
    predicted = [0, 1, 6, 5, 0]
    assert word_tags(predicted, [None, 0, 0, 2, None], 3, I2L) == ["B-PER", "O", "B-LOC"]


@pytest.mark.parametrize(
    "labels, message",
    [
        (["O", "B-PER", "I-PER", "B-PER"], "listed twice"),
        (["O", "PER"], "not O, B-TYPE or I-TYPE"),
        (["O", "B-PER", "I-PER", "E-PER", "S-PER"], "not O, B-TYPE or I-TYPE"),
        (["O", "B-"], "not O, B-TYPE or I-TYPE"),
        (["B-PER", "I-PER"], "no 'O'"),
        (["O"], "no entity labels"),
        (["O", "B-PER", "I-PER", "B-MISC"], r"lack \['I-MISC'\]"),
        (["O", "I-PER"], r"lack \['B-PER'\]"),
    ],
)
def test_bad_label_sets(labels, message) -> None:
    with pytest.raises(ConfigError, match=message):
        check_label_set(labels)


def test_conll_and_hyphenated_label_sets_are_fine() -> None:
    check_label_set(CONLL_LABELS)
    check_label_set(["O", "B-WORK-OF-ART", "I-WORK-OF-ART"])
