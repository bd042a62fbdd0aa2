"""The HTML report: score tables, parity verdicts, displaCy renderings of differing sentences only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab
from tiny_models import save_rigged_classifier
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.errors import ConfigError, DataError
from spacy_bert_ner.evaluation.parity import Unit, parity, predict
from spacy_bert_ner.evaluation.report import build_report, load_metrics, parse_named, write_report
from spacy_bert_ner.evaluation.report_examples import (
    COLORS,
    PALETTE,
    example_section,
    label_colors,
    sample_units,
)

# (words, sentence starts, gold entities); the rigged model gets doc 0 and the first sentence of doc 1 right.
GOLD = [
    ("Peter Blackburn visited Paris .", [0], [(0, 2, "PER"), (3, 4, "LOC")]),
    (
        "EU rejects German call . Werner Zwingmann said .",
        [0, 5],
        [(0, 1, "ORG"), (2, 3, "MISC"), (5, 7, "PER")],
    ),
    ("Blackburn said so .", [0], []),
]
# Zwingmann is not in the vocabulary ([UNK] -> O), so "Werner" alone is a PER; "Blackburn" alone is I-PER.
RIGGED = {
    "Peter": "B-PER",
    "Blackburn": "I-PER",
    "Paris": "B-LOC",
    "EU": "B-ORG",
    "German": "B-MISC",
    "Werner": "B-PER",
}


def gold_docs(vocab: Vocab) -> list[Doc]:
    docs = []
    for text, starts, ents in GOLD:
        words = text.split()
        doc = Doc(vocab, words=words, sent_starts=[i in starts for i in range(len(words))])
        doc.set_ents([Span(doc, s, e, label) for s, e, label in ents], default="outside")
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A gold .spacy file, a rigged bert_ner pipeline, and metrics JSONs of every kind the report reads."""
    root = tmp_path_factory.mktemp("report")
    DocBin(docs=gold_docs(Vocab())).to_disk(root / "test.spacy")
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(save_rigged_classifier(root / "model", RIGGED))})
    nlp.to_disk(root / "pipeline")
    gold = gold_docs(nlp.vocab)
    (root / "parity.json").write_text(json.dumps(parity(gold, predict(nlp, gold)).to_json()))
    evaluate = {
        "token_acc": 1.0,
        "ents_p": 0.5,
        "ents_r": 0.25,
        "ents_f": 1 / 3,
        "ents_per_type": {"PER": {"p": 0.5, "r": 0.5, "f": 0.5}, "GPE": {"p": 0.0, "r": 0.0, "f": 0.0}},
        "speed": 1000.0,
    }
    (root / "evaluate.json").write_text(json.dumps(evaluate))
    word = {
        "p": 0.9,
        "r": 0.8,
        "f": 0.847,
        "accuracy": 0.97,
        "per_type": {"PER": {"p": 0.95, "r": 0.9, "f": 0.924, "support": 2}},
    }
    subword = {"p": 0.88, "r": 0.79, "f": 0.833, "accuracy": 0.96, "per_type": {}}
    train_hf = {"dev": {"word_seqeval": word, "subword_seqeval": subword}}
    (root / "train_hf.json").write_text(json.dumps(train_hf))
    mismatch = json.loads((root / "parity.json").read_text())
    mismatch["parity"]["verdict"] = "mismatch"
    mismatch["parity"]["differences"] = ["PER P: spaCy 0.5 != seqeval 1.0"]
    mismatch["parity"]["first_difference"] = {
        "doc": 1,
        "start": 5,
        "end": 9,
        "words": ["Werner", "Zwingmann", "said", "."],
        "gold": ["B-PER", "I-PER", "O", "O"],
        "predicted": ["B-PER", "O", "O", "O"],
        "differences": ["PER P"],
    }
    (root / "mismatch.json").write_text(json.dumps(mismatch))
    return {
        "root": root,
        "data": root / "test.spacy",
        "pipeline": root / "pipeline",
        **{name: root / f"{name}.json" for name in ("parity", "evaluate", "train_hf", "mismatch")},
    }


