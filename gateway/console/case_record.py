"""The case page's record: consent (record, withdraw), status history, who has seen the case,
and the survivor's own report of who has seen her data.

Every section comes from the service the API's field or mutation calls, as the person's
principal: ``consents``/``disclosures`` and the report are the owner's only, as on the API
(``consents_of_case`` and ``disclosures_of_case`` refuse anyone else), the status history goes
to whoever may see the case. Forms are translated into the same ``NewConsent`` the
``recordConsent`` mutation builds; nothing here decides who may do what.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import service as case_service
from cases.access import CaseView
from cases.case_keys import ERASED_CASE, case_ciphers
from consent import service as consent_service
from consent.family import FamilyBasis, FamilyRelationship
from consent.models import Disclosure
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from gateway.console.errors import ERASED, error_message
from gateway.console.i18n import Formatter, available_locales, pick_locale, zone
from gateway.console.signed_in import checked_form, need_scope, see_other, signed_in
from orgs import service as org_service
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind
from orgs.staff import Person
from orgs.staff_names import display_names
from store.actor import acting_as
from store.errors import ErrorCode, HubError
from store.types import utcnow

if TYPE_CHECKING:
    from gateway.console.pages import Console

CONSENT_SCOPE = "consent:write"
READ_SCOPE = "cases:read"
# The error page's key for a write refused because her data was erased (a CONFLICT on the
# API, with its own words here: "reload and try again" would be wrong).
E = TypeVar("E")


@dataclass
class Seen:
    """One line of who-has-seen-what: an organisation (and person, where recorded) that saw
    data of the case under one consent version, first and last time, how many times."""

    organization_id: str
    staff_id: str | None
    consent_id: str
    consent_version: int
    first: datetime
    last: datetime
    times: int = 0
    categories: set[str] = field(default_factory=set)


def seen_by(disclosures: Sequence[Disclosure]) -> list[Seen]:
    """The disclosure log grouped by organisation, person and consent version, in the order
    each was first seen: one line per reader and consent, short enough to read aloud."""
    lines: dict[tuple[str, str | None, str], Seen] = {}
    for d in disclosures:
        key = (d.organization_id, d.staff_id, d.consent_grant_id)
        line = lines.get(key)
        if line is None:
            line = lines[key] = Seen(
                d.organization_id, d.staff_id, d.consent_grant_id, d.consent_version, d.at, d.at
            )
        line.first = min(line.first, d.at)
        line.last = max(line.last, d.at)
        line.times += 1
        line.categories.update(d.categories)
    return list(lines.values())


def _category_order(categories: set[str]) -> list[str]:
    return [c.value for c in DataCategory if c.value in categories]


async def case_sections(
    console: Console, person: Person, actor: Principal, view: CaseView
) -> dict[str, Any]:
    """What the case page shows beside the fields: status history for whoever sees the case;
    consents, the disclosure log and the consent form for its owner."""
    case_id = view.case.id
    db = console.db
    history = (await case_service.status_history(db, [case_id]))[case_id]
    notes: list[str | None] = [None for _ in history]
    if view.viewer_is_owner and any(r.note for r in history):
        async with db.read() as session:
            opener = (await case_ciphers(session, console.cipher, [case_id]))[case_id]
        notes = [case_service.open_note(opener, r.note, r.case_id) for r in history]
    grants: list[consent_service.GrantRecord] = []
    seen: list[Seen] = []
    names: dict[str, str] = {}
    if view.viewer_is_owner:
        grants = await consent_service.consents_of_case(db, actor, console.cipher, case_id)
        seen = seen_by(await consent_service.disclosures_of_case(db, actor, case_id))
        names = await display_names(db, [s.staff_id for s in seen if s.staff_id])
    may_consent = view.viewer_is_owner and actor.has(CONSENT_SCOPE)
    # The recipients to choose from: only for someone who gets the form.
    members = (
        await org_service.list_organizations(db, status=MembershipStatus.ACTIVE)
        if may_consent
        else []
    )
    org_ids = {r.by_organization_id for r in history} | {s.organization_id for s in seen}
    org_ids |= {o for g in grants for o in g.grant.recipient_organization_ids}
    orgs = await org_service.organizations_by_id(db, sorted(org_ids))
    return {
        "history": list(zip(history, notes, strict=True)),
        "grants": grants,
        "seen": [(s, _category_order(s.categories)) for s in seen],
        "staff_names": names,
        "org_names": {oid: o.name for oid, o in orgs.items()},
        "may_consent": may_consent,
        "consent_choices": {
            "grantors": list(Grantor),
            "methods": list(ConsentMethod),
            "purposes": list(Purpose),
            "categories": list(DataCategory),
            "kinds": [k for k in OrganizationKind if k is not OrganizationKind.COORDINATOR],
            "relationships": list(FamilyRelationship),
            "members": [m for m in members if m.id != person.organization_id],
        },
    }


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _choices(kind: Callable[[str], E], form: FormData, name: str) -> list[E]:
    out = []
    for raw in form.getlist(name):
        try:
            if not isinstance(raw, str):
                raise ValueError(name)
            out.append(kind(raw))
        except ValueError as exc:
            raise HubError(ErrorCode.BAD_USER_INPUT, f"{name}: unknown choice") from exc
    return out


def _one(kind: Callable[[str], E], form: FormData, name: str) -> E:
    found = _choices(kind, form, name)
    if len(found) != 1:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"{name}: choose one")
    return found[0]


def _day(form: FormData, name: str, time_zone: str) -> datetime | None:
    """A date from the form as the start of that day in the person's time zone."""
    raw = _text(form, name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"{name}: not a date") from exc
    return datetime.combine(day, time(), tzinfo=zone(time_zone))


