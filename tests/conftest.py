"""Shared fixtures: where the CoNLL-2003 corpus is, and opt-in markers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SPLIT_FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-gpu", action="store_true", default=False, help="run tests that need a CUDA GPU")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-gpu"):
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU: pass --run-gpu")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


def conll2003_dir() -> Path:
    """The shared CoNLL-2003 folder: $CONLL2003_DIR, else ../shared/data/conll2003 from the repo root."""
    return Path(os.environ.get("CONLL2003_DIR", REPO_ROOT.parent / "shared" / "data" / "conll2003"))


def shared_corpus(path: Path, files: Iterable[str], name: str, variable: str) -> Path:
    """``path`` when it holds ``files``; else skip, or in CI (CI=true) fail, naming the variable to set."""
    files = list(files)
    if not all((path / file).is_file() for file in files):
        message = (
            f"{name} not found at {path} ({', '.join(files)}); set {variable} to the folder that holds them"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def conll_dir() -> Path:
    """The CoNLL-2003 folder. Skips outside CI when absent; in CI (CI=true) its absence fails."""
    return shared_corpus(conll2003_dir(), SPLIT_FILES.values(), "CoNLL-2003", "CONLL2003_DIR")


WNUT17_FILES = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}


def wnut17_dir() -> Path:
    """The shared WNUT-17 folder: $WNUT17_DIR, else ../shared/data/wnut17 from the repo root."""
    return Path(os.environ.get("WNUT17_DIR", REPO_ROOT.parent / "shared" / "data" / "wnut17"))


@pytest.fixture(scope="session")
def wnut_dir() -> Path:
    """The WNUT-17 folder (files as the shared task distributes them). Skips outside CI when absent."""
    return shared_corpus(wnut17_dir(), WNUT17_FILES.values(), "WNUT-17", "WNUT17_DIR")


# -- tiny Hugging Face token classifiers (tests/tiny_models.py) ---------------------------------------------

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never use the network; set before transformers loads


@pytest.fixture(scope="session")
def tiny_sentences() -> list[list[str]]:
    """A few hundred CoNLL sentences (valid.txt) for tiny vocabularies; built-in ones when it is absent."""
    from tiny_models import conll_sentences

    path = conll2003_dir() / SPLIT_FILES["dev"]
    return conll_sentences(path if path.is_file() else None)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_sentences: list[list[str]], tmp_path_factory: pytest.TempPathFactory):
    """A cased WordPiece BertTokenizerFast trained on ``tiny_sentences``."""
    from tiny_models import train_tokenizer

    return train_tokenizer(tiny_sentences, tmp_path_factory.mktemp("tiny-vocab"))


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer, hidden-32 BertForTokenClassification with the CoNLL IOB2 labels, saved."""
    from tiny_models import save_random_classifier

    return save_random_classifier(tmp_path_factory.mktemp("tiny-bert-ner"), tiny_tokenizer)


@pytest.fixture(scope="session")
def conll_rigged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rigged classifier over the CoNLL labels (tiny_models.rigged): John Smith PER, Paris LOC, tag
    words."""
    from tiny_models import CONLL_LABELS, rigged

    return rigged(tmp_path_factory.mktemp("conll-rigged"), CONLL_LABELS)


# -- train-hf inputs (tests/train_hf_inputs.py) -------------------------------------------------------------


@pytest.fixture(scope="session")
def hf_corpus(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> Path:
    """train.spacy / dev.spacy from the first CoNLL-2003 articles, and two bad DocBins (read only)."""
    from train_hf_inputs import write_hf_corpus

    return write_hf_corpus(tmp_path_factory.mktemp("hf-corpus"), conll_dir)


@pytest.fixture(scope="session")
def backbone(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> Path:
    """A random 2-layer, hidden-32 BertModel (no classifier head) with a WordPiece vocab from CoNLL."""
    from tiny_models import conll_sentences, save_backbone

    return save_backbone(tmp_path_factory.mktemp("hf-backbone"), conll_sentences(conll_dir / "train.txt"))


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> dict[str, Path]:
    """train.spacy / dev.spacy with the first articles of CoNLL-2003 train and dev (the spaCy-route configs'
    few-step training tests)."""
    from spacy_bert_ner.data.conll import read_conll
    from spacy_bert_ner.data.docbin import SplitStats, articles_to_docbin

    folder = tmp_path_factory.mktemp("corpus")
    paths = {}
    for split, name, n_articles in (("train", "train.txt", 4), ("dev", "valid.txt", 2)):
        articles, _ = read_conll(conll_dir / name)
        paths[split] = folder / f"{split}.spacy"
        articles_to_docbin(articles[:n_articles], SplitStats(split)).to_disk(paths[split])
    return paths
