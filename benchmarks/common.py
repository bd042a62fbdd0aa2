"""What the benchmarks share: the repository's folders and the corpora, a ``bert_ner`` pipeline over a model,
an offline environment for child processes, timing rounds with their spread, fixed-width table rows, this
process's RSS, and entity F1 of word spans (seqeval) with the HF pipeline's character offsets mapped to words.

Run every benchmark from the repository root as a module (``python -m benchmarks.inference --help``), so that
``benchmarks`` and the package import without any path set by hand.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from spacy_bert_ner.host import this_host
from spacy_bert_ner.tuning.timing import Rounds  # noqa: F401 (the benchmarks' timing is the library's)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"  # convert's DocBins in the project folder (project.yml writes them there)
Spans = list[tuple[int, int, str]]  # (first word, end word, label) per entity of one sentence


def conll2003_dir() -> Path:
    """The shared CoNLL-2003 folder: $CONLL2003_DIR, else ../shared/data/conll2003 from the repo root (as
    tests/conftest.py finds it)."""
    return Path(os.environ.get("CONLL2003_DIR", REPO.parent / "shared" / "data" / "conll2003"))


def wnut17_dir() -> Path:
    """The shared WNUT-17 folder: $WNUT17_DIR, else ../shared/data/wnut17 from the repo root."""
    return Path(os.environ.get("WNUT17_DIR", REPO.parent / "shared" / "data" / "wnut17"))


def host_line() -> str:
    """The line every benchmark prints first: the CPU, the instruction sets that change which kernels torch
    and ONNX Runtime pick, the cores and the load average, so each figure can be matched to its host (compare
    ratios only within one host)."""
    return f"host: {this_host().describe()}; load average {os.getloadavg()[0]:.2f}"


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child process, with the hub switched off and ``extra`` set."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", **extra}


def bert_ner_pipeline(model: str | Path, lang: str = "en", **config: Any) -> Any:
    """A blank ``lang`` pipeline with one ``bert_ner`` over ``model`` (``config``: its other settings; what
    is not set, the model's recorded reading decides)."""
    import spacy

    nlp = spacy.blank(lang)
    nlp.add_pipe("bert_ner", config={"model": str(model), **config})
    return nlp


# -- timing ----------------------------------------------------------------------------------------------


def timed(run: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Wall seconds of ``run(*args, **kwargs)``, and its output."""
    start = time.perf_counter()
    output = run(*args, **kwargs)
    return time.perf_counter() - start, output


# -- tables ------------------------------------------------------------------------------------------------


def columns(cells: Sequence[str], widths: Sequence[int], sep: str = " ") -> str:
    """One fixed-width table row: each cell right-aligned to its width, left-aligned where the width is
    negative, joined by ``sep``."""
    return sep.join(
        f"{cell:<{-w}}" if w < 0 else f"{cell:>{w}}" for cell, w in zip(cells, widths, strict=True)
    )


# -- memory ------------------------------------------------------------------------------------------------


def rss_mb(key: str = "VmRSS") -> float:
    """This process's resident memory in MB (``VmHWM``: its peak since the last :func:`reset_peak_rss`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := VmRSS


# -- entity F1 of word spans ------------------------------------------------------------------------------


def entity_f1(sentences: list[list[str]], gold: list[Spans], predicted: list[Spans]) -> float:
    """seqeval's entity F1 (default mode) of predicted against gold word spans, sentence by sentence; 0
    when neither side has an entity."""
    from spacy_bert_ner.bio import spans_to_iob2
    from spacy_bert_ner.scores import seqeval_scores

    def tags(spans_per_sentence: list[Spans]) -> list[list[str]]:
        return [
            spans_to_iob2(spans, len(words))
            for words, spans in zip(sentences, spans_per_sentence, strict=True)
        ]

    return seqeval_scores(tags(gold), tags(predicted))["f"] or 0.0


def char_spans_to_words(words: list[str], entities: list[dict]) -> Spans:
    """The HF pipeline's character-offset entities on ``" ".join(words)`` as word spans (every word the
    entity's characters touch)."""
    starts, offset = [], 0
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    spans = []
    for entity in entities:
        touched = [
            i for i, s in enumerate(starts) if s < entity["end"] and s + len(words[i]) > entity["start"]
        ]
        if touched:
            spans.append((touched[0], touched[-1] + 1, entity["entity_group"]))
    return spans
