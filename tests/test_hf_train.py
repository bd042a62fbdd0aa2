"""The HF route end to end on a tiny backbone: train-hf -> HF folder + metrics -> assemble -> spacy.load /
spacy evaluate, context and packing read as trained, several processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.cli.evaluate import evaluate
from spacy.tokens import Doc, DocBin
from train_hf_inputs import (
    CONFIG,
    DEV_ARTICLES,
    MAX_STEPS,
    NO_CHECKPOINTS,
    TRAIN_ARTICLES,
    cli_args,
)
from typer.testing import CliRunner

from spacy_bert_ner.bio import spans_to_iob2
from spacy_bert_ner.cli import app
from spacy_bert_ner.data.docbin import read_docbin
from spacy_bert_ner.data.tagged import read_sentences
from spacy_bert_ner.scores import seqeval_scores

REPO = Path(__file__).resolve().parent.parent
# [model] labels = null: the corpus's labels, O first, then B-/I- per entity type in sorted order
DATA_LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]

pytestmark = [
    pytest.mark.core,
    # Trainer._sorted_checkpoints (save_total_limit) when checkpoints of a seconds-long run share an mtime.
    pytest.mark.filterwarnings("ignore:mtime may not be reliable on this filesystem:UserWarning"),
]


# -- end to end: train-hf -> HF folder + metrics -> assemble -> spacy.load / spacy evaluate ------------------


@pytest.fixture(scope="module")
def trained(hf_corpus: Path, backbone: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("hf-run")
    result = CliRunner().invoke(
        app, cli_args(hf_corpus, backbone, output, "--paths.test", str(hf_corpus / "dev.spacy"))
    )
    assert result.exit_code == 0, result.output
    assert "word-level seqeval F1" in result.output
    return output


@pytest.mark.installs
def test_train_hf_writes_a_hf_model_folder(trained: Path) -> None:
    config = json.loads((trained / "model" / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"]
    assert config["id2label"] == {str(i): label for i, label in enumerate(DATA_LABELS)}
    assert config["label2id"] == {label: i for i, label in enumerate(DATA_LABELS)}
    assert (trained / "model" / "tokenizer.json").is_file()
    assert (trained / "model" / "model.safetensors").is_file()


def test_train_hf_metrics(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["train"]["global_step"] == MAX_STEPS
    assert metrics["labels"] == DATA_LABELS and metrics["backbone_labels"] is None  # a plain encoder
    as_read = {
        "docs_split_by_sentencizer": 0,
        "boundaries_removed": 0,
        "missing_tokens": 0,
        "docs_unannotated": 0,
    }
    assert metrics["data"] == {
        "train": {"docs": TRAIN_ARTICLES, **as_read},
        "dev": {"docs": DEV_ARTICLES, **as_read},
        "test": {"docs": DEV_ARTICLES, **as_read},
    }
    assert metrics["train"]["words_per_second"] > 0 and metrics["peak_rss_mb"] > 0
    assert metrics["epochs"] and all("eval_subword_f" in entry for entry in metrics["epochs"])
    for split in ("dev", "test"):
        scores = metrics[split]
        assert set(scores["subword_seqeval"]) == {"p", "r", "f", "accuracy", "per_type"}
        assert set(scores["word_seqeval"]) == {"p", "r", "f", "accuracy", "per_type"}
        assert 0.0 <= scores["word_seqeval"]["f"] <= 1.0
    assert metrics["dev"] == metrics["test"]  # the same file both times


@pytest.mark.installs
def test_assemble_then_load_and_evaluate(trained: Path, hf_corpus: Path, tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline"
    result = CliRunner().invoke(app, ["assemble", str(trained / "model"), str(pipeline)])
    assert result.exit_code == 0, result.output
    nlp = spacy.load(pipeline)
    assert nlp.pipe_names == ["line_sentences", "sentencizer", "bert_ner"]
    assert set(nlp.get_pipe("bert_ner").labels) == {"PER", "ORG", "LOC", "MISC"}
    sents = [s.text for s in nlp("LONDON 1996-08-30\nJohn lives in Paris. He works in Berlin.").sents]
    assert sents == ["LONDON 1996-08-30\n", "John lives in Paris.", "He works in Berlin."]
    scores = evaluate(str(pipeline), hf_corpus / "dev.spacy")
    assert {"ents_f", "ents_p", "ents_r", "ents_per_type"} <= set(scores)


def test_assemble_without_sentencizer(trained: Path, tmp_path: Path) -> None:
    args = ["assemble", str(trained / "model"), str(tmp_path / "pipeline"), "--no-sentencizer"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert spacy.load(tmp_path / "pipeline").pipe_names == ["bert_ner"]


def pipeline_tags(nlp: spacy.Language, docs: list[Doc]) -> list[list[str]]:
    """bert_ner's entities, as IOB2 tags per sentence of ``docs`` (whose sentence starts are kept)."""
    ner = nlp.get_pipe("bert_ner")
    return [
        spans_to_iob2([(e.start - sent.start, e.end - sent.start, e.label_) for e in sent.ents], len(sent))
        for doc in ner.pipe(docs)
        for sent in doc.sents
    ]


