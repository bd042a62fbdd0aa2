"""`spacy project run all` on a tiny CoNLL slice with a tiny backbone, twice: the second run recomputes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import srsly

from spacy_bert_ner.data.conll import conll_lines, read_conll
from tiny_models import conll_sentences, save_backbone

REPO = Path(__file__).resolve().parent.parent
SLICES = {"train.txt": 3, "valid.txt": 2, "test.txt": 2}  # articles taken from each split


def workflow_commands() -> list[str]:
    return srsly.read_yaml(REPO / "project.yml")["workflows"]["all"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> dict[str, Path]:
    """A copy of the project (project.yml, configs, package modules for deps), a data slice, a tiny backbone."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "project.yml", root / "project.yml")
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copytree(REPO / "spacy_bert_ner", root / "spacy_bert_ner", ignore=shutil.ignore_patterns("__pycache__"))
    data = root.parent / f"{root.name}-data"
    data.mkdir()
    for name, n_articles in SLICES.items():
        articles, _ = read_conll(conll_dir / name)
        lines = [line for a in articles[:n_articles] for line in conll_lines(a.sentences, a.docstart, 4)]
        (data / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    backbone = save_backbone(root.parent / f"{root.name}-backbone", conll_sentences(conll_dir / "train.txt"))
    return {"root": root, "data": data, "backbone": backbone}


def run_all(project: dict[str, Path]) -> subprocess.CompletedProcess:
    overrides = {
        "data_source": project["data"],
        "backbone": project["backbone"],
        "gpu_id": -1,
        "spacy_config": "configs/bert_ner_cpu.cfg",
        "spacy_max_steps": 4,
        "hf_max_steps": 4,
        "n_examples": 3,
    }
    args = [f"--vars.{key}={value}" for key, value in overrides.items()]
    return subprocess.run(
        [sys.executable, "-m", "weasel", "run", "all", str(project["root"]), *args],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


@pytest.mark.slow
def test_workflow_all_runs_then_skips_everything(project: dict[str, Path]) -> None:
    first = run_all(project)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    root = project["root"]
    for output in ("corpus/train.spacy", "training/spacy/model-best", "training/hf/pipeline", "metrics/spacy.json",
                   "metrics/hf.json", "metrics/parity_spacy.json", "metrics/parity_hf.json", "reports/report.html"):
        assert (root / output).exists(), output
    assert list((root / "packages").glob("*/dist/*.tar.gz")) or list((root / "packages").rglob("*.whl"))
    second = run_all(project)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    for command in workflow_commands():
        assert f"Skipping '{command}': nothing changed" in second.stdout, (command, second.stdout[-3000:])


def test_check_gpu_without_a_gpu_stops_with_the_cpu_command(tmp_path: Path) -> None:
    import torch
    from typer.testing import CliRunner

    from spacy_bert_ner.cli import CPU_PROFILE, app

    cpu = CliRunner().invoke(app, ["check-gpu", "--gpu-id=-1", "--output", str(tmp_path / "device.json")])
    assert cpu.exit_code == 0 and srsly.read_json(tmp_path / "device.json")["device"] == "cpu"
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    gpu = CliRunner().invoke(app, ["check-gpu", "--gpu-id=0"])
    assert gpu.exit_code == 1
    assert "No usable GPU 0 here" in gpu.output and CPU_PROFILE in gpu.output


def test_cpu_profile_command_names_the_cpu_config_and_project_vars() -> None:
    from spacy_bert_ner.cli import CPU_PROFILE

    project_vars = srsly.read_yaml(REPO / "project.yml")["vars"]
    named = {part.split("=", 1)[0][len("--vars."):] for part in CPU_PROFILE.split() if part.startswith("--vars.")}
    assert named <= set(project_vars) and (REPO / "configs" / "bert_ner_cpu.cfg").exists()


def test_readme_main_command_is_the_cpu_profile() -> None:
    """The README's main job is exactly the line `check-gpu` prints, so the two cannot drift apart."""
    from spacy_bert_ner.cli import CPU_PROFILE

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- main-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert block.strip().endswith(CPU_PROFILE) and 'pip install -e ".[cpu]"' in block
