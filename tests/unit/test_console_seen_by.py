"""The disclosure log, grouped for the case page and the survivor's report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consent.models import Disclosure
from gateway.console.case_record import seen_by

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _seen(minutes: int, org: str, staff: str | None, grant: str, *categories: str) -> Disclosure:
    return Disclosure(
        at=T0 + timedelta(minutes=minutes),
        organization_id=org,
        case_id="case-1",
        categories=list(categories),
        consent_grant_id=grant,
        consent_version=1 if grant == "g1" else 2,
        channel="QUERY",
        staff_id=staff,
    )


def test_one_line_per_reader_and_consent_with_first_last_and_count() -> None:
    lines = seen_by(
        [
            _seen(5, "adhoc", "vanna", "g1", "IDENTITY"),
            _seen(1, "adhoc", "vanna", "g1", "LEGAL"),
            _seen(9, "adhoc", None, "g1", "IDENTITY"),
            _seen(12, "adhoc", "vanna", "g2", "HEALTH"),
            _seen(3, "embassy", None, "g1", "LOCATION"),
        ]
    )
    keys = [(s.organization_id, s.staff_id, s.consent_id) for s in lines]
    assert keys == [
        ("adhoc", "vanna", "g1"),
        ("adhoc", None, "g1"),
        ("adhoc", "vanna", "g2"),
        ("embassy", None, "g1"),
    ]
    first = lines[0]
    assert first.times == 2 and first.categories == {"IDENTITY", "LEGAL"}
    assert first.first == T0 + timedelta(minutes=1) and first.last == T0 + timedelta(minutes=5)
    assert lines[2].consent_version == 2 and lines[2].times == 1


def test_an_empty_log_has_no_lines() -> None:
    assert seen_by([]) == []
