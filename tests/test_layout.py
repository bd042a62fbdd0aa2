"""The package's shape: imports flow one way (no module imports one that imports it, directly or not), the
torch/transformers layer knows nothing of spaCy, library code names no workspace path, and the README's
module map names every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "spacy_bert_ner"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NAMES = {module_name(path): path for path in MODULES}


def imports_of(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports, at the top or inside a function."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in NAMES)
    return found - {module_name(path)}


GRAPH = {name: imports_of(path) for name, path in NAMES.items()}


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every cycle a depth-first walk of ``graph`` meets, as ``a -> b -> a``."""
    found: list[str] = []
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in stack:
                found.append(" -> ".join(stack[stack.index(target) :] + [target]))
            elif target not in done:
                visit(target, stack + [target])
        done.add(name)

    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    return found


def layer(name: str) -> str:
    """``spacy_bert_ner.hf.finetune.recipe`` -> ``hf``; top-level modules are their own layer."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_no_import_cycles_between_modules() -> None:
    """Data flows cli -> library -> lower layers: a cycle would mean a module imports back up."""
    assert cycles(GRAPH) == []


# The layers from the bottom up: each imports only layers below it. The shared leaves (errors, settings
# validation, the BIO rule, the score shape, the heap, output paths, the host record) come first; cli is
# the top.
LAYER_ORDER = [
    "errors", "validation", "bio", "scores", "heap", "output_paths", "host", "installs",
    "data", "hf", "pipeline", "training", "evaluation", "tuning", "annotate",
    "cli", "__main__",
]  # fmt: skip


def test_layers_import_only_layers_below_them() -> None:
    """Every arrow between layers points down LAYER_ORDER (a new top-level module or subpackage must be
    placed in it)."""
    upward = []
    for name, targets in GRAPH.items():
        if name == "spacy_bert_ner":
            continue  # the package's lazy public names reach every layer on purpose
        assert layer(name) in LAYER_ORDER, f"{name}: place its layer {layer(name)!r} in LAYER_ORDER"
        here = LAYER_ORDER.index(layer(name))
        upward += [f"{name} -> {t}" for t in sorted(targets) if LAYER_ORDER.index(layer(t)) > here]
    assert upward == []


@pytest.mark.parametrize(
    "layer",
    [
        "spacy_bert_ner.hf",
        "spacy_bert_ner.scores",
        "spacy_bert_ner.bio",
        "spacy_bert_ner.data.conll",
        "spacy_bert_ner.tuning.thresholds",
        "spacy_bert_ner.tuning.calibration",
        "spacy_bert_ner.heap",
        "spacy_bert_ner.validation",
        "spacy_bert_ner.host",
        "spacy_bert_ner.installs",
    ],
)
def test_pure_layers_do_not_import_spacy(layer: str) -> None:
    """hf/ is torch/transformers only; the score shape, the BIO rule and the column reader are plain
    Python."""
    for name, path in NAMES.items():
        if name == layer or name.startswith(layer + "."):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(import spacy|from spacy)\b", text, re.M), name
            assert all(
                not target.startswith(("spacy_bert_ner.pipeline.bert_ner", "spacy_bert_ner.data.docs"))
                for target in GRAPH[name]
            )


def test_library_code_names_no_workspace_path() -> None:
    """../shared/... belongs to project.yml, the README, tests and benchmarks: a user's install has none."""
    for path in [*MODULES, *(REPO / "configs").glob("*.cfg")]:
        assert "shared/data" not in path.read_text(encoding="utf-8"), path


def test_module_map_names_every_module() -> None:
    """The docs' module map (docs/development.md) names every module of the package."""
    development = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    module_map = development.split("<!-- module-map -->", 1)[1].split("<!-- /module-map -->", 1)[0]
    missing = [
        str(path.relative_to(REPO)) for path in MODULES if f"`{path.relative_to(PACKAGE)}`" not in module_map
    ]
    assert missing == []
