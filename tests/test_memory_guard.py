"""The spacy-bert-ner.memory_guard.v1 training callback: RSS logged every N steps, freed heap memory given
back to the OS (glibc), and what is still in use kept."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
import spacy

from spacy_bert_ner.heap import glibc, return_free_memory
from spacy_bert_ner.training.memory_guard import make_memory_guard


def test_memory_guard_logs_rss_every_n_steps(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    log = tmp_path / "rss.jsonl"
    guard = make_memory_guard(trim_every=1, log_every=2, log_path=str(log))
    for step in range(5):
        guard(spacy.blank("en"), {"step": step, "epoch": 0})
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 2, 4] and all(r["rss_mb"] > 10 for r in rows)
    assert all(0 < r["kept_mb"] and r["trim_ms"] >= 0 for r in rows)
    assert "step 4 rss" in capsys.readouterr().err
    with pytest.raises(ValueError, match="trim_every must be >= 0"):
        make_memory_guard(trim_every=-1)


def _free_most_of_a_heap() -> list[bytes]:
    """Allocate ~400 MB of small heap blocks and free all but one in fifty, so the heap cannot shrink from
    its top and only malloc_trim gives the memory back; the survivors are returned (keep them alive)."""
    blocks = [bytes(2000) for _ in range(200_000)]
    return blocks[::50]


@pytest.mark.skipif(glibc() is None, reason="malloc_trim is glibc's")
def test_memory_guard_returns_freed_heap_memory_to_the_os() -> None:
    process = psutil.Process()
    guard = make_memory_guard(trim_every=1, mmap_threshold_mb=None, log_every=0)
    return_free_memory()
    baseline = process.memory_info().rss
    kept = _free_most_of_a_heap()
    before = process.memory_info().rss
    guard(spacy.blank("en"), {"step": 0, "epoch": 0})
    after = process.memory_info().rss
    assert before - after > 200 * 2**20, (before / 2**20, after / 2**20)
    # what is still in use stays: the survivors' pages (one 2 kB block every 100 kB, 8 MB of blocks)
    assert after - baseline > sum(map(len, kept)), (baseline / 2**20, after / 2**20)


@pytest.mark.skipif(glibc() is None, reason="malloc_trim is glibc's")
def test_memory_guard_logs_what_is_kept_after_the_trim_beside_what_was_built_up(tmp_path: Path) -> None:
    log = tmp_path / "rss.jsonl"
    guard = make_memory_guard(trim_every=0, mmap_threshold_mb=None, log_every=1, log_path=str(log))
    return_free_memory()
    baseline_mb = psutil.Process().memory_info().rss / 2**20
    kept = _free_most_of_a_heap()
    guard(spacy.blank("en"), {"step": 0, "epoch": 0})  # trim_every=0, yet a logged step trims to read kept_mb
    (row,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert row["rss_mb"] - row["kept_mb"] > 200, row
    # kept_mb is read after the trim and still counts what is in use: the survivors' 8 MB at least
    assert row["kept_mb"] - baseline_mb > sum(map(len, kept)) / 2**20, (baseline_mb, row)
