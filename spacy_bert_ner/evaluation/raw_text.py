"""Raw-text evaluation: the entity scores a user gets, each gold article read as plain text by the pipeline.

``spacy evaluate`` on CoNLL DocBins scores a pipeline on CoNLL's own tokens (the DocBins mark their spaces
unknown, as ``spacy convert`` does) and, for a pipeline without a sentence splitter, CoNLL's own sentence
starts. Users have neither. Here every gold Doc becomes text (:func:`article_text`: its tokens joined by
single spaces; by default one line per CoNLL sentence, as CoNLL keeps no other layout, or with
``paragraphs`` the prose sentences run together as paragraphs would), the whole pipeline runs on it,
tokenizer and sentence splitter included, and spaCy's own NER scorer compares the entities across the two
tokenizations through :class:`spacy.training.Example`'s alignment: a predicted entity is right when it
covers exactly the gold tokens of a gold entity of the same type.

Beside the scores it counts where the pipeline's tokens and CoNLL's differ, with the commonest differences
as examples. The text has a space between every two gold tokens, so a predicted token never spans two of
them: every gold entity can be matched, and a difference is always a gold token split into pieces.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example

from ..errors import ConfigError

Layout = Literal["lines", "paragraphs"]
LAYOUTS: dict[str, str] = {
    "lines": "one line per gold sentence, tokens joined by single spaces",
    "paragraphs": "prose sentences (ending . ? or !) run together as one paragraph per line, "
    "other sentences (headlines without a stop, datelines, bylines, table rows) one line each; "
    "tokens joined by single spaces",
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


def check_layout(layout: str, name: str = "layout") -> None:
    """Refuse a layout that is not one of :data:`LAYOUTS`, naming the setting (``name``) that gave it."""
    if layout not in LAYOUTS:
        raise ConfigError(f"{name} {layout!r}: use one of {', '.join(LAYOUTS)}")


def article_text(doc: Doc, layout: Layout = "lines") -> str:
    """A gold Doc as plain text, tokens joined by spaces, laid out by its sentence starts
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


def raw_text_examples(
    nlp: Language, gold_docs: Sequence[Doc], batch_size: int = 32, layout: Layout = "lines"
) -> list[Example]:
    """Run ``nlp`` on each gold Doc's text; pair each prediction with its gold Doc."""
    texts = (article_text(doc, layout) for doc in gold_docs)
    return [
        Example(pred, gold)
        for pred, gold in zip(nlp.pipe(texts, batch_size=batch_size), gold_docs, strict=True)
    ]


def token_differences(examples: Iterable[Example]) -> dict[str, Any]:
    """How many gold tokens the pipeline's tokenizer does not keep whole, and the commonest such runs of
    gold tokens with the predicted tokens they became."""
    n_gold = n_differing = 0
    patterns: Counter[tuple[str, str]] = Counter()
    for eg in examples:
        x2y, y2x = eg.alignment.x2y, eg.alignment.y2x
        gold, pred = eg.reference, eg.predicted
        n_gold += len(gold)
        one_to_one = [len(y2x[i]) == 1 and len(x2y[int(y2x[i][0])]) == 1 for i in range(len(gold))]
        n_differing += one_to_one.count(False)
        i = 0
        while i < len(gold):  # group a run of differing gold tokens with the predicted tokens they touch
            if one_to_one[i]:
                i += 1
                continue
            j = i
            while j < len(gold) and not one_to_one[j]:
                j += 1
            pred_ids = sorted({int(k) for t in range(i, j) for k in y2x[t]})
            pred_text = " | ".join(pred[k].text for k in pred_ids if not pred[k].is_space)
            patterns[(" | ".join(t.text for t in gold[i:j]), pred_text)] += 1
            i = j
    return {
        "gold_tokens": n_gold,
        "gold_tokens_split": n_differing,
        "commonest_differences": [
            {"gold": gold, "predicted": pred, "count": n}
            for (gold, pred), n in patterns.most_common(N_EXAMPLES)
        ],
    }


def raw_text_scores(
    nlp: Language, gold_docs: Sequence[Doc], batch_size: int = 32, layout: Layout = "lines"
) -> dict[str, Any]:
    """spaCy's ``ents_p`` / ``ents_r`` / ``ents_f`` / ``ents_per_type`` on raw text, plus what was read and
    the token differences (:func:`token_differences`)."""
    examples = raw_text_examples(nlp, gold_docs, batch_size, layout)
    scores = get_ner_prf(examples)
    return {
        **scores,
        "raw_text": {
            "docs": len(gold_docs),
            "layout": LAYOUTS[layout],
            "pipeline": list(nlp.pipe_names),
            "tokens": token_differences(examples),
        },
    }


def evaluate_raw(
    pipeline: str | Path, data: str | Path, *, batch_size: int = 32, gpu_id: int = -1, layout: str = "lines"
) -> dict[str, Any]:
    """``evaluate-raw``: load ``pipeline`` (on GPU ``gpu_id`` if >= 0) and score it on the gold articles of
    ``data`` as plain text laid out as ``layout`` (:func:`raw_text_scores`)."""
    from ..data.docbin import read_docbin
    from .pipeline import load_pipeline

    check_layout(layout, "--layout")  # before the pipeline loads
    nlp = load_pipeline(pipeline, gpu_id)
    return raw_text_scores(nlp, read_docbin(data, nlp.vocab), batch_size, layout)  # type: ignore[arg-type]
