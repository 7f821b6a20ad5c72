"""Completing a whole sub-selection of plain objects in one loop.

A ``Plan`` is compiled by the executor (``schema.fast_completion``) for an object type and the
field nodes selecting it when every field of the (collected) sub-selection, at every depth, is
a plain attribute read (``schema.plain_fields``) or ``__typename``. ``complete_plain`` then
builds the response dicts directly. It never reports an error itself: any value graphql-core
would treat specially (null in a non-null position, an exception, an awaitable, a value the
scalar refuses, an iterable that is not a list or tuple) raises, and the executor completes
the same value through graphql-core's path instead. Reading plain attributes twice is harmless;
that is what keeps errors, their messages and their paths exactly graphql-core's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schema.plain_fields import (
    Kind,
    NotPlain,
    Recipe,
    complete_leaf,
    complete_leaf_list,
    returns_strings_as_is,
)

# What a step does, as small ints (cheap to compare in the loop below).
TYPENAME, STRING, ENUM, LEAF, LEAF_LIST, OBJECT, OBJECT_LIST = range(7)

# One response field, flat: response name, attribute, what to do, whether null is refused,
# the leaf coercion, the nested plan (objects), whether list items refuse null and, for
# enums, the Python enum with each member's name.
Step = tuple[str, str, int, bool, Any, "Plan | None", bool, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    type_name: str
    # strawberry's isinstance check for types implementing interfaces; it ignores its info.
    is_type_of: Callable[[Any, Any], Any] | None
    steps: tuple[Step, ...]


def typename_step(response_name: str) -> Step:
    return (response_name, "", TYPENAME, True, None, None, False, None)


def field_step(response_name: str, recipe: Recipe, nested: Plan | None) -> Step:
    kind = recipe.kind
    if kind is Kind.LEAF and recipe.enum_names is not None:
        what = ENUM
    elif kind is Kind.LEAF:
        what = STRING if returns_strings_as_is(recipe.coerce) else LEAF
    else:
        what = {Kind.LEAF_LIST: LEAF_LIST, Kind.OBJECT: OBJECT, Kind.OBJECT_LIST: OBJECT_LIST}[kind]
    return (
        response_name,
        recipe.attribute,
        what,
        recipe.non_null,
        recipe.coerce,
        nested,
        recipe.item_non_null,
        recipe.enum_names,
    )


def complete_plain(plan: Plan, source: Any) -> dict[str, Any]:
    """The response object for ``source``, as graphql-core would complete it, or NotPlain."""
    if _unsettled(source) or (
        plan.is_type_of is not None and plan.is_type_of(source, None) is not True
    ):
        raise NotPlain
    out: dict[str, Any] = {}
    for response_name, attribute, what, non_null, coerce, nested, item_non_null, enum in plan.steps:
        if what == TYPENAME:
            out[response_name] = plan.type_name
            continue
        value = getattr(source, attribute)
        if value is None:
            if non_null:
                raise NotPlain
            out[response_name] = None
        elif what == STRING and value.__class__ is str:
            out[response_name] = value  # String and ID serialise a str as itself
        elif what == ENUM and value.__class__ is enum[0]:
            out[response_name] = enum[1][value]  # a member missing here: graphql-core's turn
        elif what == LEAF or what == STRING or what == ENUM:
            out[response_name] = complete_leaf(coerce, value)
        elif what == OBJECT:
            assert nested is not None
            out[response_name] = complete_plain(nested, value)
        elif what == OBJECT_LIST:
            assert nested is not None
            out[response_name] = complete_plain_list(nested, value, item_non_null)
        else:
            out[response_name] = complete_leaf_list(coerce, item_non_null, value)
    return out


def complete_plain_list(plan: Plan, value: Any, item_non_null: bool) -> list[Any]:
    """A list of plain objects; only plain lists and tuples qualify (others may be lazy)."""
    if value.__class__ is not list and value.__class__ is not tuple:
        raise NotPlain
    completed: list[Any] = []
    append = completed.append
    for item in value:
        if item is None:
            if item_non_null:
                raise NotPlain
            append(None)
        else:
            append(complete_plain(plan, item))
    return completed


_unsettled_classes: dict[type, bool] = {}


def _unsettled(value: Any) -> bool:
    """Exceptions and awaitables: graphql-core raises or awaits them before completing.

    Decided once per class (``__await__`` is looked up on the class, where Python looks for
    it too)."""
    cls = value.__class__
    known = _unsettled_classes.get(cls)
    if known is None:
        if len(_unsettled_classes) > 4096:  # classes made on the fly: keep the table bounded
            _unsettled_classes.clear()
        known = _unsettled_classes[cls] = issubclass(cls, BaseException) or hasattr(
            cls, "__await__"
        )
    return known
