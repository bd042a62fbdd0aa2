"""Raw-text evaluation: the entity scores a user gets, each gold Doc read as plain text by the pipeline.

``spacy evaluate`` on DocBins converted from column files scores a pipeline on the gold tokens (the DocBins
mark their spaces unknown, as ``spacy convert`` does) and, for a pipeline without a sentence splitter, the
gold sentence starts. Users have neither. Here every gold Doc becomes text, the whole pipeline runs on it,
tokenizer and sentence splitter included, and spaCy's own NER scorer compares the entities across the two
tokenizations through :class:`spacy.training.Example`'s character alignment: a predicted entity is right
when it covers exactly the gold tokens of a gold entity of the same type.

Which text (:data:`TEXT_SOURCES`): a Doc whose text and spaces are the original's (exports of annotation
tools, which ``convert`` marks ``"real"`` under :data:`~spacy_bert_ner.data.docs.TEXT_KEY` in
``doc.user_data``) is read as its own ``doc.text``; a Doc from column files has no text but its tokens, so
:func:`article_text` rebuilds one: tokens joined by single spaces, by default one line per gold sentence,
or with ``paragraphs`` the prose sentences run together as paragraphs would.

Beside the scores it counts where the pipeline's tokens and the gold ones differ, with the commonest
differences as examples (:func:`token_differences`). Rebuilt text has a space between every two gold
tokens, so there a difference is always a gold token split into pieces and every gold entity can be
matched. A Doc's own text can also have a predicted token that spans two gold tokens (``Paris.`` where
the gold has ``Paris`` ``.``): those gold tokens are counted as merged, and a gold entity that ends or
starts inside such a token cannot be matched.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence, cast

from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example

from ..data.docs import TEXT_KEY
from ..errors import ConfigError

Layout = Literal["lines", "paragraphs"]
LAYOUTS: dict[str, str] = {
    "lines": "one line per gold sentence, tokens joined by single spaces",
    "paragraphs": "prose sentences (ending . ? or !) run together as one paragraph per line, "
    "other sentences (headlines without a stop, datelines, bylines, table rows) one line each; "
    "tokens joined by single spaces",
}
TextSource = Literal["auto", "doc", "tokens"]
TEXT_SOURCES: dict[str, str] = {
    "auto": "each Doc's own text where the DocBin marks it real, else its tokens rebuilt as text",
    "doc": "each Doc's own text (doc.text)",
    "tokens": "each Doc's tokens rebuilt as text",
}
SENTENCE_ENDS = frozenset({".", "?", "!"})
QUOTES = frozenset({'"', "'", "''", "``"})
N_EXAMPLES = 25


def is_prose(sentence: Sequence[str]) -> bool:
    """Whether a sentence's words end as prose does: a full stop, question or exclamation mark, maybe
    quoted."""
    words = list(sentence)
    while words and words[-1] in QUOTES:
        words.pop()
    return bool(words) and words[-1] in SENTENCE_ENDS


def check_choice(value: str, choices: Mapping[str, str], name: str) -> None:
    """Refuse a value that is not one of ``choices``, naming the setting (``name``) that gave it."""
    if value not in choices:
        raise ConfigError(f"{name} {value!r}: use one of {', '.join(choices)}")


def check_layout(layout: str, name: str = "layout") -> None:
    """Refuse a layout that is not one of :data:`LAYOUTS`."""
    check_choice(layout, LAYOUTS, name)


def article_text(doc: Doc, layout: Layout = "lines") -> str:
    """A gold Doc's tokens rebuilt as plain text, joined by spaces, laid out by its sentence starts
    (:data:`LAYOUTS`)."""
    check_layout(layout)
    if not doc.has_annotation("SENT_START"):
        return " ".join(token.text for token in doc)
    lines: list[str] = []
    run_on = False  # whether the last line is a paragraph that the next prose sentence continues
    for sent in doc.sents:
        words = [token.text for token in sent]
        text = " ".join(words)
        prose = layout == "paragraphs" and is_prose(words)
        if prose and run_on:
            lines[-1] += " " + text
        else:
            lines.append(text)
        run_on = prose
    return "\n".join(lines)


def marked_real(doc: Doc) -> bool:
    """Whether ``convert`` marked the Doc's text and spaces as the original's."""
    return doc.user_data.get(TEXT_KEY) == "real"


def reads_doc_text(doc: Doc, text: TextSource = "auto") -> bool:
    """Whether the Doc is read as its own ``doc.text`` (else its tokens are rebuilt) under ``text``."""
    check_choice(text, TEXT_SOURCES, "text")
    return text == "doc" or (text == "auto" and marked_real(doc))


def plain_text(doc: Doc, layout: Layout = "lines", text: TextSource = "auto") -> str:
    """The text the pipeline reads for a gold Doc: its own, or its tokens rebuilt (:func:`article_text`)."""
    return doc.text if reads_doc_text(doc, text) else article_text(doc, layout)


def text_sources(gold_docs: Iterable[Doc], text: TextSource = "auto") -> dict[str, int]:
    """How many Docs are read as their own text and how many rebuilt from tokens."""
    own = [reads_doc_text(doc, text) for doc in gold_docs]
    return {"doc_text": own.count(True), "rebuilt": own.count(False)}


def raw_text_examples(
    nlp: Language,
    gold_docs: Sequence[Doc],
    batch_size: int = 32,
    layout: Layout = "lines",
    text: TextSource = "auto",
) -> list[Example]:
    """Run ``nlp`` on each gold Doc's text (:func:`plain_text`); pair each prediction with its gold Doc."""
    texts = (plain_text(doc, layout, text) for doc in gold_docs)
    return [
        Example(pred, gold)
        for pred, gold in zip(nlp.pipe(texts, batch_size=batch_size), gold_docs, strict=True)
    ]