@pytest.fixture(scope="module")
def page(files: dict[str, Path]) -> str:
    metrics = {name: files[name] for name in ("parity", "evaluate", "train_hf", "mismatch")}
    out = write_report(
        files["root"] / "report.html", metrics, {"bert": files["pipeline"]}, data=files["data"]
    )
    return out.read_text(encoding="utf-8")


def test_report_tables(page: str) -> None:
    for type_ in ("PER", "LOC", "ORG", "MISC", "GPE", "ALL"):
        assert f"<tr data-type='{type_}'>" in page or f"<tr class='all' data-type='{type_}'>" in page
    assert page.count('<th colspan="3">') == 4  # one P/R/F group per metrics file
    # parity: the rigged model finds PER "Werner" (wrong span), PER "Blackburn" (spurious), misses 1 PER:
    # PER P = 1/3 (Peter Blackburn right), R = 1/2; LOC, ORG, MISC all right.
    per = re.search(r"<tr data-type='PER'>(.*?)</tr>", page).group(1)
    assert re.findall(r"<td class='num[^']*'>([^<]*)</td>", per)[:4] == ["2", "33.33", "50.00", "40.00"]
    assert "(train-hf (dev, word-level seqeval))" in page and "(spacy evaluate)" in page


def test_report_verdicts(page: str) -> None:
    assert "<tr data-name='parity'><td>parity</td><td><span class='agree'>&#10004; agree (to 1e-09)" in page
    assert "<tr data-name='evaluate'><td>evaluate</td><td><span class='unchecked'>not checked" in page
    assert "<tr data-name='mismatch'><td>mismatch</td><td><span class='mismatch'>&#10008; mismatch" in page
    assert "PER P: spaCy 0.5 != seqeval 1.0" in page
    assert re.search(r"<pre>\s*words  Werner Zwingmann said \.\n\s*gold  B-PER  I-PER", page)


def test_report_renders_differing_sentences_only(page: str) -> None:
    examples = page[page.index("id='examples'") :]
    assert examples.count('class="entities"') == 4  # two differing sentences, gold and predicted each
    assert "2 of 4 sentences differ from gold (sentences joined" in examples and "); all shown" in examples
    assert "Zwingmann" in examples and "said so" in examples
    assert "visited" not in examples and "rejects" not in examples  # predicted right: not shown
    assert "missed: Werner Zwingmann (PER)" in examples and "spurious: Werner (PER)" in examples
    assert "spurious: Blackburn (PER)" in examples
    assert 'class="entity"' in examples and "#aa9cfc" in examples  # displaCy marks, PER coloured


def test_report_is_self_contained_and_explains_subword_f1(page: str) -> None:
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert "Subword-level (course) vs word-level F1" in page and "first_subword" in page
    assert "word-level F1 84.70, subword-level (course) F1 83.30" in page


def test_report_is_deterministic(files: dict[str, Path]) -> None:
    nlp = spacy.load(files["pipeline"])
    gold = gold_docs(nlp.vocab)
    predicted = predict(nlp, gold)
    one = example_section("bert", files["pipeline"], gold, predicted, n_examples=1, seed=3)
    again = example_section("bert", files["pipeline"], gold, predicted, n_examples=1, seed=3)
    assert len(one.examples) == 1 and one.n_differing == 2
    assert build_report([], [one]) == build_report([], [again])
    units = [Unit(0, i, i + 1) for i in range(10)]
    sample = sample_units(units, 4, seed=0)
    assert sample == sample_units(units, 4, seed=0) == sorted(sample, key=lambda u: u.start)
    assert sample_units(units, 20) == units


