"""One self-contained HTML page per evaluation run: scores per type side by side, the parity verdicts,
subword- vs word-level F1, and displaCy renderings of gold sentences where a pipeline differs from gold
(:mod:`.report_examples`), each label in a colour of its own.

Inputs are metrics JSON files (``parity --output``, ``spacy evaluate --output``, or train-hf's
metrics.json), ``tune.json`` files (what tune chose, and a reliability plot) and, for the renderings,
saved pipelines run over a gold ``.spacy`` file. The page has no scripts and loads nothing: styles are
inline, so it opens anywhere and can be attached to an issue.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..errors import ConfigError, ConfigWarning, DataError
from ..scores import FIGURES, Scores, from_spacy
from .curve_section import curve_section, load_curve_report
from .markup import DASH, escaped, html_percent, read_named_json
from .optimize_section import load_optimize_report, optimize_section
from .parity import aligned_lines, load_and_predict
from .report_examples import ExampleSection, entity_labels, example_section, examples_section, label_colors
from .tune_section import load_tune_report, tune_section

SUBWORD_VS_WORD = """\
The Hugging Face course's <code>compute_metrics</code> runs seqeval over <em>subword</em> label sequences:
every position whose label is not -100. With the course's alignment (<code>all_subwords</code>) every
piece of a word is labelled (a <code>B-X</code> word's later pieces get <code>I-X</code>), so an entity is
a run of subwords. Word-level F1 (conlleval, <code>spacy evaluate</code>'s <code>ents_f</code>, the tables
above) scores one label per word; the <code>bert_ner</code> component reads each word's label from its
first subword. The two differ because (1) a wrong label on a later piece
(<code>Zw ##ing ##mann</code> &rarr; <code>B-PER I-PER O</code>) makes the subword-level entity wrong, one
false positive and one false negative, while the word-level entity is right; (2) a later piece predicted
<code>B-X</code> or another type splits an entity or adds one that the word level never sees; (3) words
cut off beyond the model's maximum length drop out of the subword sequences but count as missed at the
word level. Gold entities are the same at both levels, predicted ones are not, so the two F1 figures are
not interchangeable: only word-level F1 compares with published results that score words (conlleval,
seqeval) and with <code>spacy evaluate</code>. With <code>first_subword</code> alignment the course
metric sees one position per word and equals word-level F1 up to truncation."""

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1220px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
.meta, .note { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; background: #eef8ee; }
tr.all td { border-top: 2px solid #888; font-weight: bold; }
.agree { color: #17823b; font-weight: bold; }
.mismatch { color: #c0392b; font-weight: bold; }
.unchecked { color: #777; }
pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1em; border-top: 1px solid #eee;
        padding: 0.4em 0; }
.pair .side { min-width: 0; }
.pair .label { font-size: 0.75em; text-transform: uppercase; color: #777; letter-spacing: 0.05em; }
.pair .entities { line-height: 2.3 !important; overflow-wrap: anywhere; }
.pair mark.entity { white-space: nowrap; }
.where { grid-column: 1 / span 2; font-size: 0.8em; color: #666; }
.missed { color: #c0392b; }
.spurious { color: #b9770e; }
"""


@dataclass
class MetricsEntry:
    """One metrics JSON, read into the shape of :mod:`~spacy_bert_ner.scores`."""

    name: str
    path: Path
    kind: str
    scores: Scores  # the figures the score table shows
    parity: Optional[dict[str, Any]] = None  # the parity verdict block, for files from the parity step
    seqeval: Optional[Scores] = None  # seqeval's default mode, where the file has it
    strict: Optional[Scores] = None  # seqeval's strict IOB2 mode, where the file has it
    subword: Optional[Scores] = None  # the course's subword-level metric (train-hf)
    raw_text: Optional[dict[str, Any]] = None  # what evaluate-raw read, and the token differences

    @property
    def overall(self) -> dict[str, Optional[float]]:
        return {key: self.scores[key] for key in FIGURES}

    @property
    def per_type(self) -> dict[str, dict[str, Optional[float]]]:
        return self.scores["per_type"]

    @property
    def support(self) -> dict[str, int]:
        """Gold entities per type, where the file counts them (spaCy's figures do not)."""
        per_type = (self.seqeval or self.scores)["per_type"]
        return {type_: s["support"] for type_, s in per_type.items() if "support" in s}


def parse_named(values: Sequence[str], option: str) -> dict[str, Path]:
    """``["hf=a.json", ...]`` -> ``{"hf": Path("a.json")}``; names must be unique and non-empty."""
    named: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"{option} {value!r}: expected NAME=PATH, e.g. {option} hf=metrics/hf.json")
        if name in named:
            raise ConfigError(f"{option}: the name {name!r} is given twice")
        named[name] = Path(path)
    return named


# -- metrics files ------------------------------------------------------------------------------------------


def load_metrics(name: str, path: str | Path) -> MetricsEntry:
    """Read ``parity --output``, ``spacy evaluate --output``, ``evaluate-raw --output`` or train-hf's
    metrics.json."""
    path = Path(path)
    data = read_named_json("metrics", name, path)
    if isinstance(data, dict) and "ents_f" in data:  # spaCy's figures; the parity step adds seqeval's
        if isinstance(data.get("raw_text"), dict):  # evaluate-raw: the same figures, on plain text
            kind = "raw text: own tokenizer and sentences"
            return MetricsEntry(name, path, kind, from_spacy(data), raw_text=data["raw_text"])
        entry = MetricsEntry(name, path, "spacy evaluate", from_spacy(data))
        if isinstance(data.get("parity"), dict) and "seqeval" in data:
            entry.kind = "parity"
            entry.parity = data["parity"]
            entry.seqeval, entry.strict = data["seqeval"], data.get("seqeval_strict")
        return entry
    for split in ("test", "dev"):
        scores = data.get(split) if isinstance(data, dict) else None
        if isinstance(scores, dict) and isinstance(scores.get("word_seqeval"), dict):
            word = scores["word_seqeval"]
            kind = f"train-hf ({split}, word-level seqeval)"
            return MetricsEntry(name, path, kind, word, seqeval=word, subword=scores.get("subword_seqeval"))
    keys = sorted(data)[:12] if isinstance(data, dict) else type(data).__name__
    raise DataError(
        f"--metrics {name}={path}: not a metrics file this report reads (found {keys}); pass the JSON of "
        "`python -m spacy_bert_ner parity --output`, `spacy evaluate --output`, "
        "`evaluate-raw --output` or train-hf's metrics.json"
    )


# -- HTML ---------------------------------------------------------------------------------------------------


def scores_table(entries: Sequence[MetricsEntry]) -> str:
    """Types down, one P/R/F column group per metrics file; the best F of each row in bold."""
    types = sorted({t for entry in entries for t in entry.per_type})
    head = "".join(f'<th colspan="3">{escaped(entry.name)}</th>' for entry in entries)
    sub = "<th>P</th><th>R</th><th>F</th>" * len(entries)
    lines = [
        "<table class='scores'>",
        f"<tr><th rowspan='2'>type</th><th rowspan='2'>gold</th>{head}</tr>",
        f"<tr>{sub}</tr>",
    ]
    rows = [(t, {e.name: e.per_type.get(t) for e in entries}) for t in types]
    rows.append(("ALL", {e.name: e.overall for e in entries}))
    for type_, by_name in rows:
        support = next((e.support.get(type_) for e in entries if type_ in e.support), None)
        if type_ == "ALL":
            supports = [sum(e.support.values()) for e in entries if e.support]
            support = supports[0] if supports else None
        fs = [f for s in by_name.values() if s and (f := s.get("f")) is not None]
        best = max(fs) if len(fs) > 1 else None
        cells = []
        for entry in entries:
            scores = by_name[entry.name] or {}
            for key in "prf":
                value = scores.get(key)
                bold = key == "f" and best is not None and value == best
                cells.append(f"<td class='num{' best' if bold else ''}'>{html_percent(value)}</td>")
        css = " class='all'" if type_ == "ALL" else ""
        gold = DASH if support is None else str(support)
        lines.append(
            f"<tr{css} data-type='{escaped(type_)}'><td>{escaped(type_)}</td><td class='num'>{gold}</td>"
            f"{''.join(cells)}</tr>"
        )
    lines.append("</table>")
    sources = "; ".join(f"<b>{escaped(e.name)}</b>: {escaped(e.path)} ({escaped(e.kind)})" for e in entries)
    lines.append(f"<p class='note'>P, R, F in %. Sources: {sources}.</p>")
    return "\n".join(lines)


def parity_table(entries: Sequence[MetricsEntry]) -> str:
    """One row per metrics file: the verdict, spaCy / seqeval / strict F1, crossings, first difference."""
    lines = [
        "<table class='parity'>",
        "<tr><th>name</th><th>verdict</th><th>spaCy F</th><th>seqeval F</th><th>strict F</th>"
        "<th>sentences / sequences</th><th>crossing entities (gold / predicted)</th></tr>",
    ]
    details = []
    for entry in entries:
        if entry.parity is None:
            verdict = "<span class='unchecked'>not checked</span>"
            counts = crossing = DASH
        else:
            parity = entry.parity
            ok = parity.get("verdict") == "agree"
            tol = parity.get("tolerance")
            verdict = (
                f"<span class='agree'>&#10004; agree (to {tol:g})</span>"
                if ok
                else "<span class='mismatch'>&#10008; mismatch</span>"
            )
            counts = f"{parity.get('sentences', '?')} / {parity.get('sequences', '?')}"
            c = parity.get("crossing_entities") or {}
            crossing = f"{c.get('gold', '?')} / {c.get('predicted', '?')}"
            if not ok:
                details.append(_mismatch_details(entry))
        lines.append(
            f"<tr data-name='{escaped(entry.name)}'><td>{escaped(entry.name)}</td><td>{verdict}</td>"
            f"<td class='num'>{html_percent(entry.overall.get('f'))}</td>"
            f"<td class='num'>{html_percent(entry.seqeval['f'] if entry.seqeval else None)}</td>"
            f"<td class='num'>{html_percent(entry.strict['f'] if entry.strict else None)}</td>"
            f"<td class='num'>{counts}</td>"
            f"<td class='num'>{crossing}</td></tr>"
        )
    lines.append("</table>")
    lines.append(
        "<p class='note'>spaCy's NER scorer and seqeval's default (conlleval) mode scored the same "
        "predictions (<code>python -m spacy_bert_ner parity</code>); strict is seqeval's "
        "<code>mode='strict'</code>, IOB2. "
        "Sentences joined by an entity that crosses their boundary are scored as one sequence. "
        "<em>not checked</em>: the file does not come from the parity step.</p>"
    )
    return "\n".join(lines + details)


def _mismatch_details(entry: MetricsEntry) -> str:
    parity = entry.parity or {}
    items = "".join(f"<li>{escaped(d)}</li>" for d in parity.get("differences", []))
    out = f"<h3 class='mismatch'>{escaped(entry.name)}: spaCy and seqeval disagree</h3><ul>{items}</ul>"
    first = parity.get("first_difference")
    if first:
        text = "\n".join(aligned_lines(first["words"], first["gold"], first["predicted"]))
        out += f"<p>First differing sentence (doc {first['doc']}):</p><pre>{escaped(text)}</pre>"
    return out


def subword_section(entries: Sequence[MetricsEntry]) -> str:
    out = [f"<p>{SUBWORD_VS_WORD}</p>"]
    figures = [e for e in entries if e.subword]
    if figures:
        items = "".join(
            f"<li><b>{escaped(e.name)}</b>: word-level F1 {html_percent(e.overall.get('f'))}, "
            f"subword-level (course) F1 {html_percent(e.subword['f'] if e.subword else None)}</li>"
            for e in figures
        )
        out.append(f"<ul>{items}</ul>")
    return "\n".join(out)


def raw_text_section(entries: Sequence[MetricsEntry]) -> str:
    """What users get: each raw-text entry's F1, the texts it read, and the gold tokens its pipeline's
    tokenizer does not keep."""
    out = [
        "<p>The figures from <code>spacy evaluate</code> and <code>parity</code> are on the gold data's own "
        "tokens (and sentences, for a pipeline without a sentence splitter). The raw-text figures come from "
        "<code>evaluate-raw</code>: every gold document as plain text (its own text where the data has it, "
        "else its tokens rebuilt as text), read by the pipeline's own tokenizer and sentence splitter. That "
        "is what users get.</p>"
    ]
    out += [
        raw_text_line(entry.name, entry.overall.get("f"), entry.raw_text)
        for entry in entries
        if entry.raw_text
    ]
    return "\n".join(out)


def texts_read(raw_text: Mapping[str, Any]) -> str:
    """How many documents were read as their own text and how many rebuilt (files from before the
    ``--text`` setting rebuilt all)."""
    sources = raw_text.get("text_sources") or {"doc_text": 0, "rebuilt": raw_text.get("docs", "?")}
    layout = raw_text.get("layout")
    return (
        f"documents read as their own text: {sources['doc_text']} of {raw_text.get('docs', '?')}; "
        f"rebuilt from tokens: {sources['rebuilt']}" + (f" ({escaped(layout)})" if layout else "")
    )


def raw_text_line(name: str, f: Optional[float], raw_text: Mapping[str, Any]) -> str:
    """One raw-text entry: F1, the texts read, the gold tokens split (and merged), the commonest
    differences."""
    tokens = raw_text.get("tokens", {})
    commonest = ", ".join(
        f"{escaped(d['gold'])} &rarr; {escaped(d['predicted'])} ({d['count']})"
        for d in tokens.get("commonest_differences", [])[:10]
    )
    merged = tokens.get("gold_tokens_merged")
    merged_text = f", {merged} share a predicted token with another gold token" if merged else ""
    return (
        f"<p><b>{escaped(name)}</b>: F1 {html_percent(f)} on raw text; {texts_read(raw_text)}. "
        f"{tokens.get('gold_tokens_split', '?')} of {tokens.get('gold_tokens', '?')} gold tokens "
        f"split by its tokenizer{merged_text}. Commonest: {commonest or 'none'}.</p>"
    )


def build_report(
    entries: Sequence[MetricsEntry],
    sections: Sequence[ExampleSection],
    data: Optional[Path] = None,
    title: str = "NER evaluation report",
    tune_reports: Optional[Mapping[str, dict[str, Any]]] = None,
    optimize_reports: Optional[Mapping[str, dict[str, Any]]] = None,
    curve_reports: Optional[Mapping[str, dict[str, Any]]] = None,
) -> str:
    """The whole page as a string."""
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escaped(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escaped(title)}</h1>",
    ]
    if data is not None:
        parts.append(f"<p class='meta'>Gold data: {escaped(data)}</p>")
    if entries:
        parts += ["<h2 id='scores'>Scores per entity type</h2>", scores_table(entries)]
        parts += ["<h2 id='parity'>seqeval parity</h2>", parity_table(entries)]
    if any(entry.raw_text for entry in entries):
        parts += ["<h2 id='raw-text'>Raw text vs gold tokens</h2>", raw_text_section(entries)]
    if tune_reports:
        parts += [
            "<h2 id='tune'>Tuned inference settings and calibration</h2>",
            tune_section(dict(tune_reports)),
        ]
    if optimize_reports:
        parts += ["<h2 id='optimize'>Shipped reading: int8 or float</h2>", optimize_section(optimize_reports)]
    if curve_reports:
        parts += ["<h2 id='curve'>How much data is enough: learning curve</h2>", curve_section(curve_reports)]
    if entries:  # a page of tune, optimize or curve files alone has no scores to set side by side
        parts += ["<h2 id='subword'>Subword-level (course) vs word-level F1</h2>", subword_section(entries)]
    if sections:
        parts.append("<h2 id='examples'>Where predictions differ from gold</h2>")
        parts += [examples_section(section) for section in sections]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    output: str | Path,
    metrics: Mapping[str, Path],
    pipelines: Mapping[str, Path],
    *,
    data: Optional[Path] = None,
    n_examples: int = 20,
    seed: int = 0,
    batch_size: int = 64,
    gpu_id: int = -1,
    title: str = "NER evaluation report",
    tune: Optional[Mapping[str, Path]] = None,
    optimize: Optional[Mapping[str, Path]] = None,
    curve: Optional[Mapping[str, Path]] = None,
) -> Path:
    """Read the metrics (and tune.json files), run each pipeline over ``data``, and write the page to
    ``output``."""
    if not metrics and not pipelines and not tune and not curve:
        raise ConfigError(
            "nothing to report: pass --metrics NAME=metrics.json, --pipeline NAME=PATH, "
            "--tune NAME=tune.json and/or --curve NAME=curve.json"
        )
    tune_reports = {name: load_tune_report(name, path) for name, path in (tune or {}).items()}
    optimize_reports = {name: load_optimize_report(name, path) for name, path in (optimize or {}).items()}
    curve_reports = {name: load_curve_report(name, path) for name, path in (curve or {}).items()}
    if pipelines and data is None:
        raise ConfigError("--pipeline needs --data: the gold .spacy file to run the pipelines over")
    if data is not None and not pipelines:
        warnings.warn("--data is only used with --pipeline: no sentences will be shown", ConfigWarning)
    entries = [load_metrics(name, path) for name, path in metrics.items()]
    runs = {}
    if data is not None:
        runs = {name: load_and_predict(path, data, batch_size, gpu_id) for name, path in pipelines.items()}
    colors = label_colors(entity_labels(doc for docs in runs.values() for side in docs for doc in side))
    sections = [
        example_section(name, pipelines[name], gold, predicted, n_examples, seed, colors)
        for name, (gold, predicted) in runs.items()
    ]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        build_report(entries, sections, data, title, tune_reports, optimize_reports, curve_reports),
        encoding="utf-8",
    )
    return output
