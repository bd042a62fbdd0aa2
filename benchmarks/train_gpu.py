"""The GPU config (``configs/bert_ner.cfg``) for real on a GPU: training words/s, GPU memory, mixed precision.

    python -m benchmarks.train_gpu train.spacy dev.spacy --tokenizer TOKENIZER_DIR --steps 200 --out /tmp/gpu

No hub access is assumed: the backbones are built here with random weights in two shapes, ``minilm``
(6 layers, hidden 384: all-MiniLM-L6-v2) and ``base`` (12 layers, hidden 768: bert-base-cased), with the
WordPiece tokenizer of ``--tokenizer`` (any BERT tokenizer folder). Random weights cost the same compute as
trained ones, so words/s and memory are real; F1 is not reported. Each shape trains with
``mixed_precision`` false and true (spaCy issue #13512: a grad-scaler crash), through ``spacy train
--gpu-id``, and a failure is recorded with its error rather than stopping the other runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import traceback
from pathlib import Path
from typing import Any

from wasabi import msg

from benchmarks.common import REPO, host_line
from benchmarks.train import train_spacy_recorded

GPU_CONFIG = REPO / "configs" / "bert_ner.cfg"
SHAPES = {
    "minilm": {
        "hidden_size": 384,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
    },
    "base": {
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
}


def save_random_backbone(shape: str, tokenizer_dir: Path, folder: Path) -> Path:
    """A BertModel of ``shape`` with random weights and ``tokenizer_dir``'s tokenizer, saved to ``folder``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **SHAPES[shape]))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run_one(args: argparse.Namespace, backbone: Path, mixed_precision: bool, out: Path) -> dict[str, Any]:
    """Train ``--steps`` steps of the GPU config; words/s, peak GPU memory, or the error that stopped it."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    overrides = {
        "paths.train": args.train,
        "paths.dev": args.dev,
        "paths.backbone": str(backbone),
        "training.max_steps": args.steps,
        "training.eval_frequency": args.steps,
        "components.transformer.model.mixed_precision": mixed_precision,
        "training.before_update.log_path": str(out / "rss.jsonl"),
    }
    try:
        last = train_spacy_recorded(GPU_CONFIG, out / "training", overrides, use_gpu=args.gpu_id)
    except Exception as err:  # recorded, so that the other runs still happen
        traceback.print_exc()
        return {"error": f"{type(err).__name__}: {err}".splitlines()[0][:300]}
    return {
        "steps": last["step"],
        "words_per_s": last["words"] / max(last["seconds"], 1e-9),
        "train_seconds": last["seconds"],
        "wall_seconds": last["wall_seconds"],
        "gpu_peak_allocated_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else 0.0,
        "gpu_peak_reserved_mb": torch.cuda.max_memory_reserved() / 2**20 if cuda else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("dev")
    parser.add_argument("--tokenizer", required=True, help="a BERT tokenizer folder (vocab.txt, ...)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--shapes", default="minilm,base")
    parser.add_argument("--mixed-precision", default="false,true", help="which settings to run")
    parser.add_argument("--gpu-id", type=int, default=0)
    parser.add_argument("--out", default="/tmp/train_gpu")
    args = parser.parse_args()
    print(host_line(), flush=True)
    importlib.import_module(
        "spacy_bert_ner.training.memory_guard"
    )  # registers the memory guard without the entry point
    import torch

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    results = []
    for shape in args.shapes.split(","):
        backbone = save_random_backbone(shape, Path(args.tokenizer), out / f"backbone_{shape}")
        for setting in args.mixed_precision.split(","):
            mixed = setting.strip().lower() == "true"
            result = run_one(args, backbone, mixed, out / f"{shape}_mp{int(mixed)}")
            results.append({"shape": shape, "mixed_precision": mixed, **result})
            print(json.dumps(results[-1]), flush=True)
    rows = [
        (
            r["shape"],
            r["mixed_precision"],
            r.get("steps", "-"),
            f"{r['words_per_s']:,.0f}" if "words_per_s" in r else "-",
            f"{r['gpu_peak_allocated_mb']:,.0f}" if "words_per_s" in r else "-",
            f"{r['gpu_peak_reserved_mb']:,.0f}" if "words_per_s" in r else "-",
            r.get("error", "ok")[:80],
        )
        for r in results
    ]
    header = [
        "backbone shape",
        "mixed precision",
        "steps",
        "train words/s",
        "GPU peak alloc MB",
        "reserved MB",
        "result",
    ]
    msg.table(rows, header=header, divider=True)
    device = torch.cuda.get_device_name(args.gpu_id) if args.gpu_id >= 0 else "none (CPU)"
    print(f"GPU {device}; torch {torch.__version__}; config {GPU_CONFIG}")
    (out / "train_gpu.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
