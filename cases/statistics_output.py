"""A published statistics table as CSV (for donors and the national committee) and as a
server-drawn SVG bar chart (for the console's coordinator pages). Pure: table in, text out.

Only the published table goes in, so nothing suppressed can come out. Labels are escaped for
each format: a label is recorded text, and must not become markup in an SVG or a formula in
a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from html import escape

from cases.statistics_tables import Table

SUPPRESSED = ""
# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell_text(label: str) -> str:
    return "'" + label if label.startswith(_FORMULA_START) else label


def _number(value: int | None) -> str:
    return SUPPRESSED if value is None else str(value)


def to_csv(table: Table) -> str:
    """Header: the row dimension, each column label, TOTAL. Then one line per row and a
    TOTAL line. A suppressed number is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    p = table.published
    writer.writerow([table.rows.value, *(_cell_text(c) for c in table.column_labels), "TOTAL"])
    for i, label in enumerate(table.row_labels):
        writer.writerow(
            [_cell_text(label), *(_number(v) for v in p.cells[i]), _number(p.row_totals[i])]
        )
    writer.writerow(["TOTAL", *(_number(v) for v in p.column_totals), _number(p.total)])
    return out.getvalue()


_BAR = 18
_GAP = 10
_LABEL_WIDTH = 180
_PLOT_WIDTH = 420
_COLOURS = ("#1f6f8b", "#e39b2d", "#6a9a3a", "#9b4f96", "#c0392b", "#7f8c8d")


def to_svg(table: Table) -> str:
    """A horizontal bar chart: one group per row, one bar per column. A suppressed value is
    an empty outlined bar marked "suppressed", never a guess at its size."""
    p = table.published
    columns = len(table.column_labels)
    values = [v for row in p.cells for v in row if v is not None]
    top = max(values, default=0) or 1
    group = columns * _BAR + _GAP
    legend = 20 * columns if columns > 1 else 0
    height = 40 + len(table.row_labels) * group + legend + 20
    width = _LABEL_WIDTH + _PLOT_WIDTH + 90
    title = f"{table.measure.value} by {table.rows.value}"
    if table.columns is not None:
        title += f" and {table.columns.value}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)} (k = {table.k})</title>",
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    y = 40
    for i, label in enumerate(table.row_labels):
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + group // 2}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        for j, value in enumerate(p.cells[i]):
            colour = _COLOURS[j % len(_COLOURS)]
            bar_y = y + j * _BAR
            if value is None:
                parts.append(
                    f'<rect x="{_LABEL_WIDTH}" y="{bar_y}" width="60" height="{_BAR - 2}" '
                    f'fill="none" stroke="{colour}" stroke-dasharray="3,2"/>'
                )
                parts.append(
                    f'<text x="{_LABEL_WIDTH + 66}" y="{bar_y + _BAR - 5}" fill="#555">'
                    "suppressed</text>"
                )
                continue
            length = round(_PLOT_WIDTH * value / top)
            parts.append(
                f'<rect x="{_LABEL_WIDTH}" y="{bar_y}" width="{length}" height="{_BAR - 2}" '
                f'fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{_LABEL_WIDTH + length + 6}" y="{bar_y + _BAR - 5}">{value}</text>'
            )
        y += group
    if columns > 1:
        for j, label in enumerate(table.column_labels):
            colour = _COLOURS[j % len(_COLOURS)]
            parts.append(f'<rect x="10" y="{y + 20 * j}" width="12" height="12" fill="{colour}"/>')
            parts.append(f'<text x="28" y="{y + 20 * j + 11}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
