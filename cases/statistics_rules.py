"""Which cells of a statistics table may be published. Pure: no I/O.

A table crosses two dimensions (rows x columns) and is published with its row totals, column
totals and grand total. Two rules protect the survivors counted in it:

1. **Threshold (primary suppression).** A cell, or a total, is published only if it counts
   at least ``k`` distinct survivors. A cell's *value* may count events (referrals, say) while
   its *survivors* count people: the threshold is on people, since one survivor with six
   referrals is still one survivor.
2. **Complementary suppression.** Published totals are sums of the cells, so a single
   suppressed cell in a row is the row total minus the rest. Every suppressed value must stay
   undetermined by every linear combination of the published values (subtraction along rows
   and columns, repeated, is one such combination; so are longer chains through several rows
   and columns). While some suppressed value is still determined, one more value next to it is
   suppressed: the smallest published cell in its row or column, else its row or column total.
   Suppressing everything determines nothing, so the loop ends.

"Determined" is decided exactly, over the rationals: a suppressed value is determined when its
unit vector lies in the row space of the equations (row sums, column sums, the sums of the
totals) restricted to the suppressed values. What this does not hide: bounds. A suppressed
cell is known to lie between 0 and its row total; with ``k`` small that is a real range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

MIN_K = 2
# How many neighbours to try before settling for the smallest (each try is one reduction).
_TRIALS = 8


@dataclass(frozen=True, slots=True)
class Count:
    """One cell or total before suppression: what it counts and how many survivors."""

    value: int
    survivors: int


@dataclass(frozen=True, slots=True)
class Grid:
    """A table before suppression. ``row_totals[i]`` sums ``cells[i]``; survivors in a total
    are distinct people, so they may be fewer than the sum of the cells' survivors."""

    cells: tuple[tuple[Count, ...], ...]
    row_totals: tuple[Count, ...]
    column_totals: tuple[Count, ...]
    total: Count


@dataclass(frozen=True, slots=True)
class Published:
    """A table after suppression: ``None`` where a value is withheld."""

    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    total: int | None


# A position in a table: ("cell", i, j), ("row", i, 0), ("column", j, 0) or ("total", 0, 0).
Position = tuple[str, int, int]


