"""Which schema fields are plain attribute reads, and how to complete their values cheaply.

A Strawberry field with no resolver, no permission classes, no field extensions and no
arguments resolves to ``getattr(source, python_name)`` (``_get_basic_result`` in
strawberry's schema converter). graphql-core still builds a resolve info, a path and a
completion call chain for each such field of each row, which is most of a list query's cost.
For these fields the executor (``schema.fast_completion``) reads the attribute and serialises
it here instead.

Everything here is pure: a recipe is decided once per schema field, and a value either
completes exactly as graphql-core would complete it or raises ``NotPlain``, after which the
caller runs graphql-core's own path for the same value (so errors, their messages and their
paths are graphql-core's, never imitations).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID
from weakref import WeakKeyDictionary

from graphql.pyutils import Undefined
from graphql.type import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.type.scalars import serialize_id, serialize_string
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

TYPENAME: Final = "__typename"

# Values of these classes are never awaitable and never exceptions: a leaf holding one needs
# no further check before it is serialised.
_SETTLED: Final = frozenset({str, int, float, bool, datetime, date, Decimal, UUID})


class NotPlain(Exception):
    """Raised when a value cannot be completed here; the standard executor path takes over."""


class Kind(enum.Enum):
    LEAF = "leaf"
    LEAF_LIST = "leaf list"
    OBJECT = "object"
    OBJECT_LIST = "object list"


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to complete one plain field: the attribute to read and the type to complete."""

    attribute: str
    kind: Kind
    non_null: bool
    # The leaf's output coercion (LEAF, LEAF_LIST), or None for objects.
    coerce: Any
    # The named object type (OBJECT, OBJECT_LIST), or None for leaves.
    object_type: GraphQLObjectType | None
    # For lists: whether the items are non-null.
    item_non_null: bool
    # For strawberry enums: the Python enum and each member's serialised name, computed once
    # with the type's own coercion (a member's name never changes).
    enum_names: tuple[type, dict[Any, Any]] | None = None


_recipes: WeakKeyDictionary[GraphQLObjectType, dict[str, Recipe | None]] = WeakKeyDictionary()


def recipe_for(parent_type: GraphQLObjectType, field_name: str) -> Recipe | None:
    """The recipe for ``parent_type.field_name``, or None when it is not a plain read.

    Decided once per schema field (the table dies with the schema)."""
    table = _recipes.get(parent_type)
    if table is None:
        table = _recipes[parent_type] = {}
    try:
        return table[field_name]
    except KeyError:
        field = parent_type.fields.get(field_name)
        recipe = table[field_name] = _decide(field) if field is not None else None
        return recipe


def _is_default_attribute_read(field: GraphQLField) -> str | None:
    """The attribute a field reads when strawberry resolves it with its default resolver."""
    resolve = field.resolve
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        resolve is None
        or field.args
        or field.subscribe is not None
        or getattr(resolve, "_is_default", False) is not True
        or getattr(resolve, "__name__", None) != "_get_basic_result"
        or not isinstance(definition, StrawberryField)
        or not definition.is_basic_field
        or definition.default_resolver is not getattr
    ):
        return None
    return definition.python_name


def _decide(field: GraphQLField) -> Recipe | None:
    attribute = _is_default_attribute_read(field)
    if attribute is None:
        return None
    type_: Any = field.type  # unwrapped step by step below
    non_null = isinstance(type_, GraphQLNonNull)
    if non_null:
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        item: Any = type_.of_type
        item_non_null = isinstance(item, GraphQLNonNull)
        if item_non_null:
            item = item.of_type
        if is_leaf_type(item):
            return Recipe(attribute, Kind.LEAF_LIST, non_null, _coercion(item), None, item_non_null)
        if isinstance(item, GraphQLObjectType):
            return Recipe(attribute, Kind.OBJECT_LIST, non_null, None, item, item_non_null)
        return None  # lists of lists, interfaces and unions take the standard path
    if is_leaf_type(type_):
        return Recipe(
            attribute, Kind.LEAF, non_null, _coercion(type_), None, False, _enum_names(type_)
        )
    if isinstance(type_, GraphQLObjectType):
        return Recipe(attribute, Kind.OBJECT, non_null, None, type_, False)
    return None


def _enum_names(type_: Any) -> tuple[type, dict[Any, Any]] | None:
    wrapped = getattr(type_, "wrapped_cls", None)
    if not (isinstance(type_, GraphQLEnumType) and isinstance(wrapped, type)):
        return None
    if not issubclass(wrapped, enum.Enum):
        return None
    names: dict[Any, Any] = {}
    for member in wrapped:
        try:
            name: Any = type_.coerce_output_value(member)
        except Exception:  # noqa: S112 - such a member is left to graphql-core
            continue
        if name is not None and name is not Undefined:
            names[member] = name
    return wrapped, names


def _coercion(type_: GraphQLOutputType) -> Any:
    assert isinstance(type_, GraphQLLeafType)
    return type_.coerce_output_value


def returns_strings_as_is(coerce: Any) -> bool:
    """graphql-core's String and ID serialise a ``str`` as itself (no copy, no check)."""
    return coerce is serialize_string or coerce is serialize_id


def complete_leaf(coerce: Any, value: Any) -> Any:
    """``value`` (not None) serialised as graphql-core's ``complete_leaf_value`` would."""
    if value.__class__ not in _SETTLED and not isinstance(value, enum.Enum):
        # Exceptions and awaitables are completed differently by graphql-core.
        if isinstance(value, BaseException) or hasattr(value, "__await__"):
            raise NotPlain
    coerced = coerce(value)
    if coerced is None or coerced is Undefined:
        raise NotPlain
    return coerced


def complete_leaf_list(coerce: Any, item_non_null: bool, value: Any) -> list[Any]:
    """A list of leaves (the list itself not None); only plain lists and tuples qualify."""
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
            append(complete_leaf(coerce, item))
    return completed
