"""The console's pages: plain HTML forms over the same services the GraphQL API calls.

Handlers translate only: a form becomes a service call made as the person's principal
(their organisation, their role's scopes), inside ``acting_as`` so audit entries and
disclosures name the person. Refusals are the API's own: NOT_FOUND for what the
organisation may not see, FORBIDDEN for a scope the role lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from cases import referrals as referral_service
from cases import service as case_service
from cases.deadlines import referral_overdue
from cases.referral_rules import REFERRAL_WORKFLOW, ReferralAction
from cases.referrals import Box, Outcome, role_of
from cases.rules import SENSITIVE_FIELDS, AgeBand, Sex
from gateway.console import case_record, guard
from gateway.console.errors import CSRF, error_message
from gateway.console.form_fields import form_choice, form_text, form_version
from gateway.console.i18n import (
    DEFAULT_TIME_ZONE,
    Formatter,
    available_locales,
    known_time_zone,
    language_name,
    pick_locale,
)
from gateway.console.live import (
    LIVE_REFRESH_HEADER,
    LiveEvents,
    end_person_streams,
    end_session_streams,
)
from gateway.console.sendpages import SendPages
from gateway.console.signed_in import checked_form, need_scope, see_other, signed_in
from gateway.console.staffstatus import StaffStatusPages, people_of
from notifications.pump import EventPump
from orgs import staff
from orgs.rules import ServiceCategory
from orgs.staff import Person
from orgs.staff_rules import StaffRole
from store.actor import acting_as
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher
from store.types import utcnow

HERE = Path(__file__).parent
# The actions the referral pages offer, and the scope each needs (as on the API).
REFERRAL_ACTIONS = (
    ReferralAction.ACKNOWLEDGE,
    ReferralAction.ACCEPT,
    ReferralAction.DECLINE,
    ReferralAction.START,
    ReferralAction.COMPLETE,
)
WRITE_SCOPE = "referrals:write"
# The survivor's text fields the new-case form offers (the rest: through the API for now).
NEW_CASE_FIELDS = ("fullName", "currentLocation", "homeProvince", "healthNotes")
MAX_FIELD = 2000
_STATUS = {
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.CONSENT_REQUIRED: 403,
    ErrorCode.UNAUTHENTICATED: 401,
}


def _environment() -> Environment:
    # Autoescaping everywhere, whatever a template's name: every value is text until proven.
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


@dataclass
class Console:
    db: Database
    cipher: FieldCipher
    secure: bool
    public_url: str
    pump: EventPump | None = None
    live_heartbeat: float = 15.0
    # Webhook URLs: plain http to loopback outside production only (as on the API).
    production: bool = True
    # The smallest published statistics cell (settings.statistics_k).
    statistics_k: int = 5

    @property
    def console(self) -> Console:
        """Itself, for ``signed_in``: its own pages and those it delegates to alike."""
        return self

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(env=_environment())
        self.live = LiveEvents(self.db, self.pump, self.live_heartbeat)

    # -- rendering -------------------------------------------------------------------

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        person: Person | None = None,
        status: int = 200,
    ) -> Response:
        wanted = request.query_params.get("lang")
        locale = pick_locale(
            wanted, request.cookies.get(guard.LANG_COOKIE), person.locale if person else None
        )
        fmt = Formatter(locale, person.time_zone if person else DEFAULT_TIME_ZONE)
        pre = guard.pre_token(request) if person is None else None
        response = self.templates.TemplateResponse(
            request,
            name,
            {
                **context,
                "_": fmt.gettext,
                "fmt": fmt,
                "locale": locale,
                "languages": [(code, language_name(code)) for code in available_locales()],
                "person": person,
                "csrf": person.csrf_token if person else pre,
            },
            status_code=status,
        )
        if pre is not None:
            guard.set_pre_cookie(response, pre, self.secure)
        if wanted and wanted == locale:
            response.set_cookie(
                guard.LANG_COOKIE,
                locale,
                path=guard.PATH,
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )
        return guard.protect(response)

    def words(self, request: Request, person: Person | None) -> Callable[[str], str]:
        """The catalog's gettext for the language ``render`` will choose, for text drawn
        outside a template (a chart)."""
        locale = pick_locale(
            request.query_params.get("lang"),
            request.cookies.get(guard.LANG_COOKIE),
            person.locale if person else None,
        )
        return Formatter(locale, DEFAULT_TIME_ZONE).gettext

    def refused(self, request: Request, error: HubError, person: Person | None) -> Response:
        return self.render(
            request,
            "error.html",
            {"code": error.code.value, "message": error_message(error.code.value)},
            person,
            _STATUS.get(error.code, 400),
        )

    def csrf_refused(self, request: Request, person: Person | None) -> Response:
        context = {"code": CSRF, "message": error_message(CSRF)}
        return self.render(request, "error.html", context, person, 403)

    async def person(self, request: Request) -> Person | None:
        session_id = request.cookies.get(guard.SESSION_COOKIE)
        if not session_id:
            return None
        # A list re-read by live.js is not the person's own activity: idle time keeps running.
        touch = request.headers.get(LIVE_REFRESH_HEADER) != "1"
        return await staff.session_person(self.db, session_id, touch)

    # -- pages -----------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        person = await self.person(request)
        target = "/console/referrals" if person else "/console/sign-in"
        return guard.protect(RedirectResponse(target, status_code=303))

    async def sign_in(self, request: Request) -> Response:
        if request.method == "GET":
            return self.render(request, "sign_in.html", {})
        form = await request.form()
        if not guard.token_matches(request.cookies.get(guard.PRE_COOKIE), form.get("csrf")):
            return self.csrf_refused(request, None)
        try:
            session_id, _ = await staff.sign_in(
                self.db,
                self.cipher,
                email=form_text(form, "email"),
                password=form_text(form, "password"),
                code=form_text(form, "code"),
                previous_session=request.cookies.get(guard.SESSION_COOKIE),
            )
        except HubError as error:
            return self.render(request, "sign_in.html", {"failed": error.code.value}, None, 401)
        response = RedirectResponse("/console/referrals", status_code=303)
        guard.set_session_cookie(response, session_id, self.secure)
        return guard.protect(response)

    @signed_in
    async def sign_out(self, request: Request, person: Person) -> Response:
        form = await checked_form(request, person)
        if form.get("everywhere"):
            with acting_as(person.staff_id):
                await staff.sign_out_everywhere(self.db, person.staff_id)
            end_person_streams(self.pump, person.staff_id)
        else:
            await staff.sign_out(self.db, request.cookies.get(guard.SESSION_COOKIE, ""))
            end_session_streams(self.pump, request.cookies.get(guard.SESSION_COOKIE, ""))
        response = RedirectResponse("/console/sign-in", status_code=303)
        guard.clear_session_cookie(response, self.secure)
        return guard.protect(response)

    async def invite(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        try:
            if request.method == "GET":
                offer = await staff.offer_invite(self.db, self.cipher, token)
                return self.render(
                    request, "invite.html", {"offer": offer, "qr": _qr(offer.otpauth_uri)}
                )
            form = await request.form()
            if not guard.token_matches(request.cookies.get(guard.PRE_COOKIE), form.get("csrf")):
                return self.csrf_refused(request, None)
            time_zone = form_text(form, "time_zone") or DEFAULT_TIME_ZONE
            if not known_time_zone(time_zone):
                raise HubError(ErrorCode.BAD_USER_INPUT, "unknown time zone")
            codes = await staff.accept_invite(
                self.db,
                self.cipher,
                token,
                display_name=form_text(form, "display_name"),
                password=form_text(form, "password"),
                code=form_text(form, "code"),
                locale=pick_locale(form_text(form, "locale")),
                time_zone=time_zone,
            )
        except HubError as error:
            return self.refused(request, error, None)
        return self.render(request, "enrolled.html", {"codes": codes})

    @signed_in
    async def referrals(self, request: Request, person: Person) -> Response:
        box = Box.OUTBOX if request.query_params.get("box") == "outbox" else Box.INBOX
        actor = person.principal(request.state.request_id)
        page = await referral_service.list_referrals(self.db, actor, box, first=50)
        now = utcnow()
        rows = []
        for referral in page.referrals:
            role = role_of(referral, person.organization_id)
            allowed = REFERRAL_WORKFLOW.allowed_now(referral.status, [role]) if role else []
            rows.append(
                {
                    "referral": referral,
                    "overdue": referral_overdue(referral, now),
                    "actions": [a for a in REFERRAL_ACTIONS if a in allowed]
                    if actor.has(WRITE_SCOPE)
                    else [],
                }
            )
        return self.render(
            request,
            "referrals.html",
            {"box": box, "rows": rows, "services": ServiceCategory},
            person,
        )

    @signed_in
    async def referral_action(self, request: Request, person: Person) -> Response:
        form = await checked_form(request, person)
        actor = person.principal(request.state.request_id)
        try:
            need_scope(actor, WRITE_SCOPE)
            action = form_choice(ReferralAction, form_text(form, "action"))
            outcome = None
            if action is ReferralAction.COMPLETE:
                delivered = [
                    form_choice(ServiceCategory, s)
                    for s in form.getlist("delivered")
                    if isinstance(s, str)
                ]
                outcome = Outcome(
                    services_delivered=delivered, note=form_text(form, "note") or None
                )
            with acting_as(person.staff_id):
                await referral_service.transition_referral(
                    self.db,
                    actor,
                    self.cipher,
                    str(request.path_params["referral_id"]),
                    action,
                    reason=form_text(form, "reason") or None,
                    expected_version=form_version(form),
                    outcome=outcome,
                )
        except HubError as error:
            return self.refused(request, error, person)
        return see_other("/console/referrals")

    @signed_in
    async def case(self, request: Request, person: Person) -> Response:
        actor = person.principal(request.state.request_id)
        case_id = str(request.path_params["case_id"])
        views = []
        if actor.has("cases:read"):
            with acting_as(person.staff_id):
                views = await case_service.read_cases(
                    self.db, actor, self.cipher, case_ids=[case_id], limit=1
                )
        if not views:
            return self.refused(request, HubError(ErrorCode.NOT_FOUND, "no such case"), person)
        view = views[0]
        withheld = {w.field: w for w in view.withheld}
        fields = [(f, view.values.get(f.name), withheld.get(f.name)) for f in SENSITIVE_FIELDS]
        sections = await case_record.case_sections(self, person, actor, view)
        return self.render(
            request, "case.html", {"view": view, "fields": fields, **sections}, person
        )

    @signed_in
    async def new_case(self, request: Request, person: Person) -> Response:
        """Open a case: the profile and a few survivor fields, sealed by the same service
        the API's ``createCase`` calls. Values travel in the form body only."""
        actor = person.principal(request.state.request_id)
        if not actor.has("cases:write"):
            return self.refused(request, HubError(ErrorCode.FORBIDDEN, "cases:write"), person)
        if request.method == "GET":
            context = {"age_bands": list(AgeBand), "sexes": list(Sex), "fields": NEW_CASE_FIELDS}
            return self.render(request, "new_case.html", context, person)
        form = await checked_form(request, person)
        try:
            survivor = {}
            for name in NEW_CASE_FIELDS:
                value = form_text(form, name).strip()
                if len(value) > MAX_FIELD:
                    raise HubError(ErrorCode.BAD_USER_INPUT, "a field is too long")
                if value:
                    survivor[name] = value
            new = case_service.NewCase(
                age_band=form_choice(AgeBand, form_text(form, "age_band")),
                sex=form_choice(Sex, form_text(form, "sex")),
                nationality=form_text(form, "nationality").strip().upper() or None,
                survivor=survivor,
            )
            with acting_as(person.staff_id):
                view = await case_service.create_case(self.db, actor, self.cipher, new)
        except HubError as error:
            return self.refused(request, error, person)
        return see_other(f"/console/cases/{view.case.id}")

    @signed_in
    async def staff_page(self, request: Request, person: Person) -> Response:
        """An organisation's admin invites colleagues; the coordinator invites the first
        admin of a member. The link is shown once, to be handed over privately."""
        if person.role not in (StaffRole.ORG_ADMIN, StaffRole.COORDINATOR):
            return self.refused(request, HubError(ErrorCode.FORBIDDEN, "admins only"), person)
        roles = (
            [StaffRole.ORG_ADMIN]
            if person.role is StaffRole.COORDINATOR
            else [r for r in StaffRole if r is not StaffRole.COORDINATOR]
        )
        context: dict[str, Any] = {"roles": roles, "link": None}
        if request.method == "POST":
            form = await checked_form(request, person)
            organization_id = (
                form_text(form, "organization_id").strip()
                if person.role is StaffRole.COORDINATOR
                else person.organization_id
            )
            try:
                role = form_choice(StaffRole, form_text(form, "role"))
                by = staff.Inviter(person.staff_id, person.organization_id, person.role)
                with acting_as(person.staff_id):
                    issued = await staff.issue_invite(
                        self.db, by, organization_id, role, form_text(form, "email")
                    )
            except HubError as error:
                return self.refused(request, error, person)
            context["link"] = f"{self.public_url}/console/invite/{issued.token}"
        context["people"] = await people_of(self, person.role, person.organization_id)
        return self.render(request, "staff.html", context, person)

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/sign-in", self.sign_in, methods=["GET", "POST"]),
            Route("/sign-out", self.sign_out, methods=["POST"]),
            Route("/invite/{token}", self.invite, methods=["GET", "POST"]),
            Route("/referrals", self.referrals, methods=["GET"]),
            Route("/referrals/{referral_id}/action", self.referral_action, methods=["POST"]),
            Route("/cases/new", self.new_case, methods=["GET", "POST"]),
            Route("/cases/{case_id}", self.case, methods=["GET"]),
            Route("/staff", self.staff_page, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="console-static"),
            Route("/events", self.live.events, methods=["GET"]),
            *case_record.routes(self),
            *SendPages(self).routes(),
            *self.admin_routes(),
            *StaffStatusPages(self).routes(),
        ]

    def admin_routes(self) -> list[Route]:
        """Clients, webhooks, membership and statistics (gateway/console/admin.py,
        membership.py), imported here because those modules build on this one."""
        from gateway.console.admin import AdminPages
        from gateway.console.membership import MembershipPages
        from gateway.console.overview import OverviewPage
        from gateway.console.security_keys import SecurityKeyPages

        return [
            *AdminPages(self, self.production).routes(),
            *MembershipPages(self).routes(),
            *OverviewPage(self).routes(),
            *SecurityKeyPages(self).routes(),
        ]


def _qr(uri: str) -> str:
    """The enrolment QR code as an SVG data URI: no script, no request elsewhere."""
    import segno

    return str(segno.make(uri, error="m").svg_data_uri(scale=4))


def console_mount(
    db: Database,
    cipher: FieldCipher,
    public_url: str,
    pump: EventPump | None = None,
    live_heartbeat: float = 15.0,
    *,
    production: bool = True,
    statistics_k: int = 5,
) -> Mount:
    """The console, mounted under /console. With the event pump, pages update live."""
    console = Console(
        db,
        cipher,
        guard.secure_cookies(public_url),
        public_url,
        pump,
        live_heartbeat,
        production,
        statistics_k,
    )
    return Mount(guard.PATH, routes=console.routes())
