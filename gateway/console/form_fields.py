"""Reading a console form's fields: whatever a browser (or anyone) posts is text or
nothing, and a value outside a choice list is the API's BAD_USER_INPUT, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from store.errors import ErrorCode, HubError

E = TypeVar("E")


def form_text(form: Any, name: str) -> str:
    """The field's text; "" for a missing field or an uploaded file."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def form_version(form: Any) -> int | None:
    """The version the page was drawn at, for the services' optimistic check."""
    raw = form_text(form, "version")
    return int(raw) if raw.isdigit() else None


def form_choice(kind: Callable[[str], E], raw: str) -> E:
    """``raw`` as one of ``kind``'s values (an enum)."""
    try:
        return kind(raw)
    except ValueError as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, "unknown choice") from exc
