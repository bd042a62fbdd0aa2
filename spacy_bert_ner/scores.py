"""Entity scores: the one seqeval wrapper and the one JSON shape (the HF course's subword-level metric, built
on them, is :mod:`spacy_bert_ner.hf.finetune.course_metric`).

seqeval only (no spaCy, no torch), so the train-hf recipe, the parity check, tune and the report all
use it. The shape is spaCy's own keys::

    {"p": 0.91, "r": 0.90, "f": 0.905, "per_type": {"PER": {"p": ..., "r": ..., "f": ..., "support": 1842}}}

plus ``"accuracy"`` (tag accuracy) where it was asked for. Undefined ratios are 0 (precision with no
predicted entity, recall with no gold one); with no entity in either input every figure is None and
``per_type`` is empty, as spaCy's scorer reports it. :func:`from_spacy` reads spaCy's ``ents_*`` figures
(``spacy evaluate --output``) into the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional, Sequence

from seqeval.metrics import accuracy_score
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.metrics.sequence_labeling import precision_recall_fscore_support as default_prfs
from seqeval.metrics.v1 import precision_recall_fscore_support as strict_prfs
from seqeval.metrics.v1 import unique_labels
from seqeval.scheme import IOB2

from .errors import ConfigError

Mode = Literal["default", "strict"]
Scores = dict[str, Any]  # the shape above
FIGURES = ("p", "r", "f")


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts, as spaCy's scorer gives them (an undefined ratio is 0)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class CountedScores:
    """Micro-averaged P/R/F (0-1) and the same per label, from true/false positive and false negative counts
    per label, as spaCy's NER scorer counts them; :meth:`as_dict` is the shape above."""

    p: float
    r: float
    f: float
    per_type: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> tp, fp, fn

    @classmethod
    def from_counts(cls, counts: Mapping[str, Mapping[str, int]]) -> "CountedScores":
        total = (sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn"))
        per_type = {label: dict(zip(FIGURES, prf(c["tp"], c["fp"], c["fn"]))) for label, c in counts.items()}
        return cls(*prf(*total), per_type, {label: dict(c) for label, c in counts.items()})

    def as_dict(self) -> Scores:
        return {"p": self.p, "r": self.r, "f": self.f, "per_type": self.per_type}


def percent(value: Optional[float], missing: str = "-") -> str:
    """A figure (0-1) as a percentage with two decimals, as every table here prints it; ``missing`` if
    undefined."""
    return missing if value is None else f"{value * 100:.2f}"


def seqeval_scores(
    true: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    mode: Mode = "default",
    accuracy: bool = False,
) -> Scores:
    """seqeval's micro P/R/F and per-type P/R/F/support of tag sequences, in the shape above.

    ``mode="default"`` is conlleval's rule (:func:`spacy_bert_ner.bio.tags_to_spans`, what the HF course
    reports); ``"strict"`` is ``mode="strict", scheme=IOB2``: only ``B-X I-X*`` chunks count.
    ``accuracy`` adds the share of tags predicted right (None when there are no tags).
    """
    true = [list(tags) for tags in true]  # seqeval needs lists of lists (a tuple is taken for a tag)
    predicted = [list(tags) for tags in predicted]
    if mode == "default":
        types = sorted({t for t, _, _ in get_entities(true)} | {t for t, _, _ in get_entities(predicted)})
        prfs: Any = default_prfs
        kwargs: dict[str, Any] = {}
    elif mode == "strict":
        types = unique_labels(true, predicted, IOB2) if true else []
        prfs, kwargs = strict_prfs, {"scheme": IOB2}
    else:
        raise ConfigError(f"mode must be 'default' or 'strict', got {mode!r}")
    scores: Scores = {"p": None, "r": None, "f": None, "per_type": {}}
    if types:
        p, r, f, support = prfs(true, predicted, average=None, zero_division=0, **kwargs)
        micro = prfs(true, predicted, average="micro", zero_division=0, **kwargs)
        scores = {
            "p": float(micro[0]),
            "r": float(micro[1]),
            "f": float(micro[2]),
            "per_type": {
                type_: {"p": float(p[i]), "r": float(r[i]), "f": float(f[i]), "support": int(support[i])}
                for i, type_ in enumerate(types)
            },
        }
    if accuracy:
        has_tags = any(len(tags) for tags in true)
        scores["accuracy"] = float(accuracy_score(true, predicted)) if has_tags else None
    return scores


def from_spacy(figures: Mapping[str, Any]) -> Scores:
    """spaCy's NER figures (``ents_p``, ``ents_r``, ``ents_f``, ``ents_per_type``) in the shape above
    (spaCy gives no per-type support)."""
    per_type = figures.get("ents_per_type") or {}
    return {
        **{key: figures.get(f"ents_{key}") for key in FIGURES},
        "per_type": {type_: {key: per_type[type_][key] for key in FIGURES} for type_ in sorted(per_type)},
    }
