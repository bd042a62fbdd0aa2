"""Where a corpus comes from: a folder of split files, one file, files named as splits (``--train FILE``),
or ``hf:DATASET_ID``; and how each split file is read (column files, JSON / JSONL spans, DocBins).

:func:`corpus_splits` and :func:`named_splits` tell the sources apart; ``convert`` (:func:`convert_splits`)
and ``fetch-conll`` (:func:`.fetch.fetch_conll`) both read through them. Every split is read before any is
written. Hugging Face ``datasets`` rows (ClassLabel ``ner_tags``, ``pos_tags``, ``chunk_tags``) become the
same :class:`~spacy_bert_ner.data.conll.Sentence` records as column files, with no article boundaries (the
hub's loaders drop ``-DOCSTART-``)."""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..errors import ConfigError, DataError, DataWarning
from .annotations import SPAN_FORMATS, read_json_records
from .conll import BOM, Article, Sentence, decode_tags, read_conll, read_text
from .convert_settings import ConvertSettings
from .docbin import articles_to_docs, gc_paused, write_docbin
from .docbin_source import read_docbin_source
from .records import records_to_docs, rule_tokenizer
from .stats import SplitStats

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
CORPUS_SUFFIXES = (".txt", ".conll", ".iob", ".iob2", ".tsv", ".jsonl", ".json", ".spacy")
SPLIT_ORDER = {"train": 0, "dev": 1, "test": 2}
MANIFEST = "corpus.json"  # fetch-corpus: where each split file came from
NAMED_SPLITS_HINT = "`convert --train FILE [--dev FILE] [--test FILE] OUTPUT_DIR`"
FILE_OF_SPLIT = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}  # the names HF's zip uses
OFFLINE_HINT = (
    "Offline, pass a folder of CoNLL files instead: "
    "`python -m spacy_bert_ner convert PATH/TO/conll2003 corpus` "
    "(a folder holding train.txt, valid.txt, test.txt)"
)


FORMAT_OF_SUFFIX = {".spacy": "docbin"}


@dataclass(frozen=True)
class SplitSource:
    """One split of a corpus: a file (columns, JSON / JSONL spans, DocBin), or the rows of a HF dataset
    split."""

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
        return self._articles(scheme, strict)[0]

    def _articles(self, scheme: str, strict: bool) -> tuple[list[Article], dict]:
        if self.path is not None:
            return read_conll(self.path, scheme=scheme, strict=strict)
        sentences = dataset_sentences(self.rows, self.origin)
        info = decode_tags(sentences, scheme, strict, self.origin)
        return [Article(sentences, docstart=False)], info

    def format(self, requested: str = "auto") -> str:
        """The format to read the source as: ``requested``, or detected from the suffix and first byte."""
        if self.path is None:
            return "hf"
        if requested != "auto":
            return requested
        if self.path.suffix in FORMAT_OF_SUFFIX:
            return FORMAT_OF_SUFFIX[self.path.suffix]
        if not self.path.is_file():
            raise DataError(f"{self.path}: file not found; pass a corpus file or a folder of them")
        with self.path.open("rb") as file:
            head = file.read(4096).removeprefix(BOM.encode("utf-8")).lstrip()
        return "json" if head[:1] in (b"{", b"[") else "columns"

    def read(self, options: ConvertSettings, tokenizer: Tokenizer) -> tuple[list[Doc], SplitStats]:
        """The split's Docs (in ``tokenizer``'s vocab, which also splits texts given without tokens) and
        what reading them counted."""
        fmt = self.format(options.format)
        stats = SplitStats(self.split, self.origin, fmt)
        if fmt == "docbin":
            assert self.path is not None  # only a file is read as a DocBin
            return read_docbin_source(self.path, tokenizer.vocab, stats), stats
        if fmt in ("json", *SPAN_FORMATS):
            assert self.path is not None  # only a file holds JSON
            records = list(read_json_records(read_text(self.path), self.origin, options.format))
            docs = records_to_docs(records, tokenizer, stats, options.misaligned)
            stats.format = ",".join(sorted({r.format for r in records})) or fmt
            return docs, stats
        return self._read_columns(options, tokenizer.vocab, stats), stats

    def _read_columns(self, options: ConvertSettings, vocab: Vocab, stats: SplitStats) -> list[Doc]:
        articles, info = self._articles(options.scheme, options.strict)
        keep = options.keep_articles and self.has_articles
        if keep and not any(article.docstart for article in articles):
            stats.notes.append(
                f"no -DOCSTART- line, so no article boundaries: one Doc per {options.n_sents or 1} "
                "sentence(s) (--n-sents), never the whole file as one Doc; document context (train-hf, "
                "bert_ner) and the spaCy route's windows read only inside a Doc"
            )
            keep = False
        sentences = [s for a in articles for s in a.sentences]
        stats.records = len(sentences)
        stats.spans_read = sum(len(s.ents) for s in sentences)
        stats.repaired.add(
            "an I- tag opened an entity: read as its start (conlleval rule; --strict rejects)",
            str(info.get("ner_first_repair", "")),
            int(info.get("ner_repaired", 0)),
        )
        stats.notes.extend(column_notes(self.origin, info))
        docs = articles_to_docs(articles, options.n_sents, keep, options.progress, vocab, self.split)
        stats.articles = sum(1 for a in articles if a.docstart) or (1 if keep else 0)
        return docs


