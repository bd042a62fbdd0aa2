"""Every CLI command given an output it cannot write (an existing file where a folder goes, a folder where a
file goes, a path under a file, a folder without write permission) prints one line naming it, not a
traceback, before doing any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_bert_ner import output_paths
from spacy_bert_ner.cli import app
from spacy_bert_ner.output_paths import output_problem

CONLL = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"


def command_args(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    """One invocation per command, with ``out`` as its output path (inputs need not exist: the output is
    checked first)."""
    source = tmp_path / "train.txt"
    source.write_text(CONLL, encoding="utf-8")
    return {
        "convert": ["convert", str(source), str(out)],
        "fetch-conll": ["fetch-conll", str(tmp_path), str(out)],
        "fetch-corpus": ["fetch-corpus", str(tmp_path), str(out)],
        "export-conll": ["export-conll", str(tmp_path / "dev.spacy"), str(out)],
        "assemble": ["assemble", str(tmp_path / "model"), str(out)],
        "parity": ["parity", str(tmp_path / "pipeline"), str(tmp_path / "dev.spacy"), "--output", str(out)],
        "evaluate-raw": [
            "evaluate-raw",
            str(tmp_path / "pipeline"),
            str(tmp_path / "dev.spacy"),
            "-o",
            str(out),
        ],
        "report": ["report", str(out), "-m", f"x={tmp_path / 'metrics.json'}"],
        "check-gpu": ["check-gpu", "--gpu-id=-1", "--output", str(out)],
        "annotate": ["annotate", str(tmp_path / "pipeline"), str(source), str(out)],
        "tune": ["tune", str(tmp_path / "pipeline"), str(tmp_path / "dev.spacy"), str(out)],
        "optimize": ["optimize", str(tmp_path / "pipeline"), str(out), "--dev", str(tmp_path / "dev.spacy")],
        "train-curve": ["train-curve", str(tmp_path / "x.cfg"), str(out)],
    }


FOLDER_OUTPUTS = {
    "convert", "fetch-conll", "fetch-corpus", "assemble", "annotate", "tune", "optimize", "train-curve"
}  # fmt: skip
COMMANDS = [
    "convert", "fetch-conll", "fetch-corpus", "export-conll", "assemble", "parity", "evaluate-raw", "report",
    "check-gpu", "annotate", "tune", "optimize", "train-curve",
]  # fmt: skip


def blocked_output(tmp_path: Path, command: str, case: str) -> Path:
    """An output path of the wrong kind for ``command``, or one under a file."""
    blocker = tmp_path / "blocker.txt"
    blocker.write_text("in the way", encoding="utf-8")
    if case == "under a file":
        return blocker / "out"
    if command in FOLDER_OUTPUTS:
        return blocker  # an existing file where a folder goes
    folder = tmp_path / "a-folder"
    folder.mkdir()
    return folder  # an existing folder where a file goes


@pytest.mark.parametrize("case", ["wrong kind", "under a file"])
@pytest.mark.parametrize("command", COMMANDS)
def test_unwritable_output_is_one_line(tmp_path: Path, command: str, case: str) -> None:
    out = blocked_output(tmp_path, command, case)
    args = command_args(tmp_path, out)
    assert sorted(args) == sorted(COMMANDS)
    result = CliRunner().invoke(app, args[command])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("✘")]
    assert len(errors) == 1, result.output
    assert str(out) in errors[0] and "choose a" in errors[0], errors[0]
    if command in FOLDER_OUTPUTS and case == "wrong kind":
        assert "exists and is a file, not a folder" in errors[0]


def test_output_problems_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert output_problem(tmp_path / "new" / "deeper", "folder") is None
    assert (
        output_problem(tmp_path, "folder") is None and output_problem(tmp_path / "file.txt", "file") is None
    )
    file = tmp_path / "file.txt"
    assert output_problem(file, "folder") == f"{file} exists and is a file, not a folder"
    assert output_problem(tmp_path, "file") == f"{tmp_path} exists and is a folder, not a file"
    assert (
        output_problem(file / "x" / "y", "file")
        == f"{file} is a file, so {file / 'x' / 'y'} cannot be created under it"
    )
    # Without write permission (as root every folder is writable, so the permission check is stood in for).
    monkeypatch.setattr(output_paths.os, "access", lambda path, mode: False)
    new = tmp_path / "new"
    assert output_problem(new, "folder") == f"{tmp_path} is not writable, so {new} cannot be created"
    assert output_problem(file, "file") == f"{file} is not writable"


def test_every_command_with_an_output_is_covered() -> None:
    """train-hf's output ([paths] output) is checked with the config, in tests/test_hf_train.py."""
    assert {command.name for command in app.registered_commands} == {*COMMANDS, "train-hf"}
