"""The coordinator's levers on a late item, as forms on the overview page: remind the
organisation that owes the next step, add a note to the item's desk conversation, suspend
that organisation.

Each calls the service the GraphQL mutation calls (``remindOrganization``,
``addDeskNote``, ``suspendOrganization``) as the person's principal, after the scope
check the mutation's permission class makes; the services make every other decision
(only the coordinator's desk, only a late item, a reason for a suspension). A note's text
is sealed by the service and never shown on the overview, nor put in the URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import desk_levers
from cases.desk import desk_item
from cases.desk_rules import DeskItemKind
from gateway.console.form_fields import form_text
from gateway.console.signed_in import checked_form, see_other, signed_in
from orgs import service as org_service
from orgs.principal import Principal
from orgs.rules import MembershipAction
from orgs.staff import Person
from store.actor import acting_as
from store.errors import ErrorCode, HubError
from store.types import utcnow

if TYPE_CHECKING:
    from gateway.console.pages import Console

ADMIN_SCOPE = "network:admin"
# What the API's addDeskNote lets through (the desk, or a party's write scope).
NOTE_SCOPES = ("network:admin", "referrals:write", "repatriation:write", "cases:write")
LEVERS = ("remind", "note", "suspend")


def _refuse_unless(actor: Principal, *scopes: str) -> None:
    if not any(actor.has(s) for s in scopes):
        raise HubError(ErrorCode.FORBIDDEN, "this operation needs a scope the role lacks")


def _kind(raw: str) -> DeskItemKind:
    try:
        return DeskItemKind(raw)
    except ValueError as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, "unknown kind of item") from exc


class OverviewLevers:
    """``POST /console/overview/{kind}/{item_id}/{lever}``."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @signed_in
    async def lever(self, request: Request, person: Person) -> Response:
        form = await checked_form(request, person)
        actor = person.principal(request.state.request_id)
        lever = str(request.path_params["lever"])
        item_id = str(request.path_params["item_id"])
        db = self.console.db
        try:
            kind = _kind(str(request.path_params["kind"]))
            with acting_as(person.staff_id):
                if lever == "remind":
                    _refuse_unless(actor, ADMIN_SCOPE)
                    await desk_levers.remind_organization(db, actor, kind, item_id)
                elif lever == "note":
                    _refuse_unless(actor, *NOTE_SCOPES)
                    await desk_levers.add_item_note(
                        db, actor, self.console.cipher, kind, item_id, form_text(form, "text")
                    )
                elif lever == "suspend":
                    _refuse_unless(actor, ADMIN_SCOPE)
                    await self._suspend(actor, kind, item_id, form_text(form, "reason"))
                else:
                    raise HubError(ErrorCode.BAD_USER_INPUT, "unknown lever")
        except HubError as error:
            return self.console.refused(request, error, person)
        return see_other(f"/console/overview?done={lever}")

    async def _suspend(self, actor: Principal, kind: DeskItemKind, item_id: str, why: str) -> None:
        """Suspend the organisation that owes the item's next step: read from the item
        itself (as the desk sees it), never from the form, so the lever cannot be pointed
        at another organisation."""
        async with self.console.db.read() as session:
            item = await desk_item(session, actor, kind, item_id, utcnow())
        await org_service.change_membership(
            self.console.db, actor, item.late_organization_id, MembershipAction.SUSPEND, why, None
        )

    def routes(self) -> list[Route]:
        return [Route("/overview/{kind}/{item_id}/{lever}", self.lever, methods=["POST"])]
