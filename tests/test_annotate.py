"""annotate: inputs of three kinds into DocBin + JSONL shards, bad records listed, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_bert_ner.annotate.annotate_settings import AnnotateSettings
from spacy_bert_ner.annotate.corpus import annotate_corpus
from spacy_bert_ner.annotate.engine import annotate_local, plan_run
from spacy_bert_ner.annotate.inputs import find_inputs, plan_shards, read_shard
from spacy_bert_ner.annotate.outputs import MANIFEST, USER_DATA_KEY
from spacy_bert_ner.cli import app
from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.errors import ConfigError, DataError

N_TEXTS = 60


@pytest.fixture(scope="module")
def texts(conll_dir: Path) -> list[str]:
    """CoNLL-2003 test sentences as plain text, one per record."""
    articles, _ = read_conll(conll_dir / "test.txt")
    return [" ".join(s.words) for a in articles for s in a.sentences if len(s.words) > 3][:N_TEXTS]


@pytest.fixture(scope="module")
def pipeline_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("bert_ner", config={"model": str(tiny_model_dir)})
    folder = tmp_path_factory.mktemp("annotate-pipeline") / "pipeline"
    nlp.to_disk(folder)
    return folder


def write_corpus(folder: Path, texts: list[str]) -> dict[str, list[str]]:
    """a.txt, b.jsonl and c.spacy with good and bad records; returns the expected bad sources per file."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [t.encode() for t in texts[:20]]
    lines[3] = b""  # empty text
    lines[7] = "Caf\u00e9 in Paris".encode("latin-1")  # not UTF-8
    (folder / "a.txt").write_bytes(b"\n".join(lines) + b"\n")
    rows = [json.dumps({"text": t, "doc_id": i, "tags": ["news"]}) for i, t in enumerate(texts[20:40])]
    rows[2] = '{"text": "broken'  # invalid JSON
    rows[5] = json.dumps({"body": texts[25]})  # no text field
    rows[9] = json.dumps({"text": 42})  # not a string
    (folder / "b.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    nlp = spacy.blank("en")
    DocBin(docs=[nlp(t) for t in texts[40:N_TEXTS]]).to_disk(folder / "c.spacy")
    return {
        "a.txt": [f"{folder / 'a.txt'}:4", f"{folder / 'a.txt'}:8"],
        "b.jsonl": [f"{folder / 'b.jsonl'}:{n}" for n in (3, 6, 10)],
    }


@pytest.fixture()
def corpus(tmp_path: Path, texts: list[str]) -> tuple[Path, dict[str, list[str]]]:
    return tmp_path / "corpus", write_corpus(tmp_path / "corpus", texts)


def read_outputs(folder: Path) -> tuple[list[dict], list[dict]]:
    entries, errors = [], []
    for path in sorted(folder.glob("shard-*.jsonl")):
        target = errors if path.name.endswith(".errors.jsonl") else entries
        target.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return entries, errors


def output_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("shard-*"))}


# -- inputs --------------------------------------------------------------------------------------------------


def test_inputs_are_planned_into_shards_across_files(corpus) -> None:
    folder, _ = corpus
    files = find_inputs([str(folder)])
    assert [Path(f.path).name for f in files] == ["a.txt", "b.jsonl", "c.spacy"]
    shards = plan_shards(files, 7)
    assert [s.size for s in shards] == [7] * 8 + [4]
    assert [s.start for s in shards] == list(range(0, 60, 7))
    assert [(p.file, p.first, p.count) for p in shards[2].parts] == [(0, 15, 6), (1, 1, 1)]
    vocab = spacy.blank("en").vocab
    records = [r for s in shards for r in read_shard(s, files, vocab)]
    assert [r.index for r in records] == list(range(N_TEXTS))
    assert records[45].source == f"{folder / 'c.spacy'}:6" and records[45].content.text
    # c.spacy spans shards 5-8; each shard builds its own Docs, together they are the file's, in order
    whole = list(DocBin().from_disk(folder / "c.spacy").get_docs(vocab))
    assert [r.content.to_bytes() for r in records[40:]] == [doc.to_bytes() for doc in whole]
    assert records[20].meta == {"doc_id": 0, "tags": ["news"]}


