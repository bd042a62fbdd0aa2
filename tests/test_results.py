"""The published results: README's and docs/workflow.md's tables are what results/cpu-profile/ renders."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "results" / "cpu-profile"


@pytest.fixture(scope="module")
def main_job() -> ModuleType:
    return importlib.import_module("tools.main_job")


@pytest.mark.parametrize("profile", ["cpu-profile", "wnut17"])
def test_published_tables_equal_what_results_render(main_job: ModuleType, profile: str) -> None:
    results = main_job.PROFILES[profile].results
    for path, text in main_job.rendered(results, profile).items():
        assert path.read_text(encoding="utf8") == text, (
            f"{path.relative_to(REPO)} differs from what {results.relative_to(REPO)}/ renders: "
            "run `python -m tools.main_job render`"
        )


def test_own_data_small_corpora_table_equals_what_results_render(main_job: ModuleType) -> None:
    """docs/own-data.md's small-corpora table is what results/small-corpora/ renders."""
    page = main_job.OWN_DATA_DOC
    assert main_job.rendered_small_corpora({})[page] == page.read_text(encoding="utf8"), (
        "docs/own-data.md differs from what results/small-corpora/ renders: "
        "run `python -m tools.main_job render`"
    )


def small_run(variant: str, rc: int, dev: float, test: float) -> dict:
    return {
        "variant": variant, "rc": rc, "dev_f": dev, "test_f": test, "cpu": "CPU X", "train_sentences": 100,
        "steps_taken": 450, "best_step": 250, "train_seconds": 300.0,
    }  # fmt: skip


def test_small_corpora_table_reads_each_run(main_job: ModuleType, tmp_path: Path) -> None:
    """The documented run's test F1, the sweep's best by dev F1 and by test F1, tune's figures, and a run
    that did not learn, in corpus-size order."""
    runs = {
        "wnut17-1000": {"documented": {**small_run("documented", 0, 0.5, 0.4), "beside": "a CI run", "tune": {
            "dev_before": 0.5, "dev_after": 0.52, "test_before": 0.41, "test_after": 0.409}}},
        "wnut17-100": {
            "documented": small_run("documented", 1, 0.0, 0.0),
            "lr2e-4": small_run("lr2e-4", 0, 0.3, 0.2),
            "steps1200": small_run("steps1200", 0, 0.2, 0.25),
            # started from a NER model: its own column, not the sweep's (its test F1 0.45 would beat it)
            "start-from": {**small_run("start-from", 0, 0.5, 0.45),
                           "start_from": "/w/conll2003-1000/documented/model"},
            # the spaCy route: its own column, not the sweep's (its test F1 0.5 would beat the sweep's)
            "spacy-steps600": {**small_run("spacy-steps600", 0, 0.6, 0.5), "route": "spacy",
                               "planned_steps": 600, "best_step": 400, "train_seconds": 660.0},
            "spacy-steps200": {**small_run("spacy-steps200", 1, 0.01, None), "route": "spacy",
                               "planned_steps": 200, "best_step": 200, "beside": "tests"},
        },
    }  # fmt: skip
    for corpus, variants in runs.items():
        (tmp_path / corpus).mkdir()
        for name, run in variants.items():
            (tmp_path / corpus / f"{name}.json").write_text(json.dumps(run))
    table = main_job.small_corpora_table(main_job.load_small_corpora(tmp_path))
    rows = [line for line in table.splitlines() if line.startswith("| wnut17")]
    assert rows[0].startswith("| wnut17-100 | 100 | **did not learn** | 450 (250) | 5.0 min |")
    assert "| 20.00 (lr2e-4) | 25.00 (steps1200) | 45.00 | – | – |" in rows[0]  # the documented run: no F1
    assert rows[0].endswith(
        "| did not learn at 200 (200), 5.0 min †1; 50.00 at 600 (400), 11.0 min |"
    )  # fewest steps first
    assert rows[1].endswith("| **40.00** | 450 (250) | 5.0 min †2 | not run | not run | not run | "
                            "50.00 → 52.00 | 41.00 → 40.90 | not run |")  # fmt: skip
    assert "`--model.start_from` the model of this table's `documented` run on conll2003-1000" in table
    assert "Variants run: `documented`, `lr2e-4`, `steps1200` (" in table
    assert "CPU: CPU X, 2 cores" in table and "†2 Ran beside a CI run on the same 2 cores" in table
    assert "†1 Ran beside tests on the same 2 cores" in table  # each mark once, in the order shown


def test_the_tables_show_the_figures_in_results(main_job: ModuleType, tmp_path: Path) -> None:
    """Change one figure in a copy of results/ and the rendered README table changes with it."""
    copy = tmp_path / "cpu-profile"
    shutil.copytree(RESULTS, copy)
    raw = json.loads((copy / "raw_hf.json").read_text())
    raw["ents_f"] = 0.12345
    (copy / "raw_hf.json").write_text(json.dumps(raw))
    readme = main_job.rendered(copy)[main_job.README]
    assert "| **12.35** |" in readme
    assert readme != main_job.rendered(RESULTS)[main_job.README]


