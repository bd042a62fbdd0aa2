"""CoNLL sentences (from column files or a HF ``datasets`` DatasetDict) <-> spaCy Docs and DocBin files.

Each Doc keeps everything the source had: words, POS in ``token.tag_``, sentence starts, entities in
``doc.ents``, chunks in ``doc.spans["chunks"]`` and, in ``doc.user_data``, whether a ``-DOCSTART-`` line
opened it, so :func:`docs_to_conll` writes the source back.
"""

from __future__ import annotations

import gc
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy
import srsly
from spacy.attrs import (
    DEP, ENT_ID, ENT_IOB, ENT_KB_ID, ENT_TYPE, LEMMA, MORPH, NORM, ORTH, SENT_START, SPACY, TAG,
)
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab
from tqdm import tqdm

from ..errors import ConfigError, DataError
from .conll import Article, Sentence, conll_lines, decode_tags, read_conll

DOCSTART_KEY = "conll_docstart"  # doc.user_data key: True when a -DOCSTART- line opened this doc
CHUNKS_KEY = "chunks"  # doc.spans key of the chunk column
DEFAULT_HF_DATASET = "eriktks/conll2003"  # `conll2003` itself no longer loads in datasets >= 4
HF_SPLITS = {"train": "train", "validation": "dev", "test": "test"}


@dataclass
class SplitStats:
    """Counts of one converted split, as the stats table prints them."""

    name: str
    articles: int = 0
    sentences: int = 0
    tokens: int = 0
    docs: int = 0
    entities: Counter = field(default_factory=Counter)

    @property
    def n_entities(self) -> int:
        return sum(self.entities.values())


class _FrozenEncoders:
    """Stands in for srsly's msgpack encoder registry with a snapshot of its contents."""

    def __init__(self, encoders: dict) -> None:
        self._encoders = encoders

    def get_all(self) -> dict:
        return self._encoders


@contextmanager
def _msgpack_encoders_snapshot() -> Iterator[None]:
    """Look srsly's msgpack encoders up once instead of once per ``msgpack_dumps`` call.

    Every ``srsly.msgpack_dumps`` rebuilds its encoder list from catalogue, which walks the whole
    function registry and all installed packages' entry points (about 0.25 ms a call, two calls per Doc
    in ``DocBin.add``: a third of the converter's time). Within this block the same encoders are served
    from one snapshot, so the bytes written are the same.
    """
    module = srsly.msgpack
    registry = module.msgpack_encoders
    module.msgpack_encoders = _FrozenEncoders(registry.get_all())
    try:
        yield
    finally:
        module.msgpack_encoders = registry


class BulkDocBin(DocBin):
    """A DocBin whose :meth:`add` collects strings from attribute arrays instead of a loop over tokens.

    It writes the same bytes as :class:`spacy.tokens.DocBin` (a test checks it) at several times the
    speed, which is most of what the converter spends.
    """

    _STRING_ATTRS = [ORTH, TAG, LEMMA, NORM, MORPH, DEP, ENT_TYPE, ENT_KB_ID, ENT_ID]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user_data_bytes: dict[tuple, bytes] = {}

    def add(self, doc: Doc, span_strings: Iterable[str] | None = None) -> None:
        """Add a Doc. ``span_strings``: every label / kb_id / id string of ``doc.spans``, when the caller
        knows them; it spares a Python object per span (100k chunk spans in CoNLL-2003 train)."""
        with _msgpack_encoders_snapshot():
            self._add(doc, span_strings)

    def add_all(self, items: Iterable[tuple[Doc, Iterable[str] | None]]) -> None:
        """Add ``(doc, span_strings)`` pairs under one snapshot of srsly's encoders."""
        with _msgpack_encoders_snapshot():
            for doc, span_strings in items:
                self._add(doc, span_strings)

    def _add(self, doc: Doc, span_strings: Iterable[str] | None) -> None:
        self.tokens.append(doc.to_array(self.attrs).reshape((len(doc), -1)))
        self.spaces.append(numpy.asarray(doc.to_array(SPACY), dtype=bool).reshape((len(doc), 1)))
        self.flags.append({"has_unknown_spaces": doc.has_unknown_spaces})
        strings = doc.vocab.strings
        self.strings.add("")
        self.strings.update(strings[int(key)] for key in numpy.unique(doc.to_array(self._STRING_ATTRS)) if key)
        self.cats.append(doc.cats)
        if self.store_user_data:
            self.user_data.append(self._pack_user_data(doc.user_data))
        self.span_groups.append(doc.spans.to_bytes())
        if span_strings is not None:
            self.strings.update(span_strings)
            return
        for group in doc.spans.values():
            for span in group:
                self.strings.add(span.label_)
                if span.kb_id in strings:
                    self.strings.add(span.kb_id_)
                if span.id in strings:
                    self.strings.add(span.id_)

    def to_bytes(self) -> bytes:
        """DocBin's own message, compressed at zlib level 1: 4x faster, any DocBin reads it."""
        lengths = [len(tokens) for tokens in self.tokens]
        msg = {
            "version": self.version,
            "attrs": self.attrs,
            "tokens": (numpy.vstack(self.tokens) if self.tokens else numpy.asarray([])).tobytes("C"),
            "spaces": (numpy.vstack(self.spaces) if self.spaces else numpy.asarray([])).tobytes("C"),
            "lengths": numpy.asarray(lengths, dtype="int32").tobytes("C"),
            "strings": sorted(self.strings),
            "cats": self.cats,
            "flags": self.flags,
            "span_groups": self.span_groups,
        }
        if self.store_user_data:
            msg["user_data"] = self.user_data
        return zlib.compress(srsly.msgpack_dumps(msg), 1)

    def _pack_user_data(self, user_data: dict) -> bytes:
        """msgpack bytes of user_data, memoised for the few distinct flat dicts the converter writes."""
        try:
            key = tuple(sorted(user_data.items()))
            hash(key)
        except TypeError:
            return srsly.msgpack_dumps(user_data)
        if key not in self._user_data_bytes:
            self._user_data_bytes[key] = srsly.msgpack_dumps(user_data)
        return self._user_data_bytes[key]