def column_notes(origin: str, info: Mapping[str, Any]) -> list[str]:
    """What reading a column file did besides tokens and tags: white-space lines, columns not kept."""
    notes = []
    blank_like = info.get("blank_like_lines") or []
    if blank_like:
        first = ", ".join(f"{origin}:{line}" for line in blank_like[:3])
        notes.append(
            f"{len(blank_like):,} line(s) hold only white space (a lone tab or spaces), no token: read as "
            f"sentence ends, as blank lines are (first at {first})"
        )
    unread = info.get("unread_columns") or []
    if unread:
        notes.append(
            f"column(s) {', '.join(map(str, unread))} not kept: only the token (first column) and the NER "
            f"tag (last column) are read ({info.get('layout')})"
        )
    return notes


def corpus_splits(source: str, revision: Optional[str] = None) -> tuple[list[SplitSource], list[str]]:
    """The splits of ``source`` (a folder of corpus files, one file, or ``hf:DATASET_ID``) in train / dev /
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
        f"{source}: not a folder of corpus files nor {HF_PREFIX}DATASET_ID "
        f"(e.g. {HF_PREFIX}{DEFAULT_HF_DATASET}), and no such file"
    )


def found_splits(source: str, revision: Optional[str] = None) -> list[SplitSource]:
    """:func:`corpus_splits` for converting: a split the HF dataset lacks is a :class:`DataWarning` (the
    others are converted), not an error."""
    splits, missing = corpus_splits(source, revision)
    for message in missing:
        warnings.warn(message, DataWarning)
    return splits


def named_splits(files: Mapping[str, Optional[str | Path]]) -> list[SplitSource]:
    """``--train FILE --dev FILE --test FILE``: each given file as that split, whatever its name."""
    splits = []
    for split, file in files.items():
        if file is None:
            continue
        path = Path(file)
        if not path.is_file():
            raise DataError(f"--{split} {file}: file not found")
        splits.append(SplitSource(split, str(path), path=path))
    if not splits or splits[0].split != "train":
        raise ConfigError("--dev / --test need --train FILE too (the training split)")
    return splits


def split_files(folder: Path) -> dict[str, Path]:
    """The corpus files of a folder by split (train/dev/test); other files are ignored with a warning."""
    found: dict[str, Path] = {}
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        stem = path.name[: -len(path.suffix)] if path.suffix in CORPUS_SUFFIXES else path.name
        split = SPLIT_OF_STEM.get(stem)
        if split is None:
            if path.suffix not in (".md", ".zip") and not path.name.startswith(".") and path.name != MANIFEST:
                warnings.warn(
                    f"Ignoring {path}: its name is not one of {', '.join(sorted(SPLIT_OF_STEM))}; to convert "
                    f"files of any name, give them as {NAMED_SPLITS_HINT}",
                    DataWarning,
                )
            continue
        if split in found:
            raise DataError(f"{folder}: both {found[split].name} and {path.name} look like the {split} split")
        found[split] = path
    if not found:
        raise DataError(
            f"{folder}: no split files found (names like train.txt, valid.txt or dev.txt, test.txt; "
            f"suffixes {' '.join(CORPUS_SUFFIXES)}); for files of other names pass {NAMED_SPLITS_HINT}"
        )
    return {split: found[split] for split in ("train", "dev", "test") if split in found}


def hold_out_dev(
    train: tuple[list[Doc], SplitStats], fraction: float, seed: int
) -> tuple[tuple[list[Doc], SplitStats], tuple[list[Doc], SplitStats]]:
    """Split the train Docs into train and dev: ``fraction`` of the Docs (at least one), drawn by ``seed``,
    each part in its original order."""
    docs, stats = train
    n_dev = max(1, round(len(docs) * fraction))
    if n_dev >= len(docs):
        raise DataError(
            f"{stats.origin}: {len(docs)} Doc(s), too few to hold {fraction:g} out as dev and keep some to "
            "train on; pass --dev FILE"
        )
    held = set(random.Random(seed).sample(range(len(docs)), n_dev))
    dev_docs = [doc for i, doc in enumerate(docs) if i in held]
    train_docs = [doc for i, doc in enumerate(docs) if i not in held]
    origin = f"{stats.origin}, {len(dev_docs):,} Doc(s) held out (--dev-split {fraction:g} --seed {seed})"
    dev_stats = SplitStats("dev", origin, stats.format)
    stats.notes.append(
        f"{len(dev_docs):,} of its {len(docs):,} Doc(s) held out as dev "
        f"(--dev-split {fraction:g} --seed {seed})"
    )
    return (train_docs, stats), (dev_docs, dev_stats)


def convert_splits(
    splits: Sequence[SplitSource], output_dir: str | Path, options: ConvertSettings = ConvertSettings()
) -> list[tuple[SplitStats, Path]]:
    """Read every split, then write each to ``output_dir/{split}.spacy``: nothing is written when any
    split has an error. Returns each split's counts and file."""
    tokenizer = rule_tokenizer(options.lang)
    read: dict[str, tuple[list[Doc], SplitStats]] = {}
    with gc_paused():
        for split in splits:
            if split.split in read:
                raise DataError(
                    f"{split.origin}: a second {split.split} split ({read[split.split][1].origin})"
                )
            read[split.split] = split.read(options, tokenizer)
    if options.dev_split is not None:
        if "dev" in read:
            raise ConfigError(
                f"--dev-split: a dev split is given ({read['dev'][1].origin}); drop one of them"
            )
        if "train" not in read:
            raise ConfigError("--dev-split holds out part of train, and no train split is given")
        read["train"], read["dev"] = hold_out_dev(read["train"], options.dev_split, options.seed)
    written = []
    for name in sorted(read, key=lambda name: SPLIT_ORDER.get(name, len(SPLIT_ORDER))):
        docs, stats = read[name]
        stats.count_docs(docs)
        written.append((stats, write_docbin(docs, Path(output_dir) / f"{name}.spacy")))
    return written


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
    **options: Any,
) -> list[tuple[SplitStats, Path]]:
    """Convert every split of ``source`` to ``output_dir/{split}.spacy``; the counts and file of each.

    Column files: one Doc per article (``-DOCSTART-`` to ``-DOCSTART-``), or ``n_sents`` sentences per Doc
    without crossing articles; ``keep_articles=False``, HF rows and column files without ``-DOCSTART-``
    lines, which have no articles, give one Doc per ``n_sents`` (default 1) sentences, with a warning for
    such files. Span files: one Doc per record. DocBins: their Docs. ``options``: the other
    :class:`ConvertSettings`.
    """
    settings = ConvertSettings(
        scheme=scheme,
        strict=strict,
        n_sents=n_sents,
        keep_articles=keep_articles,
        revision=revision,
        progress=progress,
        **options,
    )
    return convert_splits(found_splits(source, revision), output_dir, settings)


# -- Hugging Face datasets -----------------------------------------------------------------------------------


def load_hf_dataset(dataset_id: str = DEFAULT_HF_DATASET, revision: Optional[str] = None) -> Any:
    """``datasets.load_dataset`` with an error that says what to do offline. ``ID:CONFIG`` names a
    configuration of the dataset (its language subset, e.g. ``unimelb-nlp/wikiann:en``)."""
    import datasets

    path, _, name = dataset_id.partition(":")
    try:
        return datasets.load_dataset(path, name or None, revision=revision)
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
        names = getattr(inner, "names", None)
        if names is None:
            raise DataError(f"{origin}: column {column!r} is not a sequence of ClassLabel ({feature})")
        return list(names)

    ner_names, pos_names, chunk_names = names("ner_tags") or [], names("pos_tags"), names("chunk_tags")
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
