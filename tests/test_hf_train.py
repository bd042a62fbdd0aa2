"""The HF route: config checks, bad input stopped before training, a tiny end-to-end run, assemble."""

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
from spacy.vocab import Vocab
from tiny_models import CONLL_LABELS, conll_sentences, save_backbone
from typer.testing import CliRunner

from spacy_bert_ner.bio import spans_to_iob2, tags_to_spans
from spacy_bert_ner.cli import app
from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.data.docbin import SplitStats, articles_to_docbin, read_docbin
from spacy_bert_ner.data.tagged import docs_sentences, read_sentences
from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.evaluation.scores import seqeval_scores
from spacy_bert_ner.hf.settings import load_settings, make_training_args

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "hf_bert_ner.cfg"
TRAIN_ARTICLES, DEV_ARTICLES = 3, 2
MAX_STEPS = 6

pytestmark = [
    # Trainer._sorted_checkpoints (save_total_limit) when checkpoints of a seconds-long run share an mtime.
    pytest.mark.filterwarnings("ignore:mtime may not be reliable on this filesystem:UserWarning"),
]


@pytest.fixture(scope="module")
def hf_corpus(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> Path:
    """train.spacy / dev.spacy: the first articles of CoNLL-2003 train and valid, as `convert` writes them."""
    folder = tmp_path_factory.mktemp("hf-corpus")
    for split, name, n in (("train", "train.txt", TRAIN_ARTICLES), ("dev", "valid.txt", DEV_ARTICLES)):
        articles, _ = read_conll(conll_dir / name)
        articles_to_docbin(articles[:n], SplitStats(split)).to_disk(folder / f"{split}.spacy")
    DocBin().to_disk(folder / "empty.spacy")
    (folder / "garbage.spacy").write_bytes(b"not a docbin")
    return folder


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> Path:
    """A random 2-layer, hidden-32 BertModel (no classifier head) with a WordPiece vocab from CoNLL."""
    return save_backbone(tmp_path_factory.mktemp("hf-backbone"), conll_sentences(conll_dir / "train.txt"))


def cli_args(corpus: Path, backbone: Path, output: Path, *extra: str) -> list[str]:
    return [
        "train-hf",
        str(CONFIG),
        "--paths.train",
        str(corpus / "train.spacy"),
        "--paths.dev",
        str(corpus / "dev.spacy"),
        "--paths.output",
        str(output),
        "--model.backbone",
        str(backbone),
        "--training_args.max_steps",
        str(MAX_STEPS),
        *extra,
    ]


# -- the shipped config --------------------------------------------------------------------------------------


def test_shipped_config_is_the_course_recipe(hf_corpus: Path) -> None:
    overrides = {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
    settings = load_settings(CONFIG, overrides)
    assert settings.model.backbone == "bert-base-cased"
    assert settings.model.labels == CONLL_LABELS
    assert settings.model.alignment == "all_subwords"
    assert settings.output == Path("training/hf_bert_ner") and settings.paths.test is None
    args = make_training_args(settings)
    assert (args.learning_rate, args.num_train_epochs, args.weight_decay, args.seed) == (2e-5, 3, 0.01, 42)
    assert (args.per_device_train_batch_size, args.per_device_eval_batch_size) == (8, 8)
    assert (args.eval_strategy, args.save_strategy) == ("epoch", "epoch")
    assert args.output_dir == "training/hf_bert_ner/checkpoints"
    assert args.report_to == []


def test_output_override_moves_checkpoints(hf_corpus: Path, tmp_path: Path) -> None:
    overrides = {
        "paths.train": str(hf_corpus / "train.spacy"),
        "paths.dev": str(hf_corpus / "dev.spacy"),
        "paths.output": str(tmp_path / "run"),
    }
    settings = load_settings(CONFIG, overrides)
    assert settings.model_dir == tmp_path / "run" / "model"
    assert make_training_args(settings).output_dir == str(tmp_path / "run" / "checkpoints")


# -- bad input: one clear line, exit 1, nothing trained ------------------------------------------------------

# (case, extra CLI arguments, {placeholder: file in hf_corpus}, fragments the one error line must contain)
BAD_INPUTS = [
    (
        "missing train file",
        ["--paths.train", "{corpus}/nope.spacy"],
        ["[paths] train", "nope.spacy", "file not found", "spacy_bert_ner convert", "--paths.train"],
    ),
    ("train path unset", ["--paths.train", "null"], ["[paths] train = null", "--paths.train"]),
    ("missing dev file", ["--paths.dev", "{corpus}/nope.spacy"], ["[paths] dev", "file not found"]),
    ("missing test file", ["--paths.test", "{corpus}/nope.spacy"], ["[paths] test", "file not found"]),
    (
        "unknown backbone folder",
        ["--model.backbone", "{corpus}/no-such-model"],
        ["[model] backbone", "no model folder at", "no-such-model", "--model.backbone", "bert-base-cased"],
    ),
    (
        "unknown hub backbone",
        ["--model.backbone", "no-such-org/no-such-model"],
        ["[model] backbone", "no-such-org/no-such-model", "cannot load it", "HF_HUB_OFFLINE"],
    ),
    (
        "data labels the config does not list",
        ["--model.labels", '["O","B-PER","I-PER","B-LOC","I-LOC"]'],
        ["[paths] train", "B-ORG (", "B-MISC (", "I-ORG (", "add them to [model] labels"],
    ),
    (
        "empty training set",
        ["--paths.train", "{corpus}/empty.spacy"],
        ["[paths] train", "empty.spacy", "no sentences", "nothing to train on", "convert"],
    ),
    ("empty dev set", ["--paths.dev", "{corpus}/empty.spacy"], ["[paths] dev", "nothing to evaluate"]),
    ("not a DocBin", ["--paths.dev", "{corpus}/garbage.spacy"], ["[paths] dev", "not a spaCy DocBin"]),
    (
        "label set without I-MISC",
        ["--model.labels", '["O","B-PER","I-PER","B-MISC"]'],
        ["[model] labels", "I-MISC", "B-TYPE and I-TYPE"],
    ),
    ("labels not a list", ["--model.labels", '"PER"'], ["[model] labels", "list of IOB2 labels"]),
    (
        "unknown alignment",
        ["--model.alignment", "average"],
        ["[model] alignment", "all_subwords, first_subword"],
    ),
    ("bad max_length", ["--model.max_length", "1"], ["[model] max_length", ">= 3"]),
    ("negative context", ["--model.context", "-1"], ["[model] context", ">= 0"]),
    (
        "context leaves no room for a sentence",
        ["--model.max_length", "64", "--model.context", "31"],
        ["[model] context = 31", "half of an input of 64", "at most 30", "[model] max_length"],
    ),
    ("bad max_seconds", ["--limits.max_seconds", "0"], ["[limits] max_seconds", "positive"]),
    (
        "misspelt TrainingArguments field",
        ["--training_args.learning_rat", "1e-4"],
        ["[training_args] learning_rat", "did you mean 'learning_rate'"],
    ),
    (
        "bad TrainingArguments value",
        ["--training_args.eval_strategy", "sometimes"],
        ["[training_args]", "sometimes"],
    ),
    ("misspelt model setting", ["--model.backbon", "x"], ["[model]", "'backbon'", "did you mean 'backbone'"]),
    ("override of an unknown section", ["--trainer.x", "1"], ["trainer -> x", "can be overridden"]),
    (
        "output is an existing file",
        ["--paths.output", "{corpus}/train.spacy"],
        ["[paths] output", "train.spacy", "exists and is a file", "--paths.output"],
    ),
]


@pytest.mark.parametrize("extra, fragments", [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_stops_before_training(
    hf_corpus: Path, backbone: Path, tmp_path: Path, extra: list[str], fragments: list[str]
) -> None:
    output = tmp_path / "run"
    args = cli_args(hf_corpus, backbone, output, *(a.format(corpus=hf_corpus) for a in extra))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("✘")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert errors[0].startswith(f"✘ {CONFIG}")  # every message names the config first
    assert "Traceback" not in result.output
    assert not output.exists()  # nothing trained, nothing written


def test_missing_config_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train-hf", str(tmp_path / "nope.cfg")])
    assert result.exit_code == 1
    assert "nope.cfg: config file not found; start from configs/hf_bert_ner.cfg" in result.output


def test_unknown_section_in_the_file(hf_corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "typo.cfg"
    config.write_text(CONFIG.read_text() + "\n[trainer]\nseed = 1\n")
    with pytest.raises(ConfigError, match=r"typo.cfg: unknown section \[trainer\]; the sections are paths"):
        load_settings(
            config, {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
        )


def test_docs_without_sentence_starts_are_refused() -> None:
    doc = Doc(Vocab(), words=["Peter", "Blackburn"])
    with pytest.raises(ValueError, match="no sentence starts.*spacy_bert_ner convert"):
        docs_sentences([doc], "x.spacy")


def test_sentences_from_a_docbin(hf_corpus: Path, conll_dir: Path) -> None:
    """One example per sentence with IOB2 tags, whatever the source's tag scheme (CoNLL-2003 is IOB1)."""
    sentences = read_sentences(hf_corpus / "dev.spacy")
    articles, _ = read_conll(conll_dir / "valid.txt")
    expected = [s for a in articles[:DEV_ARTICLES] for s in a.sentences]
    assert [words for words, _ in sentences] == [s.words for s in expected]
    assert [tags for _, tags in sentences] == [spans_to_iob2(s.ents, len(s.words)) for s in expected]


def test_seqeval_scores_match_our_decoding_rule() -> None:
    """Word-level seqeval (default mode) counts the same entities as bio.tags_to_spans."""
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["I-ORG", "I-ORG", "B-ORG"]]
    pred = [["B-PER", "I-LOC", "O", "B-LOC"], ["O", "I-ORG", "B-ORG"]]
    gold = {(i, *s) for i, t in enumerate(true) for s in tags_to_spans(t)}
    found = {(i, *s) for i, t in enumerate(pred) for s in tags_to_spans(t)}
    # gold: PER 0-2, LOC 3-4, ORG 0-2 (I- opens), ORG 2-3; found: PER 0-1, LOC 1-2, LOC 3-4, ORG 1-2, ORG 2-3
    assert len(gold) == 4 and len(found) == 5 and len(gold & found) == 2
    scores = seqeval_scores(true, pred)
    assert (scores["p"], scores["r"]) == (pytest.approx(2 / 5), pytest.approx(2 / 4))
    assert scores["f"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert scores["per_type"]["LOC"] == {
        "p": 0.5,
        "r": 1.0,
        "f": pytest.approx(2 / 3),
        "support": 1,
    }
    # no entities anywhere: undefined (None, as spaCy's scorer says), no warning
    assert seqeval_scores([["O"]], [["O"]])["f"] is None


def test_error_messages_name_the_config(hf_corpus: Path) -> None:
    with pytest.raises(ConfigError, match=r"hf_bert_ner.cfg \[paths\] train"):
        load_settings(CONFIG, {"paths.train": str(hf_corpus / "nope.spacy")})


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


def test_train_hf_writes_a_hf_model_folder(trained: Path) -> None:
    config = json.loads((trained / "model" / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"]
    assert config["id2label"] == {str(i): label for i, label in enumerate(CONLL_LABELS)}
    assert config["label2id"] == {label: i for i, label in enumerate(CONLL_LABELS)}
    assert (trained / "model" / "tokenizer.json").is_file()
    assert (trained / "model" / "model.safetensors").is_file()


def test_train_hf_metrics(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["train"]["global_step"] == MAX_STEPS
    assert metrics["train"]["words_per_second"] > 0 and metrics["peak_rss_mb"] > 0
    assert metrics["epochs"] and all("eval_subword_f" in entry for entry in metrics["epochs"])
    for split in ("dev", "test"):
        scores = metrics[split]
        assert set(scores["subword_seqeval"]) == {"p", "r", "f", "accuracy", "per_type"}
        assert set(scores["word_seqeval"]) == {"p", "r", "f", "accuracy", "per_type"}
        assert 0.0 <= scores["word_seqeval"]["f"] <= 1.0
    assert metrics["dev"] == metrics["test"]  # the same file both times


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
    assert (classifier.context, classifier.pack) == (64, False)
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


def test_without_context_the_pipeline_reads_single_sentences(
    hf_corpus: Path, backbone: Path, tmp_path: Path
) -> None:
    """[model] context 0 (the course's single sentences): one Doc per sentence gets metrics.json's
    entities."""
    args = cli_args(hf_corpus, backbone, tmp_path / "run", "--model.context", "0")
    result = CliRunner().invoke(
        app, [*args, "--training_args.max_steps", "2", "--training_args.save_strategy", "no"]
    )
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
    result = CliRunner().invoke(
        app, [*args, "--training_args.max_steps", "2", "--training_args.save_strategy", "no"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["pack_sentences"] is True
    assert metrics["train"]["inputs"] < metrics["train"]["sentences"] / 2
    nlp = assembled(tmp_path / "run" / "model", tmp_path / "pipeline")
    classifier = nlp.get_pipe("bert_ner").classifier
    assert (classifier.context, classifier.pack, classifier.window) == (16, True, 256)
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
    result = CliRunner().invoke(
        app, [*args, "--training_args.max_steps", "2", "--training_args.save_strategy", "no"]
    )
    assert result.exit_code == 0, result.output
    dev = json.loads((tmp_path / "metrics.json").read_text())["dev"]
    figures = ("p", "r", "f", "accuracy")
    word = {key: dev["word_seqeval"][key] for key in figures}
    assert {key: dev["subword_seqeval"][key] for key in figures} == pytest.approx(word)


def test_time_budget_stops_training(hf_corpus: Path, backbone: Path, tmp_path: Path) -> None:
    args = cli_args(hf_corpus, backbone, tmp_path, "--limits.max_seconds", "0.001")
    result = CliRunner().invoke(app, [*args, "--training_args.save_strategy", "no"])
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
        "--training_args.save_strategy", "no", "--training_args.eval_strategy", "no",
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
