"""GraphQL objects whose fields are worked out when first read, not when built.

A page builds one object per row, but an operation reads only the fields it selects: the
inbox asks six of a referral's twenty-three. Converting every field of every row anyway
(enums, lists, nested objects, the case with its thirty fields) was most of the per-row
cost. A lazy object is an instance of a subclass of the GraphQL type, made without its
``__init__``: the fields every reader takes are set when it is built, every other field is
a descriptor on the subclass that computes the value from what the object was built from,
stores it on the instance and returns it. The stored value then shadows the descriptor
(a descriptor without ``__set__`` yields to the instance's own attribute), so a field is
computed at most once and reads as a plain attribute afterwards.

Nothing is decided late: access and consent are decided before the object is built (the
object is built from the decided view); only the conversion into answer values waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


class Deferred:
    """One field of a lazy object: computed from the object on first read, then stored."""

    __slots__ = ("make", "name")

    def __init__(self, make: Callable[[Any], Any]) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.make(instance)
        return value


def lazy_type(base: type[T], makers: Mapping[str, Callable[[Any], Any]]) -> type[T]:
    """A subclass of ``base`` (answering as ``base``: it is not a GraphQL type itself) whose
    fields named in ``makers`` are computed on first read by ``makers[name](instance)``."""
    namespace: dict[str, Any] = {name: Deferred(make) for name, make in makers.items()}
    namespace["__doc__"] = f"{base.__name__}, its fields worked out when first read."
    return type(f"Lazy{base.__name__}", (base,), namespace)


def build(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of a lazy type holding ``values`` (its eager fields and its sources),
    made without ``__init__``."""
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


def member(enum: type[E], value: Any) -> E:
    """``enum(value)`` by one dictionary look-up for a stored value (calling the enum class
    costs a Python-level call per value); anything else goes through the enum's own call,
    so an unknown value fails exactly as before."""
    found = enum._value2member_map_.get(value)
    if found is None:
        return enum(value)
    return found  # type: ignore[return-value]
