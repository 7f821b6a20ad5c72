"""A published statistics table as CSV (for donors and the national committee) and as a
server-drawn SVG bar chart (for the console's coordinator pages). Pure: table in, text out.

Only the published table goes in, so nothing suppressed can come out. Labels are escaped for
each format: a label is recorded text, and must not become markup in an SVG or a formula in
a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
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


def _same(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class ChartWords:
    """The words a chart is drawn with, in the reader's language (the console passes its
    catalog's); without them, the endpoint's codes and English. ``label`` names a row or
    column label, a dimension or a measure: numbers and recorded text pass through it too,
    so it must return what it does not know unchanged."""

    title: str | None = None
    suppressed: str = "suppressed"
    label: Callable[[str], str] = _same


def chart_title(table: Table, label: Callable[[str], str] = _same) -> str:
    """The endpoint's title ("CASES by MONTH and SEX"); the console builds its own."""
    title = f"{label(table.measure.value)} by {label(table.rows.value)}"
    if table.columns is not None:
        title += f" and {label(table.columns.value)}"
    return title


def to_svg(table: Table, words: ChartWords | None = None) -> str:
    """A horizontal bar chart: one group per row, one bar per column. A suppressed value is
    an empty outlined bar marked "suppressed", never a guess at its size. The row axis is
    captioned with the row dimension, the bars' axis with the measure."""
    words = words or ChartWords()
    name = words.label
    p = table.published
    columns = len(table.column_labels)
    values = [v for row in p.cells for v in row if v is not None]
    top = max(values, default=0) or 1
    group = columns * _BAR + _GAP
    legend = 20 * columns if columns > 1 else 0
    height = 56 + len(table.row_labels) * group + legend + 24
    width = _LABEL_WIDTH + _PLOT_WIDTH + 90
    title = words.title or chart_title(table)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)} (k = {table.k})</title>",
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{_LABEL_WIDTH - 8}" y="44" text-anchor="end" font-style="italic" '
        f'class="axis-rows">{escape(name(table.rows.value))}</text>',
    ]
    y = 56
    for i, label in enumerate(table.row_labels):
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + group // 2}" text-anchor="end">'
            f"{escape(name(label))}</text>"
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
                    f"{escape(words.suppressed)}</text>"
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
            parts.append(f'<text x="28" y="{y + 20 * j + 11}">{escape(name(label))}</text>')
        y += 20 * columns
    parts.append(
        f'<text x="{_LABEL_WIDTH}" y="{y + 16}" font-style="italic" class="axis-values">'
        f"{escape(name(table.measure.value))}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
