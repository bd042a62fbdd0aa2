"""tune and what it sets: bert_ner's thresholds, label mapping and temperature; threshold and temperature
search; a tune run on a rigged classifier whose best settings are known, and its dev scores against
spacy evaluate's."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc, DocBin
from spacy.training import Corpus
from tiny_models import save_rigged_classifier, with_int8_graph
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.cli.arguments import parse_tries
from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.hf.inference.classifier import load_token_classifier, with_temperature
from spacy_bert_ner.hf.inference.options import FORWARD_OPTIONS
from spacy_bert_ner.tuning.budget import REFERENCE, Budget
from spacy_bert_ner.tuning.calibration import expected_calibration_error, fit_temperature, reliability
from spacy_bert_ner.tuning.forward import InputSetting
from spacy_bert_ner.tuning.search import tune
from spacy_bert_ner.tuning.thresholds import Candidates, best_f1, for_target, score
from spacy_bert_ner.tuning.tune_settings import Objective, TuneSettings

pytestmark = pytest.mark.core

# Wordpiece -> label; weights make a piece less sure (see tests/test_hf_classifier.py for the probabilities).
PIECES = {
    "John": "B-PER",
    "Smith": "I-PER",
    "Paris": "B-LOC",
    "visited": "O",
    ".": "O",
    "X": {"O": 1.0, "B-ORG": 0.9},  # Xfoo: first -> O; average, max -> B-ORG
    "##foo": "B-ORG",
    "Q": "B-MISC",  # Qrs: first, max -> B-MISC; average -> O
    "##r": {"O": 1.0, "I-MISC": 0.3},
    "##s": {"O": 1.0, "B-MISC": 0.9},
    "Z": {"B-LOC": 1.0, "O": 0.9},  # a LOC with a low score
}
# Gold: Xfoo is an ORG, Qrs and Z are not entities. Z is in both halves of dev (docs at even and odd
# positions), so a LOC threshold fitted on either half holds on the other (tuning/held_out.py).
DEV = [
    (["John", "Smith", "visited", "Xfoo", "."], [(0, 2, "PER"), (3, 4, "ORG")]),
    (["Qrs", "visited", "Paris", "."], [(2, 3, "LOC")]),
    (["Z", "visited", "Paris", "."], [(2, 3, "LOC")]),
    (["Z", "visited", "."], []),
]


@pytest.fixture(scope="module")
def rigged_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_rigged_classifier(tmp_path_factory.mktemp("tune-rigged"), PIECES)


def bert_ner(model: Path, **config) -> spacy.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(model), **config})
    return nlp


def gold_doc(vocab, words: list[str], ents: list[tuple[int, int, str]]) -> Doc:
    tags = ["O"] * len(words)
    for start, end, label in ents:
        tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
    return Doc(vocab, words=words, ents=tags)


@pytest.fixture(scope="module")
def dev_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vocab = spacy.blank("en").vocab
    path = tmp_path_factory.mktemp("tune-dev") / "dev.spacy"
    DocBin(docs=[gold_doc(vocab, words, ents) for words, ents in DEV]).to_disk(path)
    return path


def evaluate(nlp: spacy.Language, path: Path) -> dict:
    return nlp.evaluate(list(Corpus(str(path))(nlp)))


# -- thresholds, label mapping, temperature in bert_ner ------------------------------------------------------


def test_entities_under_their_threshold_stay_in_the_span_group(rigged_dir: Path) -> None:
    plain = bert_ner(rigged_dir)("Z visited Paris .")
    (z_score, paris_score) = plain.spans["bert_ner"].attrs["scores"]
    assert z_score < 0.9 < paris_score
    doc = bert_ner(rigged_dir, thresholds={"LOC": 0.9})("Z visited Paris .")
    assert [(e.text, e.label_) for e in doc.ents] == [("Paris", "LOC")]
    group = doc.spans["bert_ner"]
    assert [(s.text, s.label_) for s in group] == [("Z", "LOC"), ("Paris", "LOC")]
    assert list(group.attrs["scores"]) == pytest.approx([z_score, paris_score])
    # a threshold for another label changes nothing here
    assert [e.text for e in bert_ner(rigged_dir, thresholds={"PER": 0.99})("Z visited Paris .").ents] == [
        "Z",
        "Paris",
    ]


def test_labels_are_mapped_or_dropped(rigged_dir: Path) -> None:
    nlp = bert_ner(rigged_dir, labels={"PER": "PERSON", "MISC": None})
    doc = nlp("John Smith visited Qrs .")
    assert [(e.text, e.label_) for e in doc.ents] == [("John Smith", "PERSON")]
    assert [s.label_ for s in doc.spans["bert_ner"]] == ["PERSON"]  # a dropped type is not kept anywhere
    assert nlp.get_pipe("bert_ner").labels == ("LOC", "ORG", "PERSON")
    # thresholds name the labels as written
    doc = bert_ner(rigged_dir, labels={"LOC": "GPE"}, thresholds={"GPE": 0.9})("Z visited Paris .")
    assert [(e.text, e.label_) for e in doc.ents] == [("Paris", "GPE")]


def test_spacy_evaluate_scores_the_mapped_labels(rigged_dir: Path, tmp_path: Path) -> None:
    vocab = spacy.blank("en").vocab
    gold = gold_doc(vocab, ["John", "Smith", "visited", "Paris", "."], [(0, 2, "PERSON"), (3, 4, "LOC")])
    DocBin(docs=[gold]).to_disk(tmp_path / "gold.spacy")
    mapped = evaluate(bert_ner(rigged_dir, labels={"PER": "PERSON"}), tmp_path / "gold.spacy")
    assert mapped["ents_f"] == 1.0 and set(mapped["ents_per_type"]) == {"PERSON", "LOC"}
    unmapped = evaluate(bert_ner(rigged_dir), tmp_path / "gold.spacy")
    assert unmapped["ents_f"] == 0.5 and unmapped["ents_per_type"]["PER"]["p"] == 0.0


def test_temperature_divides_the_logits(rigged_dir: Path) -> None:
    classifier = load_token_classifier(str(rigged_dir))
    words = ["Z", "visited", "Xfoo"]
    encoding = classifier.tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        logits = classifier.model(**encoding).logits[0]
    expected = (logits / 2.5).softmax(-1).max(-1).values.numpy()[[1, 2, 3]]  # first piece of each word
    (got,) = load_token_classifier(str(rigged_dir), temperature=2.5).predict([words])
    assert got.scores == pytest.approx(expected, abs=1e-5)
    (plain,) = classifier.predict([words])
    assert list(got.label_ids) == list(plain.label_ids) and (got.scores < plain.scores).all()
    probs = numpy.array([[0.7, 0.2, 0.1]], dtype=numpy.float32)
    assert with_temperature(probs, 1.0) is probs
    assert with_temperature(probs, 1e-3)[0] == pytest.approx([1, 0, 0], abs=1e-6)


def test_settings_survive_a_disk_round_trip(rigged_dir: Path, tmp_path: Path) -> None:
    settings = {"thresholds": {"GPE": 0.7}, "labels": {"LOC": "GPE", "MISC": None}, "temperature": 1.5}
    nlp = bert_ner(rigged_dir, **settings)
    text = "John Smith visited Z and Paris and Qrs ."
    before = nlp(text)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    config = loaded.config["components"]["bert_ner"]
    assert {k: config[k] for k in settings} == settings
    after = loaded(text)
    assert [(e.text, e.label_) for e in after.ents] == [(e.text, e.label_) for e in before.ents]
    assert [(e.text, e.label_) for e in after.ents] == [("John Smith", "PER"), ("Paris", "GPE")]
    assert list(after.spans["bert_ner"].attrs["scores"]) == pytest.approx(
        list(before.spans["bert_ner"].attrs["scores"])
    )
    assert loaded.get_pipe("bert_ner").classifier.temperature == 1.5


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"thresholds": {"LOC": 1.5}}, r"thresholds\['LOC'\] must be a score from 0 to 1"),
        (
            {"thresholds": {"PERSON": 0.5}},
            r"thresholds names 'PERSON', which this component never writes; its labels .*LOC, MISC, ORG, PER",
        ),
        (
            {"labels": {"PERSON": "PER"}},
            r"labels maps 'PERSON', which model .* does not predict; its entity types: LOC, MISC, ORG, PER",
        ),
        ({"labels": {"MISC": None}, "thresholds": {"MISC": 0.5}}, "thresholds names 'MISC'"),
        ({"annotate": "spans", "thresholds": {"LOC": 0.5}}, "annotate='spans' writes none"),
        ({"temperature": 0}, "temperature = 0: must be a number above 0"),
    ],
)
def test_bad_settings_are_named(rigged_dir: Path, config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        bert_ner(rigged_dir, **config)


# -- threshold search and calibration ------------------------------------------------------------------------


def candidates(rows: list[tuple[str, float, bool]], gold: dict[str, int]) -> Candidates:
    labels, scores, correct = zip(*rows) if rows else ((), (), ())
    return Candidates(
        numpy.array(labels, dtype=object), numpy.array(scores), numpy.array(correct, bool), gold
    )


def test_scores_count_like_spacy() -> None:
    found = candidates(
        [("PER", 0.9, True), ("PER", 0.4, False), ("LOC", 0.8, True), ("LOC", 0.3, True)],
        {"PER": 2, "LOC": 2, "ORG": 1},
    )
    plain = score(found)
    assert (plain.p, plain.r) == pytest.approx((3 / 4, 3 / 5))
    assert plain.per_type["ORG"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    assert plain.counts["PER"] == {"tp": 1, "fp": 1, "fn": 1}
    thresholded = score(found, {"PER": 0.5})
    assert (thresholded.p, thresholded.r) == pytest.approx((1.0, 3 / 5))


def test_best_f1_drops_only_what_costs_f1() -> None:
    found = candidates(
        [("PER", 0.95, True), ("PER", 0.9, True), ("PER", 0.45, False), ("PER", 0.4, False)]
        + [("LOC", 0.9, True), ("LOC", 0.2, True), ("LOC", 0.1, False)]
        + [("ORG", 0.9, True), ("ORG", 0.3, False), ("ORG", 0.2, True)],
        {"PER": 2, "LOC": 3, "ORG": 2},
    )
    thresholds = best_f1(found)
    assert 0.45 < thresholds["PER"] <= 0.9 and 0.1 < thresholds["LOC"] <= 0.2
    assert "ORG" not in thresholds  # cutting its wrong 0.3 would cut its right 0.2 too: F1 12/14 > 10/12
    assert score(found, thresholds).f == pytest.approx(2 * 6 / (2 * 6 + 1 + 1))


def test_targets_per_label_and_overall() -> None:
    found = candidates(
        [
            ("PER", 0.9, True),
            ("PER", 0.8, True),
            ("PER", 0.7, False),
            ("PER", 0.6, True),
            ("LOC", 0.9, False),
            ("LOC", 0.5, True),
        ],
        {"PER": 4, "LOC": 1},
    )
    result = for_target(found, "p", 0.8, "label")
    assert result.thresholds == {"PER": pytest.approx(0.75)}  # keeps 0.8 and up: precision 1; halfway to 0.7
    assert result.reached == {"PER": True, "LOC": False}  # LOC's best is 1 of 2, at any threshold: none set
    assert for_target(found, "p", 0.75, "label").thresholds == {}  # all of PER: 3 of 4
    recall = for_target(found, "r", 0.5, "label")
    assert recall.thresholds["PER"] == pytest.approx(0.75) and recall.reached["PER"]  # the top 2 of 4 gold
    assert for_target(found, "r", 1.0, "label").reached["PER"] is False
    overall = for_target(
        candidates(
            [
                ("PER", 0.9, True),
                ("LOC", 0.85, True),
                ("PER", 0.8, True),
                ("PER", 0.7, False),
                ("LOC", 0.5, False),
            ],
            {"PER": 3, "LOC": 1},
        ),
        "p",
        0.8,
        "overall",
    )
    assert overall.thresholds == {"PER": pytest.approx(0.75), "LOC": pytest.approx(0.75)}
    assert overall.reached == {"overall": True}


def test_reliability_and_calibration_error() -> None:
    scores = numpy.array([0.95, 0.95, 0.55, 0.55, 1.0])
    correct = numpy.array([True, False, True, True, True])
    bins = reliability(scores, correct)
    assert [b.n for b in bins] == [0, 0, 0, 0, 0, 2, 0, 0, 0, 3]
    assert bins[9].precision == pytest.approx(2 / 3) and bins[9].mean_score == pytest.approx(2.9 / 3)
    expected = 2 / 5 * abs(1 - 0.55) + 3 / 5 * abs(2 / 3 - 2.9 / 3)
    assert expected_calibration_error(scores, correct) == pytest.approx(expected)
    assert math.isnan(bins[0].precision) and bins[0].as_dict()["precision"] is None


def test_fit_temperature_recovers_an_overconfident_model() -> None:
    rng = numpy.random.default_rng(0)
    truth = rng.uniform(0.3, 0.99, 20_000)
    correct = rng.random(truth.size) < truth
    logit = numpy.log(truth / (1 - truth))

    def scores_at(t: float) -> numpy.ndarray:  # the model's logits are twice the true ones
        return 1 / (1 + numpy.exp(-2 * logit / t))

    assert fit_temperature(scores_at, correct) == pytest.approx(2.0, rel=0.05)
    assert fit_temperature(scores_at, numpy.ones(5, bool)) == 1.0


# -- tune ----------------------------------------------------------------------------------------------------


def test_tune_finds_the_known_best_settings(rigged_dir: Path, dev_path: Path, tmp_path: Path) -> None:
    nlp = bert_ner(rigged_dir)
    default = evaluate(nlp, dev_path)
    # first: ORG missed, MISC and both Zs wrong: P 3/6, R 3/4
    assert default["ents_f"] == pytest.approx(2 * 0.5 * 0.75 / 1.25)
    result = tune(nlp, dev_path, TuneSettings(progress=False))
    assert result.default.f == pytest.approx(default["ents_f"])
    by_aggregation = {
        t.aggregation: t.plain.f for t in result.trials if t.setting.get("pack_sentences") is False
    }
    assert by_aggregation["average"] > max(by_aggregation["first"], by_aggregation["max"])
    assert result.chosen["aggregation"] == "average"
    assert set(result.chosen["thresholds"]) == {"LOC"}  # only Z's low LOC needs one
    assert result.tuned.f == 1.0
    # kept because each half's LOC threshold drops the other half's Z (the temperature minimises the log
    # loss; on these 7 entities that leaves the binned calibration error 0.002 higher, so it is not asserted)
    held_out = result.held_out
    assert held_out.kept and [set(half.thresholds) for half in held_out.halves] == [{"LOC"}, {"LOC"}]
    assert held_out.untuned.f < held_out.tuned.f == 1.0
    # a gain under --min-held-out-gain is within a small dev set's noise: the untuned reading, and why
    strict = tune(nlp, dev_path, TuneSettings(progress=False, min_held_out_gain=held_out.gain + 0.01))
    assert not strict.held_out.kept and strict.chosen["thresholds"] == {}
    assert strict.chosen["temperature"] == 1.0 and strict.tuned.f < result.tuned.f
    assert f"under the {held_out.gain + 0.01:g} points a gain must reach" in strict.held_out.reason()
    with pytest.raises(
        ConfigError, match=r"min_held_out_gain = -1: Input should be greater than or equal to 0"
    ):
        TuneSettings(min_held_out_gain=-1)


def test_tuned_pipeline_scores_what_tune_reported(rigged_dir: Path, dev_path: Path, tmp_path: Path) -> None:
    output = tmp_path / "new" / "tuned"  # its parent is made too
    runner = CliRunner()
    pipeline = tmp_path / "pipeline"
    bert_ner(rigged_dir).to_disk(pipeline)
    result = runner.invoke(
        app, ["tune", str(pipeline), str(dev_path), str(output), "--no-progress", "--eval", str(dev_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((output / "tune.json").read_text())
    tuned = spacy.load(output)
    config = tuned.config["components"]["bert_ner"]
    assert {k: config[k] for k in report["chosen"]} == report["chosen"]
    scores = evaluate(tuned, dev_path)
    assert scores["ents_f"] == pytest.approx(report["dev_tuned"]["f"]) == 1.0
    assert report["evaluation"]["tuned"]["scores"]["f"] == pytest.approx(scores["ents_f"])
    assert report["evaluation"]["default"]["scores"]["f"] == pytest.approx(report["dev_default"]["f"])
    assert {"reliability_before", "reliability_after", "ece_before", "ece_after"} <= set(
        report["calibration"]
    )
    assert len(report["tried"]) == 2 * 3  # (sentences, context 0) packed and not, x 3 aggregations
    assert "F (thresholds)" in result.output
    # the report's section: what was chosen, dev before / after, the reliability plot
    page = runner.invoke(
        app, ["report", str(tmp_path / "report.html"), "--tune", f"hf={output / 'tune.json'}"]
    )
    assert page.exit_code == 0, page.output
    html = (tmp_path / "report.html").read_text()
    assert (
        "<h2 id='tune'>" in html and html.count("<svg") == 2 and "aggregation = &quot;average&quot;" in html
    )
    # the frontier: one point per reading tried, the chosen one ringed and named
    frontier = html[html.index("dev F1 against words per second") :]
    assert frontier.count("<title>") == len(report["tried"]) and html.count("(chosen)</title>") == 1
    assert "sentences, context 0, average: F1 100.00" in frontier
    assert f"{report['chosen']['thresholds']['LOC']:.3f}" in html
    (tmp_path / "bad.json").write_text("{}")
    bad = runner.invoke(app, ["report", str(tmp_path / "r2.html"), "--tune", f"hf={tmp_path / 'bad.json'}"])
    assert bad.exit_code != 0 and "not a tune.json written by `tune`" in bad.output


def test_tune_for_a_precision_target(rigged_dir: Path, dev_path: Path, tmp_path: Path) -> None:
    nlp = bert_ner(rigged_dir)
    pipeline_dir = tmp_path / "pipeline"
    nlp.to_disk(pipeline_dir)
    first = tune(
        nlp,
        dev_path,
        TuneSettings(objective=Objective("p", 1.0, "label"), aggregations=["first"], progress=False),
    )
    assert set(first.chosen["thresholds"]) == {"LOC"}  # Z cut; MISC's one entity is wrong at any threshold
    assert first.reached == {"LOC": True, "MISC": False, "ORG": True, "PER": True}
    cli = CliRunner().invoke(
        app,
        [
            "tune",
            str(pipeline_dir),
            str(dev_path),
            str(tmp_path / "out"),
            "--target-precision",
            "1",
            "--aggregations",
            "first",
            "--no-progress",
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert "precision >= 1 per label: not reached on dev for MISC; they keep the threshold" in cli.output
    best = tune(nlp, dev_path, TuneSettings(objective=Objective("p", 1.0, "label"), progress=False))
    assert best.chosen["aggregation"] == "average" and best.tuned.p == 1.0 and best.tuned.r == 1.0


def test_tune_refuses_bad_options(rigged_dir: Path, dev_path: Path, tmp_path: Path) -> None:
    nlp = bert_ner(rigged_dir)
    with pytest.raises(
        ConfigError, match=r"aggregations.0 = 'mean': Input should be 'first', 'average' or 'max'"
    ):
        tune(nlp, dev_path, TuneSettings(aggregations=["mean"], progress=False))
    with pytest.raises(ConfigError, match="--component 'ner'"):
        tune(nlp, dev_path, TuneSettings(component="ner", progress=False))
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "tune",
            "missing",
            str(dev_path),
            str(tmp_path / "out"),
            "--target-precision",
            "0.9",
            "--target-recall",
            "0.9",
        ],
    )
    assert result.exit_code != 0 and "give one of them" in result.output
    # the library names its fields; the command says them as the flags the user typed
    bad = runner.invoke(
        app, ["tune", "missing", str(dev_path), str(tmp_path / "o"), "--aggregations", "mean"]
    )
    assert bad.exit_code == 1
    assert "tune settings: --aggregations = 'mean': Input should be 'first', 'average' or 'max'" in bad.output


def test_tune_tries_window_lengths_over_whole_docs(rigged_dir: Path, dev_path: Path) -> None:
    nlp = bert_ner(rigged_dir)
    result = tune(
        nlp, dev_path, TuneSettings(windows=[8, 16], packing=False, aggregations=["average"], progress=False)
    )
    tried = [t.setting.describe() for t in result.trials]
    assert tried == [
        "sentences, context 0",
        "whole docs, context 0, window 8",
        "whole docs, context 0, window 16",
    ]
    # the rigged model ignores context, so every input reads the same: the pipeline's own setting stays
    assert {t.plain.f for t in result.trials} == {result.trials[0].plain.f} and "window" not in result.chosen
    assert result.trials[1].as_dict()["window"] == 8
    with pytest.raises(
        ConfigError, match=r"input setting 'whole docs, context 0, window 2': window must be more"
    ):
        tune(nlp, dev_path, TuneSettings(windows=[2], progress=False))


def test_thresholds_that_do_not_hold_on_held_out_dev_are_left_out(rigged_dir: Path, tmp_path: Path) -> None:
    """Z's wrong LOC only in the even half of dev: the LOC threshold fitted there changes nothing on the odd
    half, and the odd half fits none, so held out they do not raise F1: tune keeps the untuned reading
    (temperature 1, no thresholds), says why, and tune.json records both halves."""
    vocab = spacy.blank("en").vocab
    dev = tmp_path / "dev.spacy"
    DocBin(docs=[gold_doc(vocab, words, ents) for words, ents in DEV[:3]]).to_disk(dev)
    result = tune(bert_ner(rigged_dir), dev, TuneSettings(progress=False))
    held_out = result.held_out
    assert [set(half.thresholds) for half in held_out.halves] == [{"LOC"}, set()]
    assert not held_out.kept and held_out.tuned.f == held_out.untuned.f
    assert result.chosen["thresholds"] == {} and result.chosen["temperature"] == 1.0
    assert result.chosen["aggregation"] == "average" and result.tuned.f < 1.0
    pipeline = tmp_path / "pipeline"
    bert_ner(rigged_dir).to_disk(pipeline)
    run = CliRunner().invoke(app, ["tune", str(pipeline), str(dev), str(tmp_path / "tuned"), "--no-progress"])
    assert run.exit_code == 0, run.output
    assert "⚠ temperature and thresholds left out (temperature 1, no thresholds)" in run.output
    report = json.loads((tmp_path / "tuned" / "tune.json").read_text())["held_out"]
    assert report["kept"] is False and [h["fitted_on"] for h in report["halves"]] == ["even", "odd"]
    assert report["halves"][0]["thresholds"] and report["halves"][1]["scored_on"] == "even"


def test_tune_without_thresholds_or_temperature_keeps_argmax_scores(rigged_dir: Path, dev_path: Path) -> None:
    result = tune(
        bert_ner(rigged_dir), dev_path, TuneSettings(thresholds=False, temperature=False, progress=False)
    )
    assert result.chosen["thresholds"] == {} and result.chosen["temperature"] == 1.0
    assert result.chosen["aggregation"] == "average"  # 1 wrong LOC (Z) left: F1 8/9
    assert result.tuned.f == pytest.approx(2 * 4 / (2 * 4 + 2)) and result.ece_after == result.ece_before


def test_tune_needs_a_bert_ner_component(dev_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    with pytest.raises(
        ConfigError, match=r"one bert_ner component, this one has 0 \(none; pipeline: sentencizer\)"
    ):
        tune(nlp, dev_path, TuneSettings(progress=False))


# -- the speed budget ----------------------------------------------------------------------------------------


def test_tune_keeps_to_a_time_budget(rigged_dir: Path, dev_path: Path) -> None:
    """The rigged model ignores context, so every reading scores the same and the first tried (the pipeline's
    own, context 2) wins a tie; a budget that rules it out leaves the reference reading."""
    nlp = bert_ner(rigged_dir, context=2)
    own, packed = (
        InputSetting.of(True, context=2, pack_sentences=False),
        InputSetting.of(True, context=2, pack_sentences=True),
    )
    costs = {
        REFERENCE: 2.0,
        own: 6.0,
        packed: 3.0,
        InputSetting.of(True, context=0, pack_sentences=True): 1.6,
    }
    free = tune(nlp, dev_path, TuneSettings(aggregations=["average"], progress=False), costs=costs)
    assert free.chosen["context"] == 2 and free.chosen["pack_sentences"] is False
    words = sum(len(words) for words, _ in DEV)
    by_setting = {t.setting: t for t in free.trials}
    assert by_setting[own].cost.words_per_second == pytest.approx(words / 6.0)
    assert by_setting[own].cost.time_ratio == pytest.approx(3.0)
    assert by_setting[own].cost.time_x_fastest == pytest.approx(6.0 / 1.6)
    assert all(t.within_budget for t in free.trials)

    capped = tune(
        nlp, dev_path, TuneSettings(aggregations=["average"], budget=Budget(1.5), progress=False), costs=costs
    )
    assert {t.setting for t in capped.trials if not t.within_budget} == {own}  # 3x; packed is 1.5x
    assert (capped.chosen["context"], capped.chosen["pack_sentences"]) == (0, False)  # next in the grid
    assert capped.chosen_cost == by_setting[REFERENCE].cost

    budget = Budget(min_words_per_second=words / 1.7)
    fast = tune(
        nlp, dev_path, TuneSettings(aggregations=["average"], progress=False, budget=budget), costs=costs
    )
    assert {t.setting for t in fast.trials if t.within_budget} == {
        InputSetting.of(True, context=0, pack_sentences=True)
    }
    assert (fast.chosen["context"], fast.chosen["pack_sentences"]) == (0, True)


def test_tune_json_records_each_readings_cost(rigged_dir: Path, dev_path: Path, tmp_path: Path) -> None:
    pipeline, output = tmp_path / "pipeline", tmp_path / "tuned"
    bert_ner(rigged_dir, context=2).to_disk(pipeline)
    result = CliRunner().invoke(
        app,
        ["tune", str(pipeline), str(dev_path), str(output), "--no-progress", "--max-time-ratio", "50"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((output / "tune.json").read_text())
    assert report["budget"]["max_time_ratio"] == 50 and report["budget"]["reference"]["context"] == 0
    assert report["timing"] == {"rounds": 3, "max_words": 10_000}
    for tried in report["tried"]:
        assert tried["words_per_second"] > 0 and tried["forward_seconds"] > 0
        assert tried["time_x_fastest"] >= 1 and tried["within_budget"] is (tried["time_ratio"] <= 50)
    reference = [t for t in report["tried"] if t["context"] == 0 and not t["pack_sentences"]]
    assert reference and all(t["time_ratio"] == 1 for t in reference)
    assert report["chosen_cost"]["words_per_second"] > 0


def test_tune_names_a_budget_it_cannot_keep(rigged_dir: Path, dev_path: Path) -> None:
    nlp = bert_ner(rigged_dir)
    costs = {REFERENCE: 2.0, InputSetting.of(True, context=0, pack_sentences=True): 4.0}
    words = sum(len(words) for words, _ in DEV)  # read in the reference's 2 seconds
    with pytest.raises(ConfigError, match=r"no reading tried keeps to the budget \(>= 1,000 words/s\); the "
                       rf"fastest, 'sentences, context 0', read {words / 2:.0f} words/s"):  # fmt: skip
        tune(
            nlp, dev_path, TuneSettings(budget=Budget(min_words_per_second=1000), progress=False), costs=costs
        )
    with pytest.raises(
        ConfigError, match=r"budget: max_time_ratio = 0.5: must be 1 or more \(times the time"
    ):
        Budget(0.5)
    with pytest.raises(ConfigError, match=r"budget: min_words_per_second = 0.0: must be above 0"):
        Budget(min_words_per_second=0.0)
    with pytest.raises(ConfigError, match=r"costs gives no time for sentences, packed, context 0"):
        tune(nlp, dev_path, TuneSettings(progress=False), costs={REFERENCE: 1.0})


def test_tune_tries_int8_and_a_pipeline_saved_in_int8_reads_in_it(
    rigged_dir: Path, dev_path: Path, tmp_path: Path
) -> None:
    pytest.importorskip("onnxruntime")
    nlp = bert_ner(rigged_dir)
    result = tune(
        nlp,
        dev_path,
        TuneSettings(dtypes=["float32", "int8"], packing=False, aggregations=["average"], progress=False),
    )
    assert [t.setting.describe() for t in result.trials] == [
        "sentences, context 0",
        "sentences, context 0, int8",
    ]
    assert (
        result.trials[1].as_dict()["dtype"] == "int8" and result.trials[1].plain.f == result.trials[0].plain.f
    )
    with pytest.raises(
        ConfigError, match=r"dtypes.0 = 'int4': Input should be 'float32', 'bfloat16', 'float16' or 'int8'"
    ):
        tune(nlp, dev_path, TuneSettings(dtypes=["int4"], progress=False))
    bert_ner(with_int8_graph(rigged_dir, tmp_path / "rigged-int8"), dtype="int8").to_disk(tmp_path / "int8")
    assert (tmp_path / "int8" / "bert_ner" / "model" / "onnx" / "int8.onnx").is_file()
    loaded = spacy.load(tmp_path / "int8")
    assert loaded.get_pipe("bert_ner").classifier.runtime.name == "onnx"
    assert evaluate(loaded, dev_path)["ents_f"] == pytest.approx(evaluate(nlp, dev_path)["ents_f"])


# -- one seam with bert_ner's reading options ---------------------------------------------------------------

# A value of each reading option that changes the model's input, valid for the rigged pipeline: a new option
# of kind "forward" in hf/inference/options.py needs one here, and then tune tries it with --try and no other
# edit.
SAMPLE_VALUES = {"window": 16, "stride": 4, "context": 1, "pack_sentences": True, "dtype": "int8"}


def test_every_reading_option_says_how_tune_treats_it() -> None:
    from spacy_bert_ner.hf.inference.options import KIND_OF, KINDS

    undeclared = [name for name, kind in KIND_OF.items() if kind not in KINDS]
    assert undeclared == [], (
        "declare each ReadingOptions field's kind in hf/inference/options.py, "
        f"dataclasses.field(metadata={{'kind': ...}}) with one of {sorted(KINDS)}"
    )


@pytest.mark.parametrize("name", FORWARD_OPTIONS)
def test_tune_tries_every_forward_reading_option(
    name: str, rigged_dir: Path, dev_path: Path, tmp_path: Path
) -> None:
    """`--try NAME=VALUE` works for every option of kind forward: the reading is in tune's search space,
    read with its own forward pass, and tune.json records the option in what it tried."""
    assert name in SAMPLE_VALUES, f"add a sample value for {name!r} to SAMPLE_VALUES in tests/test_tune.py"
    value = SAMPLE_VALUES[name]
    pipeline, output = tmp_path / "pipeline", tmp_path / "tuned"
    bert_ner(rigged_dir).to_disk(pipeline)
    args = ["tune", str(pipeline), str(dev_path), str(output), "--no-progress", "--no-packing"]
    result = CliRunner().invoke(
        app, [*args, "--aggregations", "average", "--try", f"{name}={json.dumps(value)}"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((output / "tune.json").read_text())
    assert report["search"]["tries"] == {name: [value]}
    assert [t[name] for t in report["tried"] if name in t and t.get(name) == value]


def test_tune_refuses_to_try_what_is_not_a_forward_option() -> None:
    with pytest.raises(
        ConfigError, match=r"aggregation cannot be tried as an input setting; .* window, stride"
    ):
        TuneSettings(tries=(("aggregation", ("max",)),))
    with pytest.raises(ConfigError, match=r"window = 0: must be a positive number of wordpieces"):
        TuneSettings(tries=(("window", (0,)),))
    assert parse_tries(["stride=64,96", "dtype=int8", "pack_sentences=true"]) == (
        ("stride", (64, 96)),
        ("dtype", ("int8",)),
        ("pack_sentences", (True,)),
    )
    with pytest.raises(ConfigError, match=r"--try 'stride': write NAME=VALUE"):
        parse_tries(["stride"])
    twice = TuneSettings(tries=parse_tries(["stride=64", "dtype=int8", "stride=96,64"]))
    assert twice.tries == (("stride", (64, 96)), ("dtype", ("int8",)))


def test_a_reading_that_wins_only_on_the_dev_it_was_chosen_on_is_not_taken() -> None:
    """Four dev docs, one LOC each; each reading labels one entity per doc, right or wrong. Noise: B beats
    the pipeline's reading A on the even half and loses on the odd one, so held out it scores worse and A
    stays. Signal: C is right everywhere, and held out it gains the 50 points it shows on dev."""
    from spacy_bert_ner.tuning.forward import Decoded
    from spacy_bert_ner.tuning.held_out import check_reading

    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["Paris", "x"], ents=["B-LOC", "O"]) for _ in range(4)]
    data = type("Dev", (), {"examples": [type("Ex", (), {"reference": doc})() for doc in docs]})()

    def reading(right: set[int]) -> Decoded:
        candidates = Candidates(
            numpy.array(["LOC"] * 4, dtype=object),
            numpy.ones(4),
            numpy.array([i in right for i in range(4)]),
            {},
        )
        return Decoded(candidates, numpy.array([[i, 0, 1] for i in range(4)]))

    names = {"A": "A", "B": "B", "C": "C"}
    noise = check_reading({"A": reading({0, 1, 3}), "B": reading({0, 2})}, names, "A", data)
    assert noise.picks == ["B", "A"] and not noise.kept and noise.gain == pytest.approx(-50)
    assert "the pipeline's own reading kept" in noise.reason()
    signal = check_reading({"A": reading({0, 1}), "C": reading({0, 1, 2, 3})}, names, "A", data)
    assert signal.picks == ["C", "C"] and signal.kept and signal.gain == pytest.approx(50)
    assert signal.as_dict()["kept"] is True and "reading chosen on dev" in signal.reason()
