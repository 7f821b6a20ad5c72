"""The coordinator's network overview as a page: what is late, who acknowledges late,
which webhooks fail and which clients need attention. The same reads ``networkOverview``
makes, and the same refusal (the desk is a coordinator organisation's): metadata only,
never a survivor field or an item's free text."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import desk, desk_network
from cases.desk_rules import ClientPolicy
from gateway.console.overview_levers import LEVERS, OverviewLevers
from gateway.console.signed_in import signed_in
from orgs import service as org_service
from orgs.staff import Person
from store.errors import HubError
from store.types import utcnow

if TYPE_CHECKING:
    from gateway.console.pages import Console

WINDOW = timedelta(days=30)


class OverviewPage:
    def __init__(self, console: Console) -> None:
        self.console = console

    @signed_in
    async def overview(self, request: Request, person: Person) -> Response:
        actor = person.principal(request.state.request_id)
        db = self.console.db
        now = utcnow()
        try:
            # First: it refuses anyone but the coordinator, before anything else is read.
            items = await desk.late_items(db, actor, now)
        except HubError as error:
            return self.console.refused(request, error, person)
        names = {o.id: o.name for o in await org_service.list_organizations(db)}
        context = {
            "items": items,
            "acknowledgers": await desk_network.late_acknowledgers(db, now, WINDOW),
            "webhooks": await desk_network.failing_webhooks(db, now, WINDOW),
            "clients": await desk_network.clients_needing_attention(db, now, ClientPolicy()),
            "names": names,
            "done": request.query_params.get("done")
            if request.query_params.get("done") in LEVERS
            else None,
        }
        return self.console.render(request, "overview.html", context, person)

    def routes(self) -> list[Route]:
        return [
            Route("/overview", self.overview, methods=["GET"]),
            *OverviewLevers(self.console).routes(),
        ]
