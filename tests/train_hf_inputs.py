"""What the train-hf tests share: the shipped config, a tiny corpus as `convert` writes it, the command
line."""

from __future__ import annotations

from pathlib import Path

from spacy.tokens import DocBin

from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.data.docbin import SplitStats, articles_to_docbin

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "hf_bert_ner.cfg"
TRAIN_ARTICLES, DEV_ARTICLES = 3, 2
MAX_STEPS = 6
# Overrides for a run that writes no checkpoint and scores dev only at its end (no [budget] evaluations).
NO_CHECKPOINTS = (
    "--budget.evaluations",
    "null",
    "--budget.patience",
    "null",
    "--training_args.save_strategy",
    "no",
)


def write_hf_corpus(folder: Path, conll_dir: Path) -> Path:
    """train.spacy / dev.spacy: the first articles of CoNLL-2003 train and valid, as `convert` writes them;
    empty.spacy and garbage.spacy beside them for the bad-input tests."""
    for split, name, n in (("train", "train.txt", TRAIN_ARTICLES), ("dev", "valid.txt", DEV_ARTICLES)):
        articles, _ = read_conll(conll_dir / name)
        articles_to_docbin(articles[:n], SplitStats(split)).to_disk(folder / f"{split}.spacy")
    DocBin().to_disk(folder / "empty.spacy")
    (folder / "garbage.spacy").write_bytes(b"not a docbin")
    return folder


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
        # a tiny random backbone trained for a few steps does not learn: these tests check everything else
        "--budget.keep_unlearned",
        "true",
        *extra,
    ]
