"""Published statistics: no cell below k, and no suppressed cell an attacker can recover.

Two attackers, written independently of the suppression code: one subtracts along rows
and columns (and along the totals) over and over, the way a reader with a spreadsheet
would; the other compares ranks, exactly, to find any linear combination that pins a
suppressed value down.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.statistics_rules import Count, Grid, Published, check_k, grid_of, suppress


def _grid(values: list[list[int]]) -> Grid:
    """Each cell counts ``value`` distinct survivors; survivors are distinct across cells."""
    cells = [
        [(v, frozenset(f"{i}.{j}.{n}" for n in range(v))) for j, v in enumerate(row)]
        for i, row in enumerate(values)
    ]
    return grid_of(cells)


def _lines(published: Published) -> list[tuple[list[tuple[str, int, int]], tuple[str, int, int]]]:
    """(parts, whole) for every additive relation a reader of the table knows."""
    rows, columns = len(published.row_totals), len(published.column_totals)
    lines: list[tuple[list[tuple[str, int, int]], tuple[str, int, int]]] = []
    for i in range(rows):
        lines.append(([("cell", i, j) for j in range(columns)], ("row", i, 0)))
    for j in range(columns):
        lines.append(([("cell", i, j) for i in range(rows)], ("column", j, 0)))
    lines.append(([("row", i, 0) for i in range(rows)], ("total", 0, 0)))
    lines.append(([("column", j, 0) for j in range(columns)], ("total", 0, 0)))
    return lines


def _known(published: Published) -> dict[tuple[str, int, int], int]:
    known: dict[tuple[str, int, int], int] = {}
    for i, row in enumerate(published.cells):
        for j, value in enumerate(row):
            if value is not None:
                known[("cell", i, j)] = value
    for i, value in enumerate(published.row_totals):
        if value is not None:
            known[("row", i, 0)] = value
    for j, value in enumerate(published.column_totals):
        if value is not None:
            known[("column", j, 0)] = value
    if published.total is not None:
        known[("total", 0, 0)] = published.total
    return known


def subtraction_attack(published: Published) -> dict[tuple[str, int, int], int]:
    """Every suppressed value recovered by repeated subtraction along rows, columns and
    totals: a line with exactly one unknown gives it away; repeat until nothing moves."""
    known = _known(published)
    start = set(known)
    moved = True
    while moved:
        moved = False
        for parts, whole in _lines(published):
            unknown = [p for p in [*parts, whole] if p not in known]
            if len(unknown) != 1:
                continue
            (target,) = unknown
            if target == whole:
                known[whole] = sum(known[p] for p in parts)
            else:
                known[target] = known[whole] - sum(known[p] for p in parts if p != target)
            moved = True
    return {p: v for p, v in known.items() if p not in start}


def _rank(matrix: list[list[Fraction]]) -> int:
    rows = [list(r) for r in matrix]
    rank = 0
    width = len(rows[0]) if rows else 0
    for col in range(width):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][col] != 0:
                factor = rows[r][col] / rows[rank][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def linear_attack(published: Published) -> list[tuple[str, int, int]]:
    """Suppressed values pinned down by some linear combination of the relations: adding
    the question "what is x?" as one more equation does not raise the rank."""
    known = _known(published)
    lines = _lines(published)
    unknown = sorted({p for parts, whole in lines for p in [*parts, whole]} - set(known))
    index = {p: n for n, p in enumerate(unknown)}
    matrix = []
    for parts, whole in lines:
        row = [Fraction(0)] * len(unknown)
        for p in parts:
            if p in index:
                row[index[p]] += 1
        if whole in index:
            row[index[whole]] -= 1
        matrix.append(row)
    base = _rank(matrix) if unknown else 0
    pinned = []
    for p in unknown:
        probe = [Fraction(1 if n == index[p] else 0) for n in range(len(unknown))]
        if _rank([*matrix, probe]) == base:
            pinned.append(p)
    return pinned


def _published_values(published: Published) -> list[int]:
    return list(_known(published).values())


def _assert_safe(grid: Grid, published: Published, k: int) -> None:
    # Nothing published counts fewer than k survivors.
    for i, row in enumerate(published.cells):
        for j, value in enumerate(row):
            if value is not None:
                assert grid.cells[i][j].survivors >= k
                assert value == grid.cells[i][j].value
    for i, value in enumerate(published.row_totals):
        if value is not None:
            assert grid.row_totals[i].survivors >= k
    for j, value in enumerate(published.column_totals):
        if value is not None:
            assert grid.column_totals[j].survivors >= k
    if published.total is not None:
        assert grid.total.survivors >= k
    assert subtraction_attack(published) == {}
    assert linear_attack(published) == []


def test_a_lone_small_cell_in_a_row_takes_a_second_cell_with_it() -> None:
    grid = _grid([[3, 9, 12], [8, 7, 10]])
    published = suppress(grid, 5)
    assert published.cells[0][0] is None
    hidden_in_row = sum(v is None for v in published.cells[0])
    hidden_in_column = sum(published.cells[i][0] is None for i in range(2))
    assert hidden_in_row >= 2 and hidden_in_column >= 2
    _assert_safe(grid, published, 5)


def test_the_attackers_do_recover_a_table_with_primary_suppression_only() -> None:
    # Without complementary suppression the attackers find the hidden cell: they can fail.
    published = Published(
        cells=((None, 9, 12), (8, 7, 10)),
        row_totals=(24, 25),
        column_totals=(11, 16, 22),
        total=49,
    )
    assert subtraction_attack(published) == {("cell", 0, 0): 3}
    assert linear_attack(published) == [("cell", 0, 0)]


def test_the_linear_attacker_sees_what_subtraction_alone_misses() -> None:
    # Two 2x2 blocks of hidden cells joined by one more hidden cell: each line has at least
    # two unknowns, yet the joining cell is the difference of two block sums.
    published = Published(
        cells=(
            (None, None, 5, 5, 5),
            (None, None, None, 5, 5),
            (5, 5, 5, 5, 5),
            (5, 5, None, None, 5),
            (5, 5, None, None, 5),
        ),
        row_totals=(21, 24, 25, 22, 22),
        column_totals=(23, 23, 21, 22, 25),
        total=114,
    )
    assert subtraction_attack(published) == {}
    assert ("cell", 1, 2) in linear_attack(published)


def test_a_small_total_is_suppressed_too() -> None:
    grid = _grid([[1, 2], [6, 9]])
    published = suppress(grid, 5)
    assert published.row_totals[0] is None
    _assert_safe(grid, published, 5)


def test_survivors_not_events_decide_the_threshold() -> None:
    # One survivor with six referrals is one survivor.
    one = frozenset({"case-1"})
    many = frozenset(f"case-{n}" for n in range(2, 8))
    grid = grid_of([[(6, one), (6, many)], [(6, many), (6, many)]])
    published = suppress(grid, 5)
    assert published.cells[0][0] is None
    _assert_safe(grid, published, 5)


def test_a_table_of_only_small_cells_publishes_no_cell() -> None:
    grid = _grid([[1, 1], [1, 1]])
    published = suppress(grid, 5)
    assert all(v is None for row in published.cells for v in row)
    _assert_safe(grid, published, 5)


def test_k_below_two_is_refused() -> None:
    with pytest.raises(ValueError):
        check_k(1)
    with pytest.raises(ValueError):
        suppress(_grid([[5]]), 1)


def test_empty_and_single_cell_tables() -> None:
    assert suppress(_grid([[7]]), 5) == Published(((7,),), (7,), (7,), 7)
    hidden = suppress(_grid([[4]]), 5)
    assert hidden == Published(((None,),), (None,), (None,), None)


def test_distinct_survivors_in_a_total_may_be_fewer_than_the_sum() -> None:
    grid = grid_of([[(1, frozenset({"a"})), (1, frozenset({"a"}))]])
    assert grid.total == Count(2, 1)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda rows: st.integers(min_value=1, max_value=5).flatmap(
            lambda cols: st.lists(
                st.lists(st.integers(min_value=0, max_value=14), min_size=cols, max_size=cols),
                min_size=rows,
                max_size=rows,
            )
        )
    ),
    st.integers(min_value=2, max_value=6),
)
def test_random_tables_publish_nothing_below_k_and_nothing_recoverable(
    values: list[list[int]], k: int
) -> None:
    grid = _grid(values)
    _assert_safe(grid, suppress(grid, k), k)


def test_larger_seeded_tables_are_safe_and_still_publish_something() -> None:
    rng = random.Random(15)
    published_any = 0
    for _ in range(25):
        rows, columns = rng.randint(3, 9), rng.randint(3, 7)
        values = [
            [rng.choice([0, 1, 2, 3, 5, 8, 13, 21]) for _ in range(columns)] for _ in range(rows)
        ]
        grid = _grid(values)
        published = suppress(grid, 5)
        _assert_safe(grid, published, 5)
        published_any += sum(v is not None for row in published.cells for v in row)
    assert published_any > 0
