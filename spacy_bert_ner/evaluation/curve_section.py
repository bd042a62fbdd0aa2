"""The report's section on ``train-curve``: dev entity F1 against the training sentences it was trained on,
as an inline SVG line per curve, each share's figures in a table, and the curve's reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import DataError
from .markup import escaped, html_percent, read_named_json

WIDTH, HEIGHT, MARGIN = 360, 220, 40  # plot area and margin, px
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def load_curve_report(name: str, path: Path) -> dict[str, Any]:
    """A ``curve.json`` (``--curve NAME=PATH``), checked for the parts the section shows."""
    data = read_named_json("curve", name, path, "pass the curve.json `train-curve` wrote")
    if not data.get("points") or "reading" not in data:
        raise DataError(f"--curve {name}={path}: no points; not a curve.json written by `train-curve`")
    return data


def curve_svg(curves: Mapping[str, dict[str, Any]]) -> str:
    """Dev F1 (0-100) against training sentences, one line with dots per curve, axes from 0."""
    most = max(p["sentences"] for curve in curves.values() for p in curve["points"])
    top = max(100 * p["dev_f"] for curve in curves.values() for p in curve["points"])
    top = max(10.0, 10 * (int(top // 10) + 1))

    def xy(sentences: float, f: float) -> tuple[float, float]:
        return MARGIN + WIDTH * sentences / most, MARGIN + HEIGHT * (1 - f / top)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH + 2 * MARGIN}' "
        f"height='{HEIGHT + 2 * MARGIN + 8}' role='img' "
        "aria-label='learning curve: dev entity F1 against training sentences'>",
        f"<rect x='{MARGIN}' y='{MARGIN}' width='{WIDTH}' height='{HEIGHT}' fill='none' stroke='#bbb'/>",
    ]
    for fraction in (0, 0.5, 1):
        x, y = xy(fraction * most, fraction * top)
        parts.append(
            f"<text x='{x:.1f}' y='{MARGIN + HEIGHT + 14}' font-size='10' text-anchor='middle'>"
            f"{fraction * most:,.0f}</text>"
        )
        parts.append(
            f"<text x='{MARGIN - 6}' y='{y + 3:.1f}' font-size='10' text-anchor='end'>"
            f"{fraction * top:.0f}</text>"
        )
    parts.append(
        f"<text x='{MARGIN + WIDTH / 2}' y='{MARGIN + HEIGHT + 30}' font-size='11' text-anchor='middle'>"
        "training sentences</text>"
    )
    parts.append(
        f"<text x='12' y='{MARGIN + HEIGHT / 2}' font-size='11' text-anchor='middle' "
        f"transform='rotate(-90 12 {MARGIN + HEIGHT / 2})'>dev entity F1</text>"
    )
    for (name, curve), colour in zip(curves.items(), COLOURS * len(curves)):
        points = [xy(p["sentences"], 100 * p["dev_f"]) for p in curve["points"]]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>")
        for (x, y), p in zip(points, curve["points"]):
            parts.append(
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4' fill='{colour}'><title>{escaped(name)}: "
                f"{p['sentences']:,} sentences, dev F1 {100 * p['dev_f']:.2f}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def curve_section(curves: Mapping[str, dict[str, Any]]) -> str:
    """The plot, then per curve its reading and a table of its shares."""
    parts = [
        "<p>Each share of the training set trained with the same config and budget rule; dev entity F1 of "
        "its best checkpoint (word-level seqeval, gold tokens).</p>",
        curve_svg(curves),
    ]
    for name, curve in curves.items():
        rows = "".join(
            f"<tr><td>{100 * p['fraction']:.0f}%</td><td>{p['sentences']:,}</td>"
            f"<td>{html_percent(p['dev_f'])}</td><td>{p['steps_taken']:,}</td>"
            f"<td>{p['train_seconds'] / 60:.1f}</td><td>{'yes' if p['learned'] else 'no'}</td></tr>"
            for p in curve["points"]
        )
        host = curve.get("host")  # curve.json files written before hosts were recorded have none
        on = f"<p>Minutes measured on {escaped(host['cpu'])} ({escaped(host['kind'])}).</p>" if host else ""
        parts.append(
            f"<h3>{escaped(name)}</h3><p><b>{escaped(curve['reading'])}</b></p>"
            "<table><tr><th>share</th><th>sentences</th><th>dev F1</th><th>steps</th><th>minutes</th>"
            f"<th>learned</th></tr>{rows}</table>{on}"
        )
    return "\n".join(parts)
