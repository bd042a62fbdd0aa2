"""The report's examples: gold sentences where a pipeline differs from gold, a deterministic sample, each
rendered by displaCy on both sides with what was missed or added, every label in a colour of its own."""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

from spacy import displacy
from spacy.tokens import Doc

from .markup import escaped
from .parity import Unit, is_annotated, unit_differs, units_of

COLORS = {  # CoNLL's types keep the colours they have always had
    "PER": "#aa9cfc",
    "ORG": "#7aecec",
    "LOC": "#ff9561",
    "MISC": "#ffeb80",
}
PALETTE = (  # every other label, in sorted order; light enough for black text
    "#bfeeb7",
    "#feca74",
    "#ff8197",
    "#c887fb",
    "#9cc9cc",
    "#f0d0ff",
    "#e4e7d2",
    "#a6e1ff",
    "#d7f5a0",
    "#ffb3d9",
    "#c7c7ff",
    "#ffd1a6",
)


def label_colors(labels: Iterable[str]) -> dict[str, str]:
    """A colour per label, the same for the same labels: the four CoNLL types keep :data:`COLORS`, every
    other label takes the next :data:`PALETTE` colour in sorted order, and labels beyond the palette get
    evenly spaced hues. displaCy looks colours up by upper-cased label, so ``person`` and ``PERSON`` share
    one."""
    labels = sorted(set(labels))
    keys = sorted({label.upper() for label in labels})
    others = [key for key in keys if key not in COLORS]
    n_extra = max(0, len(others) - len(PALETTE))
    extra = [f"hsl({360 * i / max(n_extra, 1):.1f}, 70%, 80%)" for i in range(n_extra)]
    colors = {**COLORS, **dict(zip(others, [*PALETTE, *extra]))}
    return {label: colors[label.upper()] for label in labels}


def entity_labels(docs: Iterable[Doc]) -> set[str]:
    """Every entity label in ``docs``."""
    return {ent.label_ for doc in docs for ent in doc.ents}


@dataclass
class DiffExample:
    """A sentence where the prediction differs from gold: both renderings and what was missed or added."""

    unit: Unit
    gold_html: str
    predicted_html: str
    missed: list[str]
    spurious: list[str]


@dataclass
class ExampleSection:
    """The sampled differing sentences of one pipeline."""

    name: str
    path: Path
    n_sequences: int
    n_differing: int
    examples: list[DiffExample]


def render(doc: Doc, unit: Unit, colors: Mapping[str, str]) -> str:
    """displaCy's entity markup for the unit's tokens in ``colors`` (no page, no scripts)."""
    span_doc = doc[unit.start : unit.end].as_doc()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W006\]")  # a sentence without entities is fine
        options = {"colors": dict(colors)}
        return displacy.render(span_doc, style="ent", page=False, jupyter=False, options=options)


def _entities(doc: Doc, unit: Unit) -> dict[tuple[int, int, str], str]:
    return {
        (e.start, e.end, e.label_): f"{e.text} ({e.label_})"
        for e in doc.ents
        if unit.start <= e.start and e.end <= unit.end
    }


def differing_units(gold_docs: Sequence[Doc], predicted_docs: Sequence[Doc]) -> tuple[int, list[Unit]]:
    """How many sequences the annotated gold docs have, and those whose predicted entities differ."""
    total, differing = 0, list[Unit]()
    for i, (gold, doc) in enumerate(zip(gold_docs, predicted_docs)):
        if not is_annotated(gold, i):
            continue
        units, _, _ = units_of(gold, doc, i)
        total += len(units)
        differing.extend(u for u in units if unit_differs(gold, doc, u))
    return total, differing


def sample_units(units: Sequence[Unit], n: int, seed: int = 0) -> list[Unit]:
    """A deterministic sample of ``n`` units, in corpus order."""
    if len(units) <= n:
        return list(units)
    chosen = random.Random(seed).sample(range(len(units)), n)
    return [units[i] for i in sorted(chosen)]


def example_section(
    name: str,
    path: Path,
    gold_docs: Sequence[Doc],
    predicted_docs: Sequence[Doc],
    n_examples: int = 20,
    seed: int = 0,
    colors: Optional[Mapping[str, str]] = None,
) -> ExampleSection:
    """Sample the sentences where ``predicted_docs`` differ from gold and render both sides in ``colors``
    (by default :func:`label_colors` of the labels in both)."""
    if colors is None:
        colors = label_colors(entity_labels([*gold_docs, *predicted_docs]))
    total, differing = differing_units(gold_docs, predicted_docs)
    examples = []
    for unit in sample_units(differing, n_examples, seed):
        gold, doc = gold_docs[unit.doc], predicted_docs[unit.doc]
        gold_ents, pred_ents = _entities(gold, unit), _entities(doc, unit)
        examples.append(
            DiffExample(
                unit,
                render(gold, unit, colors),
                render(doc, unit, colors),
                missed=[text for key, text in gold_ents.items() if key not in pred_ents],
                spurious=[text for key, text in pred_ents.items() if key not in gold_ents],
            )
        )
    return ExampleSection(name, path, total, len(differing), examples)


def examples_section(section: ExampleSection) -> str:
    """The section's sampled sentences as HTML: gold and predicted side by side, with a note on each."""
    shown = len(section.examples)
    out = [
        f"<h3 id='examples-{escaped(section.name)}'>{escaped(section.name)} "
        f"<span class='note'>({escaped(section.path)})</span></h3>",
        f"<p class='note'>{section.n_differing} of {section.n_sequences} sentences differ from gold "
        "(sentences joined by an entity across their boundary count as one); "
        f"{'all' if shown == section.n_differing else f'a sample of {shown}'} shown, in corpus order.</p>",
    ]
    for ex in section.examples:
        notes = []
        if ex.missed:
            notes.append(f"<span class='missed'>missed: {escaped(', '.join(ex.missed))}</span>")
        if ex.spurious:
            notes.append(f"<span class='spurious'>spurious: {escaped(', '.join(ex.spurious))}</span>")
        where = f"doc {ex.unit.doc}, tokens {ex.unit.start}&ndash;{ex.unit.end}"
        if ex.unit.sentences > 1:
            where += f" ({ex.unit.sentences} sentences joined by an entity across their boundary)"
        out.append(
            f"<div class='pair' data-doc='{ex.unit.doc}' data-start='{ex.unit.start}'>"
            f"<div class='side'><div class='label'>gold</div>{ex.gold_html}</div>"
            f"<div class='side'><div class='label'>{escaped(section.name)}</div>{ex.predicted_html}</div>"
            f"<div class='where'>{where}. {' &middot; '.join(notes)}</div></div>"
        )
    return "\n".join(out)
