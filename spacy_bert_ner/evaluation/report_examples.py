"""The report's examples: test sentences where a pipeline differs from gold, a deterministic sample, each
rendered by displaCy on both sides with what was missed or added."""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from spacy import displacy
from spacy.tokens import Doc

from .markup import escaped
from .parity import Unit, is_annotated, unit_differs, units_of

COLORS = {  # CoNLL types; displaCy's defaults only cover OntoNotes names (PERSON, GPE, ...)
    "PER": "#aa9cfc",
    "ORG": "#7aecec",
    "LOC": "#ff9561",
    "MISC": "#ffeb80",
}


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


def render(doc: Doc, unit: Unit) -> str:
    """displaCy's entity markup for the unit's tokens (no page, no scripts)."""
    span_doc = doc[unit.start : unit.end].as_doc()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W006\]")  # a sentence without entities is fine
        return displacy.render(span_doc, style="ent", page=False, jupyter=False, options={"colors": COLORS})


def _entities(doc: Doc, unit: Unit) -> dict[tuple[int, int, str], str]:
    return {
        (e.start, e.end, e.label_): f"{e.text} ({e.label_})"
        for e in doc.ents
        if unit.start <= e.start and e.end <= unit.end
    }


def differing_units(gold_docs: Sequence[Doc], predicted_docs: Sequence[Doc]) -> tuple[int, list[Unit]]:
    """How many sequences the annotated gold docs have, and those whose predicted entities differ."""
    total, differing = 0, []
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
) -> ExampleSection:
    """Sample the sentences where ``predicted_docs`` differ from gold and render both sides."""
    total, differing = differing_units(gold_docs, predicted_docs)
    examples = []
    for unit in sample_units(differing, n_examples, seed):
        gold, doc = gold_docs[unit.doc], predicted_docs[unit.doc]
        gold_ents, pred_ents = _entities(gold, unit), _entities(doc, unit)
        examples.append(
            DiffExample(
                unit,
                render(gold, unit),
                render(doc, unit),
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
