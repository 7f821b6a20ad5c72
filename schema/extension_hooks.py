"""Schema-extension hooks found once per extension class, not once per operation.

Strawberry looks for every extension's hook anew at each stage of every operation
(operation, parsing, validation, execution): for the hub's nine extensions that is 36
inspections (``inspect.isgeneratorfunction`` and friends) and a freshly decorated context
manager per hook, on every request. Which hook a class defines, and of which kind, never
changes, so it is worked out once per class here. Each operation still gets hooks bound to
its own extension instances, in the same order and entered the same way: only the lookup is
remembered, nothing about any request.
"""

from __future__ import annotations

import contextlib
import inspect
from functools import partial
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# What a class's hook is: nothing, a generator (sync), an async generator, or anything else
# callable (left to strawberry, which wraps it per call).
_NONE, _SYNC, _ASYNC, _OTHER = range(4)

# Extension classes are the schema's own: a handful. The bound only guards against a caller
# making classes on the fly (then their lookups are simply not remembered).
_MAX_CLASSES = 256

_found: dict[tuple[type[SchemaExtension], str], tuple[int, Any]] = {}


def _find(cls: type[SchemaExtension], name: str, default: object) -> tuple[int, Any]:
    hook = getattr(cls, name)
    if hook is None or hook is default:
        return _NONE, None
    if inspect.isgeneratorfunction(hook):
        return _SYNC, contextlib.contextmanager(hook)
    if inspect.isasyncgenfunction(hook):
        return _ASYNC, contextlib.asynccontextmanager(hook)
    return _OTHER, None


class _RememberedHooks(ExtensionContextManagerBase):
    """``get_hook`` of strawberry's context managers, with the per-class lookup remembered."""

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        key = (type(extension), self.HOOK_NAME)
        found = _found.get(key)
        if found is None:
            found = _find(type(extension), self.HOOK_NAME, self.default_hook)
            if len(_found) < _MAX_CLASSES:
                _found[key] = found
        kind, manager = found
        if kind == _NONE:
            return None
        if kind == _OTHER:
            return super().get_hook(extension)
        # ``manager(extension)`` is the decorated method called on this instance.
        return WrappedHook(
            extension=extension, hook=partial(manager, extension), is_async=kind == _ASYNC
        )


class _Operation(_RememberedHooks, OperationContextManager):
    pass


class _Validation(_RememberedHooks, ValidationContextManager):
    pass


class _Parsing(_RememberedHooks, ParsingContextManager):
    pass


class _Executing(_RememberedHooks, ExecutingContextManager):
    pass


class RememberedHooksRunner(SchemaExtensionsRunner):
    """Strawberry's runner with the four per-operation stages' hooks found as above."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
