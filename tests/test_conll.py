"""The CoNLL column reader: layouts, -DOCSTART- variants, schemes, repairs, and one clear error per bad
input."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from spacy_bert_ner.data.conll import conll_lines, read_conll
from spacy_bert_ner.errors import ConfigError, DataError, RepairWarning

FOUR = (
    "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n"
    "Peter NNP B-NP B-PER\n"
)


def write(tmp_path: Path, text: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def read(tmp_path: Path, text: str | bytes, **kwargs):
    return read_conll(write(tmp_path, text), **kwargs)


@pytest.mark.parametrize(
    "text",
    [
        FOUR,
        FOUR.replace(" ", "\t"),
        FOUR.replace("-DOCSTART- -X- -X- O", "-DOCSTART- -X- O O"),
        FOUR.replace("\n", "\r\n"),
        FOUR.replace("\n\n", "\n   \n"),  # a whitespace-only line separates sentences too
    ],
)
def test_four_column_variants_read_the_same(tmp_path: Path, text: str) -> None:
    articles, info = read(tmp_path, text)
    assert info["n_columns"] == 4 and info["ner_scheme"] == "iob2"
    assert [a.docstart for a in articles] == [True]
    first, second = articles[0].sentences
    assert first.words == ["EU", "rejects", "German"]
    assert first.pos == ["NNP", "VBZ", "JJ"]
    assert first.ents == [(0, 1, "ORG"), (2, 3, "MISC")]
    assert first.chunks == [(0, 1, "NP"), (1, 2, "VP"), (2, 3, "NP")]
    assert second.ents == [(0, 1, "PER")] and second.first_line == 7


@pytest.mark.parametrize("docstart", ["-DOCSTART- O", "-DOCSTART-\tO"])
def test_two_column_files(tmp_path: Path, docstart: str) -> None:
    articles, info = read(tmp_path, f"{docstart}\n\nNew B-LOC\nYork I-LOC\n\nHi O\n")
    assert info["n_columns"] == 2
    sentences = articles[0].sentences
    assert sentences[0].pos is None and sentences[0].chunks is None
    assert sentences[0].ents == [(0, 2, "LOC")]
    assert list(conll_lines(sentences, True, 2)) == [
        "-DOCSTART- O",
        "",
        "New B-LOC",
        "York I-LOC",
        "",
        "Hi O",
        "",
    ]


def test_articles_split_at_docstart_and_file_without_docstart(tmp_path: Path) -> None:
    articles, _ = read(tmp_path, "a O\n\n-DOCSTART- O\n\nb O\n\nc O\n-DOCSTART- O\nd O\n")
    assert [(a.docstart, [s.words for s in a.sentences]) for a in articles] == [
        (False, [["a"]]),
        (True, [["b"], ["c"]]),
        (True, [["d"]]),
    ]


def test_iob1_is_detected_and_becomes_iob2(tmp_path: Path) -> None:
    text = "U.N. I-ORG\nofficial O\nEkeus I-PER\nheads O\nfor O\nBaghdad I-LOC\nLondon I-LOC\nParis B-LOC\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # IOB1 openings are not repairs: no warning
        articles, info = read(tmp_path, text)
    assert info["ner_scheme"] == "iob1" and info["ner_repaired"] == 0
    sent = articles[0].sentences[0]
    assert sent.ents == [(0, 1, "ORG"), (2, 3, "PER"), (5, 7, "LOC"), (7, 8, "LOC")]
    assert [line.split()[1] for line in conll_lines([sent], False, 2) if line] == [
        "B-ORG",
        "O",
        "B-PER",
        "O",
        "O",
        "B-LOC",
        "I-LOC",
        "B-LOC",
    ]


def test_invalid_i_starts_in_iob2_are_repaired_with_a_counted_warning(tmp_path: Path) -> None:
    text = "John B-PER\nlives O\nin O\nBerlin I-LOC\nand O\nParis I-LOC\n"
    with pytest.warns(RepairWarning, match="repaired 2 ner tag"):
        articles, info = read(tmp_path, text, scheme="iob2")
    assert info["ner_repaired"] == 2
    assert articles[0].sentences[0].ents == [(0, 1, "PER"), (3, 4, "LOC"), (5, 6, "LOC")]


def test_invalid_i_starts_under_strict_are_rejected_with_the_line(tmp_path: Path) -> None:
    text = "John B-PER\nlives O\nin O\nBerlin I-LOC\n"
    with pytest.raises(DataError, match=r"data.txt:4 \(I-LOC\).*--strict"):
        read(tmp_path, text, scheme="iob2", strict=True)


def test_bioes_when_declared(tmp_path: Path) -> None:
    articles, info = read(tmp_path, "New B-LOC\nYork E-LOC\nis O\nbig O\nBob S-PER\n", scheme="bioes")
    assert info["ner_scheme"] == "bioes"
    assert articles[0].sentences[0].ents == [(0, 2, "LOC"), (4, 5, "PER")]


@pytest.mark.parametrize(
    "text,kwargs,message",
    [
        ("EU B-ORG\nrejects\n", {}, r"data.txt:2: no tag in 'rejects': one column only"),
        ("EU NNP B-NP B-ORG\nx NNP B-NP B-ORG extra\n", {}, r"data.txt:2: 5 columns.*has 4 .* since line 1"),
        (
            "EU NNP B-NP B-ORG\n\nx O\n",
            {},
            r"data.txt:3: 2 columns.*has 4 \(TOKEN POS CHUNK NER\) since line 1",
        ),
        ("EU\tNNP\tB-NP\tB-ORG\n\tNN\tB-NP\tO\n", {}, r"data.txt:2: empty token"),
        (" NN B-NP O\n", {}, r"data.txt:1: empty token"),
        ("EU\t \tB-ORG\n", {}, r"data.txt:1: empty field 2"),
        (
            "EU NNP B-NP B-ORGANISATION\nx NNP B-NP PER\n",
            {},
            r"data.txt:2: ner_tags column: invalid tag 'PER'",
        ),
        ("EU NNP B-NP S-ORG\n", {}, r"data.txt:1: .*invalid tag 'S-ORG'.*--scheme bioes"),
        ("EU NNP B-NP E-ORG\n", {"scheme": "iob2"}, r"data.txt:1: .*invalid tag 'E-ORG'"),
        ("\n\n-DOCSTART- -X- -X- O\n\n", {}, r"data.txt: no sentences found"),
    ],
)
def test_bad_input_errors_name_file_line_and_fix(
    tmp_path: Path, text: str, kwargs: dict, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        read(tmp_path, text, **kwargs)


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    """Editors on Windows write a UTF-8 BOM first; it used to hide -DOCSTART- (`invalid tag '-X-'`,
    line 1)."""
    text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
    plain, plain_info = read(tmp_path, text)
    with_bom, bom_info = read(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert with_bom[0].docstart and with_bom[0].sentences[0].words == ["EU", "rejects"]
    assert with_bom == plain and bom_info == plain_info


def test_unknown_scheme_is_a_setting_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown scheme 'iob3'"):
        read(tmp_path, "EU B-ORG\n", scheme="iob3")


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data.txt:2: not valid UTF-8.*iconv"):
        read(tmp_path, b"EU B-ORG\nK\xf6ln B-LOC\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.txt: file not found"):
        read_conll(tmp_path / "nope.txt")


@pytest.mark.parametrize(
    "text,layout,unread",
    [
        ("EU\tB-ORG\nrejects\tO\n", "TOKEN NER", []),
        ("EU    B-ORG\nrejects  O\n", "TOKEN NER", []),  # aligned with runs of spaces
        ("EU NNP B-ORG\nrejects VBZ O\n", "TOKEN, 1 column(s) not read, NER", [2]),
        (
            "EU\teu\tNNP\tx\tB-ORG\nrejects\treject\tVBZ\tx\tO\n",
            "TOKEN, 3 column(s) not read, NER",
            [2, 3, 4],
        ),
        ("EU eu NNP B-ORG\nrejects reject VBZ O\n", "TOKEN, 2 column(s) not read, NER", [2, 3]),  # no chunks
    ],
)
def test_token_first_tag_last_in_any_number_of_columns(
    tmp_path: Path, text: str, layout: str, unread: list[int]
) -> None:
    articles, info = read(tmp_path, text)
    [sentence] = articles[0].sentences
    assert sentence.words == ["EU", "rejects"] and sentence.ents == [(0, 1, "ORG")]
    assert sentence.pos is None and info["layout"] == layout and info["unread_columns"] == unread


def test_a_tab_separated_token_may_hold_spaces(tmp_path: Path) -> None:
    articles, _ = read(tmp_path, "New York\tB-LOC\nis\tO\n")
    assert articles[0].sentences[0].words == ["New York", "is"]


def test_white_space_lines_end_sentences_and_are_recorded(tmp_path: Path) -> None:
    """WNUT-17's training file holds lone-tab lines between tweets: sentence ends, each recorded."""
    articles, info = read(tmp_path, "a\tO\nb\tB-person\n\t\nc\tO\n   \nd\tO\n\ne\tO\n")
    assert [s.words for s in articles[0].sentences] == [["a", "b"], ["c"], ["d"], ["e"]]
    assert info["blank_like_lines"] == [3, 5]


def test_labels_are_kept_as_written(tmp_path: Path) -> None:
    articles, _ = read(tmp_path, "Star\tB-creative-work\nWars\tI-creative-work\nfan\tO\n")
    assert articles[0].sentences[0].ents == [(0, 2, "creative-work")]
