"""The shape of ``_entities`` representations, checked before any reference is resolved.

A federation gateway sends ``{"__typename": "Organization", "id": "…"}``; anyone else may
send ``[]``, ``true``, ``{}`` or a type the hub does not own. Each representation is checked
on its own (an object, a known entity type, every field of one of its keys present and of
the key field's type) and a bad one becomes BAD_USER_INPUT at its index, while the others
still resolve. Only the key fields are passed on to ``resolve_reference``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, GraphQLSchema
from graphql.error import GraphQLError
from strawberry.federation.schema_directives import Key

from store.errors import ErrorCode, HubError

# type name -> its keys, each a tuple of field names
EntityKeys = Mapping[str, Sequence[tuple[str, ...]]]


def entity_keys(type_map: Mapping[str, Any]) -> dict[str, list[tuple[str, ...]]]:
    """The key field sets of every entity type, read from the ``@key`` directives."""
    found: dict[str, list[tuple[str, ...]]] = {}
    for name, converted in type_map.items():
        definition = getattr(converted, "definition", None)
        for directive in getattr(definition, "directives", None) or ():
            if isinstance(directive, Key) and "{" not in str(directive.fields):
                found.setdefault(name, []).append(tuple(str(directive.fields).split()))
    return found


def _refuse(index: int, rule: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, f"representation {index}: {rule}")


def _key_value(schema: GraphQLSchema, type_name: str, field: str, value: Any) -> Any:
    """The key field's value parsed by its scalar, or ValueError."""
    graphql_type = schema.get_type(type_name)
    if not isinstance(graphql_type, GraphQLObjectType) or field not in graphql_type.fields:
        raise ValueError(field)
    field_type = graphql_type.fields[field].type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    if not isinstance(field_type, GraphQLScalarType) or value is None or isinstance(value, bool):
        raise ValueError(field)
    try:
        return field_type.parse_value(value)
    except (GraphQLError, TypeError, ValueError):
        raise ValueError(field) from None


def checked_representation(
    index: int, representation: Any, keys: EntityKeys, schema: GraphQLSchema
) -> dict[str, Any]:
    """``{"__typename": …, key fields…}`` for a well-formed representation, else HubError."""
    if not isinstance(representation, dict):
        raise _refuse(index, "must be an object with __typename and key fields")
    type_name = representation.get("__typename")
    if not isinstance(type_name, str) or type_name not in keys:
        known = ", ".join(sorted(keys))
        raise _refuse(index, f"__typename must name an entity type of this subgraph ({known})")
    for key in keys[type_name]:
        if not all(field in representation for field in key):
            continue
        try:
            values = {
                field: _key_value(schema, type_name, field, representation[field]) for field in key
            }
        except ValueError as exc:
            raise _refuse(index, f"key field {exc} has the wrong type") from None
        return {"__typename": type_name, **values}
    wanted = " or ".join(" ".join(key) for key in keys[type_name])
    raise _refuse(index, f"a {type_name} representation needs its key fields: {wanted}")
