"""Docs and DocBins from CoNLL-2003: counts, lossless round trip, HF datasets parity, determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from conll2003_features import CHUNK_NAMES, NER_NAMES, POS_NAMES
from corpus_slices import first_articles
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.data.docbin import SplitStats, read_docbin
from spacy_bert_ner.data.docs import DOCSTART_KEY, docs_to_conll
from spacy_bert_ner.data.fetch import fetch_conll
from spacy_bert_ner.data.sources import convert_source, load_hf_dataset
from spacy_bert_ner.errors import DataError

# Expected figures: ../shared/data/conll2003/README.md ("Verified counts").
EXPECTED = {
    "train": dict(articles=946, sentences=14041, tokens=203621, PER=6600, LOC=7140, ORG=6321, MISC=3438),
    "dev": dict(articles=216, sentences=3250, tokens=51362, PER=1842, LOC=1837, ORG=1341, MISC=922),
    "test": dict(articles=231, sentences=3453, tokens=46435, PER=1617, LOC=1668, ORG=1661, MISC=702),
}
FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}
SMALL = (
    "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
    "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n"
)


@pytest.fixture(scope="module")
def converted(
    conll_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[SplitStats, Path]]:
    written = convert_source(str(conll_dir), tmp_path_factory.mktemp("corpus"))
    return {stats.name: (stats, path) for stats, path in written}


@pytest.mark.parametrize("split", list(FILES))
def test_counts_match_the_corpus_readme(converted: dict, split: str) -> None:
    stats, _ = converted[split]
    expected = EXPECTED[split]
    assert (stats.articles, stats.sentences, stats.tokens) == (
        expected["articles"],
        expected["sentences"],
        expected["tokens"],
    )
    assert dict(stats.entities) == {t: expected[t] for t in ("PER", "LOC", "ORG", "MISC")}
    assert stats.docs == expected["articles"]  # one Doc per article by default


@pytest.mark.parametrize("split", list(FILES))
def test_export_equals_the_source_file_byte_for_byte(converted: dict, conll_dir: Path, split: str) -> None:
    _, path = converted[split]
    assert docs_to_conll(read_docbin(path)) == (conll_dir / FILES[split]).read_text(encoding="utf-8")


def test_docs_carry_tags_sentences_entities_and_chunks(converted: dict) -> None:
    doc = read_docbin(converted["train"][1])[0]
    assert doc.user_data[DOCSTART_KEY] is True
    assert [t.text for t in doc[:3]] == ["EU", "rejects", "German"]
    assert [t.tag_ for t in doc[:3]] == ["NNP", "VBZ", "JJ"]
    assert [(e.text, e.label_) for e in doc.ents[:2]] == [("EU", "ORG"), ("German", "MISC")]
    assert [(c.text, c.label_) for c in list(doc.spans["chunks"])[:4]] == [
        ("EU", "NP"),
        ("rejects", "VP"),
        ("German call", "NP"),
        ("to boycott", "VP"),
    ]
    assert [s.text for s in doc.sents][:2] == [
        "EU rejects German call to boycott British lamb .",
        "Peter Blackburn",
    ]


def test_n_sents_groups_within_articles(conll_dir: Path, tmp_path: Path) -> None:
    [(stats, _)] = convert_source(str(conll_dir / "valid.txt"), tmp_path, n_sents=10)
    docs = read_docbin(tmp_path / "dev.spacy")
    assert stats.sentences == 3250 and stats.docs == len(docs) > 216
    assert all(len(list(doc.sents)) <= 10 for doc in docs)
    assert sum(bool(doc.user_data.get(DOCSTART_KEY)) for doc in docs) == 216
    assert docs_to_conll(docs) == (conll_dir / "valid.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def conll_head(conll_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of train.txt, valid.txt and test.txt holding the first articles of each CoNLL-2003 split:
    the HF-path tests convert every split twice, which takes minutes on the whole corpus."""
    folder = tmp_path_factory.mktemp("conll-head")
    for name, n in (("train.txt", 40), ("valid.txt", 20), ("test.txt", 20)):
        first_articles(conll_dir / name, n, folder / name)
    return folder