def group_sentences(
    articles: Sequence[Article], n_sents: int | None = None, keep_articles: bool = True
) -> Iterator[tuple[list[Sentence], bool]]:
    """Yield ``(sentences, opens_article)`` per Doc to build.

    One Doc per article by default; ``n_sents`` groups that many sentences without crossing articles.
    ``keep_articles=False`` ignores article boundaries (as HF datasets does) and defaults to one sentence
    per Doc.
    """
    if n_sents is not None and n_sents < 1:
        raise ConfigError(f"n_sents must be >= 1, got {n_sents}")
    if not keep_articles:
        flat = [s for a in articles for s in a.sentences]
        articles = [Article(flat, docstart=False)]
        n_sents = n_sents or 1
    for article in articles:
        sents = article.sentences
        size = n_sents or max(len(sents), 1)
        if not sents and article.docstart and keep_articles:
            yield [], True  # an empty article still round-trips its -DOCSTART- line
        for i in range(0, len(sents), size):
            yield sents[i : i + size], article.docstart and keep_articles and i == 0


def sentences_to_doc(vocab: Vocab, sentences: Sequence[Sentence], docstart: bool) -> Doc:
    """One Doc from consecutive sentences: tags, sentence starts, ents and chunks.

    Token attributes go in through one ``Doc.from_array`` call (the bulk path) rather than per-token
    string parsing in ``Doc(..., ents=[...])``.
    """
    words = [w for sent in sentences for w in sent.words]
    doc = Doc(vocab, words=words)
    if not words:
        return doc
    strings = vocab.strings
    has_columns = sentences[0].pos is not None
    attrs = [SENT_START, ENT_IOB, ENT_TYPE] + ([TAG] if has_columns else [])
    values = numpy.zeros((len(words), len(attrs)), dtype="uint64")
    values[:, 0] = numpy.uint64(-1 & 0xFFFFFFFFFFFFFFFF)  # -1: not a sentence start
    values[:, 1] = 2  # ENT_IOB 2 = O
    chunks = []
    offset = 0
    for sent in sentences:
        values[offset, 0] = 1
        for start, end, label in sent.ents:
            values[offset + start, 1] = 3  # B
            values[offset + start + 1 : offset + end, 1] = 1  # I
            values[offset + start : offset + end, 2] = strings.add(label)
        if has_columns:
            chunks.extend((offset + s, offset + e, label) for s, e, label in sent.chunks or ())
        offset += len(sent.words)
    if has_columns:
        values[:, 3] = [strings.add(tag) for sent in sentences for tag in sent.pos or ()]
    doc.from_array(attrs, values)
    if has_columns:
        doc.spans[CHUNKS_KEY] = [Span(doc, s, e, label=strings.add(label)) for s, e, label in chunks]
    if docstart:
        doc.user_data[DOCSTART_KEY] = True
    return doc


