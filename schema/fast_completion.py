"""graphql-core's executor with a fast path for plain attribute reads.

graphql-core spends ~5 µs per field per row (a resolve info, a path, four completion calls)
even when the field only reads an attribute. The hub's read models are plain objects (access
and consent decided once, where a row loads), so most fields of a list are such reads. Two
shortcuts, each taken only where the answer is provably the one graphql-core gives:

- ``execute_fields``: a plain leaf field (or list of leaves, or ``__typename``) is read and
  serialised inline; every other field, and any leaf whose value is odd, goes through
  ``execute_field`` as before.
- ``complete_list_value`` / ``complete_object_value``: when the whole collected
  sub-selection, at every depth, consists of plain reads, the list or object is completed
  by ``schema.plain_plan`` in one loop; if any value is odd, the same value is completed
  again by graphql-core (reading plain attributes is side-effect free), so errors and nulls
  are exactly graphql-core's.

Neither shortcut is taken when an extension hooks ``resolve`` (middleware sees every field),
under ``@defer``/``@stream``, or for fields with arguments or other directives.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql.execution import ExecutionResult
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, RefMap, Undefined, gather_with_cancel
from graphql.type import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.plain_fields import (
    TYPENAME,
    Kind,
    NotPlain,
    Recipe,
    complete_leaf,
    complete_leaf_list,
    recipe_for,
)
from schema.plain_plan import (
    Plan,
    Step,
    complete_plain,
    complete_plain_list,
    field_step,
    typename_step,
)

# Directives that collect_fields has already applied; any other one keeps a field off the
# fast path (a directive may mean something to whoever reads the field node).
_APPLIED_DIRECTIVES = frozenset({"include", "skip"})

# A step of execute_fields: response name, field nodes, recipe of a plain leaf (or None for
# the standard path) and whether it is __typename.
_FieldStep = tuple[str, FieldDetailsList, Recipe | None, bool]


async def _gather_released(values: Any) -> list[Any]:
    return list(await gather_with_cancel(*values))


def _track_released(values: Any) -> None:
    # Released only when nothing runs in the background: no resolver is left to call this.
    raise RuntimeError("the execution has finished")


# What a finished execution hands to any late resolve info: helpers that hold no executor.
_RELEASED = GraphQLResolveInfoHelpers(gather=_gather_released, track=_track_released)


class FastPathCount:
    """How many list items and objects the whole-subtree path completed (tests assert
    that it is taken); nested objects are not counted."""

    objects: int = 0


FAST_PATH = FastPathCount()


def _plain_nodes(field_details_list: FieldDetailsList) -> bool:
    for details in field_details_list:
        node = details.node
        if node.arguments:
            return False
        for directive in node.directives or ():
            if directive.name.value not in _APPLIED_DIRECTIVES:
                return False
    return True


class FastCompletionExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reset_fast_memos()

    def reset_fast_memos(self) -> None:
        """Plans and steps are memoised per execution, like graphql-core's collected fields,
        because what a selection collects depends on the operation's variables (@skip)."""
        manager = self.middleware_manager
        self._fast_enabled = not (manager is not None and manager.middlewares)
        self._steps: dict[int, tuple[GroupedFieldSet, tuple[_FieldStep, ...] | None]] = {}
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList, Plan | None]] = {}

    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        if (
            isinstance(response, ExecutionResult)
            and not self.background_futures
            and not self.pending_incremental_futures
        ):
            self._release()
        return response

    def _release(self) -> None:
        """Let the execution's memos go by reference counting, not by the collector.

        ``async_helpers`` holds bound methods of the executor, so every executor is a
        reference cycle, and everything it memoised (collected fields, plans, stream and
        execution-plan maps: ~200 objects for an inbox page) waited for a full collection.
        Once the response is built and nothing runs in the background, none of it is
        read again: dropping it here (and the cycle with it) frees it at once."""
        self._relevant_sub_fields = {}
        self._stream_usages = RefMap()
        self._steps = {}
        self._plans = {}
        self.async_helpers = _RELEASED

    # --- plain leaves inside any object ---------------------------------------------------

    def _steps_for(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> tuple[_FieldStep, ...] | None:
        key = id(grouped_field_set)
        cached = self._steps.get(key)
        if cached is not None:
            return cached[1]
        steps: list[_FieldStep] = []
        any_plain = False
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            recipe = None
            typename = False
            if self._fast_enabled and _plain_nodes(field_details_list):
                if name == TYPENAME:
                    typename = True
                else:
                    recipe = recipe_for(parent_type, name)
                    if recipe is not None and recipe.kind not in (Kind.LEAF, Kind.LEAF_LIST):
                        recipe = None
            any_plain = any_plain or typename or recipe is not None
            steps.append((response_name, field_details_list, recipe, typename))
        result = tuple(steps) if any_plain else None
        self._steps[key] = (grouped_field_set, result)
        return result

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        steps = self._steps_for(parent_type, grouped_field_set)
        if steps is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, field_details_list, recipe, typename in steps:
                if typename:
                    results[response_name] = parent_type.name
                    continue
                if recipe is not None:
                    try:
                        results[response_name] = _leaf_field(recipe, source_value)
                        continue
                    except Exception:  # noqa: S110 - graphql-core completes it below
                        pass
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        pending.append(response_name)
        except Exception:
            if pending:
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results
        return _awaited_fields(results, pending)

    # --- whole plain subtrees -------------------------------------------------------------

    def _plan_for(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Plan | None:
        key = (object_type, id(field_details_list))
        cached = self._plans.get(key)
        if cached is not None:
            return cached[1]
        plan = self._compile(object_type, field_details_list)
        self._plans[key] = (field_details_list, plan)
        return plan

    def _compile(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Plan | None:
        if not self._fast_enabled or not _plain_nodes(field_details_list):
            return None
        is_type_of = object_type.is_type_of
        if is_type_of is not None and is_type_of.__module__ != "strawberry.schema.schema_converter":
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages:
            return None
        steps: list[Step] = []
        for response_name, sub_fields in grouped_field_set.items():
            if not _plain_nodes(sub_fields):
                return None
            name = sub_fields[0].node.name.value
            if name == TYPENAME:
                steps.append(typename_step(response_name))
                continue
            recipe = recipe_for(object_type, name)
            if recipe is None:
                return None
            nested = None
            if recipe.object_type is not None:
                nested = self._plan_for(recipe.object_type, sub_fields)
                if nested is None:
                    return None
            steps.append(field_step(response_name, recipe, nested))
        return Plan(object_type.name, is_type_of, tuple(steps))

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if position_context is None and (result.__class__ is list or result.__class__ is tuple):
            item_type: Any = return_type.of_type
            item_non_null = isinstance(item_type, GraphQLNonNull)
            if item_non_null:
                item_type = item_type.of_type
            if isinstance(item_type, GraphQLObjectType):
                plan = self._plan_for(item_type, field_details_list)
                if plan is not None:
                    try:
                        completed = complete_plain_list(plan, result, item_non_null)
                    except Exception:  # noqa: S110 - graphql-core completes the list below
                        pass
                    else:
                        FAST_PATH.objects += len(completed)
                        return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if position_context is None:
            plan = self._plan_for(return_type, field_details_list)
            if plan is not None:
                try:
                    completed = complete_plain(plan, result)
                except Exception:  # noqa: S110 - graphql-core completes the object below
                    pass
                else:
                    FAST_PATH.objects += 1
                    return completed
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )


def _leaf_field(recipe: Recipe, source: Any) -> Any:
    value = getattr(source, recipe.attribute)
    if value is None:
        if recipe.non_null:
            raise NotPlain
        return None
    if recipe.kind is Kind.LEAF:
        enum = recipe.enum_names
        if enum is not None and value.__class__ is enum[0]:
            return enum[1][value]
        return complete_leaf(recipe.coerce, value)
    return complete_leaf_list(recipe.coerce, recipe.item_non_null, value)


async def _awaited_fields(results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    if len(pending) == 1:
        name = pending[0]
        results[name] = await results[name]
        return results
    awaitables: list[Awaitable[Any]] = [results[name] for name in pending]
    values = await gather_with_cancel(*awaitables)
    results.update(zip(pending, values, strict=True))
    return results