def hf_dataset_from_files(conll_dir: Path) -> datasets.DatasetDict:
    """What `load_dataset("eriktks/conll2003")` gives, built from the local files (its loader drops
    -DOCSTART-)."""
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "pos_tags": datasets.Sequence(datasets.ClassLabel(names=POS_NAMES)),
            "chunk_tags": datasets.Sequence(datasets.ClassLabel(names=CHUNK_NAMES)),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=NER_NAMES)),
        }
    )
    splits = {}
    for hf_split, name in {"train": "train.txt", "validation": "valid.txt", "test": "test.txt"}.items():
        articles, _ = read_conll(conll_dir / name)
        sents = [s for a in articles for s in a.sentences]
        rows = {
            "id": [str(i) for i in range(len(sents))],
            "tokens": [s.words for s in sents],
            "pos_tags": [[POS_NAMES.index(t) for t in s.pos] for s in sents],
            "chunk_tags": [[CHUNK_NAMES.index(t) for t in s.chunk_tags] for s in sents],
            "ner_tags": [[NER_NAMES.index(t) for t in s.ner_tags] for s in sents],
        }
        splits[hf_split] = datasets.Dataset.from_dict(rows, features=features)
    return datasets.DatasetDict(splits)


@pytest.mark.parametrize("n_sents", [None, 10])
def test_hf_dataset_path_gives_identical_docbins(
    conll_head: Path, tmp_path: Path, n_sents: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = hf_dataset_from_files(conll_head)
    monkeypatch.setattr(
        "spacy_bert_ner.data.sources.load_hf_dataset", lambda dataset_id, revision=None: dataset
    )
    from_hf = convert_source("hf:eriktks/conll2003", tmp_path / "hf", n_sents=n_sents)
    from_files = convert_source(str(conll_head), tmp_path / "files", n_sents=n_sents, keep_articles=False)
    assert [stats.name for stats, _ in from_hf] == ["train", "dev", "test"]
    for (hf, hf_path), (file, file_path) in zip(from_hf, from_files, strict=True):
        assert (hf.name, hf.sentences, hf.tokens, hf.docs) == (
            file.name,
            file.sentences,
            file.tokens,
            file.docs,
        )
        assert hf_path.read_bytes() == file_path.read_bytes()


def test_output_bytes_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text(SMALL * 3, encoding="utf-8")
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "spacy_bert_ner", "convert", str(tmp_path / "in.txt"), str(out)],
            check=True,
            env=env,
            capture_output=True,
        )
        outputs.append((out / "in.spacy").read_bytes())
    assert outputs[0] == outputs[1]


