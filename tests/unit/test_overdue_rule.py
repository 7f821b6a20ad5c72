"""One overdue rule for the API's `overdue` and the console's highlighting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cases.deadlines import shows_overdue

DUE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_waiting_past_the_deadline_is_overdue_before_the_pass_marks_it() -> None:
    assert shows_overdue(False, True, DUE, DUE + timedelta(seconds=1))
    assert shows_overdue(False, True, DUE, DUE)  # the pass marks at the deadline too


def test_waiting_before_the_deadline_is_on_time() -> None:
    assert not shows_overdue(False, True, DUE, DUE - timedelta(seconds=1))


def test_acknowledged_is_not_overdue_by_the_clock() -> None:
    assert not shows_overdue(False, False, DUE, DUE + timedelta(days=3))


def test_marked_by_the_pass_stays_overdue() -> None:
    assert shows_overdue(True, False, DUE, DUE - timedelta(days=1))
    assert shows_overdue(True, True, DUE, DUE - timedelta(days=1))
