"""The organisation admin's pages: API clients and webhooks of her own organisation.

Each handler calls the service the GraphQL mutation calls, as the person's principal, so
the scope (``clients:manage``, ``events:subscribe``) and the "own organisation only" rule
are the API's. A secret (client secret, webhook signing secret) is rendered in the one
answer to the POST that made it, never stored where a later page could show it again.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.console.form_fields import form_text
from gateway.console.signed_in import checked_form, need_scope, signed_in
from notifications import webhook_owner
from notifications import webhooks as webhook_service
from notifications.stream import EventTopic
from orgs import registration
from orgs import service as org_service
from orgs.principal import Principal
from orgs.registration_rules import check_registration
from orgs.staff import Person
from orgs.staff_rules import StaffRole
from store.actor import acting_as
from store.errors import ErrorCode, HubError

if TYPE_CHECKING:
    from gateway.console.pages import Console

CLIENTS_SCOPE = "clients:manage"
WEBHOOKS_SCOPE = "events:subscribe"
MAX_TEXT = 2000
WEBHOOK_CHANGES = ("edit", "rotate", "disable", "enable")


class AdminPages:
    """Clients and webhooks, delegated to from ``Console.routes``."""

    def __init__(self, console: Console, production: bool) -> None:
        self.console = console
        self.production = production

    # -- clients -----------------------------------------------------------------------

    @signed_in
    async def clients(self, request: Request, person: Person) -> Response:
        """List the organisation's clients; on POST register one with the coordinator's
        registration token, rotate a secret, or revoke a client."""
        actor = person.principal(request.state.request_id)
        shown: dict[str, str] | None = None
        try:
            need_scope(actor, CLIENTS_SCOPE)
            if request.method == "POST":
                form = await checked_form(request, person)
                with acting_as(person.staff_id):
                    shown = await self._client_action(actor, form)
            found = await org_service.list_clients(self.console.db, [person.organization_id])
        except HubError as error:
            return self.console.refused(request, error, person)
        context = {
            "clients": found[person.organization_id],
            "shown": shown,
            "scopes": sorted(org_service.scope_ceiling(person.organization_kind)),
        }
        return self.console.render(request, "clients.html", context, person)

    async def _client_action(self, actor: Principal, form: Any) -> dict[str, str] | None:
        action = form_text(form, "action")
        db = self.console.db
        if action == "register":
            return await self._register(actor, form)
        if action == "rotate":
            issued = await org_service.rotate_client_secret(db, actor, form_text(form, "client_id"))
            return {"client_id": issued.client.client_id, "secret": issued.client_secret}
        if action == "revoke":
            await org_service.disable_client(db, actor, form_text(form, "client_id"))
            return None
        raise HubError(ErrorCode.BAD_USER_INPUT, "unknown action")

    async def _register(self, actor: Principal, form: Any) -> dict[str, str]:
        """RFC 7591 registration as ``/oauth/register`` does it, with the token pasted in
        a form instead of a bearer header: the same grant check, rules and single use."""
        token = form_text(form, "registration_token").strip()
        grant = await registration.registration_grant(self.console.db, token)
        if grant is None or grant.organization_id != actor.organization_id:
            # Unknown, used, expired or another member's: one answer for all.
            raise HubError(ErrorCode.BAD_USER_INPUT, "the registration token is not valid")
        scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
        checked = check_registration(
            grant.organization_kind,
            {
                "client_name": form_text(form, "name"),
                "scope": " ".join(scopes),
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        client_id = "rh_" + secrets.token_urlsafe(12)
        secret = "rhs_" + secrets.token_urlsafe(32)
        try:
            await registration.register_client(self.console.db, grant, checked, client_id, secret)
        except HubError as error:
            raise HubError(ErrorCode.BAD_USER_INPUT, "the registration token is not valid") from (
                error
            )
        return {"client_id": client_id, "secret": secret}

    # -- webhooks ----------------------------------------------------------------------

    @signed_in
    async def webhooks(self, request: Request, person: Person) -> Response:
        """List the organisation's webhooks; on POST add one (its signing secret shown in
        this answer only) or delete one."""
        actor = person.principal(request.state.request_id)
        db = self.console.db
        shown: dict[str, str] | None = None
        try:
            # Caseworkers hold `events:subscribe` too (live lists); the organisation's
            # endpoints are its admin's duty, as the roles table says.
            if person.role is not StaffRole.ORG_ADMIN:
                raise HubError(ErrorCode.FORBIDDEN, "only the organisation's admin")
            need_scope(actor, WEBHOOKS_SCOPE)
            if request.method == "POST":
                form = await checked_form(request, person)
                action = form_text(form, "action")
                with acting_as(person.staff_id):
                    if action == "add":
                        url = form_text(form, "url")
                        if len(url) > MAX_TEXT:
                            raise HubError(ErrorCode.BAD_USER_INPUT, "url is too long")
                        topics = [_topic(t) for t in form.getlist("topics") if isinstance(t, str)]
                        row, secret = await webhook_service.create_webhook(
                            db, actor, self.console.cipher, url, topics, self.production
                        )
                        shown = {"webhook_id": row.id, "secret": secret}
                    elif action == "delete":
                        await webhook_owner.delete_webhook(db, actor, form_text(form, "webhook_id"))
                    elif action in WEBHOOK_CHANGES:
                        shown = await self._webhook_change(actor, action, form)
                    else:
                        raise HubError(ErrorCode.BAD_USER_INPUT, "unknown action")
            rows = await webhook_service.webhooks_of(db, actor)
        except HubError as error:
            return self.console.refused(request, error, person)
        context = {"webhooks": rows, "shown": shown, "topics": list(EventTopic)}
        return self.console.render(request, "webhooks.html", context, person)

    async def _webhook_change(
        self, actor: Principal, action: str, form: Any
    ) -> dict[str, str] | None:
        """Edit (address and topics), rotate the signing secret (the new one shown in
        this answer only), disable or enable: updateWebhook, rotateWebhookSecret,
        disableWebhook and enableWebhook's services."""
        db = self.console.db
        webhook_id = form_text(form, "webhook_id")
        if action == "edit":
            url = form_text(form, "url").strip()
            if len(url) > MAX_TEXT:
                raise HubError(ErrorCode.BAD_USER_INPUT, "url is too long")
            topics = [_topic(t) for t in form.getlist("topics") if isinstance(t, str)]
            # The form always sends both: an unchanged address is vetted again, harmlessly.
            await webhook_owner.update_webhook(db, actor, webhook_id, url, topics, self.production)
            return None
        if action == "rotate":
            row, secret = await webhook_owner.rotate_webhook_secret(
                db, actor, self.console.cipher, webhook_id
            )
            return {"webhook_id": row.id, "secret": secret}
        await webhook_owner.set_webhook_enabled(db, actor, webhook_id, action == "enable")
        return None

    def routes(self) -> list[Route]:
        return [
            Route("/clients", self.clients, methods=["GET", "POST"]),
            Route("/webhooks", self.webhooks, methods=["GET", "POST"]),
        ]


def _topic(raw: str) -> EventTopic:
    try:
        return EventTopic(raw)
    except ValueError as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, "unknown topic") from exc
