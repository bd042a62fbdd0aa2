"""`convert` on users' files as they are: named splits, column layouts, annotation-tool JSON / JSONL, DocBins,
--dev-split, and one clear error (nothing written) per bad input."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.data.docbin import read_docbin
from spacy_bert_ner.data.docs import TEXT_KEY
from spacy_bert_ner.data.records import rule_tokenizer
from spacy_bert_ner.data.sources import ConvertSettings, convert_splits, named_splits
from spacy_bert_ner.errors import ConfigError, DataError

COLUMNS = (
    "Apple\tB-corporation\nmakes\tO\nthe\tO\niPhone\tB-product\n.\tO\n\n"
    "Star\tB-creative-work\nWars\tI-creative-work\n\n"
)
TEXTS = ["Apple makes the iPhone .", "Star Wars"]
SPANS = [[(0, 5, "corporation"), (16, 22, "product")], [(0, 9, "creative-work")]]


def ents(path: Path) -> list[list[tuple[str, str]]]:
    return [[(e.text, e.label_) for e in doc.ents] for doc in read_docbin(path)]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, records: list[dict]) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def spacy_records(with_tokens: bool) -> list[dict]:
    records = []
    for text, spans in zip(TEXTS, SPANS):
        record: dict = {
            "text": text,
            "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans],
        }
        if with_tokens:
            record["tokens"], start = [], 0
            for word in text.split(" "):
                record["tokens"].append({"text": word, "start": start, "end": start + len(word)})
                start += len(word) + 1
        records.append(record)
    return records


def convert(tmp_path: Path, train: Path, **options) -> list:
    return convert_splits(named_splits({"train": train}), tmp_path / "out", ConvertSettings(**options))


def test_columns_and_jsonl_with_tokens_give_the_same_entities(tmp_path: Path) -> None:
    [(col_stats, col_out)] = convert(tmp_path / "c", write(tmp_path / "a.conll", COLUMNS))
    [(js_stats, js_out)] = convert(tmp_path / "j", jsonl(tmp_path / "a.jsonl", spacy_records(True)))
    assert (
        ents(col_out)
        == ents(js_out)
        == [
            [("Apple", "corporation"), ("iPhone", "product")],
            [("Star Wars", "creative-work")],
        ]
    )
    assert col_out.name == js_out.name == "train.spacy"
    assert (col_stats.format, js_stats.format) == ("columns", "spacy")
    assert (js_stats.records, js_stats.spans_read, js_stats.n_entities) == (2, 3, 3)
    [doc, _] = read_docbin(js_out)
    assert doc.text == TEXTS[0] and doc.user_data[TEXT_KEY] == "real"
    assert TEXT_KEY not in read_docbin(col_out)[0].user_data


def test_a_misaligned_span_stops_with_file_line_unless_told(tmp_path: Path) -> None:
    records = [{"text": "I love my iPhones", "spans": [{"start": 10, "end": 16, "label": "product"}]}]
    path = jsonl(tmp_path / "m.jsonl", [{"text": "fine", "spans": []}, *records])
    with pytest.raises(
        DataError, match=r"m.jsonl:2: span 1 \[10:16\] \(product\) 'iPhone' does not fall on "
    ):
        convert(tmp_path, path)
    assert not (tmp_path / "out").exists()
    [(stats, out)] = convert(tmp_path, path, misaligned="expand")
    assert ents(out)[1] == [("iPhones", "product")]
    assert stats.repaired.total == 1 and stats.spans_read == stats.n_entities == 1
    [(stats, out)] = convert(tmp_path / "s", path, misaligned="skip")
    assert ents(out)[1] == [] and stats.skipped.total == 1 and "m.jsonl:2" in stats.messages()[0]


def test_misaligned_contract_skips_a_span_with_no_whole_token(tmp_path: Path) -> None:
    records = [
        {"text": "Big iPhones", "spans": [{"start": 0, "end": 8, "label": "product"}]},
        {"text": "iPhones", "spans": [{"start": 1, "end": 3, "label": "product"}]},
    ]
    [(stats, out)] = convert(tmp_path, jsonl(tmp_path / "c.jsonl", records), misaligned="contract")
    assert ents(out) == [[("Big", "product")], []]
    assert (stats.repaired.total, stats.skipped.total) == (1, 1)
    assert stats.spans_read == stats.n_entities + stats.skipped.total


def test_white_space_at_span_edges_is_trimmed_and_counted(tmp_path: Path) -> None:
    records = [{"text": "in Paris now", "spans": [{"start": 2, "end": 9, "label": "LOC"}]}]
    [(stats, out)] = convert(tmp_path, jsonl(tmp_path / "w.jsonl", records))
    assert ents(out) == [[("Paris", "LOC")]] and stats.repaired.counts == {
        "white space at its edge trimmed": 1
    }


@pytest.mark.parametrize(
    "record",
    [
        {"text": "Star Wars", "label": [[0, 9, "creative-work"]]},
        {
            "text": "Star Wars",
            "entities": [{"id": 1, "start_offset": 0, "end_offset": 9, "label": "creative-work"}],
        },
        {"text": "Star Wars", "spans": [{"start": 0, "end": 9, "label": "creative-work", "token_start": 0}]},
    ],
)
def test_doccano_and_prodigy_records_are_detected(tmp_path: Path, record: dict) -> None:
    [(_, out)] = convert(tmp_path, jsonl(tmp_path / "d.jsonl", [record]))
    assert ents(out) == [[("Star Wars", "creative-work")]]


def label_studio_task(text: str, spans: list[tuple[int, int, str]], **extra) -> dict:
    result = [
        {
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {"start": s, "end": e, "labels": [lab]},
        }
        for s, e, lab in spans
    ]
    return {"id": 1, "data": {"text": text}, "annotations": [{"id": 7, "result": result}], **extra}


def test_label_studio_export_counts_what_it_does_not_use(tmp_path: Path) -> None:
    tasks = [
        label_studio_task("Star Wars rocks", [(0, 9, "creative-work")]),
        {"id": 2, "data": {"text": "not labelled yet"}, "annotations": []},
    ]
    tasks[0]["annotations"].append({"id": 8, "result": []})
    tasks[0]["annotations"][0]["result"].append({"type": "choices", "value": {"choices": ["ok"]}})
    [(stats, out)] = convert(tmp_path, write(tmp_path / "ls.json", json.dumps(tasks)))
    assert ents(out) == [[("Star Wars", "creative-work")]] and stats.format == "labelstudio"
    assert stats.records == 2 and stats.docs == 1
    reasons = dict(stats.skipped.counts)
    assert reasons == {
        "record: Label Studio task with no annotation": 1,
        "annotation after a task's first: not used": 1,
        "annotation result of type 'choices' (not a labelled text span): not used": 1,
    }
    assert (
        stats.skipped.first["record: Label Studio task with no annotation"]
        == f"{tmp_path / 'ls.json'} record 2"
    )


@pytest.mark.parametrize(
    "name,text,message",
    [
        (
            "bad.jsonl",
            '{"text": "a", "spans": []}\n{"text": "b", "spans": [}\n',
            r"bad.jsonl:2: invalid JSON",
        ),
        (
            "overlap.jsonl",
            json.dumps(
                {
                    "text": "New York City",
                    "spans": [
                        {"start": 0, "end": 8, "label": "LOC"},
                        {"start": 4, "end": 13, "label": "LOC"},
                    ],
                }
            ),
            r"overlap.jsonl:1: overlapping spans 'New York' \(LOC, chars 0-8\) and 'York City'",
        ),
        (
            "past.jsonl",
            json.dumps({"text": "Paris", "spans": [{"start": 0, "end": 9, "label": "LOC"}]}),
            r"past.jsonl:1: span 1 \[0:9\] \(LOC\): offsets outside the text \(length 5\)",
        ),
        ("notag.conll", "Paris\tB-LOC\nis\n", r"notag.conll:2: no tag in 'is'"),
        (
            "tokens.jsonl",
            json.dumps({"text": "Paris", "tokens": [{"text": "Rome", "start": 0, "end": 5}], "spans": []}),
            r"tokens.jsonl:1: token 1 'Rome' \[0:5\] does not match the text there",
        ),
        (
            "what.jsonl",
            json.dumps({"body": "x"}),
            r"what.jsonl:1: cannot tell the format from the keys \['body'\]",
        ),
        (
            "nolabel.jsonl",
            json.dumps({"text": "x", "label": [[0, 1, ""]]}),
            r"nolabel.jsonl:1: label 1: the label",
        ),
    ],
)
def test_bad_input_is_one_error_naming_file_line_and_nothing_is_written(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    good = write(tmp_path / "good.conll", COLUMNS)
    splits = named_splits({"train": good, "dev": write(tmp_path / name, text)})
    with pytest.raises(DataError, match=message):
        convert_splits(splits, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # train was fine, and is not written either


def test_docbin_input_is_checked_counted_and_copied(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    full, partial = nlp("Anna met Bo."), nlp("Anna met Bo.")
    full.set_ents([Span(full, 0, 1, "person")], default="outside")
    partial.set_ents([Span(partial, 0, 1, "person")], default="unmodified")  # the rest: missing annotation
    partial.spans["sc"] = [Span(partial, 2, 3, "person")]
    db = DocBin(store_user_data=True, docs=[full, partial])
    db.to_disk(tmp_path / "in.spacy")
    [(stats, out)] = convert(tmp_path, tmp_path / "in.spacy")
    assert stats.format == "docbin" and (stats.records, stats.spans_read, stats.n_entities) == (2, 2, 2)
    assert ents(out) == [[("Anna", "person")]] * 2
    notes = " | ".join(stats.notes)
    assert "3 token(s) have missing NER annotation" in notes and "doc.spans['sc'] holds 1 span(s)" in notes
    assert all(doc.user_data[TEXT_KEY] == "real" for doc in read_docbin(out))


def test_dev_split_is_deterministic_and_said(tmp_path: Path) -> None:
    text = "".join(f"w{i}\tO\nx\tB-thing\n\n" for i in range(20))
    path = write(tmp_path / "t.conll", text)
    first = convert(tmp_path / "a", path, dev_split=0.25, seed=3)
    again = convert(tmp_path / "b", path, dev_split=0.25, seed=3)
    other = convert(tmp_path / "c", path, dev_split=0.25, seed=4)
    (train, train_out), (dev, dev_out) = first
    assert (train.docs, dev.docs) == (15, 5) and dev.name == "dev"
    assert "5 Doc(s) held out (--dev-split 0.25 --seed 3)" in dev.origin
    words = [[doc[0].text for doc in read_docbin(out)] for _, out in first]
    assert words == [[doc[0].text for doc in read_docbin(out)] for _, out in again]
    assert words[1] != [doc[0].text for doc in read_docbin(other[1][1])]
    assert sorted(words[0] + words[1], key=lambda w: int(w[1:])) == [f"w{i}" for i in range(20)]


def test_dev_split_beside_a_dev_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.conll", COLUMNS)
    splits = named_splits({"train": path, "dev": path})
    with pytest.raises(ConfigError, match="--dev-split: a dev split is given"):
        convert_splits(splits, tmp_path / "out", ConvertSettings(dev_split=0.5))


def test_cli_named_splits_write_train_dev_test(tmp_path: Path) -> None:
    a = write(tmp_path / "mine.tsv", COLUMNS)
    b = jsonl(tmp_path / "held.jsonl", spacy_records(False))
    result = CliRunner().invoke(
        app, ["convert", "--train", str(a), "--dev", str(b), "--test", str(b), str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["dev.spacy", "test.spacy", "train.spacy"]
    assert ents(tmp_path / "o" / "dev.spacy") == ents(tmp_path / "o" / "train.spacy")


def test_cli_names_the_fix_for_a_misaligned_span(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "m.jsonl", [{"text": "iPhones", "spans": [{"start": 0, "end": 6, "label": "product"}]}]
    )
    result = CliRunner().invoke(app, ["convert", "--train", str(path), str(tmp_path / "o")])
    assert result.exit_code == 1 and "m.jsonl:1: span 1 [0:6] (product) 'iPhone'" in result.output
    assert "--misaligned expand" in result.output and not (tmp_path / "o").exists()
    result = CliRunner().invoke(
        app, ["convert", "--train", str(path), str(tmp_path / "o"), "--misaligned", "expand"]
    )
    assert result.exit_code == 0 and "1 span(s) repaired: not on token boundaries: expanded" in result.output


def test_wnut17_as_distributed(wnut_dir: Path, tmp_path: Path) -> None:
    """The three WNUT-17 files under their own names: counts as its README gives them, lone tabs said."""
    splits = named_splits(
        {
            "train": wnut_dir / "wnut17train.conll",
            "dev": wnut_dir / "emerging.dev.conll",
            "test": wnut_dir / "emerging.test.annotated",
        }
    )
    written = convert_splits(splits, tmp_path)
    stats = {s.name: s for s, _ in written}
    assert {name: s.sentences for name, s in stats.items()} == {"train": 3394, "dev": 1009, "test": 1287}
    assert stats["train"].tokens == 62730 and stats["train"].n_entities == stats["train"].spans_read == 1975
    assert set(stats["train"].entities) == {
        "person",
        "location",
        "corporation",
        "product",
        "creative-work",
        "group",
    }
    docstart, blank = stats["train"].notes
    assert docstart.startswith("no -DOCSTART- line") and "wnut17train.conll:28" in blank
    assert blank.startswith("2,394 line(s) hold only white space")
    assert isinstance(read_docbin(tmp_path / "test.spacy")[0], Doc)


def test_fetch_corpus_copies_named_files_byte_for_byte(wnut_dir: Path, tmp_path: Path) -> None:
    """The workflow's `data` step: WNUT-17 under its own names becomes assets train/dev/test files that
    `convert FOLDER` reads, with corpus.json naming the originals; empty options (unset variables) are no
    files, and split files of an earlier corpus are removed."""
    dest = tmp_path / "assets"
    dest.mkdir()
    (dest / "train.jsonl").write_text("{}", encoding="utf-8")  # an earlier corpus's
    (dest / "notes.md").write_text("kept", encoding="utf-8")
    names = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}
    args = ["fetch-corpus", "", str(dest)]
    for split, name in names.items():
        args += [f"--{split}", str(wnut_dir / name)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in dest.iterdir()) == [
        "corpus.json", "dev.conll", "notes.md", "test.conll", "train.conll"
    ]  # fmt: skip
    for split, name in names.items():
        assert (dest / f"{split}.conll").read_bytes() == (wnut_dir / name).read_bytes()
    manifest = json.loads((dest / "corpus.json").read_text(encoding="utf-8"))
    assert manifest["test"] == {
        "file": "test.conll",
        "from": str(wnut_dir / names["test"]),
        "format": "columns",
    }
    result = CliRunner().invoke(app, ["convert", str(dest), str(tmp_path / "corpus"), "--dev-split", "0"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [
        "dev.spacy",
        "test.spacy",
        "train.spacy",
    ]


def test_fetch_corpus_names_json_and_docbin_files_by_format(tmp_path: Path) -> None:
    a = jsonl(tmp_path / "exported.txt", spacy_records(False))  # JSON Lines under another suffix
    b = write(tmp_path / "held.json", json.dumps(spacy_records(False)))
    result = CliRunner().invoke(
        app, ["fetch-corpus", str(tmp_path / "out"), "--train", str(a), "--dev", str(b)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["corpus.json", "dev.json", "train.jsonl"]
    assert CliRunner().invoke(app, ["fetch-corpus", "", str(tmp_path / "o2")]).exit_code == 1


@pytest.mark.parametrize(
    "lang,text", [("en", "I love New York-based bands!!! don't U.S. 3.5km"), ("de", "z.B. Haus")]
)
def test_convert_tokenizes_as_a_blank_pipeline_does(lang: str, text: str) -> None:
    """convert builds spaCy's tokenizer without a Language (which would import every pipeline component)."""
    assert [t.text for t in rule_tokenizer(lang)(text)] == [t.text for t in spacy.blank(lang)(text)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "xml"], "convert settings: --format = 'xml': use one of auto, columns, spacy"),
        (["--misaligned", "widen"], "--misaligned = 'widen': use one of error, expand, contract, skip"),
        (["--scheme", "bio"], "--scheme = 'bio': use one of auto, iob1, iob2, bioes, bilou"),
        (["--dev-split", "1.5"], "--dev-split = 1.5: Input should be less than 1"),
        (["--n-sents", "0"], "--n-sents = 0: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_convert_option_is_named_as_its_flag_and_nothing_is_written(
    tmp_path: Path, args: list[str], message: str
) -> None:
    path = jsonl(tmp_path / "t.jsonl", [{"text": "Paris", "spans": [{"start": 0, "end": 5, "label": "LOC"}]}])
    result = CliRunner().invoke(app, ["convert", "--train", str(path), str(tmp_path / "o"), *args])
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (tmp_path / "o").exists()


def test_convert_settings_defaults_are_the_cli_defaults() -> None:
    """The CLI shows the library's defaults: one place for each."""
    from spacy_bert_ner.cli.convert import convert_cli

    defaults = {p.name: p.default.default for p in inspect.signature(convert_cli).parameters.values()}
    settings = ConvertSettings()
    assert defaults["fmt"] == settings.format and defaults["misaligned"] == settings.misaligned
    assert defaults["scheme"] == settings.scheme and defaults["no_articles"] is not settings.keep_articles
    assert (defaults["lang"], defaults["seed"], defaults["n_sents"]) == (settings.lang, settings.seed, None)
