"""spacy-bert-ner.own_tokens.v1: training examples on spaCy's own tokens, gold entities aligned to them."""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Corpus
from spacy.util import registry

WORDS = ["LONDON", "1996-08-30", "Smith-Jones", "of", "Leeds-based", "Acme", "won", "1.", "U.S.", "Open"]
ENTS = ["B-LOC", "O", "B-PER", "O", "O", "B-ORG", "O", "O", "B-MISC", "I-MISC"]


def gold_docbin(tmp_path: Path, nlp: spacy.Language) -> Path:
    """A DocBin as `convert` writes one: CoNLL's tokens, spaces unknown."""
    doc = Doc(nlp.vocab, words=WORDS, ents=ENTS)
    assert doc.has_unknown_spaces
    path = tmp_path / "train.spacy"
    DocBin(docs=[doc]).to_disk(path)
    return path


def test_examples_are_on_the_pipelines_tokens_with_gold_entities_aligned(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    augmenter = registry.resolve({"a": {"@augmenters": "spacy-bert-ner.own_tokens.v1"}})["a"]
    path = gold_docbin(tmp_path, nlp)
    [plain] = Corpus(path)(nlp)
    [example] = Corpus(path, augmenter=augmenter)(nlp)
    assert [t.text for t in plain.predicted] == WORDS  # without it: CoNLL's tokens
    tokens = [t.text for t in example.predicted]
    assert tokens == [t.text for t in nlp.make_doc(" ".join(WORDS))]
    assert tokens[:6] == ["LONDON", "1996", "-", "08", "-", "30"] and len(tokens) > len(WORDS)
    assert [t.text for t in example.reference] == WORDS  # the gold Doc is untouched
    # every gold entity lands on whole predicted tokens, so nothing the data says is lost
    aligned = example.get_aligned_spans_y2x(example.reference.ents)
    assert [(s.text, s.label_) for s in aligned] == [
        ("LONDON", "LOC"),
        ("Smith-Jones", "PER"),
        ("Acme", "ORG"),
        ("U.S. Open", "MISC"),
    ]
    tags = example.get_aligned_ner()
    assert "-" not in tags and len(tags) - tags.count("O") == sum(len(span) for span in aligned)
    assert tags[tokens.index("Smith") : tokens.index("Jones") + 1] == ["B-PER", "I-PER", "L-PER"]