def gold_token_kinds(eg: Example) -> list[str]:
    """Per gold token, how the predicted tokens cover it: ``same`` (one predicted token that covers it
    alone), ``split`` (several, each inside it) or ``merged`` (a predicted token that also covers another
    gold token). A whitespace gold token that no predicted token covers is ``same``: it has no characters
    to align."""
    x2y, y2x = eg.alignment.x2y, eg.alignment.y2x
    kinds = []
    for i in range(len(eg.reference)):
        pred_ids = y2x[i]
        if any(len(x2y[int(k)]) > 1 for k in pred_ids):
            kinds.append("merged")
        elif len(pred_ids) > 1:
            kinds.append("split")
        else:
            kinds.append("same")
    return kinds


def token_differences(examples: Iterable[Example]) -> dict[str, Any]:
    """How many gold tokens the pipeline's tokenizer splits into pieces, how many share a predicted token
    with another gold token (only possible with a Doc's own text), and the commonest runs of such gold
    tokens with the predicted tokens they became."""
    counts: Counter[str] = Counter()
    patterns: Counter[tuple[str, str]] = Counter()
    for eg in examples:
        gold, pred, y2x = eg.reference, eg.predicted, eg.alignment.y2x
        kinds = gold_token_kinds(eg)
        counts.update(kinds)
        i = 0
        while i < len(gold):  # group a run of differing gold tokens with the predicted tokens they touch
            if kinds[i] == "same":
                i += 1
                continue
            j = i
            while j < len(gold) and kinds[j] != "same":
                j += 1
            pred_ids = sorted({int(k) for t in range(i, j) for k in y2x[t]})
            pred_text = " | ".join(pred[k].text for k in pred_ids if not pred[k].is_space)
            patterns[(" | ".join(t.text for t in gold[i:j]), pred_text)] += 1
            i = j
    return {
        "gold_tokens": sum(counts.values()),
        "gold_tokens_split": counts["split"],
        "gold_tokens_merged": counts["merged"],
        "commonest_differences": [
            {"gold": gold, "predicted": pred, "count": n}
            for (gold, pred), n in patterns.most_common(N_EXAMPLES)
        ],
    }


def raw_text_scores(
    nlp: Language,
    gold_docs: Sequence[Doc],
    batch_size: int = 32,
    layout: Layout = "lines",
    text: TextSource = "auto",
) -> dict[str, Any]:
    """spaCy's ``ents_p`` / ``ents_r`` / ``ents_f`` / ``ents_per_type`` on raw text, plus what was read (how
    many Docs as their own text, how many rebuilt) and the token differences (:func:`token_differences`).

    ``speed`` is words per second as ``spacy evaluate`` reports it, here the gold words over the seconds of
    one pass of the whole pipeline (tokenizer and sentence splitter included) over the texts."""
    start = time.perf_counter()
    examples = raw_text_examples(nlp, gold_docs, batch_size, layout, text)
    seconds = time.perf_counter() - start
    words = sum(len(doc) for doc in gold_docs)
    scores = get_ner_prf(examples)
    return {
        **scores,
        "speed": words / seconds if seconds > 0 else None,
        "raw_text": {
            "words": words,
            "seconds": seconds,
            "docs": len(gold_docs),
            "text": TEXT_SOURCES[text],
            "text_sources": text_sources(gold_docs, text),
            "layout": LAYOUTS[layout],
            "pipeline": list(nlp.pipe_names),
            "tokens": token_differences(examples),
        },
    }


def evaluate_raw(
    pipeline: str | Path,
    data: str | Path,
    *,
    batch_size: int = 32,
    gpu_id: int = -1,
    layout: str = "lines",
    text: str = "auto",
) -> dict[str, Any]:
    """``evaluate-raw``: load ``pipeline`` (on GPU ``gpu_id`` if >= 0) and score it on the gold Docs of
    ``data`` read as ``text`` says, rebuilt text laid out as ``layout`` (:func:`raw_text_scores`)."""
    from ..data.docbin import read_docbin
    from ..pipeline.load import configure_process, load_pipeline

    check_layout(layout, "--layout")  # before the pipeline loads
    check_choice(text, TEXT_SOURCES, "--text")
    configure_process(gpu_id)
    nlp = load_pipeline(pipeline)
    gold_docs = read_docbin(data, nlp.vocab)
    return raw_text_scores(nlp, gold_docs, batch_size, cast(Layout, layout), cast(TextSource, text))