def test_the_headline_takes_the_raw_text_passes_own_speed(main_job: ModuleType, tmp_path: Path) -> None:
    """Where evaluate-raw timed its pass, the headline's words/s is that pass's, and says so; a run from
    before that falls back to `spacy evaluate`'s words/s and says that instead."""
    copy = tmp_path / "cpu-profile"
    shutil.copytree(RESULTS, copy)
    f1 = {}
    for name, speed in (("raw_hf", 4321.0), ("raw_spacy", 1234.0)):
        raw = json.loads((copy / f"{name}.json").read_text())
        raw["speed"] = speed
        f1[name] = f"{100 * raw['ents_f']:.2f}"
        (copy / f"{name}.json").write_text(json.dumps(raw))
    pages = main_job.rendered(copy)
    for page in (main_job.README, main_job.INDEX_DOC):
        assert (
            f"| **{f1['raw_hf']}** | 4,321 |" in pages[page]
            and f"| **{f1['raw_spacy']}** | 1,234 |" in pages[page]
        )
        assert "words/s of that pass" in pages[page] and "predates" not in pages[page]
    for name in ("raw_hf", "raw_spacy"):
        raw = json.loads((copy / f"{name}.json").read_text())
        del raw["speed"]
        (copy / f"{name}.json").write_text(json.dumps(raw))
    assert "predates `evaluate-raw`'s own timing" in main_job.rendered(copy)[main_job.README]


def test_the_per_type_columns_are_the_results_own_types(main_job: ModuleType, tmp_path: Path) -> None:
    """With other entity types in the results, the score table's columns are those types, sorted."""
    copy = tmp_path / "cpu-profile"
    shutil.copytree(RESULTS, copy)
    own = {"person": 0.5, "creative-work": 0.25}
    for name in ("spacy", "hf", "hf_default"):
        scores = json.loads((copy / f"{name}.json").read_text())
        scores["ents_per_type"] = {label: {"p": f, "r": f, "f": f} for label, f in own.items()}
        (copy / f"{name}.json").write_text(json.dumps(scores))
    table = main_job.rendered(copy)[main_job.WORKFLOW_DOC]
    assert "| F | creative-work F | person F | words/s |" in table and "LOC F" not in table
    assert table.count("| 25.00 | 50.00 |") == 3


# The day setup.cfg's `spacy-route` extra took spacy-transformers out of the core install.
SPACY_ROUTE_EXTRA_SINCE = "2026-12-04"
OPTIMIZE_HF_SINCE = "2026-12-04T10:38:08+00:00"  # commit 3d97bb8 added the optimize-hf step to `all`


@pytest.mark.parametrize("profile", ["cpu-profile", "wnut17"])
def test_the_recorded_run_is_the_whole_main_command(main_job: ModuleType, profile: str) -> None:
    settings = main_job.PROFILES[profile]
    results = settings.results
    run = json.loads((results / "run.json").read_text())
    command = run["command"]
    if run["started"] < SPACY_ROUTE_EXTRA_SINCE:
        # Before the spaCy route's dependencies moved to their own extra, `.[cpu]` installed them: the same
        # packages as `.[cpu,spacy-route]` now, as the run's recorded versions show.
        assert run["machine"]["versions"]["spacy-transformers"] == "1.4.0"
        assert run["machine"]["versions"]["transformers"] == "4.53.2"
        command = command.replace('pip install -e ".[cpu]"', 'pip install -e ".[cpu,spacy-route]"')
    assert command == main_job.main_command(settings.command_page, settings.marker)
    assert run["exit_status"] == 0
    assert re.fullmatch(r"[0-9a-f]{40}", run["commit"])
    workflow = yaml.safe_load((REPO / "project.yml").read_text())["workflows"]["all"]
    if run["started"] < OPTIMIZE_HF_SINCE:
        # A run recorded before the step existed: every other step, in the same order, and no optimize.json.
        workflow = [step for step in workflow if step != "optimize-hf"]
        assert "optimize.json" not in run["files"]
    assert [step["step"] for step in run["steps"]] == workflow
    assert sum(step["seconds"] for step in run["steps"]) == run["workflow_seconds"]
    for name, source in run["files"].items():
        assert (results / name).exists(), f"{results}/{name} (from {source}) is missing"