def new_consent(form: FormData, case_id: str, time_zone: str) -> consent_service.NewConsent:
    """The consent form as the mutation's input: the same fields, the same service."""
    reported_by, why_not_self = _text(form, "reported_by"), _text(form, "why_not_self")
    basis = None
    if reported_by or why_not_self:
        basis = FamilyBasis(
            reported_by, _one(FamilyRelationship, form, "relationship"), why_not_self
        )
    return consent_service.NewConsent(
        case_id=case_id,
        grantor=_one(Grantor, form, "grantor"),
        method=_one(ConsentMethod, form, "method"),
        purposes=_choices(Purpose, form, "purposes"),
        categories=_choices(DataCategory, form, "categories"),
        recipient_organization_ids=[r for r in form.getlist("recipients") if isinstance(r, str)],
        recipient_kinds=_choices(OrganizationKind, form, "recipient_kinds"),
        interpreter_language=_text(form, "interpreter_language") or None,
        valid_from=_day(form, "valid_from", time_zone),
        valid_until=_day(form, "valid_until", time_zone),
        family_basis=basis,
    )


def refused(console: Console, request: Request, error: HubError, person: Person) -> Response:
    if error.code is ErrorCode.CONFLICT and error.message == ERASED_CASE:
        context = {"code": ERASED, "message": error_message(ERASED)}
        return console.render(request, "error.html", context, person, 409)
    return console.refused(request, error, person)


@signed_in
async def record_consent(console: Console, request: Request, person: Person) -> Response:
    form = await checked_form(request, person)
    case_id = str(request.path_params["case_id"])
    actor = person.principal(request.state.request_id)
    try:
        need_scope(actor, CONSENT_SCOPE)
        new = new_consent(form, case_id, person.time_zone)
        with acting_as(person.staff_id):
            await consent_service.record_consent(console.db, actor, new, console.cipher)
    except HubError as error:
        return refused(console, request, error, person)
    return see_other(f"/console/cases/{case_id}#consent")


@signed_in
async def withdraw_consent(console: Console, request: Request, person: Person) -> Response:
    form = await checked_form(request, person)
    case_id = str(request.path_params["case_id"])
    consent_id = str(request.path_params["consent_id"])
    actor = person.principal(request.state.request_id)
    try:
        need_scope(actor, CONSENT_SCOPE)
        # The grant must belong to the case in the address: a form for one case never
        # withdraws another's consent.
        if await consent_service.grant_case(console.db, consent_id) != case_id:
            raise HubError(ErrorCode.NOT_FOUND, "no such consent")
        with acting_as(person.staff_id):
            await consent_service.withdraw_consent(
                console.db, actor, console.cipher, consent_id, _text(form, "reason")
            )
    except HubError as error:
        return refused(console, request, error, person)
    return see_other(f"/console/cases/{case_id}#consent")


@signed_in
async def report(console: Console, request: Request, person: Person) -> Response:
    """The survivor's report: who has seen her data, what, when, under which consent, in
    the language she reads (chosen here, whatever the caseworker's own language)."""
    case_id = str(request.path_params["case_id"])
    actor = person.principal(request.state.request_id)
    try:
        need_scope(actor, READ_SCOPE)
        # Owner only, as the API's ``disclosures``: the same call refuses everyone else.
        disclosures = await consent_service.disclosures_of_case(console.db, actor, case_id)
        grants = await consent_service.consents_of_case(console.db, actor, console.cipher, case_id)
    except HubError as error:
        return refused(console, request, error, person)
    views = await case_service.read_cases(
        console.db, actor, console.cipher, case_ids=[case_id], limit=1, fields=frozenset()
    )
    reference = views[0].case.reference if views else ""
    language = pick_locale(request.query_params.get("language"), person.locale)
    words = Formatter(language, person.time_zone)
    seen = seen_by(disclosures)
    orgs = await org_service.organizations_by_id(
        console.db, sorted({s.organization_id for s in seen})
    )
    names = await display_names(console.db, [s.staff_id for s in seen if s.staff_id])
    by_id = {g.grant.id: g for g in grants}
    lines = [
        {
            "organization": orgs[s.organization_id].name
            if s.organization_id in orgs
            else s.organization_id,
            "person": names.get(s.staff_id) if s.staff_id else None,
            "categories": _category_order(s.categories),
            "first": s.first,
            "last": s.last,
            "times": s.times,
            "grant": by_id.get(s.consent_id),
        }
        for s in seen
    ]
    context = {
        "case_id": case_id,
        "reference": reference,
        "lines": lines,
        "grants": grants,
        "r_": words.gettext,
        "rfmt": words,
        "report_locale": language,
        "report_languages": available_locales(),
        "now": utcnow(),
    }
    return console.render(request, "case_report.html", context, person)


def routes(console: Console) -> list[Route]:
    async def record(request: Request) -> Response:
        return await record_consent(console, request)

    async def withdraw(request: Request) -> Response:
        return await withdraw_consent(console, request)

    async def survivor_report(request: Request) -> Response:
        return await report(console, request)

    return [
        Route("/cases/{case_id}/consent", record, methods=["POST"]),
        Route("/cases/{case_id}/consent/{consent_id}/withdraw", withdraw, methods=["POST"]),
        Route("/cases/{case_id}/report", survivor_report, methods=["GET"]),
    ]
