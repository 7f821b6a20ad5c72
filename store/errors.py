"""The documented error codes, raised by rules and services, shown by the gateway.

Kept apart from any I/O so pure rule modules can raise them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL = "INTERNAL"
    # The database (or another dependency) is unreachable for now: HTTP 503 with Retry-After.
    UNAVAILABLE = "UNAVAILABLE"
    # HTTP-level refusals: the request never reached GraphQL (see gateway/http_errors.py).
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"


class HubError(Exception):
    """An expected failure with a documented code and a message safe to show anyone.

    Messages never contain survivor data: they name fields and rules, not values.
    """

    def __init__(
        self, code: ErrorCode, message: str, extensions: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Machine-readable detail shown next to the code, e.g. ``allowedActions``.
        self.extensions: dict[str, object] = dict(extensions or {})


def not_found(what: str = "object") -> HubError:
    """The one answer for 'does not exist' and 'not yours': indistinguishable on purpose."""
    return HubError(ErrorCode.NOT_FOUND, f"{what} not found")