@pytest.mark.parametrize(
    ("inputs", "error", "message"),
    [
        (["missing.txt"], DataError, "input missing.txt: no such file or folder"),
        (["*.nothing"], DataError, "the pattern matches no file"),
        (["notes.md"], ConfigError, "unknown kind of file; annotate reads text files"),
        (["a.txt", "./a.txt"], DataError, "is named twice"),
    ],
)
def test_bad_inputs_are_named(tmp_path: Path, monkeypatch, inputs, error, message) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("x\n")
    (tmp_path / "notes.md").write_text("x\n")
    with pytest.raises(error, match=message):
        find_inputs(inputs)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--shard-size", "0"],
            "annotate settings: --shard-size = 0: Input should be greater than or equal to 1",
        ),
        (["--torch-threads", "0"], "--torch-threads = 0: Input should be greater than or equal to 1"),
        (["--workers", "0"], "ray settings: --workers = 0: Input should be greater than or equal to 1"),
        (["--gpus-per-worker", "-1"], "--gpus-per-worker = -1.0: Input should be greater than or equal to 0"),
    ],
)
def test_a_bad_annotate_option_is_named_as_its_flag(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "a.txt").write_text("Paris\n")
    result = CliRunner().invoke(
        app, ["annotate", "no-pipeline", str(tmp_path / "a.txt"), str(tmp_path / "o"), *args]
    )
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (tmp_path / "o").exists()


