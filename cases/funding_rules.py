"""Checking and summing costs. Pure: no I/O, no ORM, no GraphQL.

Amounts are decimals, never floats: two places, positive, below a sanity ceiling, in an
ISO 4217 currency. Totals are kept per currency; the hub never converts between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import pycountry

from store.errors import ErrorCode, HubError

MAX_AMOUNT = Decimal("10000000")
MAX_PERIOD = timedelta(days=3 * 366)


@dataclass(frozen=True, slots=True)
class CostLine:
    """An amount with what it is for; empty strings where a total does not distinguish."""

    funder_id: str
    subject_kind: str
    item: str
    currency: str
    amount: Decimal


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def check_amount(amount: str) -> str:
    """The amount as a two-place decimal string, e.g. "250.00"."""
    try:
        value = Decimal(amount.strip())
    except InvalidOperation as exc:
        raise _bad("amount must be a decimal number such as 250.00") from exc
    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT:
        raise _bad("amount must be positive and at most 10000000")
    if value != value.quantize(Decimal("0.01")):
        raise _bad("amount has at most two decimal places")
    return str(value.quantize(Decimal("0.01")))


def check_currency(currency: str) -> str:
    code = currency.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise _bad("currency must be an ISO 4217 code such as USD, THB, KHR")
    return code


def check_period(start: date, end: date) -> None:
    if end < start:
        raise _bad("to must not be before from")
    if end - start > MAX_PERIOD:
        raise _bad("a report covers at most three years")


def sum_lines(lines: Iterable[CostLine]) -> list[tuple[str, Decimal]]:
    """Totals per currency, in currency order."""
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    return sorted(totals.items())


def check_removable(costs_recorded: int) -> None:
    """A funder is removed only while it has recorded no cost on the subject: the costs it
    recorded stay on record, in the cost report and in the subject's totals, and a cost
    never names a funder that no longer funds the subject. CONFLICT otherwise."""
    if costs_recorded:
        raise HubError(
            ErrorCode.CONFLICT,
            f"this funder recorded {costs_recorded} cost(s) here: its costs stay on record, "
            "so it cannot be removed",
        )
