"""Scope checks, declared on root fields and mutations only (never on every leaf)."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from schema.context import HubContext


class _ScopePermission(BasePermission):
    scope: str = ""
    message = "this operation needs a scope the token does not carry"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[HubContext, None], **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is not None and principal.has(self.scope)


_cache: dict[str, type[BasePermission]] = {}


def requires(scope: str) -> type[BasePermission]:
    """A permission class that lets through tokens carrying ``scope``."""
    if scope not in _cache:
        name = "Requires_" + scope.replace(":", "_")
        _cache[scope] = type(
            name,
            (_ScopePermission,),
            {"scope": scope, "message": f"this operation needs the '{scope}' scope"},
        )
    return _cache[scope]


class _AnyScopePermission(BasePermission):
    scopes: tuple[str, ...] = ()
    message = "this operation needs a scope the token does not carry"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[HubContext, None], **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is not None and any(principal.has(s) for s in self.scopes)


def requires_any(*scopes: str) -> type[BasePermission]:
    """A permission class that lets through tokens carrying at least one of ``scopes``."""
    key = "|".join(scopes)
    if key not in _cache:
        _cache[key] = type(
            "RequiresAny_" + "_".join(s.replace(":", "_") for s in scopes),
            (_AnyScopePermission,),
            {"scopes": scopes, "message": f"this operation needs one of: {', '.join(scopes)}"},
        )
    return _cache[key]
