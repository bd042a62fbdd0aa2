"""line_sentences: a line break starts a sentence; the sentencizer decides the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc
from thinc.api import ConfigValidationError

from spacy_bert_ner.errors import ConfigError


def splitter(min_breaks: int | None = None, sentencizer: bool = True) -> spacy.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("line_sentences", config={} if min_breaks is None else {"min_breaks": min_breaks})
    if sentencizer:
        nlp.add_pipe("sentencizer")
    return nlp


def sentences(nlp: spacy.Language, text: str) -> list[str]:
    return [sent.text for sent in nlp(text).sents]


def test_line_breaks_start_sentences_and_punctuation_splits_the_rest() -> None:
    text = (
        "SOCCER - JAPAN GET LUCKY WIN\nAL-AIN 1996-12-06\nJapan won 2-1 . China lost .\n"
        "Japan 3 1 0\nSyria 3 0 1"
    )
    assert sentences(splitter(), text) == [
        "SOCCER - JAPAN GET LUCKY WIN\n",
        "AL-AIN 1996-12-06\n",
        "Japan won 2-1 .",
        "China lost .\n",
        "Japan 3 1 0\n",
        "Syria 3 0 1",
    ]
    # the sentencizer alone runs the headline, dateline and table rows into the prose around them
    alone = spacy.blank("en")
    alone.add_pipe("sentencizer")
    assert sentences(alone, text)[0] == "SOCCER - JAPAN GET LUCKY WIN\nAL-AIN 1996-12-06\nJapan won 2-1 ."


def test_no_sentence_is_only_whitespace() -> None:
    doc = splitter()("\n\nFirst line .\n\n\nSecond line .\n")
    assert [sent.text for sent in doc.sents] == ["\n\nFirst line .\n\n\n", "Second line .\n"]
    assert all(not all(token.is_space for token in sent) for sent in doc.sents)


def test_min_breaks_two_keeps_hard_wrapped_lines_together() -> None:
    text = "A paragraph wrapped\nat a fixed width\n\nNext paragraph"
    assert sentences(splitter(2, sentencizer=False), text) == [
        "A paragraph wrapped\nat a fixed width\n\n",
        "Next paragraph",
    ]
    assert sentences(splitter(1, sentencizer=False), text)[:2] == [
        "A paragraph wrapped\n",
        "at a fixed width\n\n",
    ]


def test_spaces_are_not_line_breaks_and_other_tokens_stay_open() -> None:
    doc = splitter(sentencizer=False)("two  spaces   here")
    assert [token.is_sent_start for token in doc][1:] == [None] * (len(doc) - 1)


def test_a_parsed_doc_keeps_its_sentences() -> None:
    nlp = splitter(sentencizer=False)
    words, spaces = ["a", "\n", "b"], [False, False, False]
    doc = Doc(nlp.vocab, words=words, spaces=spaces, heads=[0, 0, 0], deps=["ROOT", "dep", "dep"])
    assert len(list(nlp(doc).sents)) == 1


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_min_breaks_is_a_config_error(bad: int) -> None:
    with pytest.raises(ConfigError, match=r"\[components.line_sentences\] min_breaks"):
        spacy.blank("en").add_pipe("line_sentences", config={"min_breaks": bad})


def test_min_breaks_not_a_number_is_refused_by_spacys_config_check() -> None:
    with pytest.raises(ConfigValidationError, match="min_breaks"):
        spacy.blank("en").add_pipe("line_sentences", config={"min_breaks": 1.5})


def test_setting_survives_save_and_load(tmp_path: Path) -> None:
    splitter(2).to_disk(tmp_path / "nlp")
    nlp = spacy.load(tmp_path / "nlp")
    assert nlp.pipe_names == ["line_sentences", "sentencizer"]
    assert nlp.get_pipe("line_sentences").min_breaks == 2
    assert sentences(nlp, "a\nb\n\nc") == ["a\nb\n\n", "c"]
