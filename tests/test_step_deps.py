"""tools/step_deps.py: a command's package deps rewritten from what it imported, nothing else touched."""

from __future__ import annotations

from pathlib import Path

from tools.step_deps import with_package_deps

PROJECT = """commands:
  - name: convert
    help: "Convert"
    script:
      - "python -m spacy_bert_ner convert"
    deps:
      - "assets/train.txt"
      - "spacy_bert_ner/data/conll.py"
      - "spacy_bert_ner/heap.py"
    outputs:
      - "corpus"

  - name: report
    deps:
      - "metrics/a.json"
      - "spacy_bert_ner/scores.py"

  - name: other
    deps:
      - "spacy_bert_ner/bio.py"
"""


def test_only_the_named_commands_package_lines_change() -> None:
    written = with_package_deps(
        PROJECT,
        {
            "convert": {"spacy_bert_ner/host.py", "spacy_bert_ner/data/conll.py"},
            "report": {"spacy_bert_ner/scores.py", "spacy_bert_ner/errors.py"},
        },
    )
    assert written == PROJECT.replace(
        '      - "spacy_bert_ner/data/conll.py"\n      - "spacy_bert_ner/heap.py"\n',
        '      - "spacy_bert_ner/data/conll.py"\n      - "spacy_bert_ner/host.py"\n',
    ).replace(
        '      - "spacy_bert_ner/scores.py"\n',
        '      - "spacy_bert_ner/errors.py"\n      - "spacy_bert_ner/scores.py"\n',
    )


def test_a_command_without_package_deps_gets_them_after_its_others() -> None:
    project = 'commands:\n  - name: data\n    deps:\n      - "assets/x"\n    outputs:\n      - "y"\n'
    written = with_package_deps(project, {"data": {"spacy_bert_ner/errors.py", "spacy_bert_ner/bio.py"}})
    assert written == (
        'commands:\n  - name: data\n    deps:\n      - "assets/x"\n'
        '      - "spacy_bert_ner/bio.py"\n      - "spacy_bert_ner/errors.py"\n    outputs:\n      - "y"\n'
    )


def test_the_real_project_is_unchanged_by_its_own_deps() -> None:
    """Rewriting project.yml with the package deps it lists gives it back byte for byte."""
    import srsly

    project = Path(__file__).resolve().parent.parent / "project.yml"
    text = project.read_text(encoding="utf-8")
    listed = {
        command["name"]: {d for d in command.get("deps", []) if d.startswith("spacy_bert_ner/")}
        for command in srsly.read_yaml(project)["commands"]
    }
    assert with_package_deps(text, listed) == text
