"""train-hf on your own entities: `[model] labels` taken from the data when left out, a listed one checked
against the data, and a backbone that is already a token classifier for other labels (its head made anew)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Mapping

import pytest
import torch
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from tiny_models import CONLL_LABELS, save_backbone
from train_hf_inputs import CONFIG, NO_CHECKPOINTS, cli_args
from transformers import BertForTokenClassification
from typer.testing import CliRunner

from spacy_bert_ner.cli import app
from spacy_bert_ner.errors import DataError, ModelError
from spacy_bert_ner.hf.finetune.backbone import head_note, load_backbone
from spacy_bert_ner.hf.finetune.labels import check_sentences, data_labels, entity_types, resolve_labels
from spacy_bert_ner.hf.finetune.settings import HFTrainSettings, load_settings
from spacy_bert_ner.training.train_hf import read_splits

pytestmark = [
    pytest.mark.core,
    # Trainer._sorted_checkpoints (save_total_limit) when checkpoints of a seconds-long run share an mtime.
    pytest.mark.filterwarnings("ignore:mtime may not be reliable on this filesystem:UserWarning"),
]

VOCAB = Vocab()


def doc(words: str, ents: list[str] | None, sentences: bool = True) -> Doc:
    """One sentence (or, with ``sentences=False``, no sentence starts) with IOB ``ents`` (None: none)."""
    split = words.split()
    starts = [True] + [False] * (len(split) - 1) if sentences else None
    return Doc(VOCAB, words=split, sent_starts=starts, ents=ents)


# Own types: lowercase and hyphenated; "product" is in dev and test only.
PERSON, WORK, PRODUCT = (
    ["B-person", "I-person"],
    ["B-WORK-OF-ART", "I-WORK-OF-ART"],
    ["B-product", "I-product"],
)
OWN_SPLITS = {
    "train": [
        doc(
            "Ada Lovelace wrote Notes on the Engine .",
            [*PERSON, "O", *WORK, "I-WORK-OF-ART", "I-WORK-OF-ART", "O"],
        ),
        doc("Alan Turing read Notes .", [*PERSON, "O", "B-WORK-OF-ART", "O"]),
    ],
    "dev": [
        doc("Grace Hopper used the Mark II .", [*PERSON, "O", "O", *PRODUCT, "O"], sentences=False),
        doc("Nobody knows .", None),  # no NER annotation
    ],
    "test": [doc("Linus built Linux .", ["B-person", "O", "B-product", "O"])],
}
DEV_READ = (  # how the dev split was read: train-hf's warning for it
    "1 of 2 docs had no sentence starts and were split by spaCy's sentencizer; 3 words have no NER "
    "annotation (1 docs none at all): they are not trained on (label -100) and count as O in word-level "
    "scores"
)
# O, then train's types sorted ("WORK-OF-ART" < "person"), then the type only dev and test have.
OWN_LABELS = ["O", "B-WORK-OF-ART", "I-WORK-OF-ART", "B-person", "I-person", "B-product", "I-product"]
UNTRAINED = r"no entities of types that other splits have: product \(dev 1, test 1\); the model cannot learn"
AS_READ = {
    "docs_split_by_sentencizer": 0,
    "boundaries_removed": 0,
    "missing_tokens": 0,
    "docs_unannotated": 0,
}


@pytest.fixture(scope="module")
def own_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("own-corpus")
    for split, docs in OWN_SPLITS.items():
        DocBin(docs=docs).to_disk(folder / f"{split}.spacy")
    return folder


@pytest.fixture(scope="module")
def plain_encoder(tmp_path_factory: pytest.TempPathFactory, tiny_sentences: list[list[str]]) -> Path:
    """A random 2-layer BertModel (no classifier head), built from the tiny sentences (no corpus needed)."""
    return save_backbone(tmp_path_factory.mktemp("plain-encoder"), tiny_sentences)


def read_own(settings: HFTrainSettings) -> dict:
    with pytest.warns(UserWarning, match=r"\[paths\] dev = .*" + re.escape(DEV_READ)):
        splits, _ = read_splits(settings)
    return splits


def own_settings(corpus: Path, tmp_path: Path, **overrides: object) -> HFTrainSettings:
    paths = {f"paths.{split}": str(corpus / f"{split}.spacy") for split in OWN_SPLITS}
    return load_settings(CONFIG, {**paths, "paths.output": str(tmp_path / "run"), **overrides})


# -- the labels of the data ---------------------------------------------------------------------------------

# (case, entities per type and split, the labels)
DATA_LABEL_CASES = [
    (
        "train's types sorted, B before I",
        {"train": {"PER": 3, "LOC": 1}},
        ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"],
    ),
    (
        "dev-only types after train's",
        {"train": {"ORG": 1}, "dev": {"LOC": 2, "ORG": 1}},
        ["O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"],
    ),
    (
        "dev-only, test-only sorted",
        {"train": {"Z": 1}, "dev": {"Y": 1}, "test": {"X": 1}},
        ["O", "B-Z", "I-Z", "B-X", "I-X", "B-Y", "I-Y"],
    ),
    ("case-sensitive, hyphenated", {"train": {"person": 1, "WORK-OF-ART": 1}}, ["O", *WORK, *PERSON]),
]


@pytest.mark.parametrize(
    "types, labels", [c[1:] for c in DATA_LABEL_CASES], ids=[c[0] for c in DATA_LABEL_CASES]
)
def test_data_labels(types: Mapping[str, Mapping[str, int]], labels: list[str]) -> None:
    assert data_labels({split: dict(counts) for split, counts in types.items()}) == labels


def test_labels_come_from_the_data_with_a_warning_for_untrained_types(
    own_corpus: Path, tmp_path: Path
) -> None:
    settings = own_settings(own_corpus, tmp_path)
    assert settings.model.labels is None
    splits = read_own(settings)
    assert {split: dict(entity_types(documents)) for split, documents in splits.items()} == {
        "train": {"person": 2, "WORK-OF-ART": 2},
        "dev": {"person": 1, "product": 1},  # the unannotated Doc ("-" tags) has none
        "test": {"person": 1, "product": 1},
    }
    with pytest.warns(UserWarning, match=UNTRAINED):
        assert resolve_labels(settings, splits) == OWN_LABELS


def test_listed_labels_must_cover_the_data_and_name_only_its_types(own_corpus: Path, tmp_path: Path) -> None:
    """'-' (no annotation) is never missing from a listed set; a listed type that no split has is an error."""
    splits = read_own(own_settings(own_corpus, tmp_path))
    check_sentences(own_settings(own_corpus, tmp_path, **{"model.labels": OWN_LABELS}), splits)
    extra = own_settings(
        own_corpus, tmp_path, **{"model.labels": [*OWN_LABELS, "B-EVENT", "I-EVENT", "B-x", "I-x"]}
    )
    message = (
        f"{CONFIG} [model] labels: B-EVENT, I-EVENT, B-x, I-x name entity types that occur in none of "
        "[paths] train, dev, test; remove them from [model] labels, or leave [model] labels out (null) to "
        "take the labels from the data"
    )
    with pytest.raises(DataError) as caught:
        check_sentences(extra, splits)
    assert str(caught.value) == message
    short = own_settings(own_corpus, tmp_path, **{"model.labels": OWN_LABELS[:5]})
    unlisted = r"the data has labels that \[model\] labels does not list: B-product \(1 words\), I-product \("
    with pytest.raises(DataError, match=r"\[paths\] dev = .*: " + unlisted):
        check_sentences(short, splits)


def test_data_without_entities_has_no_labels_to_take(tmp_path: Path) -> None:
    for split in ("train", "dev"):
        DocBin(docs=[doc("Nothing here .", ["O", "O", "O"])]).to_disk(tmp_path / f"{split}.spacy")
    settings = load_settings(
        CONFIG,
        {
            "paths.train": str(tmp_path / "train.spacy"),
            "paths.dev": str(tmp_path / "dev.spacy"),
            "paths.output": str(tmp_path / "run"),
        },
    )
    splits, _ = read_splits(settings)
    with pytest.raises(
        DataError, match=r"\[model\] labels = null: no entities in \[paths\] train, dev to take"
    ):
        resolve_labels(settings, splits)


# -- a backbone that is already a token classifier ----------------------------------------------------------

DATA_ORDER = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]  # same 9, sorted

# (case, the labels to train, whether the backbone's head is kept)
HEAD_CASES = [
    ("the same labels in the same order", CONLL_LABELS, True),
    ("the same labels in another order", DATA_ORDER, False),
    ("as many labels, other types", ["O", "B-a", "I-a", "B-b", "I-b", "B-c", "I-c", "B-d", "I-d"], False),
    ("other labels", OWN_LABELS, False),
]


@pytest.mark.parametrize("labels, kept", [c[1:] for c in HEAD_CASES], ids=[c[0] for c in HEAD_CASES])
def test_a_fine_tuned_backbone_keeps_its_encoder(
    own_corpus: Path, tiny_model_dir: Path, tmp_path: Path, labels: list[str], kept: bool
) -> None:
    """tiny_model_dir is a BertForTokenClassification for the CoNLL labels: its encoder is always loaded, its
    head only for identical labels; any other label list, even one of the same size, gets a new head."""
    settings = own_settings(own_corpus, tmp_path, **{"model.backbone": str(tiny_model_dir)})
    _, model, backbone_labels = load_backbone(settings, labels)
    assert backbone_labels == CONLL_LABELS
    assert model.config.id2label == dict(enumerate(labels))
    source = BertForTokenClassification.from_pretrained(tiny_model_dir)
    for name, weights in source.bert.state_dict().items():
        assert torch.equal(model.bert.state_dict()[name], weights), name
    head, old = model.classifier.weight, source.classifier.weight
    assert head.shape == (len(labels), old.shape[1])
    assert (head.shape == old.shape and torch.equal(head, old)) is kept
    note = head_note(str(tiny_model_dir), backbone_labels, labels)
    expected = (
        "its classifier head is kept (the same labels in the same order)"
        if kept
        else f"its classifier head is replaced by a new one for {json.dumps(labels)}"
    )
    assert note == f"backbone {tiny_model_dir} was fine-tuned for {json.dumps(CONLL_LABELS)}; {expected}"


def test_a_plain_encoder_has_no_labels(own_corpus: Path, plain_encoder: Path, tmp_path: Path) -> None:
    settings = own_settings(own_corpus, tmp_path, **{"model.backbone": str(plain_encoder)})
    _, model, backbone_labels = load_backbone(settings, OWN_LABELS)
    assert backbone_labels is None and head_note(str(plain_encoder), None, OWN_LABELS) is None
    assert model.classifier.weight.shape[0] == len(OWN_LABELS)


@pytest.mark.parametrize("start_from", ["tiny_model_dir", "", None])
def test_start_from_a_fine_tuned_classifier_instead_of_the_backbone(
    own_corpus: Path, tiny_model_dir: Path, plain_encoder: Path, tmp_path: Path, start_from: str | None
) -> None:
    """[model] start_from (the workflow's hf_start_from) names a fine-tuned token classifier to start from in
    place of [model] backbone; empty or null, the backbone is the start."""
    given = str(tiny_model_dir) if start_from == "tiny_model_dir" else start_from
    overrides = {"model.backbone": str(plain_encoder), "model.start_from": given}
    settings = own_settings(own_corpus, tmp_path, **overrides)
    _, model, backbone_labels = load_backbone(settings, OWN_LABELS)
    if start_from == "tiny_model_dir":
        assert settings.model.start == ("start_from", str(tiny_model_dir)) and backbone_labels == CONLL_LABELS
        source = BertForTokenClassification.from_pretrained(tiny_model_dir)
        assert all(torch.equal(model.bert.state_dict()[n], w) for n, w in source.bert.state_dict().items())
    else:
        assert settings.model.start_from is None and backbone_labels is None
        assert settings.model.start == ("backbone", str(plain_encoder))


def test_a_missing_start_from_names_its_setting(own_corpus: Path, tmp_path: Path) -> None:
    settings = own_settings(own_corpus, tmp_path, **{"model.start_from": str(tmp_path / "nope")})
    with pytest.raises(ModelError, match=r"\[model\] start_from = .*nope.*set \[model\] start_from"):
        load_backbone(settings, OWN_LABELS)


# -- end to end ---------------------------------------------------------------------------------------------


def test_train_own_labels_from_a_fine_tuned_backbone(
    own_corpus: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """labels = null on own types, starting from a CoNLL token classifier: what the run says, the model's
    labels and metrics.json's record of labels, backbone and reading."""
    output = tmp_path / "run"
    args = cli_args(own_corpus, tiny_model_dir, output, "--paths.test", str(own_corpus / "test.spacy"))
    result = CliRunner().invoke(app, [*args, "--training_args.max_steps", "2", *NO_CHECKPOINTS])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    dev = f'[paths] dev = "{own_corpus / "dev.spacy"}"'
    assert f"⚠ {CONFIG} {dev}: {DEV_READ}" in lines
    assert (
        sum("⚠" in line and "[paths] train" in line and "product (dev 1, test 1)" in line for line in lines)
        == 1
    )
    assert (
        f"ℹ backbone {tiny_model_dir} was fine-tuned for {json.dumps(CONLL_LABELS)}; its classifier head is "
        f"replaced by a new one for {json.dumps(OWN_LABELS)}"
    ) in lines
    config = json.loads((output / "model" / "config.json").read_text())
    assert config["id2label"] == {str(i): label for i, label in enumerate(OWN_LABELS)}
    metrics = json.loads((output / "metrics.json").read_text())
    assert (metrics["labels"], metrics["backbone_labels"]) == (OWN_LABELS, CONLL_LABELS)
    assert metrics["data"] == {
        "train": {**AS_READ, "docs": 2},
        "dev": {
            **AS_READ,
            "docs": 2,
            "docs_split_by_sentencizer": 1,
            "missing_tokens": 3,
            "docs_unannotated": 1,
        },
        "test": {**AS_READ, "docs": 1},
    }
    # word-level scores read '-' as O: dev's gold entities are the annotated person and product only
    supports = {type_: s["support"] for type_, s in metrics["dev"]["word_seqeval"]["per_type"].items()}
    assert {type_: supports.get(type_) for type_ in ("person", "product")} == {"person": 1, "product": 1}
    assert sum(supports.values()) == 2
    assert metrics["dev"]["words"] == 10 and metrics["dev"]["sentences"] == 2
