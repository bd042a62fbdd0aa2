"""seqeval parity: hand-computed seqeval figures, spaCy vs seqeval on the same predictions, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.vocab import Vocab
from tiny_models import CONLL_LABELS, VALID_RIGGED, save_rigged_classifier
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.data.docs import sentences_to_doc
from spacy_bert_ner.errors import DataError, ModelError
from spacy_bert_ner.evaluation import parity as metrics
from spacy_bert_ner.evaluation.parity import parity, predict
from spacy_bert_ner.hf.finetune.course_metric import course_scores
from spacy_bert_ner.hf.inference.loading import label_names
from spacy_bert_ner.scores import seqeval_scores

# -- seqeval, by hand ---------------------------------------------------------------------------------------


def prf(p, r, f, support=None) -> dict:
    scores = {"p": p, "r": r, "f": f}
    if support is not None:
        scores["support"] = support
    return scores


# (id, gold sequences, predicted sequences, default mode, strict mode); each mode: (micro P/R/F, per type)
SEQEVAL_CASES = [
    (
        "I-PER I-PER opens an entity (default) / is no entity (strict)",
        [["B-PER", "I-PER", "O"]],
        [["I-PER", "I-PER", "O"]],
        (prf(1.0, 1.0, 1.0), {"PER": prf(1.0, 1.0, 1.0, 1)}),
        (prf(0.0, 0.0, 0.0), {"PER": prf(0.0, 0.0, 0.0, 1)}),
    ),
    (
        "B-PER I-LOC: two entities (default) / PER alone (strict)",
        [["B-PER", "O"]],
        [["B-PER", "I-LOC"]],
        (prf(0.5, 1.0, 2 / 3), {"LOC": prf(0.0, 0.0, 0.0, 0), "PER": prf(1.0, 1.0, 1.0, 1)}),
        (prf(1.0, 1.0, 1.0), {"PER": prf(1.0, 1.0, 1.0, 1)}),
    ),
    (
        "adjacent B-LOC B-LOC are two entities; B-LOC I-LOC is one",
        [["B-LOC", "B-LOC"]],
        [["B-LOC", "I-LOC"]],
        (prf(0.0, 0.0, 0.0), {"LOC": prf(0.0, 0.0, 0.0, 2)}),
        (prf(0.0, 0.0, 0.0), {"LOC": prf(0.0, 0.0, 0.0, 2)}),
    ),
    (
        "empty predictions: precision undefined -> 0",
        [["B-PER", "O", "B-LOC"]],
        [["O", "O", "O"]],
        (prf(0.0, 0.0, 0.0), {"LOC": prf(0.0, 0.0, 0.0, 1), "PER": prf(0.0, 0.0, 0.0, 1)}),
        (prf(0.0, 0.0, 0.0), {"LOC": prf(0.0, 0.0, 0.0, 1), "PER": prf(0.0, 0.0, 0.0, 1)}),
    ),
    (
        "no entity anywhere: every figure undefined (None), as spaCy reports it",
        [["O", "O"]],
        [["O", "O"]],
        (prf(None, None, None), {}),
        (prf(None, None, None), {}),
    ),
    (
        "per type: PER right, ORG missed, LOC once right once spurious",
        [["B-PER", "I-PER", "O", "B-ORG"], ["B-LOC", "O"]],
        [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]],
        (
            prf(2 / 3, 2 / 3, 2 / 3),
            {"LOC": prf(0.5, 1.0, 2 / 3, 1), "ORG": prf(0.0, 0.0, 0.0, 1), "PER": prf(1.0, 1.0, 1.0, 1)},
        ),
        (
            prf(2 / 3, 2 / 3, 2 / 3),
            {"LOC": prf(0.5, 1.0, 2 / 3, 1), "ORG": prf(0.0, 0.0, 0.0, 1), "PER": prf(1.0, 1.0, 1.0, 1)},
        ),
    ),
    (
        "sequences are separate: I-PER opening the second one is its own entity (default only)",
        [["B-PER"], ["B-PER"]],
        [["B-PER"], ["I-PER"]],
        (prf(1.0, 1.0, 1.0), {"PER": prf(1.0, 1.0, 1.0, 2)}),
        (prf(1.0, 0.5, 2 / 3), {"PER": prf(1.0, 0.5, 2 / 3, 2)}),
    ),
    (
        "hyphenated type",
        [["B-WORK-OF-ART", "I-WORK-OF-ART", "O"]],
        [["B-WORK-OF-ART", "I-WORK-OF-ART", "B-WORK-OF-ART"]],
        (prf(0.5, 1.0, 2 / 3), {"WORK-OF-ART": prf(0.5, 1.0, 2 / 3, 1)}),
        (prf(0.5, 1.0, 2 / 3), {"WORK-OF-ART": prf(0.5, 1.0, 2 / 3, 1)}),
    ),
]


def assert_scores(actual: dict, expected: tuple[dict, dict]) -> None:
    overall, per_type = expected
    for key, value in overall.items():
        assert actual[key] == (None if value is None else pytest.approx(value)), key
    assert set(actual["per_type"]) == set(per_type)
    for type_, figures in per_type.items():
        for key, value in figures.items():
            assert actual["per_type"][type_][key] == pytest.approx(value), (type_, key)


@pytest.mark.parametrize(
    "case, true, pred, default, strict", SEQEVAL_CASES, ids=[c[0] for c in SEQEVAL_CASES]
)
def test_seqeval_scores_by_hand(case, true, pred, default, strict) -> None:
    assert_scores(seqeval_scores(true, pred, "default"), default)
    assert_scores(seqeval_scores(true, pred, "strict"), strict)


def test_seqeval_scores_take_tuples_and_no_sequences() -> None:
    assert seqeval_scores([("B-PER", "O")], [("B-PER", "O")])["f"] == 1.0  # seqeval itself needs lists
    assert seqeval_scores([], [], "strict") == {"p": None, "r": None, "f": None, "per_type": {}}
    with pytest.raises(ValueError, match="mode"):
        seqeval_scores([["O"]], [["O"]], "lenient")  # type: ignore[arg-type]


# -- the HF course's subword-level metric --------------------------------------------------------------------

ID2LABEL = dict(enumerate(CONLL_LABELS))  # O, B-PER, I-PER, B-ORG, ...


def test_course_metrics_is_subword_level() -> None:
    """A 3-subword name whose last subword is predicted O: wrong at subword level, right at word level."""
    # [CLS] Zw ##ing ##mann said [SEP]: all_subwords labels B-PER I-PER I-PER O, special tokens -100.
    labels = numpy.array([[-100, 1, 2, 2, 0, -100]])
    predictions = numpy.array([[0, 1, 2, 0, 0, 0]])
    assert course_scores(predictions, labels, label_names(ID2LABEL))["f"] == 0.0
    # first_subword labels: only each word's first subword counts, as the word-level rule does.
    first_only = numpy.array([[-100, 1, -100, -100, 0, -100]])
    assert course_scores(predictions, first_only, label_names(ID2LABEL))["f"] == 1.0
    # Logits and the str keys of a config.json id2label work too.
    logits = numpy.eye(len(CONLL_LABELS))[predictions]
    scores = course_scores(logits, first_only, label_names({str(k): v for k, v in ID2LABEL.items()}))
    assert scores == course_scores(predictions, first_only, label_names(ID2LABEL))
    with pytest.raises(ModelError, match="id2label"):
        label_names({1: "O", 2: "B-PER"})


# -- parity on hand-made docs --------------------------------------------------------------------------------


def make_doc(vocab: Vocab, words: list[str], sent_starts: list[int], ents: list[tuple[int, int, str]]) -> Doc:
    """A doc with sentence starts and entities (every other token O)."""
    doc = Doc(vocab, words=words, sent_starts=[i in sent_starts for i in range(len(words))])
    doc.set_ents([Span(doc, s, e, label) for s, e, label in ents], default="outside")
    return doc


def pair(gold_ents, pred_ents, words=("Peter", "met", "EU", ".", "Paris", "said"), sents=(0, 4)):
    vocab = Vocab()
    words = list(words)
    return make_doc(vocab, words, list(sents), gold_ents), make_doc(vocab, words, [0], pred_ents)


def test_parity_agrees_on_a_prediction_crossing_sentences() -> None:
    """``. Paris`` predicted as one ORG across the sentence boundary: one wrong entity to spaCy. Split at the
    sentence boundary, seqeval would see ORG ``Paris`` and count it right; joined, it agrees with spaCy."""
    gold, pred = pair([(0, 1, "PER"), (4, 5, "ORG")], [(0, 1, "PER"), (3, 5, "ORG")])
    result = parity([gold], [pred])
    assert result.agree, result.differences
    assert result.spacy["ents_per_type"]["ORG"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    assert result.crossing == {"gold": 0, "predicted": 1}
    assert result.counts["sentences"] == 2 and result.counts["sequences"] == 1
    split = seqeval_scores(
        [["B-PER", "O", "O", "O"], ["B-ORG", "O"]], [["B-PER", "O", "O", "B-ORG"], ["B-ORG", "O"]]
    )
    assert split["per_type"]["ORG"]["r"] == 1.0  # what per-sentence scoring without the join would claim


@pytest.mark.parametrize(
    "gold_ents, pred_ents, expected",
    [
        ([(0, 1, "PER"), (4, 5, "LOC")], [], (0.0, 0.0, 0.0)),  # empty predictions
        ([], [(2, 3, "ORG")], (0.0, 0.0, 0.0)),  # no gold entities
        ([], [], (None, None, None)),  # nothing anywhere
        ([(0, 1, "PER"), (4, 5, "LOC")], [(0, 1, "PER"), (4, 5, "ORG")], (0.5, 0.5, 0.5)),
        ([(2, 3, "ORG"), (4, 5, "LOC")], [(2, 3, "ORG"), (4, 5, "LOC")], (1.0, 1.0, 1.0)),
    ],
)
def test_parity_by_hand(gold_ents, pred_ents, expected) -> None:
    gold, pred = pair(gold_ents, pred_ents)
    result = parity([gold], [pred])
    assert result.agree, result.differences
    assert (result.spacy["ents_p"], result.spacy["ents_r"], result.spacy["ents_f"]) == expected
    assert (result.seqeval["p"], result.seqeval["r"], result.seqeval["f"]) == expected
    assert result.seqeval_strict["f"] == expected[2]  # tags re-encoded from spans: strict = default


def test_parity_skips_unannotated_docs_and_refuses_partial_ones() -> None:
    vocab = Vocab()
    unannotated = Doc(vocab, words=["Peter", "said"])
    gold, pred = pair([(0, 1, "PER")], [(0, 1, "PER")])
    result = parity([unannotated, gold], [Doc(vocab, words=["Peter", "said"]), pred])
    assert result.agree and result.counts["skipped_docs"] == 1 and result.spacy["ents_f"] == 1.0
    partial = Doc(vocab, words=["Peter", "met", "Paris"], ents=["B-PER", "O", ""])
    with pytest.raises(DataError, match=r"gold doc 0: tokens \[2\] have no NER annotation"):
        parity([partial], [Doc(vocab, words=["Peter", "met", "Paris"])])
    with pytest.raises(DataError, match="tokens differ"):
        parity([gold], [Doc(vocab, words=["Pete", "met", "EU", ".", "Paris", "said"])])


def drop_label(label: str):
    """A get_ner_prf that never sees predicted ``label`` entities: a deliberately broken spaCy side."""

    def broken(examples):
        kept = []
        for eg in examples:
            doc = eg.x.copy()
            doc.set_ents([e for e in doc.ents if e.label_ != label], default="outside")
            kept.append(Example(doc, eg.y))
        return get_ner_prf(kept)

    return broken


def test_parity_reports_the_first_differing_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = Vocab()
    words = ["Peter", "met", "EU", ".", "Paris", "said", "."]
    golds = [make_doc(vocab, words, [0, 4], [(0, 1, "PER"), (4, 5, "LOC")]) for _ in range(2)]
    preds = [
        make_doc(vocab, words, [0], [(0, 1, "PER")]),
        make_doc(vocab, words, [0], [(0, 1, "PER"), (4, 5, "LOC")]),
    ]
    monkeypatch.setattr(metrics, "get_ner_prf", drop_label("LOC"))
    result = parity(golds, preds)
    assert not result.agree and any("LOC" in d for d in result.differences)
    first = result.first_difference
    assert first is not None and (first.unit.doc, first.unit.start, first.unit.end) == (1, 4, 7)
    assert first.gold == ["B-LOC", "O", "O"] and first.predicted == ["B-LOC", "O", "O"]
    assert result.to_json()["parity"]["verdict"] == "mismatch"


# -- parity on tiny bert_ner pipelines over CoNLL dev sentences ----------------------------------------------


@pytest.fixture(scope="module")
def dev_docs(conll_dir: Path) -> list[Doc]:
    """The first three articles of valid.txt, one Doc each, with sentence starts and gold entities."""
    articles, _ = read_conll(conll_dir / "valid.txt")
    vocab = Vocab()
    return [sentences_to_doc(vocab, a.sentences, a.docstart) for a in articles[:3]]


@pytest.fixture(scope="module")
def dev_spacy(dev_docs: list[Doc], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dev") / "dev.spacy"
    DocBin(docs=dev_docs).to_disk(path)
    return path


@pytest.fixture(scope="module")
def rigged_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved blank-en + bert_ner pipeline whose model labels each word of VALID_RIGGED by the table."""
    root = tmp_path_factory.mktemp("rigged")
    model = save_rigged_classifier(root / "model", VALID_RIGGED)
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(model)})
    nlp.to_disk(root / "pipeline")
    return root / "pipeline"