def test_step_times_come_from_weasels_dividers(main_job: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "main_job.log"
    log.write_text(
        "100 START pip install ...\n"
        "130 \x1b[1m\n"
        "130 ============ check ============\x1b[0m\n"
        "131 =========== Initializing pipeline ===========\n"
        "132 ============ train ============\n"
        "140 step 0 rss 699 MB, kept 692 MB (trim 0 ms)\n"
        "160 step 100 rss 1692 MB, kept 1032 MB (trim 57 ms)\n"
        "180 step 200 rss 1500 MB, kept 1040 MB (trim 50 ms)\n"
        "190 ============ evaluate ============\n"
        "195 END rc=0\n"
    )
    steps, marks = main_job.step_seconds(log, ["check", "train", "evaluate"])
    assert steps == [
        {"step": "check", "seconds": 2},
        {"step": "train", "seconds": 58, "rss_mb_highest": 1692},  # the guard's highest reading
        {"step": "evaluate", "seconds": 5},
    ]
    assert marks == {"log_start": 100, "workflow_start": 130, "end": 195}
    assert main_job.exit_status(log) == 0
    with pytest.raises(SystemExit, match="no divider for step.*package"):
        main_job.step_seconds(log, ["check", "train", "evaluate", "package"])
    log.write_text("no stamp here\n")
    with pytest.raises(SystemExit, match=r"main_job.log:1: expected '<epoch second> <line>'"):
        main_job.step_seconds(log, ["check"])


def test_a_missing_marker_names_the_file(main_job: ModuleType, tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    with pytest.raises(SystemExit, match=r"doc.md: expected one '<!-- results:readme -->'"):
        main_job.splice("# no markers\n", "readme", "table", doc)
    old = "a\n<!-- results:readme -->\nold\n<!-- /results:readme -->\nb\n"
    text = main_job.splice(old, "readme", "new", doc)
    assert text == "a\n<!-- results:readme -->\nnew\n<!-- /results:readme -->\nb\n"


def test_run_logs_each_line_with_its_second_and_the_exit_status(main_job: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "main_job.log"
    command = "echo '=== check ==='; echo done; exit 3"
    assert main_job.run_logged(command, tmp_path, log) == 3
    lines = main_job.log_lines(log)
    assert [line.split(" ", 1)[1] for line in lines] == [
        f"START {command}",
        "=== check ===",
        "done",
        "END rc=3",
    ]
    assert all(line.split(" ", 1)[0].isdigit() for line in lines)
    assert main_job.exit_status(log) == 3
    steps, _ = main_job.step_seconds(log, ["check"])
    assert [step["step"] for step in steps] == ["check"]


def test_the_recorders_own_copies_are_not_uncommitted_changes(main_job: ModuleType, tmp_path: Path) -> None:
    """run.json's uncommitted_changes names changed code, not the results/ files `collect` itself wrote."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    copies = tmp_path / "results" / "p"
    copies.mkdir(parents=True)
    for path in (tmp_path / "code.py", copies / "hf.json"):
        path.write_text("1\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    (copies / "hf.json").write_text("2\n")
    assert main_job.uncommitted_changes(tmp_path, copies) == []
    (tmp_path / "code.py").write_text("2\n")
    assert [line.split()[-1] for line in main_job.uncommitted_changes(tmp_path, copies)] == ["code.py"]


def test_the_spacy_routes_table_puts_each_route_beside_the_other(
    main_job: ModuleType, tmp_path: Path
) -> None:
    """docs/training-spacy.md's side by side: the CPU profile's spaCy route (spacy-transformers) and the
    curated profile's, each named by its package, the transformers it forces and its own figures."""
    cpu_profile = main_job.load(RESULTS)
    assert "No run recorded" in main_job.spacy_routes_table({}, cpu_profile)
    curated = json.loads(json.dumps(cpu_profile))
    versions = curated["run"]["machine"]["versions"]
    versions.update(
        {"spacy-transformers": None, "spacy-curated-transformers": "0.3.1", "transformers": "5.25.0"}
    )
    curated["raw_spacy"]["ents_f"] = 0.12345
    table = main_job.spacy_routes_table(curated, cpu_profile)
    rows = [line for line in table.splitlines() if line.startswith("| spacy-")]
    assert rows[0].startswith("| spacy-transformers 1.4.0 | 4.53.2: transformers < 4.53.3 (CVE-2026-4372) |")
    assert rows[1].startswith("| spacy-curated-transformers 0.3.1 | 5.25.0: no transformers pin, no CVE |")
    assert "| **12.35** |" in rows[1] and "| **12.35** |" not in rows[0]

    def curated_row(highest: int | None) -> str:
        steps = curated["run"]["steps"]
        for step in steps:
            step.pop("rss_mb_highest", None)
            if step["step"] == "train-spacy" and highest is not None:
                step["rss_mb_highest"] = highest
        return main_job.spacy_routes_table(curated, cpu_profile).splitlines()[3]

    cells = curated_row(3446).split(" | ")  # the route, transformers, 4 figures, train-spacy, RSS, ...
    assert cells[0] == "| spacy-curated-transformers 0.3.1" and cells[7] == "3,446 MB"
    assert curated_row(None).split(" | ")[7] == "–"  # a run recorded without the guard's readings
