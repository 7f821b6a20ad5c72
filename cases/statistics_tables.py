"""Statistics tables: what is counted, along which dimensions, and how labels are chosen.
Pure: takes plain records (already filtered by consent), returns suppressed tables.

Labels of open-ended dimensions (month, province, destination country) exist only when at
least ``k`` survivors carry them; the rest are pooled under ``OTHER``: a row named
"Mondulkiri" with every cell suppressed would still say that someone from Mondulkiri is
counted. Closed dimensions (sex, age band, exploitation type, outcome, time bands) always
show their whole list, empty or not. A survivor with several exploitation types is counted
once under each: totals are then sums of the cells, which is what the suppression relies on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from cases.referral_rules import ReferralStatus
from cases.repatriation_rules import RepatriationStatus
from cases.rules import AgeBand, CaseStatus, ExploitationType, Sex
from cases.statistics_rules import Published, grid_of, suppress
from consent.rules import DataCategory
from orgs.places import find_place, place

OTHER = "OTHER"
UNKNOWN = "UNKNOWN"
ALL = "ALL"


class Measure(StrEnum):
    CASES = "CASES"
    REFERRALS = "REFERRALS"
    REPATRIATIONS = "REPATRIATIONS"


class Dimension(StrEnum):
    MONTH = "MONTH"
    PROVINCE = "PROVINCE"
    SEX = "SEX"
    AGE_BAND = "AGE_BAND"
    EXPLOITATION_TYPE = "EXPLOITATION_TYPE"
    DESTINATION_COUNTRY = "DESTINATION_COUNTRY"
    # The case's status, the referral's or the repatriation request's: where it ended up.
    OUTCOME = "OUTCOME"
    ACKNOWLEDGE_TIME = "ACKNOWLEDGE_TIME"
    RESPONSE_TIME = "RESPONSE_TIME"


class TimeBand(StrEnum):
    WITHIN_1_DAY = "WITHIN_1_DAY"
    WITHIN_3_DAYS = "WITHIN_3_DAYS"
    WITHIN_7_DAYS = "WITHIN_7_DAYS"
    LONGER = "LONGER"
    NOT_YET = "NOT_YET"


# The data category a dimension reads from sealed storage (None: a plain column).
CATEGORY: dict[Dimension, DataCategory | None] = {
    Dimension.MONTH: None,
    Dimension.PROVINCE: DataCategory.LOCATION,
    Dimension.SEX: None,
    Dimension.AGE_BAND: None,
    Dimension.EXPLOITATION_TYPE: DataCategory.TRAFFICKING_EXPERIENCE,
    Dimension.DESTINATION_COUNTRY: DataCategory.TRAFFICKING_EXPERIENCE,
    Dimension.OUTCOME: None,
    Dimension.ACKNOWLEDGE_TIME: None,
    Dimension.RESPONSE_TIME: None,
}

OPEN_ENDED = frozenset({Dimension.MONTH, Dimension.PROVINCE, Dimension.DESTINATION_COUNTRY})

_OUTCOMES: dict[Measure, list[str]] = {
    Measure.CASES: [s.value for s in CaseStatus],
    Measure.REFERRALS: [s.value for s in ReferralStatus],
    Measure.REPATRIATIONS: [s.value for s in RepatriationStatus],
}

# Which dimensions each measure has. Repatriation requests have no separate response.
DIMENSIONS: dict[Measure, frozenset[Dimension]] = {
    Measure.CASES: frozenset(Dimension) - {Dimension.ACKNOWLEDGE_TIME, Dimension.RESPONSE_TIME},
    Measure.REFERRALS: frozenset(Dimension),
    Measure.REPATRIATIONS: frozenset(Dimension) - {Dimension.RESPONSE_TIME},
}


@dataclass(frozen=True, slots=True)
class Item:
    """One counted thing (a case, a referral, a request) and the survivor it concerns, with
    its label(s) along each dimension. Lives only in memory while a table is built."""

    case_id: str
    labels: dict[Dimension, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Table:
    measure: Measure
    rows: Dimension
    columns: Dimension | None
    k: int
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    published: Published


def check_dimensions(measure: Measure, rows: Dimension, columns: Dimension | None) -> None:
    """A measure has only some dimensions, and a table crosses two different ones."""
    for dim in (rows, columns):
        if dim is not None and dim not in DIMENSIONS[measure]:
            raise ValueError(f"{measure.value} has no dimension {dim.value}")
    if rows == columns:
        raise ValueError("rows and columns must be different dimensions")


def month_of(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def time_band(start: datetime, end: datetime | None) -> str:
    if end is None:
        return TimeBand.NOT_YET.value
    waited = end - start
    if waited <= timedelta(days=1):
        return TimeBand.WITHIN_1_DAY.value
    if waited <= timedelta(days=3):
        return TimeBand.WITHIN_3_DAYS.value
    if waited <= timedelta(days=7):
        return TimeBand.WITHIN_7_DAYS.value
    return TimeBand.LONGER.value


def province_label(raw: object) -> str:
    """A province by its ISO 3166-2 code, so that every spelling of one province is one cell
    ("Koh Kong", "កោះកុង" and ``KH-9`` all count as ``KH-9``). Text kept from before codes that
    names no known place is counted as written, with spacing and case made uniform."""
    if not isinstance(raw, str) or not raw.strip():
        return UNKNOWN
    found = place(raw) or find_place(raw)
    if found is not None:
        return found.code
    return " ".join(raw.split()).title()


def country_label(raw: object) -> str:
    if not isinstance(raw, str) or len(raw.strip()) != 2:
        return UNKNOWN
    return raw.strip().upper()


def exploitation_labels(raw: object) -> tuple[str, ...]:
    known = {e.value for e in ExploitationType}
    if not isinstance(raw, list):
        return (UNKNOWN,)
    found = tuple(sorted({str(v) for v in raw if str(v) in known}))
    return found or (UNKNOWN,)


def _closed_labels(measure: Measure, dim: Dimension) -> list[str] | None:
    if dim is Dimension.SEX:
        return [s.value for s in Sex]
    if dim is Dimension.AGE_BAND:
        return [a.value for a in AgeBand]
    if dim is Dimension.EXPLOITATION_TYPE:
        return [e.value for e in ExploitationType] + [UNKNOWN]
    if dim is Dimension.OUTCOME:
        return _OUTCOMES[measure]
    if dim in (Dimension.ACKNOWLEDGE_TIME, Dimension.RESPONSE_TIME):
        return [b.value for b in TimeBand]
    return None


def _labels(
    items: Sequence[Item], measure: Measure, dim: Dimension | None, k: int
) -> tuple[list[str], dict[str, str]]:
    """The labels along ``dim`` and how each raw label maps onto them (pooling the rare)."""
    if dim is None:
        return [ALL], {}
    closed = _closed_labels(measure, dim)
    if closed is not None:
        return closed, {label: label for label in closed}
    people: dict[str, set[str]] = defaultdict(set)
    for item in items:
        for label in item.labels.get(dim, (UNKNOWN,)):
            people[label].add(item.case_id)
    kept = sorted(label for label, who in people.items() if len(who) >= k and label != OTHER)
    mapping = {label: (label if label in kept else OTHER) for label in people}
    return [*kept, OTHER], mapping


def _keys(item: Item, dim: Dimension | None, mapping: dict[str, str]) -> set[str]:
    if dim is None:
        return {ALL}
    return {mapping.get(label, label) for label in item.labels.get(dim, (UNKNOWN,))}


def tabulate(
    items: Iterable[Item],
    measure: Measure,
    rows: Dimension,
    columns: Dimension | None,
    k: int,
) -> Table:
    """Count ``items`` into a rows x columns table and suppress it for ``k``."""
    check_dimensions(measure, rows, columns)
    listed = list(items)
    row_labels, row_map = _labels(listed, measure, rows, k)
    column_labels, column_map = _labels(listed, measure, columns, k)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in listed:
        for r in _keys(item, rows, row_map):
            for c in _keys(item, columns, column_map):
                counts[(r, c)] += 1
                people[(r, c)].add(item.case_id)
    cells = [
        [(counts[(r, c)], frozenset(people[(r, c)])) for c in column_labels] for r in row_labels
    ]
    return Table(
        measure=measure,
        rows=rows,
        columns=columns,
        k=k,
        row_labels=tuple(row_labels),
        column_labels=tuple(column_labels),
        published=suppress(grid_of(cells), k),
    )
