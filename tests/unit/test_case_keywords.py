"""``Case.from_view`` passes the survivor fields to ``Case(...)`` by keyword from a table.

CPython matches a keyword to its parameter by identity first and only then by comparing
strings; names built at run time (``_snake``) are equal but not identical, so every call paid
the slow match for each of them. The table's names must be the interned strings.
"""

from __future__ import annotations

import dataclasses
import sys

from schema.cases import _ATTRIBUTE, _NOTHING_SHOWN, Case


def test_every_survivor_attribute_name_is_interned() -> None:
    assert _ATTRIBUTE  # the table the conversion uses
    for name in [*_ATTRIBUTE.values(), *_NOTHING_SHOWN]:
        assert sys.intern(name) is name, name


def test_every_survivor_attribute_is_a_field_of_case() -> None:
    """The table names the type's own fields: a typo would make ``Case(...)`` fail."""
    fields = {f.name for f in dataclasses.fields(Case)}
    assert set(_ATTRIBUTE.values()) <= fields
    assert set(_NOTHING_SHOWN) == set(_ATTRIBUTE.values())
