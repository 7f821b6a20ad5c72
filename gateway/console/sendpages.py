"""Console pages to find a service and send a referral, and to run a repatriation.

Handlers translate only, like those in ``pages.py``: the directory search is the API's
``services`` field (``orgs.directory.find_services``, same ranking), the send is
``cases.referrals.send_referral``, the repatriation steps are ``cases.repatriation``'s
``act``/``record_travel_plan``/``record_cost``/``request_repatriation``; the texts shown
are opened by ``cases.text_views.repatriation_views`` under the survivor's consent. A form
carries a fresh idempotency key, so pressing "Send" twice sends once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import referrals as referral_service
from cases import repatriation as repatriation_service
from cases import service as case_service
from cases.deadlines import repatriation_overdue
from cases.paging import encode_cursor
from cases.referral_rules import Urgency
from cases.repatriation_rules import (
    REPATRIATION_WORKFLOW,
    Assistance,
    CostItem,
    DocumentHeld,
    RepatriationAction,
    Situation,
)
from cases.text_views import repatriation_views
from cases.workflow import Role
from gateway.console.form_fields import form_choice, form_text, form_version
from gateway.console.signed_in import checked_form, need_scope, see_other, signed_in
from orgs import directory
from orgs.models import Organization
from orgs.models import ServiceOffer as OfferRow
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind, ServiceCategory
from orgs.staff import Person
from store.actor import acting_as
from store.errors import ErrorCode, HubError
from store.types import utcnow

if TYPE_CHECKING:
    from gateway.console.pages import Console

# Capacity filter of the search form → the API's ``acceptingReferrals`` argument.
CAPACITY_FILTER: dict[str, bool | None] = {"": None, "accepting": True, "not_accepting": False}
# What the request page offers; the hub's own consent hold/resume are never offered.
REPATRIATION_ACTIONS = tuple(
    a
    for a in RepatriationAction
    if a not in (RepatriationAction.CONSENT_HOLD, RepatriationAction.CONSENT_RESUME)
)
# Steps that ask for a note even where the table does not require one (hold, hand-over).
NOTE_ACTIONS = frozenset(
    {RepatriationAction.HOLD, RepatriationAction.CONFIRM_HANDOVER, RepatriationAction.RESUME}
)
MAX_TEXT = 2000
# Repatriation requests per console page (the API allows up to 100 per page).
PAGE_SIZE = 50


def _many(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def _bounded(form: FormData, name: str) -> str | None:
    value = form_text(form, name).strip()
    if len(value) > MAX_TEXT:
        raise HubError(ErrorCode.BAD_USER_INPUT, "a field is too long")
    return value or None


class SendPages:
    """The pages, rendered through the console's own ``render``/``refused``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.db = console.db
        self.cipher = console.cipher

    # -- helpers -----------------------------------------------------------------------

    async def _names(self, ids: Sequence[str]) -> dict[str, str]:
        """Organisation names (directory data, no survivor data)."""
        if not ids:
            return {}
        async with self.db.read() as session:
            rows = await session.execute(
                select(Organization.id, Organization.name).where(Organization.id.in_(set(ids)))
            )
            return {row.id: row.name for row in rows}

    async def _members(self, kinds: set[OrganizationKind], exclude: bool) -> list[Organization]:
        """Active members of ``kinds`` (or of every other kind when ``exclude``)."""
        values = [k.value for k in kinds]
        column = Organization.kind.not_in(values) if exclude else Organization.kind.in_(values)
        async with self.db.read() as session:
            rows = await session.scalars(
                select(Organization)
                .where(Organization.status == MembershipStatus.ACTIVE.value, column)
                .order_by(Organization.name)
            )
            return list(rows)

    async def _own_cases(self, person: Person, actor: Principal) -> list[Any]:
        """Her organisation's open cases, without opening a survivor field (no disclosure):
        the form names a case by its reference."""
        if not actor.has("cases:read"):
            return []
        with acting_as(person.staff_id):
            views = await case_service.read_cases(
                self.db, actor, self.cipher, limit=200, fields=frozenset(), withheld=False
            )
        return [v.case for v in views if v.viewer_is_owner]

    async def _offer(self, offer_id: str) -> OfferRow:
        async with self.db.read() as session:
            row = await session.get(OfferRow, offer_id)
            org = await session.get(Organization, row.organization_id) if row else None
        if row is None or org is None or org.status != MembershipStatus.ACTIVE.value:
            raise HubError(ErrorCode.NOT_FOUND, "no such service")
        return row

    # -- find a service ----------------------------------------------------------------

    @signed_in
    async def services(self, request: Request, person: Person) -> Response:
        """Search the directory as ``services(category:, area:, acceptingReferrals:)`` does."""
        console = self.console
        actor = person.principal(request.state.request_id)
        params = request.query_params
        try:
            need_scope(actor, "orgs:read")
            raw_category = params.get("category", "")
            category = form_choice(ServiceCategory, raw_category) if raw_category else None
            area = (params.get("area") or "").strip()[:200]
            capacity = params.get("capacity", "")
            if capacity not in CAPACITY_FILTER:
                raise HubError(ErrorCode.BAD_USER_INPUT, "unknown capacity filter")
            searched = "category" in params or "area" in params or "capacity" in params
            rows = (
                await directory.find_services(
                    self.db, category, area or None, CAPACITY_FILTER[capacity]
                )
                if searched
                else []
            )
        except HubError as error:
            return console.refused(request, error, person)
        names = await self._names([r.organization_id for r in rows])
        context = {
            "categories": list(ServiceCategory),
            "category": category.value if category else "",
            "area": area,
            "capacity": capacity,
            "searched": searched,
            "results": [(r, names.get(r.organization_id, "")) for r in rows],
            "may_refer": actor.has("referrals:write") and actor.has("cases:read"),
        }
        return console.render(request, "services.html", context, person)

    @signed_in
    async def refer(self, request: Request, person: Person) -> Response:
        """Send a referral of one of her cases to the service found: ``sendReferral``."""
        console = self.console
        actor = person.principal(request.state.request_id)
        try:
            need_scope(actor, "referrals:write")
            offer = await self._offer(str(request.path_params["offer_id"]))
            if request.method == "POST":
                form = await checked_form(request, person)
                reason = _bounded(form, "reason")
                if reason is None:
                    raise HubError(ErrorCode.BAD_USER_INPUT, "reason is required")
                services = [form_choice(ServiceCategory, s) for s in _many(form, "services")]
                new = referral_service.NewReferral(
                    case_id=form_text(form, "case_id"),
                    receiver_organization_id=offer.organization_id,
                    services=services or [ServiceCategory(offer.category)],
                    urgency=form_choice(Urgency, form_text(form, "urgency")),
                    reason=reason,
                    idempotency_key=form_text(form, "key"),
                    notes=_bounded(form, "notes"),
                )
                with acting_as(person.staff_id):
                    await referral_service.send_referral(self.db, actor, self.cipher, new)
                return see_other("/console/referrals?box=outbox")
        except HubError as error:
            return console.refused(request, error, person)
        names = await self._names([offer.organization_id])
        context = {
            "offer": offer,
            "receiver": names.get(offer.organization_id, ""),
            "cases": await self._own_cases(person, actor),
            "urgencies": list(Urgency),
            "key": str(uuid.uuid4()),
        }
        return console.render(request, "refer.html", context, person)

    # -- repatriation ------------------------------------------------------------------

    @signed_in
    async def repatriations(self, request: Request, person: Person) -> Response:
        console = self.console
        actor = person.principal(request.state.request_id)
        box = "OUTBOX" if request.query_params.get("box") == "outbox" else "INBOX"
        after = request.query_params.get("after") or None
        try:
            rows, more = await repatriation_service.list_requests(
                self.db, actor, box, None, PAGE_SIZE, after
            )
        except HubError as error:
            return console.refused(request, error, person)
        now = utcnow()
        names = await self._names(
            [o for r in rows for o in (r.embassy_organization_id, r.reception_organization_id)]
        )
        listed = [
            {
                "request": r,
                "overdue": repatriation_overdue(r, now),
            }
            for r in rows
        ]
        context = {
            "box": box,
            "rows": listed,
            "names": names,
            # The API's cursor (an id and a time, never survivor data) for the next page.
            "next_cursor": encode_cursor(rows[-1]) if more and rows else None,
            "paged": after is not None,
        }
        return console.render(request, "repatriations.html", context, person)

    @signed_in
    async def repatriation(self, request: Request, person: Person) -> Response:
        """One request as the caller may read it: its texts opened under consent."""
        console = self.console
        actor = person.principal(request.state.request_id)
        request_id = str(request.path_params["request_id"])
        try:
            row = await repatriation_service.get_request(self.db, actor, request_id)
            with acting_as(person.staff_id):
                view = (await repatriation_views(self.db, actor, self.cipher, [row]))[0]
            _, costs = await repatriation_service.history_and_costs(self.db, [row.id])
        except HubError as error:
            return console.refused(request, error, person)
        roles = repatriation_service.roles_of(row, person.organization_id)
        writes = actor.has("repatriation:write")
        allowed = REPATRIATION_WORKFLOW.allowed_now(row.status, roles) if writes else []
        actions = [
            (a, REPATRIATION_WORKFLOW.transitions[a].needs_reason, a in NOTE_ACTIONS)
            for a in REPATRIATION_ACTIONS
            if a in allowed
        ]
        plan_text = view.text("travel_plan")
        final = row.status in REPATRIATION_WORKFLOW.final
        names = await self._names(
            [
                row.requester_organization_id,
                row.embassy_organization_id,
                row.reception_organization_id,
            ]
            + [c.by_organization_id for c in view.history if c.by_organization_id]
            + [c.paid_by_organization_id for c in costs[row.id]]
        )
        context = {
            "r": row,
            "view": view,
            "plan": orjson.loads(plan_text) if plan_text else None,
            "costs": costs[row.id],
            "names": names,
            "actions": actions,
            "overdue": repatriation_overdue(row, utcnow()),
            "may_plan": writes and not final and bool(roles & {Role.RECEIVER, Role.SENDER}),
            "may_cost": writes and not final,
            "cost_items": list(CostItem),
        }
        return console.render(request, "repatriation.html", context, person)

    @signed_in
    async def repatriation_post(self, request: Request, person: Person) -> Response:
        """One step on a request: an action, a travel plan or a cost."""
        console = self.console
        form = await checked_form(request, person)
        actor = person.principal(request.state.request_id)
        request_id = str(request.path_params["request_id"])
        what = str(request.path_params["what"])
        try:
            need_scope(actor, "repatriation:write")
            with acting_as(person.staff_id):
                if what == "action":
                    action = form_choice(RepatriationAction, form_text(form, "action"))
                    if action not in REPATRIATION_ACTIONS:
                        raise HubError(ErrorCode.BAD_USER_INPUT, "unknown choice")
                    await repatriation_service.act(
                        self.db,
                        actor,
                        self.cipher,
                        request_id,
                        action,
                        note=_bounded(form, "note"),
                        expected_version=form_version(form),
                    )
                elif what == "travel-plan":
                    plan = repatriation_service.TravelPlan(
                        travel_date=_date(form_text(form, "date")),
                        route=form_text(form, "route"),
                        escort=form_text(form, "escort").strip() or None,
                    )
                    await repatriation_service.record_travel_plan(
                        self.db, actor, self.cipher, request_id, plan, form_version(form)
                    )
                elif what == "cost":
                    await repatriation_service.record_cost(
                        self.db,
                        actor,
                        request_id,
                        form_choice(CostItem, form_text(form, "item")),
                        form_text(form, "amount").strip(),
                        form_text(form, "currency").strip().upper(),
                    )
                else:
                    raise HubError(ErrorCode.NOT_FOUND, "no such page")
        except HubError as error:
            return console.refused(request, error, person)
        return see_other(f"/console/repatriations/{request_id}")

    @signed_in
    async def new_repatriation(self, request: Request, person: Person) -> Response:
        """A caseworker asks an embassy to bring the survivor of her case home:
        ``requestRepatriation``."""
        console = self.console
        actor = person.principal(request.state.request_id)
        case_id = str(request.path_params["case_id"])
        try:
            need_scope(actor, "repatriation:write")
            if request.method == "POST":
                form = await checked_form(request, person)
                new = repatriation_service.NewRepatriation(
                    case_id=case_id,
                    embassy_id=form_text(form, "embassy_id"),
                    reception_organization_id=form_text(form, "reception_id"),
                    current_country=form_text(form, "current_country").strip().upper(),
                    situation=form_choice(Situation, form_text(form, "situation")),
                    documents_held=[form_choice(DocumentHeld, d) for d in _many(form, "documents")],
                    assistance_needed=[
                        form_choice(Assistance, a) for a in _many(form, "assistance")
                    ],
                    urgency=form_choice(Urgency, form_text(form, "urgency")),
                    idempotency_key=form_text(form, "key"),
                    notes=_bounded(form, "notes"),
                )
                with acting_as(person.staff_id):
                    made = await repatriation_service.request_repatriation(
                        self.db, actor, self.cipher, new
                    )
                return see_other(f"/console/repatriations/{made.id}")
        except HubError as error:
            return console.refused(request, error, person)
        context = {
            "case_id": case_id,
            "embassies": await self._members({OrganizationKind.EMBASSY}, exclude=False),
            "receptions": await self._members(
                {OrganizationKind.EMBASSY, OrganizationKind.COORDINATOR}, exclude=True
            ),
            "situations": list(Situation),
            "documents": list(DocumentHeld),
            "assistance": list(Assistance),
            "urgencies": list(Urgency),
            "key": str(uuid.uuid4()),
        }
        return console.render(request, "new_repatriation.html", context, person)

    def routes(self) -> list[Route]:
        return [
            Route("/services", self.services, methods=["GET"]),
            Route("/services/{offer_id}/refer", self.refer, methods=["GET", "POST"]),
            Route("/repatriations", self.repatriations, methods=["GET"]),
            Route("/repatriations/{request_id}", self.repatriation, methods=["GET"]),
            Route("/repatriations/{request_id}/{what}", self.repatriation_post, methods=["POST"]),
            Route("/cases/{case_id}/repatriation", self.new_repatriation, methods=["GET", "POST"]),
        ]


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, "date: YYYY-MM-DD") from exc