def articles_to_docbin(
    articles: Sequence[Article],
    stats: SplitStats,
    n_sents: int | None = None,
    keep_articles: bool = True,
    progress: bool = False,
    vocab: Vocab | None = None,
) -> DocBin:
    """Build a DocBin from articles and fill ``stats`` with what went in."""
    vocab = vocab or Vocab()
    docbin = BulkDocBin(store_user_data=True)
    stats.articles = sum(1 for a in articles if a.docstart) or (1 if keep_articles else 0)
    total = sum(len(s.words) for a in articles for s in a.sentences)
    with tqdm(total=total, unit="tok", desc=stats.name, disable=not progress, leave=False) as bar:

        def docs() -> Iterator[tuple[Doc, set[str]]]:
            for sentences, docstart in group_sentences(articles, n_sents, keep_articles):
                doc = sentences_to_doc(vocab, sentences, docstart)
                stats.docs += 1
                stats.sentences += len(sentences)
                stats.tokens += len(doc)
                stats.entities.update(label for sent in sentences for _, _, label in sent.ents)
                bar.update(len(doc))
                yield doc, {label for sent in sentences for _, _, label in sent.chunks or ()}

        docbin.add_all(docs())
    return docbin


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: conversion allocates millions of acyclic lists and strings,
    and GC passes over them cost ~10% of the run while freeing nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def convert_file(
    path: str | Path,
    output: str | Path,
    name: str | None = None,
    scheme: str = "auto",
    strict: bool = False,
    n_sents: int | None = None,
    keep_articles: bool = True,
    progress: bool = False,
) -> SplitStats:
    """Convert one CoNLL column file to a ``.spacy`` DocBin file; return its stats."""
    with _gc_paused():
        articles, _ = read_conll(path, scheme=scheme, strict=strict)
        stats = SplitStats(name or Path(path).stem)
        docbin = articles_to_docbin(articles, stats, n_sents, keep_articles, progress)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(output)
    return stats


def doc_to_sentences(doc: Doc) -> list[Sentence]:
    """Split a converted Doc back into sentences with spans relative to each sentence."""
    has_columns = CHUNKS_KEY in doc.spans
    chunks = list(doc.spans[CHUNKS_KEY]) if has_columns else []
    sentences = []
    for sent in doc.sents:
        start, end = sent.start, sent.end
        sentences.append(
            Sentence(
                words=[t.text for t in sent],
                ner_tags=[],
                pos=[t.tag_ for t in sent] if has_columns else None,
                ents=[(e.start - start, e.end - start, e.label_) for e in sent.ents],
                chunks=[(c.start - start, c.end - start, c.label_) for c in chunks if start <= c.start < end]
                if has_columns
                else None,
            )
        )
    return sentences


def docs_to_conll(docs: Iterable[Doc]) -> str:
    """The 4-column (or 2-column) IOB2 CoNLL text of docs, in the layout the converter reads."""
    lines: list[str] = []
    for doc in docs:
        n_columns = 4 if CHUNKS_KEY in doc.spans else 2
        lines.extend(conll_lines(doc_to_sentences(doc), bool(doc.user_data.get(DOCSTART_KEY)), n_columns))
    return "".join(line + "\n" for line in lines)


