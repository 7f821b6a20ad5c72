"""Security keys in the console: the "Security keys" page, and signing in with a key.

The page lists the person's keys and removes one after the password is typed again
(orgs.security_keys.remove_key says why). Adding a key and signing in with one need the
browser's WebAuthn API, so static/webauthn.js talks JSON to the endpoints here, with the
page's CSRF token in the body; the TOTP form always stays, so nothing needs the script.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.console import guard
from gateway.console.errors import CSRF, error_message
from gateway.console.i18n import Formatter, pick_locale
from gateway.console.signed_in import checked_form, see_other, signed_in
from orgs import security_keys
from orgs.security_key_rules import MAX_CREDENTIAL_JSON, RelyingParty
from orgs.staff import Person
from store.errors import ErrorCode, HubError

if TYPE_CHECKING:
    from gateway.console.pages import Console

_STATUS: dict[str, int] = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
}
# The JSON a browser posts: a credential and a few form fields, never more.
MAX_BODY = MAX_CREDENTIAL_JSON + 4096


class SecurityKeyPages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.rp = RelyingParty.from_public_url(console.public_url)

    def routes(self) -> list[Route]:
        return [
            Route("/security-keys", self.page, methods=["GET"]),
            Route("/security-keys/options", self.register_options, methods=["POST"]),
            Route("/security-keys/add", self.register, methods=["POST"]),
            Route("/security-keys/{key_id}/remove", self.remove, methods=["POST"]),
            Route("/sign-in/key/options", self.sign_in_options, methods=["POST"]),
            Route("/sign-in/key", self.sign_in, methods=["POST"]),
        ]

    # -- JSON helpers --------------------------------------------------------------------

    def _error(self, request: Request, code: str, person: Person | None) -> Response:
        locale = pick_locale(
            None, request.cookies.get(guard.LANG_COOKIE), person.locale if person else None
        )
        message = Formatter(locale, "UTC").gettext(error_message(code))
        status = 403 if code == CSRF else _STATUS.get(code, 400)
        body = json.dumps({"error": {"code": code, "message": message}})
        return guard.protect(Response(body, status, media_type="application/json"))

    @staticmethod
    def _json(body: str | dict[str, Any]) -> Response:
        text = body if isinstance(body, str) else json.dumps(body)
        return guard.protect(Response(text, 200, media_type="application/json"))

    @staticmethod
    async def _body(request: Request) -> dict[str, Any] | None:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return None
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    # -- the page ------------------------------------------------------------------------

    @signed_in
    async def page(self, request: Request, person: Person) -> Response:
        keys = await security_keys.list_keys(self.console.db, person.staff_id)
        removed = request.query_params.get("removed") == "1"
        added = request.query_params.get("added") == "1"
        context = {"keys": keys, "removed": removed, "added": added}
        return self.console.render(request, "security_keys.html", context, person)

    @signed_in
    async def remove(self, request: Request, person: Person) -> Response:
        form = await checked_form(request, person)
        password = form.get("password")
        try:
            await security_keys.remove_key(
                self.console.db,
                person,
                str(request.path_params["key_id"]),
                password if isinstance(password, str) else "",
            )
        except HubError as error:
            return self.console.refused(request, error, person)
        return see_other("/console/security-keys?removed=1")

    # -- adding a key (signed in) --------------------------------------------------------

    async def _signed_in(self, request: Request) -> tuple[Person, dict[str, Any]] | Response:
        """The person and a JSON body carrying the session's CSRF token, or the JSON
        refusal (the script reads JSON, so not ``signed_in``'s redirect or page)."""
        person = await self.console.person(request)
        body = await self._body(request)
        if person is None:
            return self._error(request, ErrorCode.UNAUTHENTICATED, None)
        if body is None or not guard.token_matches(person.csrf_token, body.get("csrf")):
            return self._error(request, CSRF, person)
        return person, body

    async def register_options(self, request: Request) -> Response:
        checked = await self._signed_in(request)
        if isinstance(checked, Response):
            return checked
        person, _ = checked
        try:
            options = await security_keys.begin_registration(
                self.console.db, person, request.cookies.get(guard.SESSION_COOKIE, ""), self.rp
            )
        except HubError as error:
            return self._error(request, error.code.value, person)
        return self._json(options)

    async def register(self, request: Request) -> Response:
        checked = await self._signed_in(request)
        if isinstance(checked, Response):
            return checked
        person, body = checked
        name = body.get("name")
        try:
            await security_keys.finish_registration(
                self.console.db,
                person,
                request.cookies.get(guard.SESSION_COOKIE, ""),
                self.rp,
                name if isinstance(name, str) else "",
                body.get("credential"),
            )
        except HubError as error:
            return self._error(request, error.code.value, person)
        return self._json({"redirect": "/console/security-keys?added=1"})

    # -- signing in with a key -----------------------------------------------------------

    def _pre(self, request: Request, body: dict[str, Any] | None) -> str | None:
        """The pre-sign-in token, if the body carries the matching double-submit copy."""
        token = request.cookies.get(guard.PRE_COOKIE)
        if body is None or not guard.token_matches(token, body.get("csrf")):
            return None
        return token

    async def sign_in_options(self, request: Request) -> Response:
        body = await self._body(request)
        pre = self._pre(request, body)
        if pre is None or body is None:
            return self._error(request, CSRF, None)
        email, password = body.get("email"), body.get("password")
        try:
            options = await security_keys.begin_sign_in(
                self.console.db,
                self.rp,
                email=email if isinstance(email, str) else "",
                password=password if isinstance(password, str) else "",
                pre_token=pre,
            )
        except HubError as error:
            return self._error(request, error.code.value, None)
        return self._json(options)

    async def sign_in(self, request: Request) -> Response:
        body = await self._body(request)
        pre = self._pre(request, body)
        if pre is None or body is None:
            return self._error(request, CSRF, None)
        try:
            session_id, _ = await security_keys.finish_sign_in(
                self.console.db,
                self.rp,
                body.get("credential"),
                pre_token=pre,
                previous_session=request.cookies.get(guard.SESSION_COOKIE),
            )
        except HubError as error:
            return self._error(request, error.code.value, None)
        response = self._json({"redirect": "/console/referrals"})
        guard.set_session_cookie(response, session_id, self.console.secure)
        return response
