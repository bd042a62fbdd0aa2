"""The machine a figure was measured on: the CPU's model, its cores and the instruction sets that change which
kernels torch and ONNX Runtime pick (the same int8 pipeline reads 3.3x the HF pipeline's words/s on an
AVX2-only EPYC and 4.4x on one with AVX-512 VNNI and BF16). device.json, optimize.json, the main job's
run.json and every benchmark record it, so a speed figure can be matched to its host and ratios compared
only within one.

Pure Python (no torch, no spaCy): Linux's /proc/cpuinfo, else what :mod:`platform` knows.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The instruction sets that decide which matmul kernels torch (oneDNN) and ONNX Runtime use, in order.
KERNEL_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Host:
    """One machine's CPU as the speed figures depend on it."""

    cpu: str  # the model name, e.g. "AMD EPYC 9R14 96-Core Processor"
    flags: tuple[str, ...]  # those of KERNEL_FLAGS it has; empty where the flags could not be read
    cores: int  # the logical CPUs this process may use
    flags_known: bool = True  # False: no /proc/cpuinfo (macOS, Windows), the flags are unknown

    @property
    def kind(self) -> str:
        """The host kind docs name beside a speed figure: the best kernel family it has, e.g. ``AVX-512
        VNNI+BF16`` or ``AVX2 only``."""
        if not self.flags_known:
            return "instruction sets unknown"
        has = set(self.flags)
        if "amx_tile" in has:
            return "AMX"
        if "avx512_vnni" in has:
            return "AVX-512 VNNI+BF16" if "avx512_bf16" in has else "AVX-512 VNNI"
        if "avx512f" in has:
            return "AVX-512"
        return "AVX2 only" if "avx2" in has else "no AVX2"

    def describe(self) -> str:
        """One line, e.g. ``AMD EPYC 9R14 (avx2, avx512f, avx512_vnni, avx512_bf16: AVX-512 VNNI+BF16), 2
        cores``."""
        flags = ", ".join(self.flags) if self.flags_known else "flags unknown"
        return f"{self.cpu} ({flags or 'no AVX2'}: {self.kind}), {self.cores} cores"

    def as_dict(self) -> dict[str, Any]:
        """The JSON the result files hold under ``host``."""
        return {
            "cpu": self.cpu,
            "cpu_flags": list(self.flags) if self.flags_known else None,
            "kind": self.kind,
            "cores": self.cores,
        }


def parse_cpuinfo(text: str) -> tuple[str, tuple[str, ...]]:
    """The first processor's model name and which of :data:`KERNEL_FLAGS` its ``flags`` line lists."""
    lines = text.splitlines()
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    flags = set(next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), []))
    return model, tuple(flag for flag in KERNEL_FLAGS if flag in flags)


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity where the OS has one), as torch's thread count sees."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def this_host() -> Host:
    """The machine this process runs on."""
    if CPUINFO.is_file():
        model, flags = parse_cpuinfo(CPUINFO.read_text(encoding="utf-8", errors="replace"))
        return Host(model or platform.processor() or "unknown CPU", flags, usable_cores())
    return Host(platform.processor() or platform.machine() or "unknown CPU", (), usable_cores(), False)
