"""The rules behind places in cases and desk pages, without a database: a province by any
spelling is its code, anything else is refused without repeating it; statistics label every
spelling with one code; a desk page is cut by rank, not by offset."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cases.desk_paging import decode, encode, page_of
from cases.rules import UNKNOWN_PROVINCE, check_sensitive_value
from cases.statistics_tables import province_label
from orgs.rules import check_request_country
from store.errors import ErrorCode, HubError


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Koh Kong", "KH-9"),
        ("Kaoh Kong", "KH-9"),
        ("កោះកុង", "KH-9"),
        ("ខេត្ត កោះកុង", "KH-9"),
        ("kh-9", "KH-9"),
        ("Sihanoukville", "KH-18"),
        ("Phnom Penh", "KH-12"),
        ("Bangkok", "TH-10"),
    ],
)
def test_a_province_in_any_spelling_is_stored_as_its_code(written: str, code: str) -> None:
    assert check_sensitive_value("homeProvince", written) == code


@pytest.mark.parametrize("written", ["Phum Thmei", "Cambodia", "KH", "KH-99", "", "  ", 9])
def test_anything_else_is_no_province_and_is_not_repeated(written: object) -> None:
    with pytest.raises(HubError) as refused:
        check_sensitive_value("homeProvince", written)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
    # One fixed message whatever was written: the value itself is never repeated
    assert str(refused.value) == f"homeProvince: {UNKNOWN_PROVINCE}"


@pytest.mark.parametrize(("written", "code"), [("TH", "TH"), ("thailand", "TH"), ("ថៃ", "TH")])
def test_a_country_by_code_or_name_is_its_code(written: str, code: str) -> None:
    assert check_sensitive_value("destinationCountry", written) == code
    assert check_request_country(written) == code


@pytest.mark.parametrize("written", ["Koh Kong", "XX", "Atlantis", ""])
def test_a_province_or_nonsense_is_no_country(written: str) -> None:
    for check in (
        lambda: check_sensitive_value("destinationCountry", written),
        lambda: check_request_country(written),
    ):
        with pytest.raises(HubError) as refused:
            check()
        assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_statistics_label_every_spelling_with_one_code() -> None:
    spellings = ["Koh Kong", "  koh   KONG ", "កោះកុង", "Kaoh Kong", "KH-9"]
    assert {province_label(s) for s in spellings} == {"KH-9"}
    # Text from before codes that names no place is counted as written, made uniform
    assert province_label("  old  village ") == "Old Village"
    assert province_label(None) == province_label("  ") == "UNKNOWN"


@dataclass(frozen=True)
class Row:
    rank: int
    name: str


def _rank(row: Row) -> tuple[str, ...]:
    return (f"{row.rank:04d}", row.name)


def test_a_page_follows_the_rank_and_survives_a_row_settling() -> None:
    rows = [Row(n, f"r{n}") for n in (5, 1, 4, 2, 3)]
    first = page_of(rows, _rank, 2, None)
    assert [r.name for _, r in first.rows] == ["r1", "r2"] and first.has_next_page
    # r2 settles (leaves the list) before the next page: nothing is skipped or repeated
    rest = [r for r in rows if r.name != "r2"]
    second = page_of(rest, _rank, 2, first.end_cursor)
    assert [r.name for _, r in second.rows] == ["r3", "r4"] and second.has_next_page
    last = page_of(rest, _rank, 2, second.end_cursor)
    assert [r.name for _, r in last.rows] == ["r5"] and not last.has_next_page
    assert last.end_cursor == last.rows[-1][0]
    assert page_of([], _rank, 2, None).end_cursor is None


@pytest.mark.parametrize("cursor", ["", "not base64!", encode(("a",))[:-2] + "@@", "W10=", "WzFd"])
def test_a_cursor_the_hub_did_not_hand_out_is_refused(cursor: str) -> None:
    with pytest.raises(HubError) as refused:
        decode(cursor)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize("first", [0, -1, 101])
def test_an_out_of_range_page_is_refused(first: int) -> None:
    with pytest.raises(HubError):
        page_of([Row(1, "a")], _rank, first, None)