def test_parity_rigged_pipeline_on_conll_dev(rigged_pipeline: Path, dev_docs: list[Doc]) -> None:
    gold_ents = [[(e.start, e.end, e.label_) for e in d.ents] for d in dev_docs]
    predicted = predict(spacy.load(rigged_pipeline), dev_docs)
    assert [[(e.start, e.end, e.label_) for e in d.ents] for d in dev_docs] == gold_ents  # gold untouched
    result = parity(dev_docs, predicted)
    assert result.agree, result.differences
    assert result.crossing["predicted"] >= 1  # ". The" across a sentence boundary
    assert result.counts["sequences"] < result.counts["sentences"]
    assert 0 < result.spacy["ents_f"] < 1
    assert result.seqeval["per_type"].keys() == result.spacy["ents_per_type"].keys()


def test_parity_random_pipeline_on_conll_dev(tiny_model_dir: Path, dev_docs: list[Doc]) -> None:
    """A random tiny BERT predicts arbitrary (often ill-formed) label sequences: still exact parity."""
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(tiny_model_dir)})
    predicted = predict(nlp, dev_docs)
    assert sum(len(d.ents) for d in predicted) > 0
    result = parity(dev_docs, predicted)
    assert result.agree, result.differences


# -- CLI -----------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_parity_cli_agrees_and_writes_json(rigged_pipeline: Path, dev_spacy: Path, tmp_path: Path) -> None:
    out = tmp_path / "metrics" / "parity.json"
    result = runner.invoke(app, ["parity", str(rigged_pipeline), str(dev_spacy), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "strict F" in result.output and "spaCy P" in result.output and "ALL" in result.output
    assert "agree to 1e-09" in result.output
    data = json.loads(out.read_text())
    assert data["parity"]["verdict"] == "agree" and data["parity"]["first_difference"] is None
    assert data["ents_f"] == pytest.approx(data["seqeval"]["f"], abs=1e-9)
    assert (
        set(data["ents_per_type"])
        == set(data["seqeval"]["per_type"])
        == set(data["seqeval_strict"]["per_type"])
    )
    assert data["parity"]["crossing_entities"]["predicted"] >= 1


def test_parity_cli_mismatch_exits_nonzero_with_the_sentence(
    rigged_pipeline: Path, dev_spacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "get_ner_prf", drop_label("ORG"))
    out = tmp_path / "parity.json"
    result = runner.invoke(app, ["parity", str(rigged_pipeline), str(dev_spacy), "-o", str(out)])
    assert result.exit_code == 1
    assert "disagree" in result.stderr and "first differing sentence (doc 0, tokens 0-" in result.stderr
    lines = result.stderr.splitlines()
    words, gold, predicted = (
        next(line for line in lines if line.lstrip().startswith(k)) for k in ("words", "gold", "predicted")
    )
    assert "LEICESTERSHIRE" in words and "B-ORG" in gold and "B-ORG" in predicted
    assert json.loads(out.read_text())["parity"]["verdict"] == "mismatch"


def test_parity_cli_input_errors(rigged_pipeline: Path, dev_spacy: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["parity", str(tmp_path / "nope"), str(dev_spacy)])
    assert result.exit_code == 1 and "not a saved spaCy pipeline" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["parity", str(rigged_pipeline), str(tmp_path / "missing.spacy")])
    assert result.exit_code == 1 and "file not found" in result.stderr


def test_parity_any_pipeline_and_spacy_evaluate_figures(dev_docs: list[Doc]) -> None:
    """Any spaCy pipeline works (an entity_ruler here), and the spaCy side is what nlp.evaluate reports
    when it gets the gold words (``spacy evaluate --gold-preproc``)."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "ORG", "pattern": "LEICESTERSHIRE"},
            {"label": "LOC", "pattern": [{"TEXT": {"IN": ["England", "London", "Essex"]}}]},
            {"label": "PER", "pattern": [{"IS_TITLE": True}, {"TEXT": "Simmons"}]},
        ]
    )
    gold = [Doc(nlp.vocab).from_bytes(d.to_bytes()) for d in dev_docs]
    result = parity(gold, predict(nlp, gold))
    assert result.agree, result.differences
    assert result.spacy["ents_p"] > 0
    evaluated = nlp.evaluate([Example(d, g) for d, g in zip(metrics.word_copies(nlp, gold), gold)])
    for key in ("ents_p", "ents_r", "ents_f"):
        assert evaluated[key] == pytest.approx(result.spacy[key], abs=1e-12)
    assert evaluated["ents_per_type"] == result.spacy["ents_per_type"]  # same counts, same arithmetic