def read_docbin(path: str | Path, vocab: Vocab | None = None) -> list[Doc]:
    """All Docs of a ``.spacy`` file, with a clear error when it is missing or not a DocBin."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; pass a .spacy file written by `convert`")
    try:
        docbin = BulkDocBin(store_user_data=True).from_disk(path)
    except ValueError as err:
        raise DataError(f"{path}: not a spaCy DocBin file ({err})") from None
    return list(docbin.get_docs(vocab or Vocab()))


def dataset_split_to_articles(rows: Any, origin: str) -> list[Article]:
    """Sentences of one HF ``datasets`` split with ClassLabel ``ner_tags`` (+ ``pos_tags``, ``chunk_tags``)."""
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
            Sentence(list(words), [ner_names[t] for t in columns["ner_tags"][i]], pos, chunk, f"{origin} row {i}")
        )
    return [Article(sentences, docstart=False)]


def load_hf_dataset(dataset_id: str = DEFAULT_HF_DATASET, revision: str | None = None) -> Any:
    """``datasets.load_dataset`` with an error that says what to do offline."""
    import datasets

    try:
        return datasets.load_dataset(dataset_id, revision=revision)
    except (ConnectionError, OSError, ValueError) as err:
        raise DataError(
            f"could not load the Hugging Face dataset {dataset_id!r} ({type(err).__name__}: {err}); the hub "
            "must be reachable (or cached) for `hf:` sources. Offline, pass a folder of CoNLL files instead: "
            "`python -m spacy_bert_ner convert ../shared/data/conll2003 corpus`"
        ) from None


def dataset_splits(dataset: Any, dataset_id: str) -> tuple[list[tuple[str, Any, str]], list[str]]:
    """``(split, rows, origin)`` for each of HF's train/validation/test splits the dataset has (split being
    train/dev/test), and the names of those it lacks."""
    present = [
        (split, dataset[hf_split], f"{dataset_id}[{hf_split}]")
        for hf_split, split in HF_SPLITS.items()
        if hf_split in dataset
    ]
    return present, [hf_split for hf_split in HF_SPLITS if hf_split not in dataset]


def dataset_split_sentences(rows: Any, origin: str, scheme: str = "auto", strict: bool = False) -> list[Sentence]:
    """The sentences of one HF split, their NER tags decoded (and checked) as ``scheme``."""
    sentences = dataset_split_to_articles(rows, origin)[0].sentences
    decode_tags(sentences, scheme, strict, origin)
    return sentences


def convert_dataset_split(
    rows: Any,
    output: str | Path,
    name: str,
    origin: str,
    scheme: str = "auto",
    strict: bool = False,
    n_sents: int | None = None,
    progress: bool = False,
) -> SplitStats:
    """Convert one HF split to a DocBin file. HF rows carry no article boundaries: one Doc per n_sents."""
    with _gc_paused():
        articles = [Article(dataset_split_sentences(rows, origin, scheme, strict), docstart=False)]
        stats = SplitStats(name)
        docbin = articles_to_docbin(articles, stats, n_sents, keep_articles=False, progress=progress)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(output)
    return stats


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


def split_files(folder: Path) -> tuple[dict[str, Path], list[Path]]:
    """The CoNLL files of a folder by split (train/dev/test), and the files it does not use."""
    found: dict[str, Path] = {}
    ignored: list[Path] = []
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        stem = path.name[: -len(path.suffix)] if path.suffix in CONLL_SUFFIXES else path.name
        split = SPLIT_OF_STEM.get(stem)
        if split is None:
            if path.suffix not in (".md", ".json", ".zip") and not path.name.startswith("."):
                ignored.append(path)
            continue
        if split in found:
            raise DataError(f"{folder}: both {found[split].name} and {path.name} look like the {split} split")
        found[split] = path
    if not found:
        raise DataError(
            f"{folder}: no CoNLL split files found; expected names like train.txt, valid.txt (or dev.txt), test.txt"
        )
    return {split: found[split] for split in ("train", "dev", "test") if split in found}, ignored


def fetch_conll(source: str, dest: Path, revision: str | None = None) -> dict[str, Path]:
    """Put CoNLL-2003 as ``train.txt`` / ``valid.txt`` / ``test.txt`` in ``dest``, from a local folder
    (copied byte for byte) or ``hf:DATASET_ID`` (written as 4-column IOB2 text from the dataset's rows)."""
    dest.mkdir(parents=True, exist_ok=True)
    written = {}
    if source.startswith("hf:"):
        dataset_id = source[3:]
        dataset = load_hf_dataset(dataset_id, revision)
        splits, missing = dataset_splits(dataset, dataset_id)
        if missing:
            raise DataError(f"{dataset_id} has no {missing[0]!r} split (it has {list(dataset)})")
        for split, rows, origin in splits:
            sentences = dataset_split_sentences(rows, origin)
            n_columns = 4 if sentences and sentences[0].chunk_tags is not None else 2
            text = "".join(line + "\n" for line in conll_lines(sentences, False, n_columns))
            written[split] = dest / FILE_OF_SPLIT[split]
            written[split].write_text(text, encoding="utf-8")
        return written
    folder = Path(source)
    if not folder.is_dir():
        raise DataError(
            f"{source}: not a folder of CoNLL files nor hf:DATASET_ID (e.g. hf:{DEFAULT_HF_DATASET})"
        )
    files, _ = split_files(folder)
    for split, path in files.items():
        written[split] = dest / FILE_OF_SPLIT[split]
        if path.resolve() != written[split].resolve():
            written[split].write_bytes(path.read_bytes())
    return written