def test_cli_convert_folder_prints_the_stats_table(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.txt").write_text(SMALL, encoding="utf-8")
    (src / "valid.txt").write_text(SMALL, encoding="utf-8")
    (src / "notes.txt").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(app, ["convert", str(src), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Ignoring" in result.output and "notes.txt" in result.output
    lines = [line.split() for line in result.output.splitlines()]
    row = ["train", "columns", "2", "1", "1", "2", "4", "2", "2", "0", "0", "1", "1"]
    assert [*row, str(tmp_path / "out" / "train.spacy")] in lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dev.spacy", "train.spacy"]
    exported = CliRunner().invoke(app, ["export-conll", str(tmp_path / "out" / "dev.spacy")])
    assert exported.exit_code == 0 and exported.output == SMALL


def test_cli_converts_a_file_that_starts_with_a_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "valid.txt").write_bytes(b"\xef\xbb\xbf" + SMALL.encode("utf-8"))
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "valid.txt"), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    [doc] = read_docbin(tmp_path / "out" / "dev.spacy")
    assert doc.user_data[DOCSTART_KEY] is True and [e.text for e in doc.ents] == ["EU", "Peter Blackburn"]


def test_cli_reports_bad_input_in_one_line_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("EU NNP B-NP B-ORG\nx O\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "bad.txt"), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "bad.txt:2: 2 columns" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_repair_warning_is_printed(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("x NN B-NP O\nBerlin NNP I-NP I-LOC\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["convert", str(tmp_path / "r.txt"), str(tmp_path / "out"), "--scheme", "iob2"]
    )
    assert result.exit_code == 0 and "repaired 1 ner tag" in result.output
    strict = CliRunner().invoke(
        app, ["convert", str(tmp_path / "r.txt"), str(tmp_path / "o2"), "--strict", "--scheme", "iob2"]
    )
    assert strict.exit_code == 1 and "r.txt:2 (I-LOC)" in strict.output


def test_hf_source_offline_gives_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    result = CliRunner().invoke(app, ["convert", "hf:eriktks/conll2003", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "could not load the Hugging Face dataset 'eriktks/conll2003'" in result.output
    assert "Offline, pass a folder of CoNLL files" in result.output


def test_fetch_conll_copies_a_local_folder_byte_for_byte(conll_dir: Path, tmp_path: Path) -> None:
    written = fetch_conll(str(conll_dir), tmp_path / "assets")
    assert sorted(p.name for p in written.values()) == ["test.txt", "train.txt", "valid.txt"]
    for split, name in FILES.items():
        assert written[split].read_bytes() == (conll_dir / name).read_bytes()


def test_fetch_conll_from_hf_writes_the_files_without_article_markers(
    conll_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = hf_dataset_from_files(conll_dir)
    monkeypatch.setattr(
        "spacy_bert_ner.data.sources.load_hf_dataset", lambda dataset_id, revision=None: dataset
    )
    written = fetch_conll("hf:eriktks/conll2003", tmp_path / "assets")
    for split, name in FILES.items():
        source = (conll_dir / name).read_text(encoding="utf-8")
        assert written[split].read_text(encoding="utf-8") == source.replace("-DOCSTART- -X- -X- O\n\n", "")


def test_files_without_article_markers_are_not_one_giant_doc(
    conll_head: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What fetch-conll writes from hf: (no -DOCSTART-) converts to one Doc per --n-sents sentences, with a
    warning, as the HF rows themselves do, never to one Doc holding the whole split."""
    dataset = hf_dataset_from_files(conll_head)
    dev_sentences = [s for a in read_conll(conll_head / "valid.txt")[0] for s in a.sentences]
    monkeypatch.setattr(
        "spacy_bert_ner.data.sources.load_hf_dataset", lambda dataset_id, revision=None: dataset
    )
    assets = fetch_conll("hf:eriktks/conll2003", tmp_path / "assets")["dev"].parent
    written = convert_source(str(assets), tmp_path / "one")
    notes = [stats.messages() for stats, _ in written]
    files = [str(assets / name) for name in ("train.txt", "valid.txt", "test.txt")]
    assert [stats.origin for stats, _ in written] == files
    assert all(len(n) == 1 and "no -DOCSTART- line, so no article boundaries" in n[0] for n in notes)
    docs = read_docbin(tmp_path / "one" / "dev.spacy")
    assert len(docs) == len(dev_sentences) and all(len(list(doc.sents)) == 1 for doc in docs)
    [_, (dev, _), _] = convert_source(str(assets), tmp_path / "ten", n_sents=10)
    assert "one Doc per 10 sentence(s)" in dev.notes[0]
    docs = read_docbin(tmp_path / "ten" / "dev.spacy")
    assert len(docs) == -(-len(dev_sentences) // 10)
    assert sum(len(doc) for doc in docs) == sum(len(s.words) for s in dev_sentences)


@pytest.mark.parametrize(
    "source, call",
    [
        ("eriktks/conll2003", ("eriktks/conll2003", None)),
        ("unimelb-nlp/wikiann:en", ("unimelb-nlp/wikiann", "en")),
    ],
)
def test_hf_source_may_name_a_configuration(
    monkeypatch: pytest.MonkeyPatch, source: str, call: tuple[str, str | None]
) -> None:
    """hf:ID:CONFIG loads the dataset's configuration (a language subset), hf:ID its default."""
    calls = []
    monkeypatch.setattr(
        datasets, "load_dataset", lambda path, name=None, revision=None: calls.append((path, name, revision))
    )
    load_hf_dataset(source, revision="v1")
    assert calls == [(*call, "v1")]


def test_fetch_conll_rejects_what_is_neither_folder_nor_hf_id(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope: not a folder of corpus files nor hf:DATASET_ID"):
        fetch_conll(str(tmp_path / "nope"), tmp_path / "assets")
