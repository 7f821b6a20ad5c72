"""Disabling and re-enabling a colleague's account from the staff page.

The service (orgs.staff_status) ends the person's sessions in its transaction; this page
then cuts their open live streams in this process at once, instead of at the stream's
next heartbeat (streams in other processes still end at their own next session check).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.console.live import end_person_streams
from gateway.console.signed_in import checked_form, see_other, signed_in
from orgs import staff_status
from orgs.staff import Person
from orgs.staff_rules import StaffRole
from store.actor import acting_as
from store.errors import ErrorCode, HubError

if TYPE_CHECKING:
    from gateway.console.pages import Console


class StaffStatusPages:
    """``POST /console/staff/{staff_id}/status``, delegated to from ``Console.routes``."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @signed_in
    async def status(self, request: Request, person: Person) -> Response:
        form = await checked_form(request, person)
        staff_id = str(request.path_params["staff_id"])
        action = form.get("action")
        reason = form.get("reason")
        try:
            if action not in ("disable", "enable"):
                raise HubError(ErrorCode.BAD_USER_INPUT, "unknown action")
            with acting_as(person.staff_id):
                await staff_status.set_disabled(
                    self.console.db,
                    person,
                    staff_id,
                    action == "disable",
                    reason if isinstance(reason, str) else "",
                )
        except HubError as error:
            return self.console.refused(request, error, person)
        if action == "disable":
            end_person_streams(self.console.pump, staff_id)
        return see_other("/console/staff")

    def routes(self) -> list[Route]:
        return [Route("/staff/{staff_id}/status", self.status, methods=["POST"])]


async def people_of(
    console: Console, role: StaffRole, organization_id: str
) -> list[staff_status.StaffEntry]:
    """The staff page's list: an organisation's admin sees her own organisation's people."""
    if role is not StaffRole.ORG_ADMIN:
        return []
    return await staff_status.staff_of(console.db, organization_id)
