"""Which fields an operation asks for below the current one, fragments included.

Read models open (and log) only the survivor data a query selects; this is how a
resolver learns what that is, once per list rather than per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def fields_at(info: Info[Any, Any], *path: str) -> frozenset[str]:
    """Names selected directly under the current field, after following ``path``
    (e.g. ``fields_at(info, "edges", "node")`` for a connection's nodes)."""
    level: list[SelectedField] = list(_fields(info.selected_fields))
    for step in path:
        level = [
            child for field in level for child in _fields(field.selections) if child.name == step
        ]
    return frozenset(child.name for field in level for child in _fields(field.selections))
