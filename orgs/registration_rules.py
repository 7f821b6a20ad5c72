"""What a member may register for itself at ``/oauth/register`` (RFC 7591). Pure, no I/O.

The coordinator only hands out a single-use initial access token; everything the member
asks for is checked here against its organisation's kind, so the ceiling in
``orgs.rules.SCOPE_CEILING`` holds for self-registered clients as for any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from orgs.client_keys import check_public_jwks
from orgs.rules import OrganizationKind, check_name, check_scopes
from store.errors import ErrorCode, HubError

SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
KEY_METHOD = "private_key_jwt"
AUTH_METHODS = SECRET_METHODS | {KEY_METHOD}

MIN_TOKEN_HOURS = 1
MAX_TOKEN_HOURS = 7 * 24
DEFAULT_TOKEN_HOURS = 24


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    """A checked registration request: what the new client will be."""

    name: str
    scopes: frozenset[str]
    auth_method: str
    jwks: dict[str, Any] | None

    @property
    def uses_secret(self) -> bool:
        return self.auth_method in SECRET_METHODS


def registration_token_lifetime(hours: int) -> timedelta:
    """An initial access token lives between an hour and a week: long enough to hand over."""
    if not MIN_TOKEN_HOURS <= hours <= MAX_TOKEN_HOURS:
        raise HubError(
            ErrorCode.BAD_USER_INPUT,
            f"expiresInHours must be between {MIN_TOKEN_HOURS} and {MAX_TOKEN_HOURS}",
        )
    return timedelta(hours=hours)


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def _only(metadata: dict[str, Any], name: str, allowed: list[str]) -> None:
    value = metadata.get(name)
    if value is None:
        return
    if not isinstance(value, list) or any(item not in allowed for item in value):
        raise _bad(f"{name} may only be {allowed}")


def check_registration(kind: OrganizationKind, metadata: dict[str, Any]) -> ClientRegistration:
    """The client a member of ``kind`` may register from the RFC 7591 ``metadata`` it sent.

    Only machine clients are registered (client credentials, no redirects); scopes must be
    named and stay within the kind's ceiling; ``private_key_jwt`` needs public keys given
    inline (the hub never fetches a ``jwks_uri``), and secret methods take no keys.
    """
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise _bad(f"token_endpoint_auth_method must be one of {sorted(AUTH_METHODS)}")
    _only(metadata, "grant_types", ["client_credentials"])
    _only(metadata, "response_types", [])
    if metadata.get("redirect_uris"):
        raise _bad("redirect_uris are not accepted: only client credentials are supported")
    if metadata.get("jwks_uri") is not None:
        raise _bad("jwks_uri is not accepted: send the public keys as jwks")
    scope = metadata.get("scope")
    if not isinstance(scope, str) or not scope.split():
        raise _bad("scope is required: name the scopes the client needs")
    scopes = check_scopes(kind, scope.split())
    name = metadata.get("client_name")
    if name is not None and not isinstance(name, str):
        raise _bad("client_name must be a string")
    label = check_name(name or "registered client")
    jwks = metadata.get("jwks")
    if method == KEY_METHOD:
        if jwks is None:
            raise _bad("private_key_jwt needs the client's public keys in jwks")
        return ClientRegistration(label, scopes, method, check_public_jwks(jwks))
    if jwks is not None:
        raise _bad("jwks is only accepted with token_endpoint_auth_method private_key_jwt")
    return ClientRegistration(label, scopes, method, None)
