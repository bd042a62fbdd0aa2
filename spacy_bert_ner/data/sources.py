"""Where a CoNLL-2003 corpus comes from: a folder of column files, one file, or ``hf:DATASET_ID``.

:func:`corpus_splits` is the one place that tells the three apart; ``convert`` (:func:`convert_source`)
and ``fetch-conll`` (:func:`fetch_conll`) both read through it. Hugging Face ``datasets`` rows (ClassLabel
``ner_tags``, ``pos_tags``, ``chunk_tags``) become the same :class:`~spacy_bert_ner.data.conll.Sentence`
records as column files, with no article boundaries (the hub's loaders drop ``-DOCSTART-``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..errors import DataError
from .conll import Article, Sentence, conll_lines, decode_tags, read_conll
from .docbin import SplitStats, gc_paused, write_docbin

HF_PREFIX = "hf:"
DEFAULT_HF_DATASET = "eriktks/conll2003"  # `conll2003` itself no longer loads in datasets >= 4
HF_SPLITS = {"train": "train", "validation": "dev", "test": "test"}
# Which split a CoNLL file is, by its name without suffix (HF's names, the original eng.* names, ...).
SPLIT_OF_STEM = {
    "train": "train",
    "eng.train": "train",
    "valid": "dev",
    "dev": "dev",
    "validation": "dev",
    "testa": "dev",
    "eng.testa": "dev",
    "test": "test",
    "testb": "test",
    "eng.testb": "test",
}
CONLL_SUFFIXES = (".txt", ".conll", ".iob", ".iob2")
FILE_OF_SPLIT = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}  # the names HF's zip uses
OFFLINE_HINT = (
    "Offline, pass a folder of CoNLL files instead: "
    "`python -m spacy_bert_ner convert PATH/TO/conll2003 corpus` "
    "(a folder holding train.txt, valid.txt, test.txt)"
)


@dataclass(frozen=True)
class SplitSource:
    """One split of a corpus: a column file, or the rows of a HF dataset split."""

    split: str  # train, dev or test (a single file of another name keeps its own name)
    origin: str  # where it comes from, for messages: the file, or DATASET[split]
    path: Optional[Path] = None
    rows: Any = None  # a datasets.Dataset, when path is None

    @property
    def has_articles(self) -> bool:
        """Column files mark articles with ``-DOCSTART-``; HF rows do not."""
        return self.path is not None

    def articles(self, scheme: str = "auto", strict: bool = False) -> list[Article]:
        """The split's sentences, tags checked and decoded as ``scheme`` (HF rows: one article)."""
        if self.path is not None:
            return read_conll(self.path, scheme=scheme, strict=strict)[0]
        sentences = dataset_sentences(self.rows, self.origin)
        decode_tags(sentences, scheme, strict, self.origin)
        return [Article(sentences, docstart=False)]


def corpus_splits(source: str, revision: Optional[str] = None) -> tuple[list[SplitSource], list[str]]:
    """The splits of ``source`` (a folder of CoNLL files, one file, or ``hf:DATASET_ID``) in train / dev /
    test order, and the HF splits the dataset lacks. Files of a folder that are not splits are ignored
    with a warning."""
    if source.startswith(HF_PREFIX):
        dataset_id = source[len(HF_PREFIX) :]
        dataset = load_hf_dataset(dataset_id, revision)
        splits = [
            SplitSource(split, f"{dataset_id}[{hf_split}]", rows=dataset[hf_split])
            for hf_split, split in HF_SPLITS.items()
            if hf_split in dataset
        ]
        missing = [
            f"{dataset_id} has no {hf_split!r} split (it has {list(dataset)})"
            for hf_split in HF_SPLITS
            if hf_split not in dataset
        ]
        return splits, missing
    path = Path(source)
    if path.is_dir():
        return [SplitSource(split, str(file), path=file) for split, file in split_files(path).items()], []
    if path.is_file():
        stem = path.name.rsplit(".", 1)[0]
        return [SplitSource(SPLIT_OF_STEM.get(stem, stem), str(path), path=path)], []
    raise DataError(
        f"{source}: not a folder of CoNLL files nor {HF_PREFIX}DATASET_ID "
        f"(e.g. {HF_PREFIX}{DEFAULT_HF_DATASET}), and no such file"
    )


def split_files(folder: Path) -> dict[str, Path]:
    """The CoNLL files of a folder by split (train/dev/test); other files are ignored with a warning."""
    found: dict[str, Path] = {}
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        stem = path.name[: -len(path.suffix)] if path.suffix in CONLL_SUFFIXES else path.name
        split = SPLIT_OF_STEM.get(stem)
        if split is None:
            if path.suffix not in (".md", ".json", ".zip") and not path.name.startswith("."):
                warnings.warn(f"Ignoring {path}: its name is not one of {', '.join(sorted(SPLIT_OF_STEM))}")
            continue
        if split in found:
            raise DataError(f"{folder}: both {found[split].name} and {path.name} look like the {split} split")
        found[split] = path
    if not found:
        raise DataError(
            f"{folder}: no CoNLL split files found; "
            "expected names like train.txt, valid.txt (or dev.txt), test.txt"
        )
    return {split: found[split] for split in ("train", "dev", "test") if split in found}


