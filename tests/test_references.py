"""References in the code resolve: Sphinx-style roles (:func:`...`, :class:`...`, :data:`...`, ...) and dotted
``spacy_bert_ner.…`` names in docstrings and comments name something that exists, and the repository files
they mention (``tests/…py``, ``docs/…md``, ``configs/…cfg``, ...) are there. A moved function or a renamed
test then fails here instead of leaving a pointer to nothing."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ROLE = re.compile(r":(?:func|mod|class|meth|data|attr|obj|exc):`~?([^`<>]+?)(?:\(\))?`")
DOTTED = re.compile(r"(?<![\w./\"'])spacy_bert_ner(?:\.\w+)+")
FILE = re.compile(
    r"(?<![\w./-])((?:tests|benchmarks|tools|spacy_bert_ner|docs|configs|results|\.ci)/[\w./-]+"
    r"\.(?:py|md|cfg|sh|json|yml))"
)
EXTERNAL = ("spacy.", "thinc.", "transformers.", "torch.", "numpy.", "datasets.", "srsly.", "seqeval.")
# Paths that moved, which the code may still name as they were (e.g. in a published run's conditions),
# each with the path it moved to, which must exist.
FORMER_PATHS = {"benchmarks/main_job.py": "tools/main_job.py"}
SOURCES = sorted(
    [*REPO.glob("spacy_bert_ner/**/*.py"), *REPO.glob("tests/*.py"), *REPO.glob("benchmarks/**/*.py")]
    + [*REPO.glob("tools/**/*.py"), *REPO.glob("benchmarks/**/*.sh"), *REPO.glob("tools/**/*.sh")]
)


def lookup(dotted: str) -> bool:
    """Whether ``dotted`` is a module, or an attribute path inside one (a dataclass field counts)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            fields = getattr(obj, "__dataclass_fields__", {}) or getattr(obj, "model_fields", {})
            if hasattr(obj, name):
                obj = getattr(obj, name)
            elif name in fields:
                obj = None
            else:
                return False
        return True
    return False


def resolves(target: str, module: str) -> bool:
    """Whether a role's target resolves from ``module`` as Sphinx would look: absolute, relative to the
    module or its package, or a name of the module or of a class defined in it."""
    if target.startswith(EXTERNAL) or target.startswith("spacy_bert_ner"):
        return lookup(target)
    package = module.rsplit(".", 1)[0]
    if target.startswith("."):
        return lookup(package + target) or lookup(module + target)
    if lookup(f"{module}.{target}") or lookup(f"{package}.{target}"):
        return True
    classes = [c for _, c in inspect.getmembers(importlib.import_module(module), inspect.isclass)]
    return any(lookup(f"{c.__module__}.{c.__qualname__}.{target}") for c in classes)


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_references_resolve(path: Path) -> None:
    rel = path.relative_to(REPO)
    text = path.read_text(encoding="utf-8")
    in_package = rel.parts[0] == "spacy_bert_ner" and path.suffix == ".py"
    module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
    broken = []
    for match in ROLE.finditer(text):
        target = match.group(1).strip()
        if (in_package or target.startswith("spacy_bert_ner")) and not resolves(target, module):
            broken.append(f"{rel}:{line_of(text, match.start())}: {target}")
    if rel.parts[0] != "tests":  # tests name missing attributes on purpose
        for match in DOTTED.finditer(text):
            if not lookup(match.group(0)):
                broken.append(f"{rel}:{line_of(text, match.start())}: {match.group(0)}")
    for match in FILE.finditer(text):
        path = FORMER_PATHS.get(match.group(1), match.group(1))
        if not (REPO / path).exists():
            broken.append(f"{rel}:{line_of(text, match.start())}: {match.group(1)}")
    assert broken == []


def test_the_check_finds_a_stale_reference() -> None:
    assert resolves(
        "spacy_bert_ner.hf.finetune.course_metric.course_scores", "spacy_bert_ner.evaluation.parity"
    )
    assert not resolves("spacy_bert_ner.scores.course_scores", "spacy_bert_ner.evaluation.parity")
    assert resolves(".align.MISSING", "spacy_bert_ner.hf.finetune.recipe")
    assert not resolves(".context.pack_segments", "spacy_bert_ner.hf.finetune.recipe")  # moved to inference/
    assert resolves("BertNER.found_spans", "spacy_bert_ner.tuning.search")
    assert not resolves("BertNER.no_such_method", "spacy_bert_ner.tuning.search")
