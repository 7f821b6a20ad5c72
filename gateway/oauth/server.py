"""The hub's OAuth 2.0 authorization server, built on authlib.

authlib's hooks are synchronous while the hub's storage is async, so each endpoint first
loads, asynchronously, everything the hooks may ask for (the candidate clients, whether an
assertion was already used, the state of a token being introspected or revoked) into a
``TokenRequestContext``. The hooks read that context; writes the hooks ask for (an
assertion to remember, a token to revoke) are carried out after authlib has answered,
and an assertion that turns out to be a replay at that point is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidScopeError,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet

from gateway.oauth.keys import ALGORITHM, ActiveKey
from gateway.settings import Settings
from orgs.models import ApiClient
from orgs.rules import ALL_SCOPES, SCOPE_CEILING, MembershipStatus, OrganizationKind
from orgs.service import secret_matches

SECRET_METHODS = ("client_secret_basic", "client_secret_post")
KEY_METHOD = "private_key_jwt"


class HubClient(ClientMixin):  # type: ignore[misc]
    """An API client as authlib sees it, with its organisation's standing."""

    def __init__(
        self,
        row: ApiClient,
        organization_kind: str,
        organization_status: str,
        tokens_valid_after: int | None = None,
    ) -> None:
        self.row = row
        self.organization_id = row.organization_id
        self.organization_kind = OrganizationKind(organization_kind)
        self.organization_status = organization_status
        self.scopes = frozenset(row.scopes.split()) & SCOPE_CEILING[self.organization_kind]
        # The last suspension or disable, in whole seconds: new tokens must be issued after it.
        self.tokens_valid_after = tokens_valid_after

    @property
    def usable(self) -> bool:
        return self.refusal is None

    @property
    def refusal(self) -> str | None:
        """What a client that authenticated correctly is told when it may not act."""
        if not self.row.enabled:
            return "client is disabled"
        if self.organization_status != MembershipStatus.ACTIVE:
            return "organisation is not active"
        return None

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(sorted(self.scopes))
        return " ".join(sorted(set(scope.split()) & self.scopes))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method in SECRET_METHODS:
            return self.row.secret_hash is not None
        if method == KEY_METHOD:
            return bool(self.row.jwks)
        return False

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


FAILED_AUTHENTICATION = "client authentication failed"
# A hash no secret matches: what an unknown client's secret is compared against.
_NO_SECRET_HASH = hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def authentication_failed() -> InvalidClientError:
    """The one refusal for every failed client authentication, at every endpoint."""
    return InvalidClientError(status_code=401, description=FAILED_AUTHENTICATION)


def stand_in(client_id: str) -> HubClient:
    """A client that does not exist: it has a secret hash nothing matches and no keys."""
    row = ApiClient(
        client_id=client_id[:64],
        organization_id="",
        name="",
        scopes="",
        secret_hash=_NO_SECRET_HASH,
        jwks=None,
        enabled=False,
    )
    return HubClient(row, OrganizationKind.SERVICE_PROVIDER.value, MembershipStatus.REVOKED.value)


@dataclass
class TokenState:
    """What the hub knows of a presented access token."""

    claims: dict[str, Any]
    revoked: bool
    holder_usable: bool

    @property
    def expired(self) -> bool:
        return int(self.claims["exp"]) <= int(time.time())


class HubToken(TokenMixin):  # type: ignore[misc]
    def __init__(self, state: TokenState) -> None:
        self.state = state

    def check_client(self, client: HubClient) -> bool:
        return bool(self.state.claims.get("client_id") == client.get_client_id())

    def get_scope(self) -> str:
        return str(self.state.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        return max(0, int(self.state.claims["exp"]) - int(time.time()))

    def is_expired(self) -> bool:
        return self.state.expired

    def is_revoked(self) -> bool:
        return self.state.revoked or not self.state.holder_usable


@dataclass
class TokenRequestContext:
    """Everything the synchronous hooks may need, loaded beforehand."""

    signing_key: ActiveKey | None = None
    clients: dict[str, HubClient] = field(default_factory=dict)
    used_assertions: set[tuple[str, str]] = field(default_factory=set)
    presented_token: TokenState | None = None
    # Filled in by the hooks, acted on after authlib has answered.
    accepted_assertion: tuple[str, str, int] | None = None
    authenticated: str | None = None  # the client id, once its credentials were checked
    revoke: TokenState | None = None
    issued: dict[str, Any] | None = None


_context: ContextVar[TokenRequestContext] = ContextVar("token_request_context")


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An already-parsed form request, in the shape authlib expects."""

    def __init__(self, uri: str, headers: dict[str, str], form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class HubClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, KEY_METHOD]

    def validate_requested_scope(self) -> None:
        # Asking for a scope the client was not granted is refused, not silently trimmed.
        requested = set((self.request.payload.scope or "").split())
        client: HubClient = self.request.client
        if requested - client.scopes:
            raise InvalidScopeError()
        super().validate_requested_scope()


class HubClientAssertion(JWTBearerClientAssertion):  # type: ignore[misc]
    """``private_key_jwt`` (RFC 7523) against the client's registered public keys."""

    CLIENT_AUTH_METHOD = KEY_METHOD

    def __init__(self, settings: Settings) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = [settings.token_url, settings.issuer]

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: HubClient) -> KeySet:
        jwks: Any = client.row.jwks
        if not jwks:
            # authlib resolves the key before it checks the method; no keys is no entry.
            raise InvalidClientError(description="the client has no registered keys")
        return KeySet.import_key_set(jwks)

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        ctx = _context.get()
        client_id = str(claims["sub"])
        if (client_id, str(jti)) in ctx.used_assertions:
            return False
        ctx.accepted_assertion = (client_id, str(jti)[:200], int(claims["exp"]))
        return True


