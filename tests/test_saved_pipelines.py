"""Pipelines saved by earlier releases load and predict as they did.

``data/saved_pipeline_0_1`` was saved by spacy-bert-ner 0.1.0 at commit f5c2309, before the package was
laid out in pipeline/, training/ and cli/ (bert_ner then lived in ``spacy_bert_ner/pipeline/bert_ner.py``,
line_sentences in ``spacy_bert_ner/pipeline/line_sentences.py``): blank English, ``line_sentences``,
``sentencizer`` and ``bert_ner`` over a random tiny BERT (2 layers, hidden 32), with non-default options
(aggregation average, context 8, temperature 1.5, a label mapping and a threshold).
``saved_pipeline_0_1.json`` holds what that pipeline found in three texts, in that same process, before
and after a disk round trip.
``data/saved_pipeline_0_1_transformers5`` is the same pipeline saved under transformers 5.x by
``data/save_pipeline.py``; ``saved_pipeline_0_1`` was saved under transformers 4.53. Each line of
transformers loads both (CI runs this module on both lines), so a pipeline saved under one line finds the
same entities under the other.
A saved pipeline names only factory names, never module paths, so it must load as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy

pytestmark = pytest.mark.core

DATA = Path(__file__).resolve().parent / "data"
TEXTS = [
    "EU rejects German call to boycott British lamb .\nPeter Blackburn\nBRUSSELS 1996-08-22",
    "Jimi Hendrix wrote the lyrics in a London hotel in New York . China says Taiwan spoils atmosphere for "
    "talks with Beijing .",
    "Japan began the defence of their Asian Cup title with a lucky 2-1 win against Syria .",
]


def found(nlp: spacy.Language, texts: list[str]) -> list[dict]:
    result = []
    for doc in nlp.pipe(texts):
        group = doc.spans["bert_ner"]
        result.append(
            {
                "ents": [[e.start_char, e.end_char, e.label_] for e in doc.ents],
                "spans": [
                    [s.start_char, s.end_char, s.label_, float(x)]
                    for s, x in zip(group, group.attrs["scores"])
                ],
            }
        )
    return result


@pytest.mark.parametrize("name", ["saved_pipeline_0_1", "saved_pipeline_0_1_transformers5"])
def test_pipeline_saved_by_0_1_loads_and_finds_the_same_entities(name: str) -> None:
    saved = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    assert saved["texts"] == TEXTS
    nlp = spacy.load(DATA / name)
    assert nlp.pipe_names == ["line_sentences", "sentencizer", "bert_ner"]
    ner = nlp.get_pipe("bert_ner")
    assert ner.labels == ("LOC", "MISCELLANEOUS", "ORG", "PER")
    got = found(nlp, saved["texts"])
    for doc_got, doc_expected in zip(got, saved["expected"], strict=True):
        assert doc_got["ents"] == doc_expected["ents"]
        assert [s[:3] for s in doc_got["spans"]] == [s[:3] for s in doc_expected["spans"]]
        assert [s[3] for s in doc_got["spans"]] == pytest.approx(
            [s[3] for s in doc_expected["spans"]], abs=1e-4
        )
