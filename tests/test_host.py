"""The host record: CPU model, the instruction sets that change kernels, and the kind docs name."""

from __future__ import annotations

import pytest

from spacy_bert_ner.host import Host, parse_cpuinfo, this_host

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu vme sse2 avx avx2 fma avx512f avx512dq avx512_bf16 avx512_vnni
processor\t: 1
model name\t: AMD EPYC 9R14 96-Core Processor
"""


def test_cpuinfo_gives_the_model_and_the_kernel_flags_in_order() -> None:
    model, flags = parse_cpuinfo(CPUINFO)
    assert model == "AMD EPYC 9R14 96-Core Processor"
    assert flags == ("avx2", "avx512f", "avx512_vnni", "avx512_bf16")  # KERNEL_FLAGS' order, not the file's


@pytest.mark.parametrize(
    "flags, kind",
    [
        (("avx2",), "AVX2 only"),
        (("avx2", "avx512f"), "AVX-512"),
        (("avx2", "avx512f", "avx512_vnni"), "AVX-512 VNNI"),
        (("avx2", "avx512f", "avx512_vnni", "avx512_bf16"), "AVX-512 VNNI+BF16"),
        (("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"), "AMX"),
        ((), "no AVX2"),
    ],
)
def test_kind_names_the_best_kernel_family(flags: tuple[str, ...], kind: str) -> None:
    assert Host("cpu", flags, 2).kind == kind


def test_unknown_flags_are_not_read_as_missing() -> None:
    host = Host("arm", (), 8, flags_known=False)
    assert host.kind == "instruction sets unknown"
    assert host.as_dict() == {"cpu": "arm", "cpu_flags": None, "kind": "instruction sets unknown", "cores": 8}
    assert host.describe() == "arm (flags unknown: instruction sets unknown), 8 cores"


def test_this_host_reads_this_machine() -> None:
    host = this_host()
    assert host.cpu and host.cores >= 1
    assert host.describe().startswith(host.cpu) and host.kind in host.describe()
