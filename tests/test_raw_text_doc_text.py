"""evaluate-raw on a DocBin's own text: Docs marked real are read as ``doc.text``, column-file Docs are
rebuilt from their tokens, and token differences that only real text can have are counted, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from tiny_models import bert_ner
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.data.docs import TEXT_KEY
from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.evaluation.raw_text import (
    evaluate_raw,
    raw_text_examples,
    raw_text_scores,
    text_sources,
)

WORDS = ["John", "Smith", "visited", "Paris", "."]
ENTS = [(0, 2, "PER"), (3, 4, "LOC")]


def annotated(doc: Doc, ents: list[tuple[int, int, str]]) -> Doc:
    doc.set_ents([Span(doc, s, e, label) for s, e, label in ents], default="outside")
    return doc


def real_doc(vocab, words=WORDS, spaces=(True, True, True, False, False), ents=ENTS) -> Doc:
    """A Doc as an annotation-tool export gives it: its own text ("... Paris." with no space before the
    stop), marked real as `convert` marks it."""
    doc = annotated(Doc(vocab, words=list(words), spaces=list(spaces)), ents)
    doc.user_data[TEXT_KEY] = "real"
    return doc


def column_doc(vocab) -> Doc:
    """A Doc as column files give it: tokens, spaces unknown, no mark."""
    return annotated(Doc(vocab, words=WORDS), ENTS)


@pytest.fixture(scope="module")
def rigged_nlp(conll_rigged: Path) -> spacy.Language:
    """John Smith PER, Paris LOC, everything else O (tests/tiny_models.py rigged)."""
    return bert_ner(conll_rigged)


@pytest.mark.parametrize(
    "text, expected, sources",
    [
        ("auto", ["John Smith visited Paris.", "John Smith visited Paris ."], {"doc_text": 1, "rebuilt": 1}),
        ("doc", ["John Smith visited Paris.", "John Smith visited Paris . "], {"doc_text": 2, "rebuilt": 0}),
        ("tokens", ["John Smith visited Paris ."] * 2, {"doc_text": 0, "rebuilt": 2}),
    ],
)
def test_text_setting_picks_each_docs_text(
    rigged_nlp: spacy.Language, text: str, expected: list[str], sources: dict[str, int]
) -> None:
    gold = [real_doc(rigged_nlp.vocab), column_doc(rigged_nlp.vocab)]
    examples = raw_text_examples(rigged_nlp, gold, text=text)  # type: ignore[arg-type]
    assert [eg.predicted.text for eg in examples] == expected
    assert text_sources(gold, text) == sources  # type: ignore[arg-type]


def test_real_text_is_scored_on_its_own_text(rigged_nlp: spacy.Language) -> None:
    """The rigged model reads spaCy's tokens of "John Smith visited Paris." (the stop split off) and finds
    both gold entities; every gold token is one predicted token."""
    result = raw_text_scores(rigged_nlp, [real_doc(rigged_nlp.vocab)])
    assert (result["ents_p"], result["ents_r"]) == (1.0, 1.0)
    assert set(result["ents_per_type"]) == {"PER", "LOC"}
    raw = result["raw_text"]
    assert raw["text_sources"] == {"doc_text": 1, "rebuilt": 0}
    assert raw["text"].startswith("each Doc's own text where the DocBin marks it real")
    assert raw["tokens"] == {
        "gold_tokens": 5,
        "gold_tokens_split": 0,
        "gold_tokens_merged": 0,
        "commonest_differences": [],
    }


def ruler(patterns: list[dict]) -> spacy.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    return nlp


def test_a_predicted_token_over_two_gold_tokens_is_counted_as_merged() -> None:
    """Gold splits "visited" into "visit" "ed"; spaCy keeps it whole. The gold MISC on "visit" ends inside
    the predicted token, so it cannot be matched: the prediction on "visited" maps to "visit ed", a false
    positive, and the gold MISC is missed."""
    nlp = ruler(
        [
            {"label": "PER", "pattern": "John Smith"},
            {"label": "LOC", "pattern": "Paris"},
            {"label": "MISC", "pattern": "visited"},
        ]
    )
    words = ["John", "Smith", "visit", "ed", "Paris", "."]
    ents = [(0, 2, "PER"), (2, 3, "MISC"), (4, 5, "LOC")]
    gold = real_doc(nlp.vocab, words, [True, True, False, True, False, False], ents)
    result = raw_text_scores(nlp, [gold])
    assert result["ents_p"] == pytest.approx(2 / 3) and result["ents_r"] == pytest.approx(2 / 3)
    assert result["ents_per_type"]["MISC"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    tokens = result["raw_text"]["tokens"]
    assert (tokens["gold_tokens"], tokens["gold_tokens_split"], tokens["gold_tokens_merged"]) == (6, 0, 2)
    assert tokens["commonest_differences"] == [{"gold": "visit | ed", "predicted": "visited", "count": 1}]


def test_split_and_merged_in_one_run() -> None:
    """Gold "New" "York-based" against spaCy's "New" "York" "-" "based" is a split; gold "Smi" "th" against
    "Smith" a merge; both appear among the differences."""
    nlp = spacy.blank("en")
    words = ["New", "York-based", "Smi", "th"]
    gold = real_doc(nlp.vocab, words, [True, True, False, False], [])
    tokens = raw_text_scores(nlp, [gold])["raw_text"]["tokens"]
    assert (tokens["gold_tokens_split"], tokens["gold_tokens_merged"]) == (1, 2)
    assert {(d["gold"], d["predicted"]) for d in tokens["commonest_differences"]} == {
        ("York-based | Smi | th", "York | - | based | Smith"),
    }


def test_unknown_text_setting_is_refused(rigged_nlp: spacy.Language) -> None:
    with pytest.raises(ConfigError, match="text 'words': use one of auto, doc, tokens"):
        raw_text_examples(rigged_nlp, [real_doc(rigged_nlp.vocab)], text="words")  # type: ignore[arg-type]


def test_cli_reads_the_mark_from_the_docbin_and_says_what_it_read(conll_rigged: Path, tmp_path: Path) -> None:
    nlp = bert_ner(conll_rigged)
    nlp.to_disk(tmp_path / "pipeline")
    DocBin(docs=[real_doc(nlp.vocab), column_doc(nlp.vocab)], store_user_data=True).to_disk(
        tmp_path / "gold.spacy"
    )
    output = tmp_path / "raw.json"
    args = ["evaluate-raw", str(tmp_path / "pipeline"), str(tmp_path / "gold.spacy"), "-o", str(output)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 texts: 1 the doc's own text, 1 rebuilt from tokens (--layout lines)" in result.output
    assert (
        "0 of 10 gold tokens are split by the pipeline's tokenizer, 0 share a predicted token"
        in result.output
    )
    data = json.loads(output.read_text())
    assert data["raw_text"]["text_sources"] == {"doc_text": 1, "rebuilt": 1}
    assert data["ents_f"] == 1.0

    result = CliRunner().invoke(app, [*args, "--text", "tokens"])
    assert result.exit_code == 0, result.output
    assert "2 texts: 0 the doc's own text, 2 rebuilt" in result.output
    assert "share a predicted token" not in result.output
    result = CliRunner().invoke(app, [*args, "--text", "words"])
    assert result.exit_code == 1 and "--text 'words': use one of auto, doc, tokens" in result.output


@pytest.mark.parametrize("lang, split", [("de", 0), ("en", 1)])
def test_assembled_language_tokenizes_the_doc_text(
    conll_rigged: Path, tmp_path: Path, lang: str, split: int
) -> None:
    """`assemble --lang de` gives the pipeline German's tokenizer, which keeps "z.B." whole as the German
    gold does; English splits it."""
    pipeline = tmp_path / "pipeline"
    result = CliRunner().invoke(app, ["assemble", str(conll_rigged), str(pipeline), "--lang", lang])
    assert result.exit_code == 0, result.output
    words = ["John", "Smith", "besuchte", "z.B.", "Paris", "."]
    gold = real_doc(
        spacy.blank(lang).vocab, words, [True, True, True, True, False, False], [*ENTS[:1], (4, 5, "LOC")]
    )
    DocBin(docs=[gold], store_user_data=True).to_disk(tmp_path / "gold.spacy")
    result = evaluate_raw(pipeline, tmp_path / "gold.spacy")
    assert result["raw_text"]["tokens"]["gold_tokens_split"] == split
    assert result["ents_f"] == 1.0 and result["raw_text"]["text_sources"] == {"doc_text": 1, "rebuilt": 0}
