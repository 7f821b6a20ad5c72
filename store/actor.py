"""The person acting in the current request, when a person (not a system) is acting.

Audit entries and disclosures name the organisation and client from the principal every
service already receives; a console request also names the staff member. Carrying the
person in a context variable set once at the console's door keeps every one of the many
services and writers unchanged, and cannot be forgotten by one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_acting_staff: ContextVar[str | None] = ContextVar("acting_staff", default=None)


def acting_staff() -> str | None:
    """The staff member acting in this request, or None for a system (API client, CLI)."""
    return _acting_staff.get()


@contextmanager
def acting_as(staff_id: str | None) -> Iterator[None]:
    """Name ``staff_id`` in every audit entry and disclosure written inside the block."""
    token = _acting_staff.set(staff_id)
    try:
        yield
    finally:
        _acting_staff.reset(token)
