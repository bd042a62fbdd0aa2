"""`spacy project run all` on a tiny CoNLL slice with a tiny backbone.

The first run records, per process, the package modules it imported (tests/import_trace): every step's
`deps` must list exactly the modules its script ran. A second run recomputes nothing; after one module
changes, a third run recomputes exactly the steps whose deps list it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin
from tiny_models import conll_sentences, save_backbone
from weasel.util import load_project_config

from spacy_bert_ner.bio import tags_to_spans
from spacy_bert_ner.data.conll import conll_lines, parse_conll, read_conll, read_text
from tools.step_deps import with_package_deps

REPO = Path(__file__).resolve().parent.parent
TRACE_HOOK = Path(__file__).resolve().parent / "import_trace"  # its sitecustomize.py records imports
SLICES = {"train.txt": 3, "valid.txt": 2, "test.txt": 2}  # articles taken from each split


def workflow_commands() -> list[str]:
    return srsly.read_yaml(REPO / "project.yml")["workflows"]["all"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> dict[str, Path]:
    return make_project(tmp_path_factory, conll_dir)


def make_project(tmp_path_factory: pytest.TempPathFactory, conll_dir: Path) -> dict[str, Path]:
    """A copy of the project (project.yml, configs, package modules for deps), a data slice, a tiny
    backbone."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "project.yml", root / "project.yml")
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copytree(
        REPO / "spacy_bert_ner", root / "spacy_bert_ner", ignore=shutil.ignore_patterns("__pycache__")
    )
    data = root.parent / f"{root.name}-data"
    data.mkdir()
    for name, n_articles in SLICES.items():
        articles, _ = read_conll(conll_dir / name)
        lines = [line for a in articles[:n_articles] for line in conll_lines(a.sentences, a.docstart, 4)]
        (data / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    backbone = save_backbone(root.parent / f"{root.name}-backbone", conll_sentences(conll_dir / "train.txt"))
    return {"root": root, "data": data, "backbone": backbone}


def workflow_vars(project: dict[str, Path]) -> dict[str, object]:
    return {
        "data_source": project["data"],
        "backbone": project["backbone"],
        "gpu_id": -1,
        "spacy_config": "configs/bert_ner_cpu.cfg",
        "spacy_max_steps": 4,
        "hf_max_steps": 4,
        "keep_unlearned": "true",  # a tiny random backbone learns nothing in 4 steps: keep it anyway
        "n_examples": 3,
    }


def run_all(
    project: dict[str, Path], trace: Path | None = None, workflow: str = "all"
) -> subprocess.CompletedProcess:
    args = [f"--vars.{key}={value}" for key, value in workflow_vars(project).items()]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if trace is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRACE_HOOK), env.get("PYTHONPATH")]))
        env["SPACY_BERT_NER_IMPORT_TRACE"] = str(trace)
    return subprocess.run(
        [sys.executable, "-m", "weasel", "run", workflow, str(project["root"]), *args],
        capture_output=True,
        text=True,
        env=env,
    )


def commands(project: dict[str, Path]) -> dict[str, dict]:
    """project.yml's commands with this run's vars filled in, by name, in workflow order."""
    overrides = {f"vars.{key}": str(value) for key, value in workflow_vars(project).items()}
    config = load_project_config(project["root"], overrides=overrides)
    by_name = {command["name"]: command for command in config["commands"]}
    return {name: by_name[name] for name in config["workflows"]["all"]}


def ran(output: str) -> set[str]:
    """The steps a `weasel run` printed as run (not skipped)."""
    return {name for name in re.findall(r"=+ (\S+) =+", output)} - set(
        re.findall(r"Skipping '(\S+)'", output)
    )


