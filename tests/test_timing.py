"""The one way a reading's speed is measured (tune, optimize, the benchmarks): the sample, the rounds, the
figures."""

from __future__ import annotations

import pytest
import spacy

from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.tuning.timing import Rounds, Timing, round_robin, sample_of

pytestmark = pytest.mark.core


def test_the_sample_is_the_first_docs_up_to_the_word_count() -> None:
    nlp = spacy.blank("en")
    docs = [nlp("one two three"), nlp("four  five"), nlp("six")]  # "  ": a whitespace token, not a word
    assert [len(d) for d in docs] == [3, 3, 1]
    assert sample_of(docs, 3) == (docs[:1], 3)
    assert sample_of(docs, 4) == (docs[:2], 5)
    assert sample_of(docs, 1) == (docs[:1], 3)  # at least one doc, whatever its length
    assert sample_of(docs, 100) == (docs, 6)


def test_every_run_is_timed_once_per_round_in_the_same_order() -> None:
    calls: list[str] = []
    timed = round_robin({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3)
    assert calls == ["a", "b"] * 3
    assert [len(timed[k].seconds) for k in "ab"] == [3, 3]


def test_words_per_second_is_the_best_round_with_the_median_and_spread_beside_it() -> None:
    rounds = Rounds([2.0, 1.0, 4.0])
    assert rounds.rate(1000) == 1000.0
    assert rounds.as_dict(1000) == {
        "words_per_second": 1000.0,
        "words_per_second_median": 500.0,
        "spread": 3.0,
        "rounds": 3,
    }
    assert rounds.spread_cell() == "+300%" and Rounds([1.0]).spread_cell() == "-"
    with pytest.raises(ConfigError, match=r"timing: rounds = 0: Input should be greater than or equal to 1$"):
        Timing(rounds=0)
    with pytest.raises(
        ConfigError, match=r"timing: max_words = 0: .*; words = 1: not an option; known: rounds"
    ):
        Timing(max_words=0, words=1)
