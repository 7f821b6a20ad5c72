"""HTTP endpoints of the authorization server (RFC 6749, 7009, 7523, 7662, 8414, 9068)."""

from __future__ import annotations

import logging
import math
from typing import Any

import jwt
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.oauth import records
from gateway.oauth.keys import ALGORITHM, KeyRing
from gateway.oauth.registration import RegistrationEndpoint
from gateway.oauth.server import (
    KEY_METHOD,
    SECRET_METHODS,
    HubAuthorizationServer,
    StarletteOAuth2Request,
    TokenRequestContext,
    authentication_failed,
)
from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.ratelimit import RateLimits
from gateway.settings import Settings
from orgs.rules import ALL_SCOPES
from store.engine import Database

log = logging.getLogger(__name__)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=_NO_STORE
    )


def _refusal(error: InvalidClientError) -> JSONResponse:
    """An authlib error as the response authlib itself would give."""
    status = error.status_code
    return JSONResponse(
        dict(error.get_body()), status_code=status, headers=dict(error.get_headers()) | _NO_STORE
    )


def _too_many(wait: float) -> JSONResponse:
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": "too many requests"},
        status_code=429,
        headers={"Retry-After": str(math.ceil(wait))} | _NO_STORE,
    )


class OAuthEndpoints:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        keyring: KeyRing,
        verifier: TokenVerifier,
        limits: RateLimits | None = None,
    ) -> None:
        self.limits = limits
        self.settings = settings
        self.db = db
        self.token_use = records.TokenUse()
        self.keyring = keyring
        self.verifier = verifier
        self.server = HubAuthorizationServer(settings)
        self.registration = RegistrationEndpoint(self.server, db, settings.public_url)

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/introspect", self.introspect, methods=["POST"]),
            Route("/oauth/revoke", self.revoke, methods=["POST"]),
            Route("/oauth/register", self.registration.handle, methods=["POST"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
        ]

    async def _read_form(self, request: Request) -> dict[str, str] | JSONResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "use application/x-www-form-urlencoded")
        form = await request.form()
        items = form.multi_items()
        names = [name for name, _ in items]
        if len(names) != len(set(names)):
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        values: dict[str, str] = {}
        for name, value in items:
            if not isinstance(value, str):
                return _oauth_error(400, "invalid_request", "files are not accepted")
            values[name] = value
        return values

    def _oauth_request(self, request: Request, path: str, form: dict[str, str]) -> Any:
        headers = {k.title(): v for k, v in request.headers.items()}
        return StarletteOAuth2Request(f"{self.settings.public_url}{path}", headers, form)

    async def _context_for(self, request: Request, form: dict[str, str]) -> TokenRequestContext:
        """Load the clients this request may authenticate as, before authlib runs."""
        ctx = TokenRequestContext()
        candidates: list[str] = []
        basic_id, _ = extract_basic_authorization(
            {"Authorization": request.headers.get("authorization", "")}
        )
        if basic_id:
            candidates.append(basic_id)
        if form.get("client_id"):
            candidates.append(form["client_id"])
        assertion = form.get("client_assertion")
        if assertion:
            try:
                unverified = jwt.decode(assertion, options={"verify_signature": False})
            except jwt.PyJWTError:
                unverified = {}
            sub, jti = unverified.get("sub"), unverified.get("jti")
            if isinstance(sub, str):
                candidates.append(sub)
                if isinstance(jti, str):
                    ctx.used_assertions = await records.used_assertions(self.db, sub, jti)
        ctx.clients = await records.load_clients(self.db, candidates)
        return ctx

    async def token(self, request: Request) -> Response:
        form = await self._read_form(request)
        if isinstance(form, JSONResponse):
            return form
        ctx = await self._context_for(request, form)
        ctx.signing_key = await self.keyring.signing_key()
        status, body, headers = self.server.run(
            ctx, None, self._oauth_request(request, "/oauth/token", form)
        )
        refused = await self._after_authentication(ctx)
        if refused is not None:
            return refused
        if ctx.issued is not None and ctx.authenticated is not None:
            await self.token_use.note(self.db, ctx.authenticated)
        return JSONResponse(body, status_code=status, headers=dict(headers) | _NO_STORE)

    async def _after_authentication(self, ctx: TokenRequestContext) -> Response | None:
        """What every endpoint does once authlib has checked the client, before any effect:
        the per-client rate limit, then the assertion's ``jti`` is used up — in one store for
        all endpoints, so an assertion shown at one cannot be shown again at another."""
        if ctx.authenticated is None:
            return None
        if self.limits is not None:
            wait = await self.limits.allow(self.limits.token, f"oauth-client:{ctx.authenticated}")
            if wait is not None:
                return _too_many(wait)
        if ctx.accepted_assertion is not None:
            client_id, jti, exp = ctx.accepted_assertion
            if not await records.remember_assertion(self.db, client_id, jti, exp):
                return _refusal(authentication_failed())
        return None

    async def _presented(self, ctx: TokenRequestContext, form: dict[str, str]) -> None:
        token = form.get("token")
        if not token:
            return
        try:
            claims = await self.verifier.decode(token)
        except TokenRejected:
            return
        ctx.presented_token = await records.token_state(self.db, claims)

    async def introspect(self, request: Request) -> Response:
        form = await self._read_form(request)
        if isinstance(form, JSONResponse):
            return form
        ctx = await self._context_for(request, form)
        await self._presented(ctx, form)
        status, body, headers = self.server.run(
            ctx, "introspection", self._oauth_request(request, "/oauth/introspect", form)
        )
        refused = await self._after_authentication(ctx)
        if refused is not None:
            return refused
        return JSONResponse(body, status_code=status, headers=dict(headers) | _NO_STORE)

    async def revoke(self, request: Request) -> Response:
        form = await self._read_form(request)
        if isinstance(form, JSONResponse):
            return form
        ctx = await self._context_for(request, form)
        await self._presented(ctx, form)
        status, body, headers = self.server.run(
            ctx, "revocation", self._oauth_request(request, "/oauth/revoke", form)
        )
        refused = await self._after_authentication(ctx)
        if refused is not None:
            return refused
        if status == 200 and ctx.revoke is not None:
            await records.revoke(self.db, ctx.revoke)
        return JSONResponse(body, status_code=status, headers=dict(headers) | _NO_STORE)

    async def jwks(self, request: Request) -> Response:
        # Shorter than the publish lead, so caches learn a new key before it signs.
        max_age = max(0, min(300, self.settings.key_publish_lead // 2))
        return JSONResponse(
            await self.keyring.jwks(), headers={"Cache-Control": f"public, max-age={max_age}"}
        )

    async def metadata(self, request: Request) -> Response:
        base = self.settings.public_url
        methods = [*SECRET_METHODS, KEY_METHOD]
        return JSONResponse(
            {
                "issuer": self.settings.issuer,
                "token_endpoint": f"{base}/oauth/token",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "introspection_endpoint": f"{base}/oauth/introspect",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "registration_endpoint": f"{base}/oauth/register",
                "grant_types_supported": ["client_credentials"],
                "response_types_supported": [],
                "scopes_supported": sorted(ALL_SCOPES),
                "token_endpoint_auth_methods_supported": methods,
                "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
                "introspection_endpoint_auth_methods_supported": methods,
                "revocation_endpoint_auth_methods_supported": methods,
                "access_token_signing_alg_values_supported": [ALGORITHM],
            }
        )
