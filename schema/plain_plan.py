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

from schema.plain_fields import Kind, NotPlain, Recipe, complete_leaf, complete_leaf_list

# One response field: its response name, its recipe (None for __typename) and, for object
# fields, the plan of the nested selection.
PlanField = tuple[str, "Recipe | None", "Plan | None"]


@dataclass(frozen=True, slots=True)
class Plan:
    type_name: str
    # strawberry's isinstance check for types implementing interfaces; it ignores its info.
    is_type_of: Callable[[Any, Any], Any] | None
    fields: tuple[PlanField, ...]


def complete_plain(plan: Plan, source: Any) -> dict[str, Any]:
    """The response object for ``source``, as graphql-core would complete it, or NotPlain."""
    if _unsettled(source) or (
        plan.is_type_of is not None and plan.is_type_of(source, None) is not True
    ):
        raise NotPlain
    out: dict[str, Any] = {}
    for response_name, recipe, nested in plan.fields:
        if recipe is None:
            out[response_name] = plan.type_name
            continue
        value = getattr(source, recipe.attribute)
        if value is None:
            if recipe.non_null:
                raise NotPlain
            out[response_name] = None
            continue
        kind = recipe.kind
        if kind is Kind.LEAF:
            out[response_name] = complete_leaf(recipe.coerce, value)
        elif kind is Kind.LEAF_LIST:
            out[response_name] = complete_leaf_list(recipe, value)
        else:
            assert nested is not None
            if kind is Kind.OBJECT:
                out[response_name] = complete_plain(nested, value)
            else:
                out[response_name] = complete_plain_list(nested, value, recipe.item_non_null)
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


def _unsettled(value: Any) -> bool:
    """Exceptions and awaitables: graphql-core raises or awaits them before completing."""
    return isinstance(value, BaseException) or hasattr(value, "__await__")