class HubIntrospection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = [*SECRET_METHODS, KEY_METHOD]
    SUPPORTED_TOKEN_TYPES = ("access_token",)

    def query_token(self, token_string: str, token_type_hint: str | None) -> HubToken | None:
        state = _context.get().presented_token
        return HubToken(state) if state is not None else None

    def check_permission(self, token: HubToken, client: HubClient, request: Any) -> bool:
        # A client may introspect its own tokens; a coordinator may introspect any.
        return token.check_client(client) or "network:admin" in client.scopes

    def introspect_token(self, token: HubToken) -> dict[str, Any]:
        claims = token.state.claims
        return {
            "active": True,
            "token_type": "Bearer",
            **{
                name: claims[name]
                for name in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "org")
                if name in claims
            },
        }


class HubRevocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = [*SECRET_METHODS, KEY_METHOD]
    SUPPORTED_TOKEN_TYPES = ("access_token",)

    def query_token(self, token_string: str, token_type_hint: str | None) -> HubToken | None:
        state = _context.get().presented_token
        return HubToken(state) if state is not None else None

    def revoke_token(self, token: HubToken, request: Any) -> None:
        _context.get().revoke = token.state


class HubAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.settings = settings
        self.register_grant(HubClientCredentialsGrant)
        self.register_client_auth_method(KEY_METHOD, HubClientAssertion(settings))
        self.register_token_generator("client_credentials", self._generate_token)
        self.register_endpoint(HubIntrospection)
        self.register_endpoint(HubRevocation)

    def run(
        self, ctx: TokenRequestContext, endpoint: str | None, request: StarletteOAuth2Request
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Run one endpoint with ``ctx`` available to the hooks."""
        reset = _context.set(ctx)
        try:
            if endpoint is None:
                result = self.create_token_response(request)
            else:
                result = self.create_endpoint_response(endpoint, request)
        finally:
            _context.reset(reset)
        status, body, headers = result
        return status, body, headers

    def query_client(self, client_id: str) -> HubClient:
        # An unknown client is checked against a stand-in that never authenticates, so it
        # costs the same hash as a wrong secret and meets the same refusal.
        return _context.get().clients.get(client_id) or stand_in(client_id)

    def authenticate_client(
        self, request: Any, methods: list[str], endpoint: str = "token"
    ) -> HubClient:
        try:
            client: HubClient = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            # One answer for an unknown client, a wrong secret and a bad assertion, whichever
            # method and endpoint: no oracle of which clients exist.
            raise authentication_failed() from error
        if client.refusal is not None:
            # Only a client that proved who it is learns why it may not act.
            raise InvalidClientError(status_code=401, description=client.refusal)
        _context.get().authenticated = client.get_client_id()
        return client

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        _context.get().issued = token

    def create_oauth2_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def _generate_token(
        self,
        grant_type: str,
        client: HubClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        """An RFC 9068 JWT access token, signed with the current key."""
        ctx = _context.get()
        assert ctx.signing_key is not None
        now = int(time.time())
        if client.tokens_valid_after is not None and now <= client.tokens_valid_after:
            # Reinstated within the second of the suspension: `iat` has whole seconds, and a
            # token with the cut-off's second would be refused as issued before it.
            now = client.tokens_valid_after + 1
        lifetime = self.settings.access_token_ttl
        granted = client.get_allowed_scope(scope)
        claims = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": client.get_client_id(),
            "client_id": client.get_client_id(),
            "org": client.organization_id,
            "scope": granted,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        key = ECKey.import_key(ctx.signing_key.private_jwk)
        header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": ctx.signing_key.kid}
        token = jose_jwt.encode(header, claims, key, algorithms=[ALGORITHM])
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": granted,
        }