def test_report_input_errors(files: dict[str, Path], tmp_path: Path) -> None:
    assert parse_named(["a=x.json", "b=c=d"], "--metrics") == {"a": Path("x.json"), "b": Path("c=d")}
    with pytest.raises(ConfigError, match="NAME=PATH"):
        parse_named(["x.json"], "--metrics")
    with pytest.raises(ConfigError, match="given twice"):
        parse_named(["a=x", "a=y"], "--pipeline")
    (tmp_path / "other.json").write_text('{"loss": 1}')
    with pytest.raises(DataError, match=r"not a metrics file this report reads \(found \['loss'\]\)"):
        load_metrics("x", tmp_path / "other.json")
    with pytest.raises(ConfigError, match="--pipeline needs --data"):
        write_report(tmp_path / "r.html", {}, {"bert": files["pipeline"]})


runner = CliRunner()


def test_report_cli(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "site" / "report.html"
    args = ["report", str(out), "-m", f"spaCy={files['evaluate']}", "--metrics", f"HF={files['parity']}"]
    args += ["--pipeline", f"HF={files['pipeline']}", "--data", str(files["data"]), "--n-examples", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "a sample of 1 shown" in html and html.count('class="entities"') == 2
    result = runner.invoke(app, ["report", str(out), "--pipeline", f"HF={files['pipeline']}"])
    assert result.exit_code == 1 and result.stderr.strip() == (
        "✘ --pipeline needs --data: the gold .spacy file to run the pipelines over"
    )
    result = runner.invoke(app, ["report", str(out), "-m", f"x={tmp_path / 'none.json'}"])
    assert result.exit_code == 1 and "file not found" in result.stderr


# -- own labels: lower-case, hyphenated, not CoNLL's -------------------------------------------------------

OWN_LABELS = [
    "O",
    "B-person",
    "I-person",
    "B-creative-work",
    "I-creative-work",
    "B-corporation",
    "I-corporation",
]
OWN_WORDS = "Ada Lovelace of Acme read Hamlet at Globex .".split()
OWN_GOLD = [(0, 2, "person"), (3, 4, "corporation"), (5, 6, "creative-work"), (7, 8, "corporation")]
# Globex is not in the vocabulary ([UNK] -> O): the model misses it, so the sentence differs from gold.
OWN_RIGGED = {"Ada": "B-person", "Lovelace": "I-person", "Acme": "B-corporation", "Hamlet": "B-creative-work"}


def test_label_colors_are_distinct_and_deterministic() -> None:
    own = label_colors(["person", "creative-work", "corporation"])
    assert own == {"corporation": PALETTE[0], "creative-work": PALETTE[1], "person": PALETTE[2]}
    assert label_colors(["corporation", "person", "creative-work", "person"]) == own  # sorted, not as met
    assert label_colors(["PER", "LOC", "work"]) == {"LOC": "#ff9561", "PER": "#aa9cfc", "work": PALETTE[0]}
    many = label_colors([f"type-{i:02d}" for i in range(40)])  # beyond the palette: spaced hues
    assert len(set(many.values())) == 40 and not set(many.values()) & set(COLORS.values())


def test_report_with_own_labels(tmp_path: Path) -> None:
    """Own types appear in the score tables, and each is rendered in a colour of its own, not displaCy's
    grey."""
    nlp = spacy.blank("en")
    model = save_rigged_classifier(tmp_path / "model", OWN_RIGGED, OWN_LABELS)
    nlp.add_pipe("bert_ner", config={"model": str(model)})
    nlp.to_disk(tmp_path / "pipeline")
    gold = Doc(nlp.vocab, words=OWN_WORDS, sent_starts=[i == 0 for i in range(len(OWN_WORDS))])
    gold.set_ents([Span(gold, s, e, label) for s, e, label in OWN_GOLD], default="outside")
    DocBin(docs=[gold]).to_disk(tmp_path / "test.spacy")
    (tmp_path / "parity.json").write_text(json.dumps(parity([gold], predict(nlp, [gold])).to_json()))
    raw = tmp_path / "raw.json"
    result = runner.invoke(
        app, ["evaluate-raw", str(tmp_path / "pipeline"), str(tmp_path / "test.spacy"), "-o", str(raw)]
    )
    assert result.exit_code == 0, result.output
    metrics = {"parity": tmp_path / "parity.json", "raw": raw}
    pipelines = {"bert": tmp_path / "pipeline"}
    page = write_report(tmp_path / "r.html", metrics, pipelines, data=tmp_path / "test.spacy").read_text()

    scores = page[page.index("id='scores'") : page.index("id='parity'")]
    for type_, f in (("person", "100.00"), ("creative-work", "100.00"), ("corporation", "66.67")):
        row = re.search(rf"<tr data-type='{type_}'>(.*?)</tr>", scores).group(1)
        assert re.findall(r"<td class='num[^']*'>([^<]*)</td>", row)[3] == f  # parity's F, from the data
    assert "CoNLL" not in page and "article" not in page
    assert "documents read as their own text: 0 of 1; rebuilt from tokens: 1 (one line per" in page

    examples = page[page.index("id='examples'") :]
    marks = re.findall(
        r'<mark class="entity" style="background: ([^;]+);.*?">\s*(.*?)\s*<span[^>]*>([^<]+)', examples, re.S
    )
    pairs = {(label, colour) for colour, _, label in marks}  # every mark of a label in the same colour
    assert pairs == set(label_colors(["person", "creative-work", "corporation"]).items())
    assert len({colour for _, colour in pairs}) == 3 and "#ddd" not in {colour for _, colour in pairs}
    assert "missed: Globex (corporation)" in examples


def optimize_json(shipped: str, f1_drop: float) -> dict:
    reading = {"dev": {"p": 0.9, "r": 0.9, "f": 0.9}, "words_per_second": 1000.0}
    recipe = {**reading, "name": "static", "dev": {"p": 0.9, "r": 0.9, "f": 0.9 - f1_drop / 100}}
    recipe.update(words_per_second=2500.0, f1_drop=f1_drop, speedup=2.5, entities_differing=12)
    return {
        "shipped": shipped,
        "chosen": "static" if shipped == "int8" else None,
        "max_f1_drop": 0.3,
        "float_torch": reading,
        "float_onnx": {**reading, "f1_drop": 0.0, "speedup": 1.1, "entities_differing": 0},
        "recipes": [recipe],
    }


def test_the_report_says_which_reading_was_shipped(tmp_path: Path) -> None:
    from spacy_bert_ner.evaluation.optimize_section import load_optimize_report

    int8, kept = tmp_path / "int8.json", tmp_path / "float.json"
    int8.write_text(json.dumps(optimize_json("int8", 0.12)))
    kept.write_text(json.dumps(optimize_json("float32", 0.52)))
    reports = {"hf": load_optimize_report("hf", int8), "hf-float": load_optimize_report("hf-float", kept)}
    page = build_report([], [], optimize_reports=reports)
    assert (
        "<b>hf</b> ships int8 (recipe static): dev F1 89.88 against the float pipeline&#x27;s 90.00" in page
    )
    assert "(-0.12, gate 0.3), 2.50x its words/s on dev" in page
    assert "<b>hf-float</b> ships the float pipeline: no int8 recipe kept dev F1 within 0.3 points" in page
    slow = tmp_path / "slow.json"
    slow.write_text(json.dumps({**optimize_json("float32", 0.12), "min_speedup": 3.0}))
    slow_page = build_report([], [], optimize_reports={"hf-slow": load_optimize_report("hf-slow", slow)})
    assert (
        "<b>hf-slow</b> ships the float pipeline: no int8 recipe within 0.3 points of its dev F1 read at "
        "least 3x its words/s (best 2.50x)"
    ) in slow_page
    assert "<td>int8 static <b>(shipped)</b></td>" in page and "<td>2,500</td>" in page
    with pytest.raises(DataError, match=r"--optimize x=.*: no 'shipped'; not an optimize.json"):
        (tmp_path / "bad.json").write_text("{}")
        load_optimize_report("x", tmp_path / "bad.json")
