"""evaluate-raw: gold articles as plain text through the whole pipeline, scored across tokenizations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.evaluation.raw_text import article_text, raw_text_scores
from spacy_bert_ner.evaluation.report import load_metrics

WORDS = ["John", "Smith", "visited", "German-born", "Acme", ".", "PARIS", "1996-08-30"]
SENT_STARTS = [True, False, False, False, False, False, True, False]
GOLD_ENTS = [(0, 2, "PER"), (4, 5, "ORG"), (6, 7, "LOC")]


def gold_doc(nlp: spacy.Language) -> Doc:
    doc = Doc(nlp.vocab, words=WORDS, sent_starts=SENT_STARTS)
    doc.set_ents([Span(doc, s, e, label) for s, e, label in GOLD_ENTS], default="outside")
    return doc


def ruler_pipeline(patterns: list[dict]) -> spacy.Language:
    """A pipeline with spaCy's English tokenizer and fixed entities: its predictions are known by hand."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    return nlp


def test_article_text_is_one_line_per_sentence() -> None:
    nlp = spacy.blank("en")
    assert article_text(gold_doc(nlp)) == "John Smith visited German-born Acme .\nPARIS 1996-08-30"
    assert article_text(Doc(nlp.vocab, words=["a", "b"])) == "a b"  # no sentence starts: one line


def test_paragraphs_run_prose_together_and_keep_other_lines() -> None:
    sentences = [
        "HEADLINE WITHOUT STOP",
        "LONDON 1996-08-30",
        "He said .",
        '" Yes ? "',
        "Then left !",
        "Team 3 1",
        "She came .",
    ]
    words = [w for sent in sentences for w in sent.split()]
    starts = [i == 0 for sent in sentences for i, _ in enumerate(sent.split())]
    doc = Doc(spacy.blank("en").vocab, words=words, sent_starts=starts)
    assert article_text(doc) == "\n".join(sentences)
    assert article_text(doc, "paragraphs") == (
        'HEADLINE WITHOUT STOP\nLONDON 1996-08-30\nHe said . " Yes ? " Then left !\nTeam 3 1\nShe came .'
    )
    with pytest.raises(ConfigError, match="layout 'pages'"):
        article_text(doc, "pages")  # type: ignore[arg-type]


def test_scores_across_tokenizations() -> None:
    """spaCy's tokenizer splits German-born and the date; an entity on the piece "German" maps to the gold
    token German-born, which is O: a false positive. The others match exactly across tokenizations."""
    nlp = ruler_pipeline(
        [
            {"label": "PER", "pattern": "John Smith"},
            {"label": "ORG", "pattern": "Acme"},
            {"label": "LOC", "pattern": "PARIS"},
            {"label": "MISC", "pattern": "German"},
        ]
    )
    result = raw_text_scores(nlp, [gold_doc(nlp)])
    assert (result["ents_p"], result["ents_r"]) == (0.75, 1.0)
    assert result["ents_per_type"]["MISC"]["p"] == 0.0 and result["ents_per_type"]["PER"]["f"] == 1.0
    tokens = result["raw_text"]["tokens"]
    assert tokens["gold_tokens"] == len(WORDS)
    assert tokens["gold_tokens_split"] == 2
    assert tokens["gold_tokens_merged"] == 0  # rebuilt text: a space between every two gold tokens
    timing = result["raw_text"]
    assert timing["words"] == len(WORDS) and timing["seconds"] > 0
    assert result["speed"] == pytest.approx(len(WORDS) / timing["seconds"])
    assert {(d["gold"], d["predicted"]) for d in tokens["commonest_differences"]} == {
        ("German-born", "German | - | born"),
        ("1996-08-30", "1996 | - | 08 | - | 30"),
    }


def test_evaluate_raw_cli_writes_what_the_report_reads(tmp_path: Path) -> None:
    nlp = ruler_pipeline([{"label": "PER", "pattern": "John Smith"}, {"label": "LOC", "pattern": "PARIS"}])
    nlp.to_disk(tmp_path / "pipeline")
    DocBin(docs=[gold_doc(nlp)], store_user_data=True).to_disk(tmp_path / "gold.spacy")
    output = tmp_path / "raw.json"
    args = ["evaluate-raw", str(tmp_path / "pipeline"), str(tmp_path / "gold.spacy"), "--output", str(output)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 of 8 gold tokens are split" in result.output and "8 gold words read in" in result.output
    data = json.loads(output.read_text())
    assert data["ents_p"] == 1.0 and data["ents_r"] == pytest.approx(2 / 3)
    entry = load_metrics("raw", output)
    assert entry.kind.startswith("raw text") and entry.overall["f"] == pytest.approx(0.8)
    assert data["raw_text"]["layout"].startswith("one line per gold sentence")
    assert data["raw_text"]["text_sources"] == {"doc_text": 0, "rebuilt": 1}  # no real text: rebuilt

    result = CliRunner().invoke(app, [*args, "--layout", "paragraphs"])
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text())["raw_text"]["layout"].startswith("prose sentences")
    result = CliRunner().invoke(app, [*args, "--layout", "pages"])
    assert result.exit_code == 1 and "--layout 'pages': use one of lines, paragraphs" in result.output


def test_report_shows_the_raw_text_section(tmp_path: Path) -> None:
    nlp = ruler_pipeline([{"label": "PER", "pattern": "John Smith"}])
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(raw_text_scores(nlp, [gold_doc(nlp)])))
    from spacy_bert_ner.evaluation.report import write_report

    page = write_report(tmp_path / "report.html", {"hf_raw_text": raw}, {}).read_text()
    assert "Raw text vs gold tokens" in page
    assert "2 of 8 gold tokens split" in page and "German-born &rarr; German | - | born (1)" in page
