"""CoNLL sentences <-> spaCy Docs: how the converter groups sentences into Docs and maps them back.

Each Doc keeps everything the source had: words, POS in ``token.tag_``, sentence starts, entities in
``doc.ents``, chunks in ``doc.spans["chunks"]`` and, in ``doc.user_data``, whether a ``-DOCSTART-`` line
opened it, so :func:`docs_to_conll` writes the source back.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

import numpy
from spacy.attrs import ENT_IOB, ENT_TYPE, SENT_START, TAG
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..errors import ConfigError
from .conll import Article, Sentence, conll_lines

DOCSTART_KEY = "conll_docstart"  # doc.user_data key: True when a -DOCSTART- line opened this doc
CHUNKS_KEY = "chunks"  # doc.spans key of the chunk column
TEXT_KEY = "spacy_bert_ner.text"  # doc.user_data: "real" when doc.text is the source's own text
SOURCE_KEY = "spacy_bert_ner.source"  # doc.user_data: where convert read the Doc (file:line, file doc N)


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
    chunks: list[Any] = []
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
    doc.from_array(attrs, values)  # type: ignore[arg-type]  # numpy's uint64 array is thinc's Ints2d
    if has_columns:
        doc.spans[CHUNKS_KEY] = [Span(doc, s, e, label=strings.add(label)) for s, e, label in chunks]
    if docstart:
        doc.user_data[DOCSTART_KEY] = True
    return doc


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
