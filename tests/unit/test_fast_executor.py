"""The executor's fast path answers byte for byte what graphql-core's own path answers.

One small schema, run twice: with the hub's executor (``FlatMemoryExecutor``, fast path on)
and with strawberry's plain ``StrawberryGraphQLCoreExecutionContext``. Rows are plain slots
objects (what the read path hands over) holding odd values: nulls where null is allowed and
where it is not, enum members, datetimes with odd offsets, ids given as ints, extreme floats,
values a scalar refuses, attributes that raise or are missing, tuples and sets for lists.
Data and errors are compared as orjson bytes.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import orjson
import pytest
import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.executor import FlatMemoryExecutor
from schema.fast_completion import FAST_PATH
from schema.plain_fields import Kind, recipe_for
from schema.scalars import SCALAR_OVERRIDES


@strawberry.enum
class Colour(Enum):
    RED = "red"
    DARK_BLUE = "dark blue"


class Nobody(BasePermission):
    message = "nobody may read this"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Leaf:
    id: strawberry.ID
    label: str
    maybe: str | None
    count: int
    ratio: float
    colour: Colour
    at: datetime
    tags: list[str]
    maybe_tags: list[str | None] | None
    grid: list[list[int]]
    guarded: str | None = strawberry.field(permission_classes=[Nobody], default=None)


@strawberry.type
class Node:
    id: strawberry.ID
    leaf: Leaf
    maybe_leaf: Leaf | None
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None

    @strawberry.field
    def computed(self, suffix: str = "!") -> str:
        return f"{self.id}{suffix}"


@strawberry.type
class Query:
    nodes: list[Node]
    loose_nodes: list[Node | None] | None
    node: Node | None


class _QuietSchema(strawberry.Schema):
    """Strawberry logs each error with its traceback; the answers are what is compared."""

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        return None


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    def build(executor: Any) -> strawberry.Schema:
        return _QuietSchema(
            query=Query,
            execution_context_class=executor,
            scalar_overrides=SCALAR_OVERRIDES,
            # As in the hub: a document is parsed and validated once (both are cyclic).
            extensions=[lambda: ParserCache(maxsize=64), lambda: ValidationCache(maxsize=64)],
        )

    return build(FlatMemoryExecutor), build(StrawberryGraphQLCoreExecutionContext)


FAST, STANDARD = _schemas()


@dataclass(slots=True)
class LeafRow:
    id: Any = "leaf-1"
    label: Any = "plain label"
    maybe: Any = None
    count: Any = 3
    ratio: Any = 0.1
    colour: Any = Colour.DARK_BLUE
    at: Any = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    tags: Any = field(default_factory=lambda: ["a", "b"])
    maybe_tags: Any = None
    grid: Any = field(default_factory=lambda: [[1, 2], [], [3]])
    guarded: Any = "never shown"


@dataclass(slots=True)
class NodeRow:
    id: Any = "node-1"
    leaf: Any = field(default_factory=LeafRow)
    maybe_leaf: Any = None
    leaves: Any = field(default_factory=list)
    maybe_leaves: Any = None


class Exploding:
    """A row whose ``label`` raises: graphql-core reports the error at its path."""

    __slots__ = ()
    id = "boom"
    maybe = None
    count = 1
    ratio = 1.0
    colour = Colour.RED
    at = datetime(2026, 1, 1, tzinfo=UTC)
    tags: list[str] = []
    maybe_tags = None
    grid: list[list[int]] = []

    @property
    def label(self) -> str:
        raise RuntimeError("label unavailable")


@dataclass(slots=True)
class World:
    nodes: Any
    loose_nodes: Any = None
    node: Any = None


def odd_leaves() -> list[Any]:
    """Leaves that complete, each with an odd but valid value."""
    return [
        LeafRow(),
        LeafRow(id=7, maybe="", count=-(2**31), ratio=-0.0, colour=Colour.RED),
        LeafRow(
            at=datetime(2026, 3, 4, 5, 6, 7, 891, tzinfo=timezone(timedelta(hours=5, minutes=45)))
        ),
        LeafRow(at=datetime(1999, 12, 31, 23, 59, tzinfo=timezone(timedelta(minutes=-30)))),
        LeafRow(ratio=1e300, count=2**31 - 1, tags=("tuple", "tags"), maybe_tags=[None, "x"]),
        LeafRow(ratio=3, maybe_tags=[], tags=[], grid=[]),
        LeafRow(label='ស្រី ខ្មែរ \u2028 "quoted" \\ ', maybe="\x00nul"),
    ]


def good_world() -> World:
    leaves = odd_leaves()
    nodes = [
        NodeRow(id=f"n{i}", leaf=leaf, maybe_leaf=leaf if i % 2 else None, leaves=leaves[:i])
        for i, leaf in enumerate(leaves)
    ]
    nodes.append(NodeRow(id=99, maybe_leaves=[None, LeafRow(), None]))
    return World(nodes=nodes, loose_nodes=[None, *nodes], node=nodes[2])


def broken(**changes: Any) -> World:
    """A good world in which one deep leaf is changed: the error bubbles differently
    through ``nodes`` (non-null all the way), ``looseNodes`` and ``node``."""
    world = good_world()
    bad = LeafRow(**changes)
    world.nodes[3].leaves = [LeafRow(), bad]
    world.nodes[4].leaf = bad
    return world


def exploding_world() -> World:
    world = good_world()
    world.nodes[1].leaf = Exploding()
    world.nodes[2].maybe_leaf = Exploding()
    return world


def missing_world() -> World:
    world = good_world()
    world.nodes[1].maybe_leaf = object()  # no attributes at all
    return world


PLAIN = "id label maybe count ratio colour at tags maybeTags"
# ``grid`` (a list of lists) keeps its objects on graphql-core's path, leaves inline.
LEAF = f"{PLAIN} grid"
ALL_PLAIN = f"""
query {{
  nodes {{ id leaf {{ {PLAIN} }} maybeLeaf {{ {PLAIN} }} leaves {{ {PLAIN} }} maybeLeaves {{ id }} }}
  looseNodes {{ id leaf {{ {PLAIN} }} maybeLeaf {{ id label }} }}
  node {{ id leaf {{ {PLAIN} }} }}
}}"""
FULL = f"""
query {{
  nodes {{ id leaf {{ {LEAF} }} maybeLeaf {{ {LEAF} }} leaves {{ {LEAF} }} maybeLeaves {{ id }} }}
  looseNodes {{ id leaf {{ {LEAF} }} maybeLeaf {{ id label }} }}
  node {{ id leaf {{ {LEAF} }} }}
}}"""

OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "full": (FULL, {}),
    "all plain": (ALL_PLAIN, {}),
    "aliases and merging": (
        """query { nodes { a: id b: id leaf { id } leaf { label x: count }
             first: leaf { colour } } node { again: leaves { one: id two: id } } }""",
        {},
    ),
    "fragments": (
        """query { nodes { ...N leaf { ... on Leaf { at } ...L } } looseNodes { ... on Node { id } } }
           fragment N on Node { id maybeLeaf { ...L } }
           fragment L on Leaf { label colour tags }""",
        {},
    ),
    "typename": (
        "query { __typename nodes { __typename id leaf { __typename t: __typename id } } }",
        {},
    ),
    "include and skip": (
        """query($yes: Boolean!, $no: Boolean!) {
             nodes { id @include(if: $yes) leaf { label @skip(if: $yes) count @skip(if: $no)
                     colour @include(if: $no) } maybeLeaf @include(if: $yes) { id } } }""",
        {"yes": True, "no": False},
    ),
    "include and skip, flipped": (
        """query($yes: Boolean!, $no: Boolean!) {
             nodes { id @include(if: $yes) leaf { label @skip(if: $yes) count @skip(if: $no)
                     colour @include(if: $no) } maybeLeaf @include(if: $yes) { id } } }""",
        {"yes": False, "no": True},
    ),
    "resolver and permission among plain fields": (
        'query { nodes { id computed c2: computed(suffix: "?") leaf { id guarded } } }',
        {},
    ),
}

WORLDS: dict[str, Any] = {
    "good": good_world,
    "null in a non-null leaf": lambda: broken(label=None),
    "null in a non-null list item": lambda: broken(tags=["a", None]),
    "NaN float": lambda: broken(ratio=math.nan),
    "int out of range": lambda: broken(count=2**40),
    "string for an int": lambda: broken(count="7"),
    "naive datetime": lambda: broken(at=datetime(2026, 1, 1)),
    "not an enum member": lambda: broken(colour="purple"),
    "an enum's value, not its member": lambda: broken(colour="dark blue"),
    "a set for a list": lambda: broken(tags={"only"}),
    "a string for a list": lambda: broken(tags="abc"),
    "an exception as a value": lambda: broken(maybe=ValueError("kept out")),
    "an attribute that raises": exploding_world,
    "an object without the attributes": missing_world,
    "null rows": lambda: World(nodes=[NodeRow(), None], loose_nodes=[None], node=None),
}


def run(schema: strawberry.Schema, query: str, variables: dict[str, Any], world: World) -> bytes:
    result = schema.execute_sync(query, variable_values=variables, root_value=world)
    errors = [error.formatted for error in result.errors or []]
    return orjson.dumps({"data": result.data, "errors": errors})


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("world", list(WORLDS))
def test_the_fast_path_answers_what_graphql_core_answers(world: str, operation: str) -> None:
    query, variables = OPERATIONS[operation]
    fast = run(FAST, query, variables, WORLDS[world]())
    standard = run(STANDARD, query, variables, WORLDS[world]())
    assert fast == standard
    # Not vacuous: the good world answers data; a broken one, where the operation reaches
    # the broken value, answers graphql-core's errors (compared above).
    assert orjson.loads(standard)["data"] is not None or world != "good"


# Odd values graphql-core accepts: "7" for an Int, a naive datetime, a set for a list, an
# enum's value for the member.
ANSWERED_WITHOUT_ERRORS = {
    "good",
    "string for an int",
    "naive datetime",
    "a set for a list",
    "an enum's value, not its member",
}


def test_the_broken_worlds_are_broken() -> None:
    for world in WORLDS:
        answer = orjson.loads(run(STANDARD, FULL, {}, WORLDS[world]()))
        assert bool(answer["errors"]) == (world not in ANSWERED_WITHOUT_ERRORS), world


def test_plain_lists_are_completed_by_the_fast_path() -> None:
    world = good_world()
    before = FAST_PATH.objects
    run(FAST, ALL_PLAIN, {}, world)
    # The items of `nodes` and `looseNodes` and the object `node`, one loop each.
    assert FAST_PATH.objects - before == len(world.nodes) + len(world.loose_nodes) + 1
    before = FAST_PATH.objects
    run(FAST, "query { nodes { id leaf { label grid } } }", {}, world)
    assert FAST_PATH.objects == before  # `grid` keeps every node on graphql-core's path


def test_a_broken_row_alone_leaves_the_fast_path() -> None:
    world = broken(label=None)
    before = FAST_PATH.objects
    answer = orjson.loads(run(FAST, "query { looseNodes { id leaf { label } } }", {}, world))
    # The list is completed again by graphql-core, which hands each node back to the fast
    # path: all but the broken one (nulled, with graphql-core's error) complete there.
    assert FAST_PATH.objects - before == len(world.nodes) - 1
    assert answer["data"]["looseNodes"][5] is None
    assert [e["path"] for e in answer["errors"]] == [["looseNodes", 5, "leaf", "label"]]


def test_only_default_attribute_reads_are_plain() -> None:
    leaf = FAST._schema.type_map["Leaf"]
    node = FAST._schema.type_map["Node"]
    assert recipe_for(leaf, "label").kind is Kind.LEAF  # type: ignore[union-attr, arg-type]
    assert recipe_for(leaf, "tags").kind is Kind.LEAF_LIST  # type: ignore[union-attr, arg-type]
    assert recipe_for(node, "leaves").kind is Kind.OBJECT_LIST  # type: ignore[union-attr, arg-type]
    assert recipe_for(leaf, "grid") is None  # type: ignore[arg-type]  # lists of lists
    assert recipe_for(leaf, "guarded") is None  # type: ignore[arg-type]  # permission class
    assert recipe_for(node, "computed") is None  # type: ignore[arg-type]  # a resolver
    assert recipe_for(node, "unknown") is None  # type: ignore[arg-type]


def test_an_execution_leaves_no_cyclic_garbage() -> None:
    world = good_world()
    run(FAST, FULL, {}, world)  # warm caches
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        # (An error keeps its traceback's frames, a cycle of its own: errors are exceptional.)
        run(FAST, FULL, {}, world)
        run(FAST, ALL_PLAIN, {}, world)
        gc.collect()
        left = [type(o).__module__ + "." + type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    executor_garbage = [n for n in left if n.startswith(("graphql.", "schema.", "strawberry."))]
    assert executor_garbage == []
    # The standard executor is the cycle this cuts: the same run leaves it behind.
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run(STANDARD, FULL, {}, world)
        gc.collect()
        left = [type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert "StrawberryGraphQLCoreExecutionContext" in left
