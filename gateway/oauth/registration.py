"""``POST /oauth/register``: a member registers its own client (RFC 7591), on authlib.

The member presents the initial access token its coordinator issued as a bearer token.
As in ``gateway.oauth.server``, authlib's hooks are synchronous: the token's grant is
loaded beforehand, the hooks check the metadata and fill a ``RegistrationContext``, and
the client is written (and the token used up) after authlib has answered. A token that
another request used first turns the answer into 401.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.requests import JsonPayload, JsonRequest
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint, InvalidClientMetadataError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orgs.registration import RegistrationGrant, register_client, registration_grant
from orgs.registration_rules import AUTH_METHODS, ClientRegistration, check_registration
from orgs.rules import ALL_SCOPES
from store.engine import Database
from store.errors import HubError

MAX_BODY = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass
class RegistrationContext:
    grant: RegistrationGrant | None
    registration: ClientRegistration | None = None
    client_id: str | None = None
    client_secret: str | None = None


_context: ContextVar[RegistrationContext] = ContextVar("registration_context")


class _Payload(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class _JsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, uri: str, headers: dict[str, str], data: dict[str, Any]) -> None:
        super().__init__("POST", uri, headers)
        self.payload = _Payload(data)


class HubClientRegistration(ClientRegistrationEndpoint):  # type: ignore[misc]
    """authlib's RFC 7591 endpoint with the hub's rules and its single-use tokens."""

    def create_endpoint_request(self, request: _JsonRequest) -> _JsonRequest:
        return request

    def authenticate_token(self, request: _JsonRequest) -> RegistrationGrant:
        grant = _context.get().grant
        if grant is None:
            # Unknown, used, expired, or the member is not ACTIVE: one answer for all.
            raise InvalidTokenError(description="the registration token is not valid")
        return grant

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": sorted(ALL_SCOPES),
            "token_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        }

    def extract_client_metadata(self, request: _JsonRequest) -> dict[str, Any]:
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        ctx = _context.get()
        assert ctx.grant is not None
        try:
            checked = check_registration(ctx.grant.organization_kind, request.payload.data)
        except HubError as error:
            raise InvalidClientMetadataError(description=error.message) from error
        ctx.registration = checked
        metadata.update(
            client_name=checked.name,
            scope=" ".join(sorted(checked.scopes)),
            token_endpoint_auth_method=checked.auth_method,
            grant_types=["client_credentials"],
        )
        return metadata

    def generate_client_id(self, request: _JsonRequest) -> str:
        return "rh_" + secrets.token_urlsafe(12)

    def generate_client_secret(self, request: _JsonRequest) -> str | None:
        registration = _context.get().registration
        if registration is None or not registration.uses_secret:
            return None
        return "rhs_" + secrets.token_urlsafe(32)

    def generate_client_info(self, request: _JsonRequest) -> dict[str, Any]:
        info: dict[str, Any] = super().generate_client_info(request)
        if info.get("client_secret") is None:
            # A client that signs assertions has no secret at all (RFC 7591 §3.2.1).
            info.pop("client_secret", None)
            info.pop("client_secret_expires_at", None)
        return info

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> dict[str, Any]:
        ctx = _context.get()
        ctx.client_id = client_info["client_id"]
        ctx.client_secret = client_info.get("client_secret")
        return client_info


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=_NO_STORE
    )


class RegistrationEndpoint:
    """The Starlette side of ``/oauth/register``."""

    def __init__(self, server: AuthorizationServer, db: Database, public_url: str) -> None:
        server.register_endpoint(HubClientRegistration)
        self.server = server
        self.db = db
        self.public_url = public_url

    async def handle(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(400, "invalid_request", "send the client metadata as application/json")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _error(413, "invalid_request", "the client metadata is too large")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error(400, "invalid_request", "the body is not JSON")
        if not isinstance(data, dict) or not data:
            return _error(400, "invalid_client_metadata", "the body must be a JSON object")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        grant = (
            await registration_grant(self.db, token.strip()) if scheme.lower() == "bearer" else None
        )
        ctx = RegistrationContext(grant=grant)
        headers = {k.title(): v for k, v in request.headers.items()}
        oauth_request = _JsonRequest(f"{self.public_url}/oauth/register", headers, data)
        reset = _context.set(ctx)
        try:
            status, body, answer_headers = self.server.create_endpoint_response(
                "client_registration", oauth_request
            )
        finally:
            _context.reset(reset)
        if status == 401:
            answer_headers = [*answer_headers, ("WWW-Authenticate", 'Bearer error="invalid_token"')]
        if status == 201:
            assert grant is not None and ctx.registration is not None and ctx.client_id
            try:
                await register_client(
                    self.db, grant, ctx.registration, ctx.client_id, ctx.client_secret
                )
            except HubError as error:
                return _error(401, "invalid_token", error.message)
        return JSONResponse(body, status_code=status, headers=dict(answer_headers) | _NO_STORE)