def convert_source(
    source: str,
    output_dir: str | Path,
    *,
    scheme: str = "auto",
    strict: bool = False,
    n_sents: Optional[int] = None,
    keep_articles: bool = True,
    revision: Optional[str] = None,
    progress: bool = False,
) -> list[tuple[SplitStats, Path]]:
    """Convert every split of ``source`` to ``output_dir/{split}.spacy``; the counts and file of each.

    One Doc per article (``-DOCSTART-`` to ``-DOCSTART-``), or ``n_sents`` sentences per Doc without
    crossing articles; ``keep_articles=False``, HF rows and column files without ``-DOCSTART-`` lines, which
    have no articles, give one Doc per ``n_sents`` (default 1) sentences, with a warning for such files.
    """
    splits, missing = corpus_splits(source, revision)
    for message in missing:
        warnings.warn(message)
    written = []
    for split in splits:
        output = Path(output_dir) / f"{split.split}.spacy"
        articles = split.articles(scheme, strict)
        keep = keep_articles and split.has_articles
        if keep and not any(article.docstart for article in articles):
            warnings.warn(
                f"{split.origin}: no -DOCSTART- line, so no article boundaries "
                f"(as in the files fetch-conll writes from {HF_PREFIX} sources): "
                f"one Doc per {n_sents or 1} sentence(s) (--n-sents), never the whole file as one Doc. "
                "Document context (train-hf, bert_ner) and the spaCy route's windows read only inside a Doc; "
                "for context, convert CoNLL files that keep their -DOCSTART- lines"
            )
            keep = False
        with gc_paused():
            stats = write_docbin(articles, output, split.split, n_sents, keep, progress)
        written.append((stats, output))
    return written


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
        if split.path is not None:
            if split.path.resolve() != target.resolve():
                target.write_bytes(split.path.read_bytes())
        else:
            sentences = split.articles()[0].sentences
            n_columns = 4 if sentences and sentences[0].chunk_tags is not None else 2
            text = "".join(line + "\n" for line in conll_lines(sentences, False, n_columns))
            target.write_text(text, encoding="utf-8")
        written[split.split] = target
    return written


# -- Hugging Face datasets -----------------------------------------------------------------------------------


def load_hf_dataset(dataset_id: str = DEFAULT_HF_DATASET, revision: Optional[str] = None) -> Any:
    """``datasets.load_dataset`` with an error that says what to do offline."""
    import datasets

    try:
        return datasets.load_dataset(dataset_id, revision=revision)
    except (ConnectionError, OSError, ValueError) as err:
        raise DataError(
            f"could not load the Hugging Face dataset {dataset_id!r} ({type(err).__name__}: {err}); the hub "
            f"must be reachable (or cached) for `{HF_PREFIX}` sources. {OFFLINE_HINT}"
        ) from None


def dataset_sentences(rows: Any, origin: str) -> list[Sentence]:
    """Sentences of one HF ``datasets`` split with ClassLabel ``ner_tags`` (+ ``pos_tags``, ``chunk_tags``);
    tags not yet checked or decoded."""
    features = rows.features
    for column in ("tokens", "ner_tags"):
        if column not in features:
            raise DataError(
                f"{origin}: no {column!r} column (columns: {list(features)}); expected a CoNLL-2003 style "
                "dataset with tokens / ner_tags (+ pos_tags, chunk_tags) ClassLabel sequences"
            )

    def names(column: str) -> list[str] | None:
        if column not in features:
            return None
        feature = features[column]
        inner = getattr(feature, "feature", None)
        if inner is None and isinstance(feature, list):
            inner = feature[0]
        if not hasattr(inner, "names"):
            raise DataError(f"{origin}: column {column!r} is not a sequence of ClassLabel ({feature})")
        return list(inner.names)

    ner_names, pos_names, chunk_names = names("ner_tags"), names("pos_tags"), names("chunk_tags")
    columns = rows.to_dict()
    sentences = []
    for i, words in enumerate(columns["tokens"]):
        if not words:
            continue  # HF rows never carry an empty sentence; a column file could not express one
        pos = [pos_names[t] for t in columns["pos_tags"][i]] if pos_names else None
        chunk = [chunk_names[t] for t in columns["chunk_tags"][i]] if chunk_names and pos else None
        sentences.append(
            Sentence(
                list(words), [ner_names[t] for t in columns["ner_tags"][i]], pos, chunk, f"{origin} row {i}"
            )
        )
    return sentences