def assembled(model: Path, folder: Path) -> spacy.Language:
    assert CliRunner().invoke(app, ["assemble", str(model), str(folder)]).exit_code == 0
    return spacy.load(folder)


def test_word_level_f1_is_what_the_assembled_pipeline_gets(
    trained: Path, hf_corpus: Path, tmp_path: Path
) -> None:
    """The pipeline, given the dev articles with their gold sentences, finds exactly the entities behind
    metrics.json's word-level F1: it reads every sentence with the context recorded in config.json."""
    nlp = assembled(trained / "model", tmp_path / "pipeline")
    classifier = nlp.get_pipe("bert_ner").classifier
    assert (classifier.context, classifier.pack_sentences) == (64, False)
    assert json.loads((trained / "model" / "config.json").read_text())["spacy_bert_ner"] == {
        "context": 64,
        "pack_sentences": False,
        "window": 512,
    }
    docs = [
        Doc(doc.vocab, words=[t.text for t in doc], sent_starts=[t.is_sent_start for t in doc])
        for doc in read_docbin(hf_corpus / "dev.spacy")
    ]
    predicted = pipeline_tags(nlp, docs)
    expected = json.loads((trained / "metrics.json").read_text())["dev"]["word_seqeval"]
    scores = seqeval_scores([tags for _, tags in read_sentences(hf_corpus / "dev.spacy")], predicted)
    # Entities agree exactly; tag accuracy does not: the component writes decoded spans back as IOB2.
    assert {key: scores[key] for key in ("p", "r", "f", "per_type")} == {
        key: expected[key] for key in ("p", "r", "f", "per_type")
    }


@pytest.mark.parametrize("grouped", [False, True])
def test_without_context_the_pipeline_reads_single_sentences(
    hf_corpus: Path, backbone: Path, tmp_path: Path, grouped: bool
) -> None:
    """[model] context 0 (the course's single sentences): one Doc per sentence gets metrics.json's
    entities; also when the Trainer groups inputs by length (group_by_length, which it applies to
    evaluation too: the word-level scores must still pair each prediction with its own sentence)."""
    args = cli_args(hf_corpus, backbone, tmp_path / "run", "--model.context", "0")
    if grouped:
        args += ["--training_args.group_by_length", "true", "--training_args.per_device_eval_batch_size", "3"]
    result = CliRunner().invoke(app, [*args, "--training_args.max_steps", "2", *NO_CHECKPOINTS])
    assert result.exit_code == 0, result.output
    nlp = assembled(tmp_path / "run" / "model", tmp_path / "pipeline")
    assert nlp.get_pipe("bert_ner").classifier.context == 0
    sentences = read_sentences(hf_corpus / "dev.spacy")
    docs = [
        Doc(nlp.vocab, words=list(words), sent_starts=[True] + [False] * (len(words) - 1))
        for words, _ in sentences
    ]
    expected = json.loads((tmp_path / "run" / "metrics.json").read_text())["dev"]["word_seqeval"]
    scores = seqeval_scores([tags for _, tags in sentences], pipeline_tags(nlp, docs))
    assert {key: scores[key] for key in ("p", "r", "f", "per_type")} == {
        key: expected[key] for key in ("p", "r", "f", "per_type")
    }


def test_packed_training_is_what_the_assembled_pipeline_reads(
    hf_corpus: Path, backbone: Path, tmp_path: Path
) -> None:
    """[model] pack_sentences: training shares inputs between consecutive sentences; the model records it
    with its input length, and the pipeline reads the dev articles into the same inputs, so it finds
    exactly the entities behind metrics.json's word-level F1."""
    extra = ["--model.pack_sentences", "true", "--model.max_length", "256", "--model.context", "16"]
    args = cli_args(hf_corpus, backbone, tmp_path / "run", *extra)
    result = CliRunner().invoke(app, [*args, "--training_args.max_steps", "2", *NO_CHECKPOINTS])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["pack_sentences"] is True
    assert metrics["train"]["inputs"] < metrics["train"]["sentences"] / 2
    nlp = assembled(tmp_path / "run" / "model", tmp_path / "pipeline")
    classifier = nlp.get_pipe("bert_ner").classifier
    assert (classifier.context, classifier.pack_sentences, classifier.window) == (16, True, 256)
    docs = [
        Doc(doc.vocab, words=[t.text for t in doc], sent_starts=[t.is_sent_start for t in doc])
        for doc in read_docbin(hf_corpus / "dev.spacy")
    ]
    scores = seqeval_scores(
        [tags for _, tags in read_sentences(hf_corpus / "dev.spacy")], pipeline_tags(nlp, docs)
    )
    assert {key: scores[key] for key in ("p", "r", "f", "per_type")} == {
        key: metrics["dev"]["word_seqeval"][key] for key in ("p", "r", "f", "per_type")
    }


