"""The report's section on ``optimize``: which reading was shipped (the int8 copy or the float pipeline,
and why), and every reading it measured on dev: F1, words/s, and entities that differ from the float
pipeline's."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import DataError
from .markup import escaped, html_percent, read_named_json


def load_optimize_report(name: str, path: Path) -> dict[str, Any]:
    """An ``optimize.json`` (``--optimize NAME=PATH``), checked for the parts the section shows."""
    data = read_named_json("optimize", name, path, "pass the optimize.json from `optimize` (in OUTPUT)")
    if "shipped" not in data:
        raise DataError(f"--optimize {name}={path}: no 'shipped'; not an optimize.json written by `optimize`")
    return data


def shipped_sentence(report: Mapping[str, Any]) -> str:
    """What was shipped and why, in one sentence of plain text."""
    if report.get("reason"):
        return f"the float pipeline ({report['reason']})"
    if report["shipped"] == "int8":
        chosen = next(r for r in report["recipes"] if r["name"] == report["chosen"])
        return (
            f"int8 (recipe {chosen['name']}): dev F1 {100 * chosen['dev']['f']:.2f} against the float "
            f"pipeline's {100 * report['float_torch']['dev']['f']:.2f} ({-chosen['f1_drop']:+.2f}, gate "
            f"{report['max_f1_drop']:g}), {chosen['speedup']:.2f}x its words/s on dev"
        )
    gate = report["max_f1_drop"]
    accurate = [r for r in report.get("recipes", []) if r["f1_drop"] <= gate + 1e-9]
    if accurate and "min_speedup" in report:
        return (
            f"the float pipeline: no int8 recipe within {gate:g} points of its dev F1 read at least "
            f"{report['min_speedup']:g}x its words/s (best {max(r['speedup'] for r in accurate):.2f}x)"
        )
    return f"the float pipeline: no int8 recipe kept dev F1 within {gate:g} points"


def optimize_section(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """Per optimize.json: the shipped reading, and a table of the readings measured on dev."""
    parts = []
    for name, report in reports.items():
        host = report.get("host")
        measured = f" Measured on {host['cpu']} ({host['kind']})." if host else ""
        parts.append(
            f"<p><b>{escaped(name)}</b> ships {escaped(shipped_sentence(report))}.{escaped(measured)}</p>"
        )
        if "float_torch" not in report:
            continue
        base = report["float_torch"]
        rows = [("float32 torch (the float pipeline)", base, None)]
        rows.append(("float32 ONNX", report["float_onnx"], report["float_onnx"]))
        rows += [(f"int8 {r['name']}", r, r) for r in report["recipes"]]
        cells = []
        for label, reading, against in rows:
            shipped = against is not None and against.get("name") == report["chosen"]
            cells.append(
                [
                    escaped(label) + (" <b>(shipped)</b>" if shipped else ""),
                    html_percent(reading["dev"]["f"]),
                    "" if against is None else f"{-against['f1_drop']:+.2f}",
                    f"{reading['words_per_second']:,.0f}",
                    "" if against is None else f"{against['speedup']:.2f}",
                    "" if against is None else str(against["entities_differing"]),
                ]
            )
        body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in cells)
        parts.append(
            "<table><tr><th>reading</th><th>dev F1</th><th>vs float</th><th>words/s (dev)</th>"
            f"<th>x float</th><th>entities differing</th></tr>{body}</table>"
        )
    return "\n".join(parts)
