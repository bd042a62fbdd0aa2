"""Scored entities onto a Doc: ``doc.ents`` under per-label thresholds, and the scored span group beside them.

What ``bert_ner`` found is a list of ``(span, score)``. Entities go to ``doc.ents`` when they reach their
label's threshold; the span group ``doc.spans[key]`` keeps the entities written and those under their
threshold, each with its score in ``attrs["scores"]``, so nothing found is lost. With ``overwrite`` off,
existing entities (or spans under the key) stay and only what does not overlap them is added.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy
from spacy.tokens import Doc, Span, SpanGroup

Found = Sequence[tuple[Span, float]]  # entities and their scores


def write_entities(
    doc: Doc, found: Found, thresholds: Mapping[str, float], key: str, overwrite: bool
) -> None:
    """``doc.ents`` from the entities that reach their thresholds; the group: those written, and those under
    their threshold."""
    sure = [score >= thresholds.get(span.label_, 0.0) for span, score in found]
    written = _set_ents(doc, [span for (span, _), ok in zip(found, sure) if ok], overwrite)
    written_at = {(span.start, span.end) for span in written}
    kept = [(s, x) for (s, x), ok in zip(found, sure) if not ok or (s.start, s.end) in written_at]
    _set_group(doc, key, [s for s, _ in kept], [x for _, x in kept])


def write_span_group(doc: Doc, found: Found, key: str, overwrite: bool) -> None:
    """Only the span group: every entity found, after the group's old spans unless ``overwrite``."""
    spans, scores = [s for s, _ in found], [x for _, x in found]
    if overwrite or key not in doc.spans:
        _set_group(doc, key, spans, scores)
        return
    old = doc.spans[key]
    old_scores = old.attrs.get("scores")
    if old_scores is None or len(old_scores) != len(old):
        old_scores = [float("nan")] * len(old)  # scores unknown
    _set_group(doc, key, list(old) + spans, [float(x) for x in old_scores] + scores)


def _set_ents(doc: Doc, spans: list[Span], overwrite: bool) -> list[Span]:
    """Write entities to the doc (tokens outside them become O); return the spans written."""
    if overwrite or not doc.ents:
        doc.set_ents(spans, default="outside")
        return spans
    existing = list(doc.ents)
    taken = numpy.zeros(len(doc), dtype=bool)
    for ent in existing:
        taken[ent.start : ent.end] = True
    spans = [s for s in spans if not taken[s.start : s.end].any()]
    doc.set_ents(existing + spans, default="outside")
    return spans


def _set_group(doc: Doc, key: str, spans: list[Span], scores: list[float]) -> None:
    doc.spans[key] = SpanGroup(
        doc, name=key, spans=spans, attrs={"scores": numpy.asarray(scores, dtype=numpy.float32)}
    )