def test_first_subword_alignment_scores_words(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    """With first_subword labels the course's metric sees one position per word: both scores agree."""
    args = cli_args(hf_corpus, backbone, tmp_path, "--model.alignment", "first_subword")
    result = CliRunner().invoke(app, [*args, "--training_args.max_steps", "2", *NO_CHECKPOINTS])
    assert result.exit_code == 0, result.output
    dev = json.loads((tmp_path / "metrics.json").read_text())["dev"]
    figures = ("p", "r", "f", "accuracy")
    word = {key: dev["word_seqeval"][key] for key in figures}
    assert {key: dev["subword_seqeval"][key] for key in figures} == pytest.approx(word)


def test_time_budget_stops_training(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    args = cli_args(hf_corpus, backbone, tmp_path, "--limits.max_seconds", "0.001")
    result = CliRunner().invoke(app, [*args, *NO_CHECKPOINTS])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "metrics.json").read_text())["train"]["global_step"] == 1


@pytest.mark.slow
def test_accelerate_launch_cpu(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    """`accelerate launch -m spacy_bert_ner train-hf ...` runs the same command (one CPU process here)."""
    accelerate = Path(sys.executable).parent / "accelerate"
    command = [
        str(accelerate),
        "launch",
        "--num_processes",
        "1",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--cpu",
        "-m",
        "spacy_bert_ner",
        *cli_args(hf_corpus, backbone, tmp_path / "run", "--training_args.max_steps", "2"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["train"]["global_step"] == 2
    assert (tmp_path / "run" / "model" / "config.json").is_file()


def test_context_without_articles_warns(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    """DocBins of one sentence per Doc (hf: sources, --n-sents 1) leave [model] context nothing to read."""
    from spacy_bert_ner.training.train_hf import prepare_training

    docs = [sent.as_doc() for doc in read_docbin(hf_corpus / "train.spacy") for sent in doc.sents]
    DocBin(docs=docs).to_disk(tmp_path / "sentences.spacy")
    overrides = {
        "paths.train": str(tmp_path / "sentences.spacy"),
        "paths.dev": str(hf_corpus / "dev.spacy"),
        "paths.output": str(tmp_path / "run"),
        "model.backbone": str(backbone),
    }
    with pytest.warns(
        UserWarning, match=r"\[model\] context = 64: every Doc of \[paths\] train holds one sentence"
    ):
        prepare_training(CONFIG, overrides)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_train_one_model(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    """torchrun, 2 CPU processes, gloo: the ranks split each epoch between them (half the steps of one
    process), and only rank 0 writes the model and metrics, which load and agree."""
    output = tmp_path / "run"
    args = cli_args(hf_corpus, backbone, output)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_port", str(free_port()),
        "-m", "spacy_bert_ner", *args,
        "--training_args.max_steps", "-1", "--training_args.num_train_epochs", "1",
        "--training_args.use_cpu", "true", "--training_args.ddp_backend", "gloo",
        *NO_CHECKPOINTS, "--training_args.eval_strategy", "no", "--budget.min_steps", "null",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    train = metrics["train"]
    assert train["world_size"] == 2
    per_step = 2 * 8  # two processes, per_device_train_batch_size 8
    assert train["global_step"] == -(-train["inputs"] // per_step)
    assert (
        result.stderr.count("dev: word-level seqeval F1") + result.stdout.count("dev: word-level seqeval F1")
        == 1
    )
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(output / "model")})
    assert nlp("John Smith lives in Paris .").text


def test_gpu_id_picks_the_cpu_or_one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """train-hf follows the workflow's device: -1 trains on the CPU, N on GPU N alone (the only GPU the
    process sees), none leaves the Trainer its own choice; the device query is patched (CI has no GPU)."""
    import torch

    from spacy_bert_ner.cli.train import training_device
    from spacy_bert_ner.errors import ConfigError

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert training_device(None) == {} and training_device(-1) == {"training_args.use_cpu": True}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(
        ConfigError, match=r"--gpu-id 0: this machine has 0 CUDA GPU\(s\) visible; pass --gpu"
    ):
        training_device(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert (
        training_device(1) == {"training_args.use_cpu": False} and os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    )
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")  # already narrowed: N counts within the list
    training_device(1)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "6"
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(ConfigError, match=r"torchrun / accelerate launch give each process its GPU"):
        training_device(0)


def test_gpu_id_minus_one_trains_on_the_cpu(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*cli_args(hf_corpus, backbone, tmp_path), *NO_CHECKPOINTS, "-g", "-1"])
    assert result.exit_code == 0, result.output
    import torch

    assert torch.load(tmp_path / "model" / "training_args.bin", weights_only=False).use_cpu is True
