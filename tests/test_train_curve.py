"""train-curve: train-hf on nested shares of the training set, dev F1 per share, the reading of the curve's
end, and the report's plot of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_hf_inputs import CONFIG, MAX_STEPS
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.training.train_curve import Point, check_fractions, reading, share

pytestmark = [
    pytest.mark.core,
    pytest.mark.filterwarnings("ignore:mtime may not be reliable on this filesystem:UserWarning"),
]


def documents(sizes: list[int]) -> list[list[tuple[list[str], list[str]]]]:
    """Documents of the given numbers of one-word sentences, the word naming its document."""
    return [[([f"d{d}"], ["O"])] * size for d, size in enumerate(sizes)]


def test_shares_are_nested_and_hold_their_part_of_the_sentences() -> None:
    docs = documents([1] * 100)
    shares = {fraction: share(docs, fraction, seed=42) for fraction in (0.25, 0.5, 0.75, 1.0)}
    assert [len(s) for s in shares.values()] == [25, 50, 75, 100]
    assert shares[0.5][:25] == shares[0.25] and shares[1.0][:75] == shares[0.75]
    assert shares[0.25] != docs[:25]  # shuffled, not the corpus's first documents
    assert share(docs, 0.25, seed=42) == shares[0.25] != share(docs, 0.25, seed=7)


def test_a_share_keeps_documents_whole() -> None:
    docs = documents([10, 1, 1])
    assert len(share(docs, 0.01, seed=0)) == 1  # at least one document
    assert sum(len(d) for d in share(docs, 0.5, seed=0)) >= 6  # documents are not cut
    whole = share(docs, 1.0, seed=0)
    assert len(whole) == 3 and sorted(map(len, whole)) == [1, 1, 10]


@pytest.mark.parametrize("fractions", [[], [0, 1], [0.5], [0.5, 1.5]])
def test_fractions_must_end_with_the_whole_set(fractions: list[float]) -> None:
    with pytest.raises(ConfigError, match=r"shares of the training set in \(0, 1\], the largest 1"):
        check_fractions(fractions)


def point(fraction: float, f: float, learned: bool = True) -> Point:
    return Point(fraction, 1, int(1000 * fraction), f, 10, 20, 60.0, learned)


@pytest.mark.parametrize(
    "last, words",
    [
        (0.55, "the last 25% of the training set added 5.0 F1: more annotation will likely help"),
        (0.505, "added 0.5 F1: more annotation may help a little"),
        (0.49, "added -1.0 F1: more of the same annotation is unlikely to help"),
    ],
)
def test_reading_of_the_curves_end(last: float, words: str) -> None:
    assert words in reading([point(0.5, 0.3), point(0.75, 0.5), point(1.0, last)])


def test_reading_of_a_curve_that_did_not_learn() -> None:
    assert "the model did not learn" in reading([point(0.5, 0.0, False), point(1.0, 0.01, False)])
    assert "no curve to read" in reading([point(1.0, 0.5)])


def test_train_curve_then_report(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    output = tmp_path / "curve"
    result = CliRunner().invoke(
        app,
        [
            "train-curve", str(CONFIG), str(output), "--fractions", "0.5,1",
            "--paths.train", str(hf_corpus / "train.spacy"), "--paths.dev", str(hf_corpus / "dev.spacy"),
            "--model.backbone", str(backbone), "--training_args.max_steps", str(MAX_STEPS),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    curve = json.loads((output / "curve.json").read_text())
    points = curve["points"]
    assert [p["fraction"] for p in points] == [0.5, 1.0]
    assert 0 < points[0]["sentences"] < points[1]["sentences"]
    assert all(p["steps_taken"] == MAX_STEPS for p in points)
    assert curve["host"]["cores"] >= 1 and curve["host"]["kind"]  # the minutes' machine
    metrics = json.loads((output / "100" / "metrics.json").read_text())
    assert metrics["train"]["sentences"] == points[1]["sentences"]
    assert (output / "050" / "metrics.json").is_file()
    assert curve["reading"] in result.output and "dev F1" in result.output
    page = tmp_path / "report.html"
    report = CliRunner().invoke(app, ["report", str(page), "--curve", f"tiny={output / 'curve.json'}"])
    assert report.exit_code == 0, report.output
    html = page.read_text()
    assert "<h2 id='curve'>" in html and "learning curve: dev entity F1 against training sentences" in html
    assert html.count("<circle") == 2 and curve["reading"] in html
    assert f"Minutes measured on {curve['host']['cpu']} ({curve['host']['kind']})" in html
    assert "<h2 id='subword'>" not in html  # no metrics files: no scores to compare
    bad = CliRunner().invoke(
        app, ["report", str(tmp_path / "r2.html"), "--curve", f"x={hf_corpus / 'x.json'}"]
    )
    assert bad.exit_code == 1 and "file not found; pass the curve.json `train-curve` wrote" in bad.output
