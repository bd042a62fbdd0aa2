"""project.yml's package deps, written from what each step imported rather than by hand.

Weasel re-runs a step only when one of its deps changed, so each step lists every ``spacy_bert_ner`` module
its script imports (entry points included) and no other. tests/test_project.py runs the workflow with every
process's imports recorded and compares them with the deps; with ``SPACY_BERT_NER_WRITE_DEPS=1`` it writes
them into project.yml instead (through :func:`with_package_deps`), so moving or adding a module is one test
run, not a dozen hand edits:

    SPACY_BERT_NER_WRITE_DEPS=1 python -m pytest tests/test_project.py -k step_deps

Only the ``spacy_bert_ner/...`` lines of each command's ``deps`` change (kept sorted, after its other deps);
data, configs, comments and every other line stay as they are.
"""

from __future__ import annotations

import re
from typing import Mapping

PACKAGE_DEP = re.compile(r'^(?P<indent>\s*)- "(?P<path>spacy_bert_ner/[^"]+)"\s*$')
COMMAND = re.compile(r"^\s*- name: (?P<name>\S+)\s*$")


def with_package_deps(project_yml: str, deps: Mapping[str, set[str]]) -> str:
    """``project_yml`` with each named command's package deps replaced by ``deps[name]`` (sorted)."""
    lines = project_yml.splitlines(keepends=True)
    out: list[str] = []
    command = None
    in_deps = False
    pending: list[str] = []  # the current deps block's package lines, replaced when it ends
    indent = ""

    def flush() -> None:
        nonlocal pending
        if command in deps and (pending or in_deps):
            out.extend(f'{indent}- "{path}"\n' for path in sorted(deps[command]))
        else:
            out.extend(pending)
        pending = []

    for line in lines:
        stripped = line.strip()
        name = COMMAND.match(line)
        if in_deps:
            package = PACKAGE_DEP.match(line)
            if package:
                indent = package.group("indent")
                pending.append(line)
                continue
            if stripped.startswith("- "):
                indent = line[: len(line) - len(line.lstrip())]
                out.append(line)
                continue
            flush()
            in_deps = False
        if name:
            command = name.group("name")
        if stripped == "deps:":
            in_deps = True
            indent = line[: len(line) - len(line.lstrip())] + "  "
        out.append(line)
    if in_deps:
        flush()
    return "".join(out)
