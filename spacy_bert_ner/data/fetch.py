"""A corpus put into a folder as it came (``fetch-corpus``, ``fetch-conll``): split files copied byte for
byte, Hugging Face rows written as IOB2 column text, and a manifest of where each split came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

from ..errors import DataError
from .conll import conll_lines
from .sources import CORPUS_SUFFIXES, FILE_OF_SPLIT, MANIFEST, SPLIT_ORDER, SplitSource, corpus_splits


def fetch_corpus(splits: Sequence[SplitSource], dest: Path) -> dict[str, Path]:
    """Put each split into ``dest`` as ``{split}{suffix}`` (``.conll`` column files, ``.jsonl`` / ``.json``
    span files, ``.spacy`` DocBins): files copied byte for byte, HF rows written as IOB2 column text; and
    :data:`MANIFEST`, naming where each came from. Earlier split files in ``dest`` are removed first, so the
    folder holds this corpus only."""
    for split in splits:
        if split.split not in SPLIT_ORDER:
            raise DataError(
                f"{split.origin}: not named as a split (train, dev or test); give it as --train FILE, "
                "--dev FILE or --test FILE"
            )
    sources = {split.path.resolve() for split in splits if split.path is not None}
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.iterdir():
        stem = old.name[: -len(old.suffix)] if old.suffix in CORPUS_SUFFIXES else old.name
        if stem in SPLIT_ORDER and old.is_file() and old.resolve() not in sources:
            old.unlink()
    written, manifest = {}, {}
    for split in splits:
        fmt = split.format()
        suffix = {
            "docbin": ".spacy",
            "json": ".json" if split.path and split.path.suffix == ".json" else ".jsonl",
        }
        target = dest / f"{split.split}{suffix.get(fmt, '.conll')}"
        _copy_split(split, target)
        written[split.split] = target
        manifest[split.split] = {"file": target.name, "from": split.origin, "format": fmt}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written


def _copy_split(split: SplitSource, target: Path) -> None:
    """A split's file copied byte for byte to ``target``; HF rows written as IOB2 column text."""
    if split.path is not None:
        if split.path.resolve() != target.resolve():
            target.write_bytes(split.path.read_bytes())
        return
    sentences = split.articles()[0].sentences
    n_columns = 4 if sentences and sentences[0].chunk_tags is not None else 2
    text = "".join(line + "\n" for line in conll_lines(sentences, False, n_columns))
    target.write_text(text, encoding="utf-8")


def fetch_conll(source: str, dest: Path, revision: Optional[str] = None) -> dict[str, Path]:
    """Put CoNLL-2003 as ``train.txt`` / ``valid.txt`` / ``test.txt`` in ``dest``: column files are copied
    byte for byte, HF rows written as 4-column IOB2 text (without ``-DOCSTART-`` lines, which they lack)."""
    splits, missing = corpus_splits(source, revision)
    if missing:
        raise DataError(missing[0])
    dest.mkdir(parents=True, exist_ok=True)
    written = {}
    for split in splits:
        target = dest / FILE_OF_SPLIT.get(split.split, f"{split.split}.txt")
        _copy_split(split, target)
        written[split.split] = target
    return written
