"""Cost amounts, currencies, periods and totals: pure checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cases.funding import SUBJECTS, SubjectKind
from cases.funding_rules import CostLine, check_amount, check_currency, check_period, sum_lines
from store.errors import ErrorCode, HubError


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("250", "250.00"), ("35.5", "35.50"), (" 0.01 ", "0.01"), ("1E+3", "1000.00")],
)
def test_amounts_are_kept_as_two_place_decimals(raw: str, clean: str) -> None:
    assert check_amount(raw) == clean


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "NaN", "Infinity", "1.005", "10000000.01", ""])
def test_other_amounts_are_refused(raw: str) -> None:
    with pytest.raises(HubError) as refused:
        check_amount(raw)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_currencies_are_iso_4217() -> None:
    assert check_currency(" khr ") == "KHR"
    for bad in ("XYZ", "US", "dollars", ""):
        with pytest.raises(HubError):
            check_currency(bad)


def test_a_period_runs_forward_for_at_most_three_years() -> None:
    check_period(date(2026, 1, 1), date(2026, 1, 1))
    for start, end in ((date(2026, 2, 1), date(2026, 1, 1)), (date(2020, 1, 1), date(2026, 1, 1))):
        with pytest.raises(HubError):
            check_period(start, end)


def test_totals_are_per_currency_never_converted() -> None:
    lines = [
        CostLine("a", "K", "FOOD", "THB", Decimal("10.50")),
        CostLine("b", "K", "GRANT", "USD", Decimal("5.00")),
        CostLine("a", "K", "AIR_TICKET", "THB", Decimal("4200.00")),
    ]
    assert sum_lines(lines) == [("THB", Decimal("4210.50")), ("USD", Decimal("5.00"))]
    assert sum_lines([]) == []


def test_every_subject_kind_is_registered() -> None:
    assert set(SUBJECTS) == set(SubjectKind)
