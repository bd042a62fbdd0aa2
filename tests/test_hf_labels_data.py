"""train-hf's reading of DocBins (data/tagged.py): a Doc without sentence starts, a sentence boundary inside
an entity and tokens with no NER annotation are read, marked and counted, not refused; hand-computed cases."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import pytest
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from spacy_bert_ner.data.tagged import MISSING, ReadReport, docs_documents, read_documents
from spacy_bert_ner.hf.finetune.align import IGNORE, align_labels
from spacy_bert_ner.hf.finetune.labels import entity_types, known_tags
from spacy_bert_ner.hf.finetune.metrics import word_scores

pytestmark = pytest.mark.core

VOCAB = Vocab()


def doc(
    words: str,
    starts: Optional[Sequence[int]] = None,
    ents: Optional[Sequence[str]] = None,
    spaces: Optional[Sequence[bool]] = None,
) -> Doc:
    """A Doc of space-separated ``words``; ``starts``: 1 per sentence start (None: no sentence starts);
    ``ents``: one IOB tag per word, "" for no annotation (None: no NER annotation at all)."""
    split = words.split(" ")
    sent_starts = None if starts is None else [bool(s) for s in starts]
    return Doc(VOCAB, words=split, spaces=spaces, sent_starts=sent_starts, ents=ents)


JOHN, JOHN_TAGS = "John lives in Paris . He sleeps .", ["B-PER", "O", "O", "B-LOC", "O", "O", "O", "O"]
JOHN_READ = [
    (["John", "lives", "in", "Paris", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
    (["He", "sleeps", "."], ["O"] * 3),
]

# (case, the Docs, the sentences read per Doc, the report's counts other than "docs" that are not 0)
CASES = [
    (
        "sentences and entities as convert writes them",
        [doc(JOHN, [1, 0, 0, 0, 0, 1, 0, 0], JOHN_TAGS)],
        [JOHN_READ],
        {},
    ),
    (
        "no sentence starts: the sentencizer splits after punctuation",
        [doc(JOHN, None, JOHN_TAGS)],
        [JOHN_READ],
        {"docs_split_by_sentencizer": 1},
    ),
    (
        "a sentence boundary inside an entity is removed",
        [doc("She saw New York City today", [1, 0, 0, 0, 1, 0], ["O", "O", "B-LOC", "I-LOC", "I-LOC", "O"])],
        [[(["She", "saw", "New", "York", "City", "today"], ["O", "O", "B-LOC", "I-LOC", "I-LOC", "O"])]],
        {"boundaries_removed": 1},
    ),
    (
        "a boundary at an entity's start or after its end stays",
        [doc("Hi . New York . Bye", [1, 0, 1, 0, 0, 1], ["O", "O", "B-LOC", "I-LOC", "O", "O"])],
        [[(["Hi", "."], ["O", "O"]), (["New", "York", "."], ["B-LOC", "I-LOC", "O"]), (["Bye"], ["O"])]],
        {},
    ),
    (
        "the sentencizer's split inside an entity is removed too",
        [doc("Dr . Smith came .", None, ["B-PER", "I-PER", "I-PER", "O", "O"])],
        [[(["Dr", ".", "Smith", "came", "."], ["B-PER", "I-PER", "I-PER", "O", "O"])]],
        {"docs_split_by_sentencizer": 1, "boundaries_removed": 1},
    ),
    (
        "tokens with no NER annotation are tagged '-'",
        [doc("John Smith was here", [1, 0, 0, 0], ["B-PER", "I-PER", "", "O"])],
        [[(["John", "Smith", "was", "here"], ["B-PER", "I-PER", MISSING, "O"])]],
        {"missing_tokens": 1},
    ),
    (
        "a Doc with no NER annotation at all",
        [doc("Hello there .", [1, 0, 0])],
        [[(["Hello", "there", "."], [MISSING] * 3)]],
        {"missing_tokens": 3, "docs_unannotated": 1},
    ),
    (
        "whitespace tokens are left out, and not counted as missing",
        [doc("Hi \n\n Bob !", None, ["O", "", "B-PER", "O"], [False] * 4)],
        [[(["Hi", "Bob", "!"], ["O", "B-PER", "O"])]],
        {"docs_split_by_sentencizer": 1},
    ),
    (
        "an empty Doc has no sentences",
        [Doc(VOCAB, words=[]), doc("Yes", [1], ["O"])],
        [[], [(["Yes"], ["O"])]],
        {},
    ),
]


@pytest.mark.parametrize("docs, expected, counts", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reading_docs(docs: list[Doc], expected: list, counts: dict[str, int]) -> None:
    documents, report = docs_documents(docs)
    assert [[(list(words), list(tags)) for words, tags in document] for document in documents] == expected
    assert report == ReadReport(docs=len(docs), **counts)


def test_the_callers_docs_are_not_changed() -> None:
    original = doc("Dr . Smith came .", None, ["B-PER", "I-PER", "I-PER", "O", "O"])
    docs_documents([original])
    assert not original.has_annotation("SENT_START")
    assert [(e.start, e.end, e.label_) for e in original.ents] == [(0, 3, "PER")]


def test_a_docbin_is_read_as_its_docs(tmp_path: Path) -> None:
    """From disk (a blank Vocab, so no is_space flags) every case reads the same, and the counts add up."""
    docs = [d for case in CASES for d in case[1]]
    DocBin(docs=docs).to_disk(tmp_path / "all.spacy")
    documents, report = read_documents(tmp_path / "all.spacy")
    assert [[(list(w), list(t)) for w, t in document] for document in documents] == [
        document for case in CASES for document in case[2]
    ]
    assert report == ReadReport(
        docs=10, docs_split_by_sentencizer=3, boundaries_removed=2, missing_tokens=4, docs_unannotated=1
    )


def test_the_report_says_what_was_done() -> None:
    assert ReadReport(docs=3).describe() == ""
    report = ReadReport(
        docs=5, docs_split_by_sentencizer=2, boundaries_removed=1, missing_tokens=7, docs_unannotated=1
    )
    assert report.describe() == (
        "2 of 5 docs had no sentence starts and were split by spaCy's sentencizer; "
        "1 sentence boundaries fell inside an entity and were removed (the sentences either side are read as "
        "one); 7 words have no NER annotation (1 docs none at all): they are not trained on (label -100) and "
        "count as O in word-level scores"
    )
    assert report.as_dict() == {
        "docs": 5,
        "docs_split_by_sentencizer": 2,
        "boundaries_removed": 1,
        "missing_tokens": 7,
        "docs_unannotated": 1,
    }


L2I = {"O": 0, "B-PER": 1, "I-PER": 2}
X = IGNORE

# (case, word_ids, word tags, all_subwords ids, first_subword ids)
ALIGN_CASES = [
    (
        "missing word",
        [None, 0, 0, 1, 2, 2, None],
        ["B-PER", "-", "O"],
        [X, 1, 2, X, 0, 0, X],
        [X, 1, X, X, 0, X, X],
    ),
    ("every word missing", [None, 0, 1, 1, None], ["-", "-"], [X, X, X, X, X], [X, X, X, X, X]),
    (
        "missing between B, I",
        [None, 0, 1, 2, None],
        ["B-PER", "-", "I-PER"],
        [X, 1, X, 2, X],
        [X, 1, X, 2, X],
    ),
]


@pytest.mark.parametrize(
    "word_ids, tags, all_subwords, first_subword",
    [c[1:] for c in ALIGN_CASES],
    ids=[c[0] for c in ALIGN_CASES],
)
def test_missing_words_get_no_label(word_ids, tags, all_subwords, first_subword) -> None:
    assert align_labels(word_ids, tags, L2I, "all_subwords") == all_subwords
    assert align_labels(word_ids, tags, L2I, "first_subword") == first_subword


def test_missing_words_are_outside_entities_for_labels_and_scores() -> None:
    """Label inference and word-level scores read '-' as O: it is never a label, an entity or part of one."""
    assert known_tags(["B-PER", "-", "I-PER", "-"]) == ["B-PER", "O", "I-PER", "O"]
    documents = [[(["a", "b", "c", "d"], ["B-PER", "-", "I-PER", "-"])], [(["e"], ["-"])]]
    assert entity_types(documents) == {"PER": 2}  # I-PER after '-' (read O) opens a second entity


def test_word_level_scores_read_missing_as_o() -> None:
    """An O predicted for a word with no annotation is right; an entity predicted there is a false
    positive."""
    gold = [["B-PER", "-", "-"], ["-", "O"]]
    scores = word_scores(gold, [["B-PER", "O", "O"], ["B-LOC", "O"]])
    assert scores["accuracy"] == pytest.approx(4 / 5)
    assert (scores["p"], scores["r"]) == (pytest.approx(1 / 2), 1.0)
    assert scores["per_type"]["LOC"] == {"p": 0.0, "r": 0.0, "f": 0.0, "support": 0}
