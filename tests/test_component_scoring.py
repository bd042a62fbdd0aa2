"""bert_ner scored: spaCy's NER scorer through nlp.evaluate and `spacy evaluate`. Its entities against the HF
model's own first-subword argmax decoded by seqeval: tests/test_core_chain.py, on a MiniLM that train-hf
fine-tuned."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin, Span
from tiny_models import bert_ner

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