def check_k(k: int) -> int:
    """k below 2 would publish single survivors."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K}")
    return k


def equations(rows: int, columns: int) -> list[list[tuple[int, Position]]]:
    """Every additive relation a reader of the table knows, as (coefficient, position) lists
    summing to zero: each row, each column, the row totals and the column totals."""
    relations: list[list[tuple[int, Position]]] = []
    for i in range(rows):
        relations.append([(1, ("cell", i, j)) for j in range(columns)] + [(-1, ("row", i, 0))])
    for j in range(columns):
        relations.append([(1, ("cell", i, j)) for i in range(rows)] + [(-1, ("column", j, 0))])
    relations.append([(1, ("row", i, 0)) for i in range(rows)] + [(-1, ("total", 0, 0))])
    relations.append([(1, ("column", j, 0)) for j in range(columns)] + [(-1, ("total", 0, 0))])
    return relations


def determined(rows: int, columns: int, hidden: set[Position]) -> list[Position]:
    """The hidden positions some combination of the published values pins down, in order.

    Row-reduce the relations restricted to the hidden positions (published values are
    constants); a hidden position is determined when a reduced row has it as its only term.
    """
    order = sorted(hidden)
    index = {p: n for n, p in enumerate(order)}
    matrix: list[list[Fraction]] = []
    for relation in equations(rows, columns):
        row = [Fraction(0)] * len(order)
        for coefficient, position in relation:
            if position in index:
                row[index[position]] += coefficient
        if any(row):
            matrix.append(row)
    pivot_row = 0
    pivots: list[int] = []
    for col in range(len(order)):
        found = next((r for r in range(pivot_row, len(matrix)) if matrix[r][col] != 0), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [v / lead for v in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][col] != 0:
                factor = matrix[r][col]
                lead_row = matrix[pivot_row]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], lead_row, strict=True)]
        pivots.append(col)
        pivot_row += 1
    found_positions = []
    for r, col in enumerate(pivots):
        if all(v == 0 for c, v in enumerate(matrix[r]) if c != col):
            found_positions.append(order[col])
    return sorted(found_positions)


def _value(grid: Grid, position: Position) -> Count:
    kind, i, j = position
    if kind == "cell":
        return grid.cells[i][j]
    if kind == "row":
        return grid.row_totals[i]
    if kind == "column":
        return grid.column_totals[i]
    return grid.total


def _complement(grid: Grid, position: Position, hidden: set[Position]) -> Position:
    """The value to hide next so that ``position`` is no longer pinned down.

    Candidates are its published neighbours (its row and column, then its totals), smallest
    first: the least information lost. The first few are tried, and the smallest one that
    actually frees ``position`` wins (in a one-column table, hiding another cell does not
    free a cell its own row total still gives away); failing that, the smallest neighbour."""
    rows, columns = len(grid.row_totals), len(grid.column_totals)
    kind, i, j = position
    if kind == "cell":
        near: list[Position] = [("cell", i, c) for c in range(columns) if c != j]
        near += [("cell", r, j) for r in range(rows) if r != i]
        near += [("row", i, 0), ("column", j, 0)]
    elif kind == "row":
        near = [("cell", i, c) for c in range(columns)]
        near += [("row", r, 0) for r in range(rows) if r != i] + [("total", 0, 0)]
    elif kind == "column":
        near = [("cell", r, i) for r in range(rows)]
        near += [("column", c, 0) for c in range(columns) if c != i] + [("total", 0, 0)]
    else:
        near = [("row", r, 0) for r in range(rows)] + [("column", c, 0) for c in range(columns)]
    candidates = sorted(
        (p for p in near if p not in hidden), key=lambda p: (_value(grid, p).value, p)
    )
    if not candidates:
        # Everything around it is hidden already; hide whatever is left, smallest first.
        rest = [p for p in _all_positions(rows, columns) if p not in hidden]
        return min(rest, key=lambda p: (_value(grid, p).value, p))
    for candidate in candidates[:_TRIALS]:
        if position not in determined(rows, columns, hidden | {candidate}):
            return candidate
    return candidates[0]


def _all_positions(rows: int, columns: int) -> list[Position]:
    positions: list[Position] = [("cell", i, j) for i in range(rows) for j in range(columns)]
    positions += [("row", i, 0) for i in range(rows)]
    positions += [("column", j, 0) for j in range(columns)]
    positions.append(("total", 0, 0))
    return positions


def suppress(grid: Grid, k: int) -> Published:
    """The publishable form of ``grid``: nothing below ``k`` survivors, nothing recoverable."""
    check_k(k)
    rows, columns = len(grid.row_totals), len(grid.column_totals)
    hidden = {p for p in _all_positions(rows, columns) if _value(grid, p).survivors < k}
    while True:
        pinned = determined(rows, columns, hidden)
        if not pinned:
            break
        hidden.add(_complement(grid, pinned[0], hidden))
    return publish(grid, hidden)


def publish(grid: Grid, hidden: set[Position]) -> Published:
    rows, columns = len(grid.row_totals), len(grid.column_totals)

    def shown(position: Position) -> int | None:
        return None if position in hidden else _value(grid, position).value

    return Published(
        cells=tuple(tuple(shown(("cell", i, j)) for j in range(columns)) for i in range(rows)),
        row_totals=tuple(shown(("row", i, 0)) for i in range(rows)),
        column_totals=tuple(shown(("column", j, 0)) for j in range(columns)),
        total=shown(("total", 0, 0)),
    )


def grid_of(cells: Sequence[Sequence[tuple[int, frozenset[str]]]]) -> Grid:
    """A grid from each cell's value and the set of survivors (case ids) in it: totals sum
    the values and count the distinct survivors."""
    rows = len(cells)
    columns = len(cells[0]) if rows else 0
    counted = tuple(tuple(Count(v, len(s)) for v, s in row) for row in cells)

    def over(members: list[tuple[int, frozenset[str]]]) -> Count:
        people: set[str] = set()
        for _, survivors in members:
            people |= survivors
        return Count(sum(v for v, _ in members), len(people))

    return Grid(
        cells=counted,
        row_totals=tuple(over(list(row)) for row in cells),
        column_totals=tuple(over([cells[i][j] for i in range(rows)]) for j in range(columns)),
        total=over([c for row in cells for c in row]),
    )
