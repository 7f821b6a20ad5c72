"""The coordinator's pages: membership (register, activate, suspend, reinstate, revoke,
with reasons and history), registration tokens, and the published statistics as charts.

Every change goes through ``orgs.service`` as the person's principal, so the rule that
only ``network:admin`` manages membership, the reason check and the status table are the
API's. Suspending a member ends its staff's console sessions at once because
``staff.session_person`` accepts only staff of ACTIVE organisations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import statistics as statistics_service
from cases.statistics_output import ChartWords, to_svg
from cases.statistics_tables import Dimension, Measure, Table
from gateway.console.form_fields import form_text
from gateway.console.signed_in import checked_form, see_other, signed_in
from orgs import registration
from orgs import service as org_service
from orgs.principal import Principal
from orgs.registration_rules import DEFAULT_TOKEN_HOURS
from orgs.rules import TRANSITIONS, MembershipAction, MembershipStatus, OrganizationKind
from orgs.staff import Person
from store.actor import acting_as
from store.errors import ErrorCode, HubError, not_found

if TYPE_CHECKING:
    from gateway.console.pages import Console

ADMIN_SCOPE = "network:admin"
MAX_TEXT = 2000


def actions_from(status: MembershipStatus) -> list[MembershipAction]:
    """The membership actions the status table allows from ``status``, for the buttons."""
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def _coordinator(actor: Principal) -> None:
    if not actor.has(ADMIN_SCOPE):
        raise HubError(ErrorCode.FORBIDDEN, "only a network coordinator may manage membership")


def _enum_or(kind: Any, raw: str | None, default: Any) -> Any:
    try:
        return kind(raw) if raw else default
    except ValueError as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, "unknown choice") from exc


class MembershipPages:
    """Membership and statistics, delegated to from ``Console.routes``."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @signed_in
    async def members(self, request: Request, person: Person) -> Response:
        """Every organisation with its status; on POST register a new one (PENDING)."""
        actor = person.principal(request.state.request_id)
        try:
            _coordinator(actor)
            if request.method == "POST":
                form = await checked_form(request, person)
                new = org_service.NewOrganization(
                    name=form_text(form, "name"),
                    kind=_enum_or(OrganizationKind, form_text(form, "kind"), None),
                    country=form_text(form, "country"),
                    contact_email=form_text(form, "contact_email") or None,
                )
                if new.kind is None:
                    raise HubError(ErrorCode.BAD_USER_INPUT, "kind is required")
                with acting_as(person.staff_id):
                    org = await org_service.register_organization(self.console.db, actor, new)
                return see_other(f"/console/members/{org.id}")
            rows = await org_service.list_organizations(self.console.db)
        except HubError as error:
            return self.console.refused(request, error, person)
        context = {"organizations": rows, "kinds": list(OrganizationKind)}
        return self.console.render(request, "members.html", context, person)

    @signed_in
    async def member(self, request: Request, person: Person) -> Response:
        """One organisation: its status, the actions open to it, and its history."""
        actor = person.principal(request.state.request_id)
        organization_id = str(request.path_params["organization_id"])
        try:
            _coordinator(actor)
            context = await self._member_context(organization_id)
        except HubError as error:
            return self.console.refused(request, error, person)
        return self.console.render(request, "member.html", context, person)

    async def _member_context(self, organization_id: str) -> dict[str, Any]:
        org = await org_service.get_organization(self.console.db, organization_id)
        if org is None:
            raise not_found("organization")
        history = await org_service.membership_history(self.console.db, [org.id])
        status = MembershipStatus(org.status)
        return {
            "org": org,
            "history": history[org.id],
            "actions": actions_from(status),
            "may_invite": status is MembershipStatus.ACTIVE,
            "token": None,
        }

    @signed_in
    async def member_action(self, request: Request, person: Person) -> Response:
        """Activate, suspend, reinstate or revoke, with the reason the API requires."""
        actor = person.principal(request.state.request_id)
        organization_id = str(request.path_params["organization_id"])
        form = await checked_form(request, person)
        try:
            _coordinator(actor)
            action = _enum_or(MembershipAction, form_text(form, "action"), None)
            if action is None:
                raise HubError(ErrorCode.BAD_USER_INPUT, "action is required")
            raw_version = form_text(form, "version")
            with acting_as(person.staff_id):
                await org_service.change_membership(
                    self.console.db,
                    actor,
                    organization_id,
                    action,
                    form_text(form, "reason"),
                    int(raw_version) if raw_version.isdigit() else None,
                )
        except HubError as error:
            return self.console.refused(request, error, person)
        return see_other(f"/console/members/{organization_id}")

    @signed_in
    async def registration_token(self, request: Request, person: Person) -> Response:
        """A single-use registration token for the member, shown in this answer only."""
        actor = person.principal(request.state.request_id)
        organization_id = str(request.path_params["organization_id"])
        await checked_form(request, person)
        try:
            _coordinator(actor)
            with acting_as(person.staff_id):
                issued = await registration.issue_registration_token(
                    self.console.db, actor, organization_id, DEFAULT_TOKEN_HOURS
                )
            context = await self._member_context(organization_id)
        except HubError as error:
            return self.console.refused(request, error, person)
        context["token"] = issued
        return self.console.render(request, "member.html", context, person)

    @signed_in
    async def statistics(self, request: Request, person: Person) -> Response:
        """A published table drawn as the same SVG ``/statistics.svg`` serves, inline."""
        actor = person.principal(request.state.request_id)
        params = request.query_params
        try:
            measure = _enum_or(Measure, params.get("measure"), Measure.CASES)
            rows = _enum_or(Dimension, params.get("rows"), Dimension.MONTH)
            columns = _enum_or(Dimension, params.get("columns"), None)
            table = await statistics_service.statistics_table(
                self.console.db,
                self.console.cipher,
                actor,
                measure,
                rows,
                columns,
                self.console.statistics_k,
            )
        except HubError as error:
            return self.console.refused(request, error, person)
        words = chart_words(self.console.words(request, person), table)
        context = {
            # Drawn from numbers and escaped labels by the same function as the endpoint.
            "chart": Markup(to_svg(table, words)),  # noqa: S704
            "measures": list(Measure),
            "dimensions": list(Dimension),
            "chosen": {"measure": measure, "rows": rows, "columns": columns},
            "k": table.k,
        }
        return self.console.render(request, "statistics.html", context, person)

    def routes(self) -> list[Route]:
        return [
            Route("/members", self.members, methods=["GET", "POST"]),
            Route("/members/{organization_id}", self.member, methods=["GET"]),
            Route("/members/{organization_id}/action", self.member_action, methods=["POST"]),
            Route(
                "/members/{organization_id}/registration-token",
                self.registration_token,
                methods=["POST"],
            ),
            Route("/statistics", self.statistics, methods=["GET"]),
        ]


def chart_words(gettext: Callable[[str], str], table: Table) -> ChartWords:
    """The chart's title, axis captions, labels and "suppressed" in the reader's language.
    Only non-empty labels are looked up (gettext of "" is the catalog's header)."""

    def label(text: str) -> str:
        return gettext(text) if text else text

    names = {
        "measure": label(table.measure.value),
        "rows": label(table.rows.value),
        "columns": label(table.columns.value) if table.columns is not None else "",
    }
    template = (
        gettext("%(measure)s by %(rows)s and %(columns)s")
        if table.columns is not None
        else gettext("%(measure)s by %(rows)s")
    )
    return ChartWords(title=template % names, suppressed=gettext("suppressed"), label=label)
