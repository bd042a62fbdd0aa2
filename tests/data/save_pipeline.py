"""Write a saved pipeline for tests/test_saved_pipelines.py with the transformers installed here:
``saved_pipeline_<release>_transformers<major>/`` and, beside it, the JSON of what it finds in three texts
(in this process, before and after a disk round trip).

The same pipeline as ``saved_pipeline_0_1``: blank English, ``line_sentences``, ``sentencizer`` and
``bert_ner`` over a random tiny BERT (2 layers, hidden 32, a WordPiece vocab from the built-in CoNLL
sentences) with non-default options (aggregation average, context 8, temperature 1.5, a label mapping and a
threshold). Run it once per transformers line whose saved pipelines the other line must load:

    python tests/data/save_pipeline.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import spacy
import transformers

DATA = Path(__file__).resolve().parent
sys.path.insert(0, str(DATA.parent))

from test_saved_pipelines import TEXTS, found  # noqa: E402
from tiny_models import conll_sentences, save_random_classifier, train_tokenizer  # noqa: E402

import spacy_bert_ner  # noqa: E402


def main() -> None:
    release = spacy_bert_ner.__version__.rsplit(".", 1)[0].replace(".", "_")
    name = f"saved_pipeline_{release}_transformers{transformers.__version__.split('.')[0]}"
    target = DATA / name
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        save_random_classifier(model, train_tokenizer(conll_sentences(None), model))
        nlp = spacy.blank("en")
        nlp.add_pipe("line_sentences")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe(
            "bert_ner",
            config={
                "model": str(model),
                "aggregation": "average",
                "context": 8,
                "temperature": 1.5,
                "labels": {"MISC": "MISCELLANEOUS"},
                "thresholds": {"PER": 0.16},
            },
        )
        before = found(nlp, TEXTS)
        if target.exists():
            shutil.rmtree(target)
        nlp.to_disk(target)
    after = found(spacy.load(target), TEXTS)
    assert after == before, "the disk round trip changed what the pipeline finds"
    record = {"transformers": transformers.__version__, "texts": TEXTS, "expected": before}
    (DATA / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target} and {name}.json (transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