@pytest.fixture(scope="module")
def first_run(project: dict[str, Path]) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """The first `run all`, with every process's package imports recorded."""
    trace = project["root"].parent / f"{project['root'].name}-imports.jsonl"
    result = run_all(project, trace)
    records = (
        [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
        if trace.exists()
        else []
    )
    return result, records


def module_file(module: str) -> str:
    """``spacy_bert_ner.data.conll`` -> ``spacy_bert_ner/data/conll.py`` (a package -> its
    ``__init__.py``)."""
    path = REPO / Path(*module.split("."))
    return (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).relative_to(REPO).as_posix()


def imported_by(line: str, records: list[dict]) -> set[str]:
    """The package files that the process of one script line (`python -m MODULE ARGS`) imported; empty for
    lines that are not Python (mkdir)."""
    words = shlex.split(line)
    if words[:2] != ["python", "-m"]:
        return set()
    main = f"{words[2].replace('.', '/')}/__main__.py"
    matches = [r for r in records if r["argv"][0].endswith(main) and r["argv"][1:] == words[3:]]
    assert len(matches) == 1, f"{len(matches)} processes ran {line!r}"
    files = {module_file(module) for module in matches[0]["modules"]}
    if words[2] == "spacy_bert_ner":  # `python -m` runs the package's __main__.py as the module __main__
        files.add("spacy_bert_ner/__main__.py")
    return files


@pytest.mark.slow
def test_workflow_all_runs_then_skips_everything(project: dict[str, Path], first_run) -> None:
    first, _ = first_run
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    root = project["root"]
    for output in (
        "corpus/train.spacy",
        "training/spacy/model-best",
        "training/hf/pipeline",
        "metrics/spacy.json",
        "metrics/hf.json",
        "metrics/parity_spacy.json",
        "metrics/parity_hf.json",
        "reports/report.html",
    ):
        assert (root / output).exists(), output
    assert list((root / "packages").glob("*/dist/*.tar.gz")) or list((root / "packages").rglob("*.whl"))
    second = run_all(project)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    # `data` always runs (no_skip: it reads the user's files, which weasel cannot list as deps); it
    # rewrites the same bytes, so every step after it is skipped
    assert ran(second.stdout) == {"data"}, second.stdout[-3000:]
    for command in workflow_commands():
        if command != "data":
            assert f"Skipping '{command}': nothing changed" in second.stdout, (command, second.stdout[-3000:])


@pytest.mark.slow
def test_step_deps_list_exactly_the_package_modules_the_step_imports(
    project: dict[str, Path], first_run
) -> None:
    """Weasel re-runs a step only when a dep changed, so each step lists every package module its script
    imports (transitively, entry points included) and no other: a module missing from deps would leave stale
    results, an extra one would re-run the step for nothing."""
    first, records = first_run
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    wrong, imports = {}, {}
    for name, command in commands(project).items():
        imported = set().union(*(imported_by(line, records) for line in command["script"]))
        imports[name] = imported
        listed = {dep for dep in command.get("deps", []) if dep.startswith("spacy_bert_ner/")}
        if imported != listed:
            wrong[name] = {"missing": sorted(imported - listed), "not imported": sorted(listed - imported)}
    if wrong and os.environ.get("SPACY_BERT_NER_WRITE_DEPS") == "1":
        path = REPO / "project.yml"
        path.write_text(with_package_deps(path.read_text(encoding="utf-8"), imports), encoding="utf-8")
        pytest.skip(f"wrote the package deps of {', '.join(wrong)} into project.yml; run again to check")
    assert not wrong, json.dumps(wrong, indent=1) + (
        "\nSPACY_BERT_NER_WRITE_DEPS=1 python -m pytest tests/test_project.py -k step_deps writes them"
    )


@pytest.mark.slow
def test_changing_one_module_reruns_exactly_the_steps_that_list_it(
    project: dict[str, Path], first_run
) -> None:
    """Runs after the no-op second run: one package module changes, and only its dependents run again."""
    assert first_run[0].returncode == 0
    changed = "spacy_bert_ner/evaluation/parity.py"
    dependents = {name for name, command in commands(project).items() if changed in command.get("deps", [])}
    assert dependents == {"parity", "report"}  # the step that scores, and the report that shows its figures
    path = project["root"] / changed
    original = path.read_text(encoding="utf-8")
    path.write_text(
        original + "# a change weasel sees (its hash), which no behaviour does\n", encoding="utf-8"
    )
    try:
        third = run_all(project)
    finally:
        path.write_text(original, encoding="utf-8")
    assert third.returncode == 0, third.stdout[-4000:] + third.stderr[-4000:]
    assert ran(third.stdout) == dependents | {"data"}, third.stdout[-3000:]  # data: always (no_skip)


# What only the spaCy route reads or writes: the HF workflow's commands are the others' HF halves.
SPACY_ROUTE_PATHS = ("training/spacy", "metrics/spacy.json", "_spacy", "${vars.spacy_config}", "spacy=")


def test_hf_workflow_is_the_hf_half_of_all() -> None:
    """Each command of the `hf` workflow that `all` lacks is an `all` command without its spaCy-route
    parts: the same deps (module deps included, which the `all` run checks by tracing) and outputs, less the
    spaCy route's; the same script lines, less the spaCy route's."""
    config = srsly.read_yaml(REPO / "project.yml")
    by_name = {command["name"]: command for command in config["commands"]}
    workflows = config["workflows"]
    assert [step for step in workflows["hf"] if step in workflows["all"]] == [
        "data", "convert", "train-hf", "assemble-hf", "tune-hf", "optimize-hf"
    ]  # fmt: skip
    own = [step for step in workflows["hf"] if step not in workflows["all"]]
    assert [step.removesuffix("-hf") for step in own] == [
        "check", "evaluate", "evaluate-raw", "parity", "report", "package"
    ]  # fmt: skip

    def hf_half(items: list[str]) -> list[str]:
        return [item for item in items if not any(part in item for part in SPACY_ROUTE_PATHS)]

    for step in own:
        hf, both = by_name[step], by_name[step.removesuffix("-hf")]
        assert hf["deps"] == hf_half(both["deps"]), step
        assert hf["outputs"] == hf_half(both["outputs"]), step
        if step not in ("check-hf", "report-hf", "evaluate-hf"):
            assert hf["script"] == hf_half(both["script"]), step
    evaluate = by_name["evaluate-hf"]["script"]
    assert evaluate == ["mkdir -p reports/displacy_hf", *hf_half(by_name["evaluate"]["script"])]
    assert by_name["check-hf"]["script"] == [
        by_name["check"]["script"][0].replace(
            " --spacy-config ${vars.spacy_config} --backbone ${vars.backbone}", ""
        )
    ]
    report = by_name["report-hf"]["script"][0]
    assert "spacy=" not in report.replace("-m hf", "") and "training/spacy" not in report


def project_cpu_profile() -> str:
    """The CPU-profile command that project.yml's `check` step prints (its conll_dir var filled in)."""
    from spacy_bert_ner.cli.workflow import cpu_profile_command

    return cpu_profile_command(srsly.read_yaml(REPO / "project.yml")["vars"]["conll_dir"])


def test_check_gpu_without_a_gpu_stops_with_the_cpu_command(tmp_path: Path) -> None:
    import torch
    from typer.testing import CliRunner

    from spacy_bert_ner.cli import app
    from spacy_bert_ner.cli.workflow import cpu_profile_command

    cpu = CliRunner().invoke(app, ["check-gpu", "--gpu-id=-1", "--output", str(tmp_path / "device.json")])
    assert cpu.exit_code == 0 and srsly.read_json(tmp_path / "device.json")["device"] == "cpu"
    host = srsly.read_json(tmp_path / "device.json")["host"]
    assert host["cpu"] and host["kind"] in cpu.output and host["cores"] >= 1
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    gpu = CliRunner().invoke(app, ["check-gpu", "--gpu-id=0", "--conll-dir", "data/conll"])
    assert gpu.exit_code == 1
    assert "No usable GPU 0 here" in gpu.output and cpu_profile_command("data/conll") in gpu.output
    assert "--vars.data_source=data/conll " in gpu.output
    # the corpus given by the file variables: the own-data command, with the other corpus variables set
    files = ["--train-file", "my data/train.jsonl", "--dev-file", "", "--test-file", "my/test.conll"]
    kept = ["--var", "dev_split=0.1", "--var", "scheme=auto", "--var", "lang=de", "--var", "seed=0.0"]
    own = CliRunner().invoke(app, ["check-gpu", "--gpu-id=0", *files, *kept])
    said = " ".join(own.output.split())
    assert (
        own.exit_code == 1
        and cpu_profile_command("", files[1::2], {"dev_split": "0.1", "lang": "de"}) in said
    )
    assert "--vars.train_file='my data/train.jsonl' " in said and "--vars.dev_file" not in said
    assert said.endswith("--vars.dev_split=0.1 --vars.lang=de") and "scheme" not in said  # defaults left out
    assert "seed" not in said  # 0.0 is the default 0
    assert "data_source" not in said


def test_the_own_data_command_is_what_check_prints_for_a_users_files() -> None:
    """docs/own-data.md's command is the one `check` prints without a GPU for the same files, and the corpus
    variables `check` keeps have project.yml's defaults as the values it leaves out."""
    from spacy_bert_ner.cli.workflow import CORPUS_VAR_DEFAULTS, cpu_profile_command

    page = (REPO / "docs" / "own-data.md").read_text(encoding="utf-8")
    wnut = page.split("<!-- wnut17-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0].strip()
    names = ("train_file", "dev_file", "test_file")
    wnut_files = [wnut.split(f"--vars.{name}=", 1)[1].split(" ", 1)[0] for name in names]
    assert wnut.endswith(cpu_profile_command("", wnut_files))
    defaults = srsly.read_yaml(REPO / "project.yml")["vars"]
    assert {name: str(defaults[name]) for name in CORPUS_VAR_DEFAULTS} == CORPUS_VAR_DEFAULTS


def test_check_stops_when_the_spacy_route_lacks_its_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without spacy-transformers, `check` stops at once for a spaCy-route config, naming the extra and the
    CVE its pin carries; an HF config, or the extra installed, passes."""
    import importlib.util

    from typer.testing import CliRunner

    from spacy_bert_ner.cli import app
    from spacy_bert_ner.cli.workflow import spacy_route_problem

    spacy_config, hf_config = REPO / "configs/bert_ner_cpu.cfg", REPO / "configs/hf_bert_ner_cpu.cfg"
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "spacy_transformers" else find_spec(name, *a),
    )
    assert spacy_route_problem(hf_config) is None
    check = ["check-gpu", "--gpu-id=-1", "--spacy-config", str(spacy_config)]
    stopped = CliRunner().invoke(app, [*check, "--output", str(tmp_path / "device.json")])
    assert stopped.exit_code == 1 and not (tmp_path / "device.json").exists()
    said = " ".join(stopped.output.split())
    assert f"{spacy_config} (the spaCy route) needs spacy-transformers" in said
    assert 'pip install -e ".[spacy-route]"' in said and "CVE-2026-4372" in said
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    if find_spec("spacy_transformers") is not None:
        ran = CliRunner().invoke(app, [*check, "--output", str(tmp_path / "device.json")])
        assert ran.exit_code == 0, ran.output
        assert srsly.read_json(tmp_path / "device.json")["spacy-transformers"] is not None


def test_check_names_the_curated_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A curated config without spacy-curated-transformers: `check` stops naming the `curated` extra, and
    says it pins no transformers version."""
    import importlib.util

    from typer.testing import CliRunner

    from spacy_bert_ner.cli import app

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "spacy_curated_transformers" else find_spec(name, *a),
    )
    config = REPO / "configs/bert_ner_curated_cpu.cfg"
    check = ["check-gpu", "--gpu-id=-1", "--spacy-config", str(config), "--output", str(tmp_path / "d.json")]
    stopped = CliRunner().invoke(app, check)
    said = " ".join(stopped.output.split())
    assert stopped.exit_code == 1 and not (tmp_path / "d.json").exists()
    assert f"{config} (the spaCy route without spacy-transformers) needs spacy-curated-transformers" in said
    assert 'pip install -e ".[curated]"' in said and "pins no transformers version" in said


def test_cpu_profile_command_names_the_cpu_config_and_project_vars() -> None:
    project_vars = srsly.read_yaml(REPO / "project.yml")["vars"]
    command = project_cpu_profile()
    named = {
        part.split("=", 1)[0][len("--vars.") :] for part in command.split() if part.startswith("--vars.")
    }
    assert named <= set(project_vars)
    for config in ("bert_ner_cpu.cfg", "hf_bert_ner_cpu.cfg"):
        assert f"=configs/{config} " in command and (REPO / "configs" / config).exists()
    check = next(c for c in srsly.read_yaml(REPO / "project.yml")["commands"] if c["name"] == "check")
    assert "--conll-dir=${vars.conll_dir}" in check["script"][0]


def test_readme_main_command_is_the_cpu_profile() -> None:
    """The README's main job is exactly the line `check-gpu` prints, so the two cannot drift apart."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- main-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert block.strip().endswith(project_cpu_profile()) and 'pip install -e ".[cpu,spacy-route]"' in block


@pytest.fixture(scope="module")
def own_project(tmp_path_factory: pytest.TempPathFactory, project: dict[str, Path], wnut_dir: Path) -> Path:
    """A copy of the project and a slice of WNUT-17 as a user would give it: train as spaCy / Prodigy JSONL
    with tokens, dev and test as the task's own column files (a lone-tab line included), none renamed."""
    root = tmp_path_factory.mktemp("own-project")
    for name in ("project.yml", "configs", "spacy_bert_ner"):
        source = project["root"] / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    data = root.parent / f"{root.name}-data"
    data.mkdir()
    train = parse_conll(read_text(wnut_dir / "wnut17train.conll"), "train")[0][0].sentences[:150]
    records = []
    for sentence in train:
        text = " ".join(sentence.words)
        starts = [sum(len(w) + 1 for w in sentence.words[:i]) for i in range(len(sentence.words))]
        tokens = [{"text": w, "start": s, "end": s + len(w)} for w, s in zip(sentence.words, starts)]
        spans = [
            {"start": starts[s], "end": starts[e - 1] + len(sentence.words[e - 1]), "label": label}
            for s, e, label in tags_to_spans(sentence.ner_tags, "iob2")
        ]
        records.append({"text": text, "tokens": tokens, "spans": spans})
    (data / "tweets-train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for source, name, n_lines in (
        ("emerging.dev.conll", "tweets.dev", 400),
        ("emerging.test.annotated", "tweets.test.annotated", 400),
    ):
        lines = (wnut_dir / source).read_text(encoding="utf-8").split("\n")[:n_lines]
        lines.insert(5, "\t")  # a line with no token, as wnut17train.conll has
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.mark.core
@pytest.mark.slow
def test_workflow_runs_on_a_users_corpus_with_its_own_labels(
    own_project: Path, project: dict[str, Path]
) -> None:
    """`spacy project run hf` (convert -> train-hf, no config edited -> assemble -> tune -> optimize ->
    evaluate -> evaluate-raw -> parity -> report -> package) on WNUT-17 files as given, where
    spacy-transformers is not installed (CI's core environment, pytest -m core): every step runs with rc 0,
    the model's labels are the corpus's, and the HF workflow needs no spaCy route. Beside the spaCy route it
    is skipped: `run all` there (test_workflow_all_runs_then_skips_everything) runs the same steps on
    CoNLL-2003 and the spaCy route's, whose labels come from the DocBins the same way, and
    test_hf_workflow_is_the_hf_half_of_all checks that the two workflows' steps match."""
    import importlib.util

    if importlib.util.find_spec("spacy_transformers") is not None:
        pytest.skip("spacy-transformers is installed: run in CI's core environment (pytest -m core)")
    data = own_project.parent / f"{own_project.name}-data"
    variables = {
        **workflow_vars(project),
        "data_source": "",
        "train_file": data / "tweets-train.jsonl",
        "dev_file": data / "tweets.dev",
        "test_file": data / "tweets.test.annotated",
    }
    args = [f"--vars.{key}={value}" for key, value in variables.items()]
    result = subprocess.run(
        [sys.executable, "-m", "weasel", "run", "hf", str(own_project), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert set(srsly.read_yaml(REPO / "project.yml")["workflows"]["hf"]) <= ran(result.stdout)
    for path in ("metrics/hf.json", "metrics/raw_hf.json", "metrics/parity_hf.json", "reports/report.html"):
        assert (own_project / path).exists(), path
    assert not (own_project / "training" / "spacy").exists()
    manifest = json.loads((own_project / "assets" / "corpus" / "corpus.json").read_text(encoding="utf-8"))
    assert {split: entry["file"] for split, entry in manifest.items()} == {
        "train": "train.jsonl", "dev": "dev.conll", "test": "test.conll"
    }  # fmt: skip
    types = sorted({label for r in srsly.read_jsonl(data / "tweets-train.jsonl") for label in
                    (s["label"] for s in r["spans"])})  # fmt: skip
    assert len(types) >= 4 and all(t == t.lower() for t in types)
    labels = srsly.read_json(own_project / "training" / "hf" / "metrics.json")["labels"]
    assert labels[0] == "O" and {label[2:] for label in labels[1:]} >= set(types)
    config = srsly.read_json(own_project / "training" / "hf" / "tuned" / "bert_ner" / "model" / "config.json")
    assert [config["id2label"][str(i)] for i in range(len(labels))] == labels
    report = (own_project / "reports" / "report.html").read_text(encoding="utf-8")
    assert all(t in report for t in types) and "creative-work" in report
    assert "1 line(s) hold only white space" in result.stdout + result.stderr  # said, per file
    assert list((own_project / "packages").glob("en_bert_ner_hf-*/dist/*.tar.gz"))
    # the user edits a corpus file in place: `data` copies it again and `convert` converts again
    dev_file = data / "tweets.dev"
    before = (own_project / "corpus" / "dev.spacy").read_bytes()
    dev_file.write_text(dev_file.read_text(encoding="utf-8").replace("\n\n", "\n\nedited\tO\n\n", 1))

    def run_step(step: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "weasel", "run", step, str(own_project), *args]
        return subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
        )

    for step in ("data", "convert"):
        rerun = run_step(step)
        assert rerun.returncode == 0 and ran(rerun.stdout) == {step}, rerun.stdout[-3000:]
    assert (own_project / "corpus" / "dev.spacy").read_bytes() != before
    unchanged = [run_step(step) for step in ("data", "convert")][-1]
    assert "Skipping 'convert': nothing changed" in unchanged.stdout, unchanged.stdout[-3000:]


def test_the_scheme_variable_reaches_convert(tmp_path: Path) -> None:
    """A BIOES column corpus goes through `data` and `convert` with --vars.scheme=bioes: S- and E- tags
    become the right spans."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "project.yml", root / "project.yml")
    shutil.copytree(
        REPO / "spacy_bert_ner", root / "spacy_bert_ner", ignore=shutil.ignore_patterns("__pycache__")
    )
    rows = ["John\tS-PER", "lives\tO", "in\tO", "New\tB-LOC", "York\tE-LOC", ".\tO", ""]
    files = {}
    for split in ("train", "dev", "test"):
        files[split] = tmp_path / f"{split}.bioes"
        files[split].write_text("\n".join(rows) + "\n", encoding="utf-8")
    variables = [f"--vars.{split}_file={path}" for split, path in files.items()]
    for step in ("data", "convert"):
        done = subprocess.run(
            [sys.executable, "-m", "weasel", "run", step, str(root), *variables, "--vars.scheme=bioes"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    nlp = spacy.blank("en")
    (doc,) = DocBin().from_disk(root / "corpus" / "train.spacy").get_docs(nlp.vocab)
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("John", "PER"), ("New York", "LOC")]