def test_a_gpu_with_forked_processes_is_refused(pipeline_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n")
    settings = AnnotateSettings(n_process=2, gpu_id=0)
    with pytest.raises(ConfigError, match="--gpu-id 0 with --n-process 2: forked worker processes cannot"):
        annotate_corpus(str(pipeline_dir), [str(tmp_path / "a.txt")], tmp_path / "out", settings)
    assert not (tmp_path / "out").exists()


def test_a_docbin_part_keeps_every_per_doc_field() -> None:
    """A shard of a DocBin input builds only its own Docs from a slice of the DocBin: each Doc comes out as
    get_docs gives it, cats, span groups (with their attrs), flags and user data included; and the DocBin
    holds no per-Doc list the slice would leave behind."""
    from spacy.tokens import Span

    from spacy_bert_ner.annotate.inputs import PER_DOC_FIELDS, _docbin_part

    nlp = spacy.blank("en")
    docs = []
    texts = ["John Smith visited Paris .", "Acme hired Mary today .", "Nothing here .", "Berlin is big ."]
    for i, text in enumerate(texts):
        doc = nlp(text)
        doc.cats = {"NEWS": float(i % 2), "SPORT": 0.25 * i}
        doc.ents = [Span(doc, 0, 1, label=f"T{i}")]
        doc.spans["sc"] = [Span(doc, 0, 2, label="PAIR"), Span(doc, 1, 2, label="ONE")]
        doc.spans["sc"].attrs["scores"] = [0.5, 0.25 * i]
        doc.user_data["doc_id"] = i
        docs.append(doc)
    docbin = DocBin(store_user_data=True).from_bytes(DocBin(docs=docs, store_user_data=True).to_bytes())
    per_doc = {name for name, value in vars(docbin).items() if isinstance(value, list) and len(value) == 4}
    assert per_doc == set(PER_DOC_FIELDS)
    whole = list(docbin.get_docs(spacy.blank("en").vocab))
    part = list(_docbin_part(docbin, 1, 2).get_docs(spacy.blank("en").vocab))
    for got, want in zip(part, whole[1:3], strict=True):
        assert got.to_bytes() == want.to_bytes()
        assert got.cats == want.cats and got.user_data == want.user_data
        assert [(s.text, s.label_) for s in got.spans["sc"]] == [(s.text, s.label_) for s in want.spans["sc"]]
        assert got.spans["sc"].attrs == want.spans["sc"].attrs and got.ents[0].label_ == want.ents[0].label_


# -- a run ---------------------------------------------------------------------------------------------------


def test_annotate_writes_every_record_once_in_order(pipeline_dir: Path, corpus, tmp_path: Path) -> None:
    """Good records become Docs (DocBin) and JSONL entries equal to the pipeline's own entities; bad ones
    are listed with file:line and their content; nothing is lost or doubled."""
    folder, bad = corpus
    settings = AnnotateSettings(shard_size=10, batch_size=5)
    summary = annotate_local(
        plan_run(str(pipeline_dir), [str(folder)], tmp_path / "out", settings), settings, False
    )
    entries, errors = read_outputs(tmp_path / "out")
    assert [e["source"] for e in errors] == bad["a.txt"] + bad["b.jsonl"]
    assert (
        errors[1]["error"] == "not UTF-8: byte 0xe9 at column 4"
        and errors[1]["record"] == "Caf\\xe9 in Paris"
    )
    assert errors[2]["error"].startswith("invalid JSON") and errors[2]["record"] == '{"text": "broken'
    assert "no 'text' field (fields: 'body'" in errors[3]["error"]
    assert len(entries) + len(errors) == N_TEXTS == summary.total.docs + summary.total.errors
    assert summary.shards_written == 6 and summary.total.errors == 5
    nlp = spacy.load(pipeline_dir)
    docs = [
        d
        for p in sorted((tmp_path / "out").glob("shard-*.spacy"))
        for d in DocBin().from_disk(p).get_docs(nlp.vocab)
    ]
    assert [d.user_data[USER_DATA_KEY]["id"] for d in docs] == [e["id"] for e in entries]
    assert entries[0]["id"] == f"{folder / 'a.txt'}:1" and entries[18]["meta"] == {
        "doc_id": 0,
        "tags": ["news"],
    }
    for entry, doc in zip(entries, docs, strict=True):
        expected = nlp(doc.text)
        assert [(e["start"], e["end"], e["label"]) for e in entry["entities"]] == [
            (e.start_char, e.end_char, e.label_) for e in expected.ents
        ]
        assert all(0 < e["score"] <= 1 for e in entry["entities"])
    assert any(entry["entities"] for entry in entries)
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["complete"] and sum(s["docs"] for s in manifest["finished"].values()) == len(entries)


def test_strict_stops_at_the_first_bad_record(pipeline_dir: Path, corpus, tmp_path: Path) -> None:
    folder, bad = corpus
    result = CliRunner().invoke(
        app, ["annotate", str(pipeline_dir), str(folder), str(tmp_path / "out"), "--strict", "--no-progress"]
    )
    assert result.exit_code == 1
    assert (
        f"{bad['a.txt'][0]}: empty text; fix or remove the record, or run without --strict" in result.output
    )


def test_a_finished_run_is_not_redone_and_other_settings_are_refused(
    pipeline_dir: Path, corpus, tmp_path: Path
) -> None:
    folder, _ = corpus
    args = ["annotate", str(pipeline_dir), str(folder), str(tmp_path / "out"), "--no-progress"]
    first = CliRunner().invoke(app, [*args, "--shard-size", "10", "--batch-size", "5"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, [*args, "--shard-size", "10", "--batch-size", "5"])
    assert (
        again.exit_code == 0
        and "0 shard(s) written now" in again.output
        and "6 finished before" in again.output
    )
    other = CliRunner().invoke(app, [*args, "--shard-size", "20", "--batch-size", "5"])
    assert other.exit_code == 1 and "OUTPUT_DIR holds a run with other shard_size" in other.output


def run_cli(log: Path, *args: str) -> subprocess.Popen:
    """``annotate`` in its own process (and process group, so a test can kill it with its workers)."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "spacy_bert_ner", "annotate", *args, "--no-progress"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            start_new_session=True,
        )


def finished_shards(folder: Path) -> int:
    try:
        return len(json.loads((folder / MANIFEST).read_text())["finished"])
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize("n_process", [1, 2])
def test_kill_and_resume_equals_an_uninterrupted_run(
    pipeline_dir: Path, tmp_path: Path, texts: list[str], n_process: int
) -> None:
    """kill -9 mid-run, rerun the same command: the outputs equal an uninterrupted run's byte for byte."""
    corpus = tmp_path / "big.txt"
    lines = (texts * 20)[:1000]
    lines[500] = ""
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = ["--shard-size", "20", "--batch-size", "10", "--n-process", str(n_process)]
    log = tmp_path / "log.txt"
    whole = run_cli(log, str(pipeline_dir), str(corpus), str(tmp_path / "whole"), *options)
    assert whole.wait(timeout=600) == 0, log.read_text()
    killed = run_cli(log, str(pipeline_dir), str(corpus), str(tmp_path / "killed"), *options)
    deadline = time.monotonic() + 300
    while finished_shards(tmp_path / "killed") < 5 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert killed.poll() is None, "the run ended before it could be killed"
    os.killpg(killed.pid, signal.SIGKILL)  # the run and its worker processes, as a crash would
    killed.wait()
    stopped_at = finished_shards(tmp_path / "killed")
    assert 5 <= stopped_at < 50
    resumed = run_cli(log, str(pipeline_dir), str(corpus), str(tmp_path / "killed"), *options)
    assert resumed.wait(timeout=600) == 0, log.read_text()
    out = log.read_text()
    assert f"{50 - stopped_at} shard(s) written now" in out and f"{stopped_at} finished before" in out
    assert output_bytes(tmp_path / "killed") == output_bytes(tmp_path / "whole")
    assert len(output_bytes(tmp_path / "whole")) == 50 * 2 + 1


def test_a_dead_worker_process_stops_the_run_and_a_rerun_finishes_it(
    pipeline_dir: Path, tmp_path: Path, texts: list[str]
) -> None:
    """--n-process 2, one worker killed: the run stops with a message instead of hanging, the shards it
    finished are kept, and the same command then finishes with every record once."""
    import psutil

    corpus = tmp_path / "big.txt"
    corpus.write_text("\n".join((texts * 20)[:1000]) + "\n", encoding="utf-8")
    args = (str(pipeline_dir), str(corpus), str(tmp_path / "out"), "--shard-size", "20", "--n-process", "2")
    log = tmp_path / "log.txt"
    run = run_cli(log, *args)
    deadline = time.monotonic() + 300
    while finished_shards(tmp_path / "out") < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    main = psutil.Process(run.pid)
    workers = [p for p in main.children() if p.cmdline() == main.cmdline()]  # forked: the same command line
    assert len(workers) == 2 and run.poll() is None
    workers[0].kill()
    assert run.wait(timeout=300) == 1
    assert "a worker process died (killed, or out of memory); every finished shard is kept" in log.read_text()
    kept = finished_shards(tmp_path / "out")
    assert 3 <= kept < 50
    rerun = run_cli(log, *args)
    assert rerun.wait(timeout=600) == 0, log.read_text()
    entries, errors = read_outputs(tmp_path / "out")
    assert [e["id"] for e in entries] == [f"{corpus}:{n}" for n in range(1, 1001)] and not errors


# -- Ray Data ------------------------------------------------------------------------------------------------


def entities_of(folder: Path) -> list[tuple[str, list[tuple[int, int, str]]]]:
    entries, _ = read_outputs(folder)
    return [(e["id"], [(x["start"], x["end"], x["label"]) for x in e["entities"]]) for e in entries]


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def annotator_processes() -> list:
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        if "ShardAnnotator" in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_ray_engine_equals_the_local_run_even_when_a_worker_dies(
    local_ray, pipeline_dir: Path, corpus, tmp_path: Path
) -> None:
    """Two actors; one is killed (SIGKILL) after some shards are written: Ray restarts it and resubmits
    its shard, and the outputs hold every record once, with the local engine's entities. A run that ended
    before the killer found a worker did not test that: it is run again (three tries at most)."""
    import threading

    from spacy_bert_ner.annotate.annotate_settings import RaySettings
    from spacy_bert_ner.annotate.ray_engine import annotate_ray

    folder, _ = corpus
    settings = AnnotateSettings(shard_size=2, batch_size=1)
    annotate_local(plan_run(str(pipeline_dir), [str(folder)], tmp_path / "local", settings), settings, False)
    killed: list[int] = []

    def kill_one_worker(output: Path, done: threading.Event) -> None:
        while not done.is_set() and finished_shards(output) < 1:
            time.sleep(0.01)
        while not done.is_set() and not killed:
            for process in annotator_processes():
                done_before = finished_shards(output)
                process.send_signal(signal.SIGKILL)
                killed.append(done_before)
                break
            time.sleep(0.01)

    for attempt in range(3):
        output = tmp_path / f"ray-{attempt}"
        done = threading.Event()
        killer = threading.Thread(target=kill_one_worker, args=(output, done))
        killer.start()
        plan = plan_run(str(pipeline_dir), [str(folder)], output, settings)
        summary = annotate_ray(plan, settings, RaySettings(workers=2), progress=False)
        done.set()
        killer.join()
        if killed:
            break
    assert killed and killed[0] < 30, "no annotator process was killed mid-run in three tries"
    assert summary.shards_written == 30 and summary.total.errors == 5
    assert entities_of(output) == entities_of(tmp_path / "local")
    assert read_outputs(output)[1] == read_outputs(tmp_path / "local")[1]
    assert sorted(p.name for p in output.glob("shard-*")) == sorted(
        p.name for p in (tmp_path / "local").glob("shard-*")
    )


def test_msgpack_encoders_read_once_uses_the_same_encoders() -> None:
    """Inside, srsly's lookups return the encoders found on entry (no rescan); outside, lookups scan again."""
    import srsly
    from srsly.msgpack import msgpack_encoders

    from spacy_bert_ner.annotate.outputs import msgpack_encoders_read_once

    before = msgpack_encoders.get_all()
    assert before, "srsly registers at least its numpy encoder"
    data = {"tokens": [1, 2, 3], "array": numpy.arange(3)}
    expected = srsly.msgpack_dumps(data)
    with msgpack_encoders_read_once():
        assert "get_all" in vars(msgpack_encoders)
        assert msgpack_encoders.get_all() == before
        with msgpack_encoders_read_once():  # nested: still the same snapshot
            assert msgpack_encoders.get_all() == before
        assert "get_all" in vars(msgpack_encoders)
        assert srsly.msgpack_dumps(data) == expected
    assert "get_all" not in vars(msgpack_encoders) and msgpack_encoders.get_all() == before
