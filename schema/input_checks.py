"""Checks on what a client sends that the GraphQL type system cannot express.

Pure functions, no I/O: the executor, the scalars and the federation entry point call them.
Messages name the rule that was broken, never the value that broke it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

# Deeper than any input the schema takes; the walk below never recurses, so this is a
# bound on nonsense, not a guard for the interpreter's stack.
MAX_NESTING = 64


def is_unicode_text(value: str) -> bool:
    """False for a string holding a lone surrogate (JSON can escape one, "\\udc00"): it is
    not text, cannot be stored as UTF-8 and would fail only later, deep in the hub."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def variables_problem(variables: Mapping[str, Any] | None) -> str | None:
    """Why these operation variables cannot be used, or None: a lone surrogate in any
    string (key or value), a NUL character (PostgreSQL cannot store one) or nesting past
    ``MAX_NESTING``."""
    stack: list[tuple[Any, int]] = [(dict(variables or {}), 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            return f"variables are nested deeper than {MAX_NESTING} levels"
        if isinstance(item, str):
            if not is_unicode_text(item):
                return "a variable holds a string with a lone surrogate (not Unicode text)"
            if "\x00" in item:
                return "strings may not contain NUL (U+0000) characters"
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def aware_datetime(value: object) -> datetime:
    """An ISO 8601 date-time with its UTC offset. A naive one is refused rather than
    guessed: read as local time on one server and UTC on another, a consent's validity or a
    deadline would move by hours."""
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("DateTime must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("DateTime needs a UTC offset, e.g. 2026-01-31T09:00:00Z or +07:00")
    return parsed
