"""Import tracing for tests/test_project.py, loaded at start-up by every Python process that has this folder
on its PYTHONPATH (the test puts it there for the workflow run only).

At exit, each process appends one JSON line to $SPACY_BERT_NER_IMPORT_TRACE: its ``sys.argv`` and every
``spacy_bert_ner`` module it imported, however it got there (a CLI command's imports, or spaCy loading the
``bert_ner`` factory or the memory_guard callback through their entry points).
"""

import atexit
import json
import os
import sys

_TRACE = os.environ.get("SPACY_BERT_NER_IMPORT_TRACE")


def _record() -> None:
    modules = sorted(name for name in sys.modules if name.split(".")[0] == "spacy_bert_ner")
    with open(_TRACE, "a", encoding="utf-8") as file:
        file.write(json.dumps({"argv": sys.argv, "modules": modules}) + "\n")


if _TRACE:
    atexit.register(_record)
