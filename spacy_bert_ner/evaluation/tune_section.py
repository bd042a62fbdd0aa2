"""The report's section on ``tune``: what it chose, default and tuned dev scores side by side, and a
reliability plot (score bins -> precision) before and after the temperature, as inline SVG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError
from .markup import DASH, escaped, html_percent, read_named_json

SIZE, MARGIN = 260, 34  # plot area and margin, px


def load_tune_report(name: str, path: Path) -> dict[str, Any]:
    """A ``tune.json`` (``--tune NAME=PATH``), checked for the parts the section shows."""
    data = read_named_json("tune", name, path, "pass the tune.json that `tune` wrote into OUTPUT")
    missing = [k for k in ("chosen", "dev_default", "dev_tuned", "calibration") if k not in data]
    if missing:
        raise DataError(f"--tune {name}={path}: no {', '.join(missing)}; not a tune.json written by `tune`")
    return data


def _xy(score: float, precision: float) -> tuple[float, float]:
    return MARGIN + score * SIZE, MARGIN + (1 - precision) * SIZE


def reliability_svg(series: Sequence[tuple[str, str, list[dict[str, Any]]]]) -> str:
    """A reliability plot: per series (name, colour, bins), each non-empty bin's mean score against its
    precision, dot area by entity count; the diagonal is perfect calibration."""
    width = SIZE + 2 * MARGIN
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{width + 24}' role='img' "
        "aria-label='reliability plot: mean entity score against precision per score bin'>",
        f"<rect x='{MARGIN}' y='{MARGIN}' width='{SIZE}' height='{SIZE}' fill='none' stroke='#bbb'/>",
        f"<line x1='{MARGIN}' y1='{MARGIN + SIZE}' x2='{MARGIN + SIZE}' y2='{MARGIN}' stroke='#bbb' "
        "stroke-dasharray='4 3'/>",
    ]
    for tick in (0, 0.5, 1):
        x, y = _xy(tick, tick)
        parts.append(
            f"<text x='{x}' y='{MARGIN + SIZE + 14}' font-size='10' text-anchor='middle'>{tick:g}</text>"
        )
        parts.append(f"<text x='{MARGIN - 6}' y='{y + 3}' font-size='10' text-anchor='end'>{tick:g}</text>")
    parts.append(
        f"<text x='{MARGIN + SIZE / 2}' y='{MARGIN + SIZE + 28}' font-size='11' text-anchor='middle'>"
        "mean score of the bin</text>"
    )
    parts.append(
        f"<text x='10' y='{MARGIN + SIZE / 2}' font-size='11' text-anchor='middle' "
        f"transform='rotate(-90 10 {MARGIN + SIZE / 2})'>precision</text>"
    )
    for i, (name, colour, bins) in enumerate(series):
        filled = [b for b in bins if b.get("n")]
        total = sum(b["n"] for b in filled) or 1
        points = [_xy(b["mean_score"], b["precision"]) for b in filled]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='1.5'/>")
        for b, (x, y) in zip(filled, points):
            radius = 2 + 8 * (b["n"] / total) ** 0.5
            parts.append(
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{radius:.1f}' fill='{colour}' fill-opacity='0.6'>"
                f"<title>{escaped(name)}: {b['n']} entities, mean score {b['mean_score']:.3f}, precision "
                f"{b['precision']:.3f}</title></circle>"
            )
        parts.append(
            f"<text x='{MARGIN + 6}' y='{MARGIN + 14 + 14 * i}' font-size='11' fill='{colour}'>"
            f"&#9679; {escaped(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


# What tune chooses after it has tried the readings: the chosen entry holds them, the tried entries do not.
FITTED_KEYS = ("temperature", "thresholds")


def frontier_svg(tried: Sequence[dict[str, Any]], chosen: dict[str, Any]) -> str:
    """F1 on dev (with its thresholds) against words/s for every reading tune tried: the frontier a user can
    choose from. Readings outside the budget are hollow; the chosen one is ringed."""
    points = [t for t in tried if t.get("words_per_second")]
    if not points:
        return ""
    width = SIZE + 2 * MARGIN
    speeds = [t["words_per_second"] for t in points]
    f1s = [t["scores_with_thresholds"]["f"] or 0.0 for t in points]
    top_speed = max(speeds) * 1.05
    low_f, high_f = min(f1s), max(f1s)
    pad = max((high_f - low_f) * 0.1, 0.005)
    low_f, high_f = low_f - pad, high_f + pad

    def xy(speed: float, f: float) -> tuple[float, float]:
        return MARGIN + speed / top_speed * SIZE, MARGIN + (high_f - f) / (high_f - low_f) * SIZE

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{width + 24}' role='img' "
        "aria-label='dev F1 against words per second for each reading tune tried'>",
        f"<rect x='{MARGIN}' y='{MARGIN}' width='{SIZE}' height='{SIZE}' fill='none' stroke='#bbb'/>",
        f"<text x='{MARGIN}' y='{MARGIN + SIZE + 14}' font-size='10'>0</text>",
        f"<text x='{MARGIN + SIZE}' y='{MARGIN + SIZE + 14}' font-size='10' text-anchor='end'>"
        f"{top_speed:,.0f}</text>",
        f"<text x='{MARGIN - 4}' y='{MARGIN + 3}' font-size='10' text-anchor='end'>{100 * high_f:.1f}</text>",
        f"<text x='{MARGIN - 4}' y='{MARGIN + SIZE}' font-size='10' text-anchor='end'>"
        f"{100 * low_f:.1f}</text>",
        f"<text x='{MARGIN + SIZE / 2}' y='{MARGIN + SIZE + 28}' font-size='11' text-anchor='middle'>"
        "words/s on dev</text>",
        f"<text x='10' y='{MARGIN + SIZE / 2}' font-size='11' text-anchor='middle' "
        f"transform='rotate(-90 10 {MARGIN + SIZE / 2})'>dev F1 (thresholds)</text>",
    ]
    picked = {k: v for k, v in chosen.items() if k not in FITTED_KEYS}  # the reading: input and aggregation
    for t, speed, f in zip(points, speeds, f1s):
        x, y = xy(speed, f)
        inside = t.get("within_budget", True)
        is_chosen = all(t.get(k) == v for k, v in picked.items())
        fill = "#1f6fb4" if inside else "none"
        title = (
            f"{t['input']}, {t['aggregation']}: F1 {100 * f:.2f}, {speed:,.0f} words/s, "
            f"{t.get('time_ratio', 0):.2f}x context 0"
            + ("" if inside else " (outside the budget)")
            + (" (chosen)" if is_chosen else "")
        )
        parts.append(
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4' fill='{fill}' stroke='#1f6fb4'>"
            f"<title>{escaped(title)}</title></circle>"
        )
        if is_chosen:
            parts.append(
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='8' fill='none' stroke='#d62728' stroke-width='2'/>"
            )
    parts.append("</svg>")
    return "".join(parts)


def tune_section(reports: dict[str, dict[str, Any]]) -> str:
    """Per tune.json: the settings chosen, dev scores before and after per type, and the reliability plot."""
    out = [
        "<p><code>tune</code> chose the inference settings, temperature and thresholds on dev (one forward "
        "pass per input setting); test is not used to choose. The test scores of the default and tuned "
        "pipelines are in the score table above when both were evaluated.</p>"
    ]
    for name, report in reports.items():
        e = escaped
        chosen = report["chosen"]
        objective = report.get("objective", {}).get("description", "best F1")
        default, tuned = report["dev_default"], report["dev_tuned"]
        rows = []
        for label in sorted(set(default["per_type"]) | set(tuned["per_type"])):
            d, t = default["per_type"].get(label, {}), tuned["per_type"].get(label, {})
            threshold = chosen.get("thresholds", {}).get(label)
            rows.append(
                f"<tr><td>{e(label)}</td>"
                f"{''.join(f'<td class=num>{html_percent(s.get(k))}</td>' for s in (d, t) for k in 'prf')}"
                f"<td class=num>{DASH if threshold is None else f'{threshold:.3f}'}</td></tr>"
            )
        rows.append(
            "<tr class='all'><td>ALL</td>"
            + "".join(f"<td class=num>{html_percent(s.get(k))}</td>" for s in (default, tuned) for k in "prf")
            + "<td></td></tr>"
        )
        calibration = report["calibration"]
        budget = report.get("budget", {}).get("description")
        cost = report.get("chosen_cost") or {}
        speed = (
            f" It reads {cost['words_per_second']:,.0f} words/s on dev, {cost['time_ratio']:.2f}x the time "
            "of context 0 one sentence per input."
            if cost
            else ""
        )
        settings = ", ".join(f"{e(k)} = {e(json.dumps(v))}" for k, v in chosen.items() if k != "thresholds")
        out += [
            f"<h3 id='tune-{e(name)}'>{e(name)}</h3>",
            f"<p>Objective: {e(objective)}. Chosen: {settings}. "
            f"{len(report.get('tried', []))} settings tried in {report.get('seconds', 0):.0f} s; "
            f"speed budget: {e(budget or 'none recorded')}.{speed}</p>",
            "<table class='scores'><tr><th rowspan='2'>type</th><th colspan='3'>dev, default</th>"
            "<th colspan='3'>dev, tuned</th><th rowspan='2'>threshold</th></tr>"
            "<tr><th>P</th><th>R</th><th>F</th><th>P</th><th>R</th><th>F</th></tr>",
            *rows,
            "</table>",
            "<p>Expected calibration error of entity scores on dev (10 bins): "
            f"{calibration['ece_before']:.4f} at temperature 1, "
            f"{calibration['ece_after']:.4f} at temperature {calibration['temperature']:g}.</p>",
            reliability_svg(
                [
                    ("temperature 1", "#999999", calibration["reliability_before"]),
                    (
                        f"temperature {calibration['temperature']:g}",
                        "#1f6fb4",
                        calibration["reliability_after"],
                    ),
                ]
            ),
            "<p>Every reading tried: dev F1 with its thresholds against words/s (filled: within the budget; "
            "ringed: chosen). Hover a point for the reading.</p>",
            frontier_svg(report.get("tried", []), chosen),
        ]
    return "\n".join(out)
