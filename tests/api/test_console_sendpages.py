"""Finding a service, sending a referral and running a repatriation from the console:
the API's own services and refusals, over real HTTP, as a browser without script would."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from cases.models import Referral, RepatriationRequest
from orgs.staff_rules import StaffRole
from store.audit import AuditEntry
from store.types import utcnow
from tests.api.console_support import csrf_of, enrol, signed_in
from tests.api.repatriation_support import a_request, give_consent, open_case
from tests.marker_watch import planted
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio

ATTACK = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
SERVICES = """
query($category: ServiceCategory, $area: String) {
  services(category: $category, area: $area) { id }
}"""
COMPLETE = """
mutation($id: ID!, $outcome: OutcomeInput!) {
  completeReferral(id: $id, outcome: $outcome) { id status }
}"""


def _escaped(page: str) -> None:
    """The attack is shown as text: escaped, never as markup."""
    assert "<script>alert(2)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


async def _referrals(hub: RunningHub, case_id: str) -> list[Referral]:
    async with hub.db.read() as session:
        return list(await session.scalars(select(Referral).where(Referral.case_id == case_id)))


async def _request(hub: RunningHub, request_id: str) -> RepatriationRequest:
    async with hub.db.read() as session:
        row = await session.get(RepatriationRequest, request_id)
        assert row is not None
        return row


async def _refer_form(client: httpx.AsyncClient, category: str, area: str) -> tuple[str, str]:
    """Search, take the first result's link: (form page, form path)."""
    found = await client.get("/console/services", params={"category": category, "area": area})
    assert found.status_code == 200, found.text
    link = re.search(r'href="(/console/services/[^"]+/refer)"', found.text)
    assert link, "no service to refer to"
    form = await client.get(link.group(1))
    assert form.status_code == 200, form.text
    return form.text, link.group(1)


def _fields(page: str) -> dict[str, str]:
    key = re.search(r'name="key" value="([^"]+)"', page)
    assert key
    return {"csrf": csrf_of(page), "key": key.group(1)}


# -- find a service, send a referral --------------------------------------------------------


async def test_the_search_ranks_as_the_api_and_filters_by_capacity(hub: RunningHub) -> None:
    account = await enrol(hub, "ccpcr-koh-kong", StaffRole.CASEWORKER, "find@kk.example")
    api = await hub.gql("ccpcr-koh-kong", SERVICES, {"category": "SHELTER", "area": "Bangkok"})
    assert not api.errors, api.errors
    expected = [s["id"] for s in api.data["services"]]
    assert len(expected) >= 1
    async with signed_in(hub, account) as client:
        page = await client.get(
            "/console/services", params={"category": "SHELTER", "area": "Bangkok"}
        )
        assert page.status_code == 200
        assert re.findall(r'data-offer="([^"]+)"', page.text) == expected
        # The demo shelter in Phnom Penh has a waiting list: "taking referrals" keeps it,
        # "not taking" drops every demo shelter.
        everywhere = await client.get("/console/services", params={"category": "SHELTER"})
        waiting = await client.get(
            "/console/services", params={"category": "SHELTER", "capacity": "accepting"}
        )
        none = await client.get(
            "/console/services", params={"category": "SHELTER", "capacity": "not_accepting"}
        )
        assert "Waiting list" in everywhere.text and "Waiting list" in waiting.text
        assert "data-offer=" in everywhere.text and "data-offer=" not in none.text
        assert "No service found." in none.text
        # A place in Khmer finds the same province as its code.
        khmer = await client.get("/console/services", params={"area": "កោះកុង"})
        code = await client.get("/console/services", params={"area": "KH-9"})
        assert re.findall(r'data-offer="([^"]+)"', khmer.text) == re.findall(
            r'data-offer="([^"]+)"', code.text
        )
        assert len(page.content) < 100 * 1024
        # A place the hub does not know is refused as the API refuses it, never echoed.
        typed = await client.get("/console/services", params={"area": ATTACK})
        assert typed.status_code == 400 and 'data-code="BAD_USER_INPUT"' in typed.text
        assert "<script>alert(2)" not in typed.text and "<img src=x" not in typed.text
        bad = await client.get("/console/services", params={"category": "NOPE"})
        assert bad.status_code == 400 and 'data-code="BAD_USER_INPUT"' in bad.text
        km = await client.get("/console/services", params={"lang": "km"})
        assert "ស្វែងរកសេវា" in km.text


async def test_a_caseworker_sends_a_referral_and_sees_the_outcome(hub: RunningHub) -> None:
    case_id = await open_case(hub, owner="ccpcr-koh-kong")
    await give_consent(hub, case_id, ["adhoc"], owner="ccpcr-koh-kong", purposes=("LEGAL_AID",))
    account = await enrol(hub, "ccpcr-koh-kong", StaffRole.CASEWORKER, "send@kk.example")
    async with signed_in(hub, account) as client:
        page, path = await _refer_form(client, "LEGAL_AID", "KH")
        assert f'value="{case_id}"' in page
        # The form names her case by its reference, never by the survivor's name.
        assert planted("Chan Vuthy") not in page
        form = _fields(page) | {
            "case_id": case_id,
            "services": "LEGAL_AID",
            "urgency": "URGENT",
            "reason": planted(ATTACK),
            "notes": planted("<b>speaks Khmer only</b>"),
        }
        sent = await client.post(path, data=form)
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == "/console/referrals?box=outbox"
        # Pressing "Send" twice (same form, same key) sends once.
        again = await client.post(path, data=form)
        assert again.status_code == 303
        referrals = await _referrals(hub, case_id)
        assert len(referrals) == 1
        referral = referrals[0]
        assert referral.receiver_organization_id == hub.members["adhoc"].organization_id
        assert referral.services == ["LEGAL_AID"] and referral.urgency == "URGENT"
        outbox = await client.get("/console/referrals?box=outbox")
        row = outbox.text.split(f'data-referral="{referral.id}"')[1].split("</tr>")[0]
        assert "<td>Sent" in row and '<td class="outcome"></td>' in row
        # The receiver completes it through the API; the sender's outbox shows the outcome.
        for step in ("acknowledgeReferral", "acceptReferral", "startReferral"):
            done = await hub.gql(
                "adhoc", f'mutation {{ {step}(id: "{referral.id}") {{ id }} }}', {}
            )
            assert not done.errors, done.errors
        done = await hub.gql(
            "adhoc", COMPLETE, {"id": referral.id, "outcome": {"servicesDelivered": ["LEGAL_AID"]}}
        )
        assert not done.errors, done.errors
        outbox = await client.get("/console/referrals?box=outbox")
        row = outbox.text.split(f'data-referral="{referral.id}"')[1].split("</tr>")[0]
        assert "Services delivered: Legal aid" in row
        # The reason and notes are stored as typed (the sender reads them back).
        read = await hub.gql(
            "ccpcr-koh-kong", f'query {{ referral(id: "{referral.id}") {{ reason notes }} }}', {}
        )
        assert not read.errors, read.errors
        assert read.data["referral"] == {
            "reason": planted(ATTACK),
            "notes": planted("<b>speaks Khmer only</b>"),
        }
    # The send is audited in the person's name.
    async with hub.db.read() as session:
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.subject_id == referral.id))
        ).first()
        assert entry is not None and entry.actor_staff_id is not None


async def test_a_send_without_consent_is_refused_in_her_language(hub: RunningHub) -> None:
    case_id = await open_case(hub, owner="ccpcr-koh-kong")
    account = await enrol(
        hub, "ccpcr-koh-kong", StaffRole.CASEWORKER, "noconsent@kk.example", locale="km"
    )
    async with signed_in(hub, account) as client:
        page, path = await _refer_form(client, "LEGAL_AID", "KH")
        refused = await client.post(
            path,
            data=_fields(page)
            | {
                "case_id": case_id,
                "urgency": "ROUTINE",
                "reason": planted("needs a lawyer"),
            },
        )
        assert refused.status_code == 403
        assert 'data-code="CONSENT_REQUIRED"' in refused.text
        assert "ការយល់ព្រម" in refused.text  # the Khmer message, not the English one
        assert planted("needs a lawyer") not in refused.text
    assert await _referrals(hub, case_id) == []


async def test_refusals_of_the_send(hub: RunningHub) -> None:
    case_id = await open_case(hub, owner="ccpcr-koh-kong")
    await give_consent(hub, case_id, ["adhoc"], owner="ccpcr-koh-kong", purposes=("LEGAL_AID",))
    viewer = await enrol(hub, "ccpcr-koh-kong", StaffRole.VIEWER, "view@kk.example")
    other = await enrol(hub, "ngo-malaysia", StaffRole.CASEWORKER, "other@my.example")
    own = await open_case(hub, owner="ngo-malaysia")  # so the form is offered to her
    worker = await enrol(hub, "ccpcr-koh-kong", StaffRole.CASEWORKER, "csrf@kk.example")
    async with signed_in(hub, viewer) as client:
        found = await client.get("/console/services", params={"category": "LEGAL_AID"})
        assert found.status_code == 200 and "data-offer=" in found.text
        assert '/refer"' not in found.text  # no link to a send she may not make
        offer = re.findall(r'data-offer="([^"]+)"', found.text)[0]
        assert (await client.get(f"/console/services/{offer}/refer")).status_code == 403
        refused = await client.post(
            f"/console/services/{offer}/refer",
            data={"csrf": csrf_of(found.text), "case_id": case_id, "reason": "x"},
        )
        assert refused.status_code == 403 and 'data-code="FORBIDDEN"' in refused.text
    async with signed_in(hub, other) as client:
        page, path = await _refer_form(client, "LEGAL_AID", "KH")
        assert own in page and case_id not in page  # only her organisation's cases
        refused = await client.post(
            path,
            data=_fields(page) | {"case_id": case_id, "urgency": "URGENT", "reason": planted("x")},
        )
        assert refused.status_code == 404 and 'data-code="NOT_FOUND"' in refused.text
    async with signed_in(hub, worker) as client:
        page, path = await _refer_form(client, "LEGAL_AID", "KH")
        forged = _fields(page) | {"csrf": "forged", "case_id": case_id, "urgency": "URGENT"}
        refused = await client.post(path, data=forged | {"reason": planted("y")})
        assert refused.status_code == 403 and 'data-code="CSRF"' in refused.text
        empty = await client.post(
            path, data=_fields(page) | {"case_id": case_id, "urgency": "URGENT", "reason": " "}
        )
        assert empty.status_code == 400 and 'data-code="BAD_USER_INPUT"' in empty.text
        missing = await client.get("/console/services/no-such-offer/refer")
        assert missing.status_code == 404
    assert await _referrals(hub, case_id) == []


# -- repatriation ---------------------------------------------------------------------------


async def _post(client: httpx.AsyncClient, rid: str, what: str, **fields: str) -> httpx.Response:
    page = await client.get(f"/console/repatriations/{rid}")
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    data = {"csrf": csrf_of(page.text)} | ({"version": version.group(1)} if version else {})
    return await client.post(f"/console/repatriations/{rid}/{what}", data=data | fields)


async def test_an_officer_runs_a_repatriation_to_hand_over(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "console-repat-1")
    officer = await enrol(hub, "embassy-bangkok", StaffRole.OFFICER, "officer@bkk.example")
    reception = await enrol(hub, "mosavy", StaffRole.OFFICER, "officer@mosavy.example")
    async with signed_in(hub, officer) as client:
        inbox = await client.get("/console/repatriations")
        assert f'data-repatriation="{rid}"' in inbox.text
        page = await client.get(f"/console/repatriations/{rid}")
        assert page.headers["cache-control"] == "no-store"
        assert 'value="ACKNOWLEDGE"' in page.text and 'value="CONFIRM_HANDOVER"' not in page.text
        for action in ("ACKNOWLEDGE", "VERIFY", "ISSUE_DOCUMENTS"):
            done = await _post(client, rid, "action", action=action)
            assert done.status_code == 303, done.text
        planned = await _post(
            client,
            rid,
            "travel-plan",
            date=(utcnow() + timedelta(days=7)).date().isoformat(),
            route=planted(ATTACK),
            escort=planted("<i>IOM escort</i>"),
        )
        assert planned.status_code == 303, planned.text
        cost = await _post(client, rid, "cost", item="AIR_TICKET", amount="250.00", currency="thb")
        assert cost.status_code == 303, cost.text
        for action in ("ARRANGE_TRAVEL", "RETURN"):
            done = await _post(client, rid, "action", action=action)
            assert done.status_code == 303, done.text
        page = await client.get(f"/console/repatriations/{rid}")
        _escaped(page.text)
        assert "&lt;i&gt;IOM escort&lt;/i&gt;" in page.text
        assert "250.00 THB" in page.text and "Air ticket" in page.text
        assert "Returned home" in page.text
        # Hand-over is the reception organisation's step, not the embassy's.
        assert 'value="CONFIRM_HANDOVER"' not in page.text
        refused = await _post(client, rid, "action", action="CONFIRM_HANDOVER")
        assert refused.status_code == 409 and 'data-code="INVALID_TRANSITION"' in refused.text
    async with signed_in(hub, reception) as client:
        inbox = await client.get("/console/repatriations")
        assert f'data-repatriation="{rid}"' in inbox.text
        done = await _post(
            client, rid, "action", action="CONFIRM_HANDOVER", note=planted("met " + ATTACK)
        )
        assert done.status_code == 303, done.text
        page = await client.get(f"/console/repatriations/{rid}")
        assert "Handed over" in page.text
        assert len(page.content) < 100 * 1024
        _escaped(page.text)
        # Her consent covers identity and location, not the note (HEALTH unless said).
        assert planted("met") not in page.text and "withheld" in page.text
    row = await _request(hub, rid)
    assert row.status == "HANDED_OVER"
    async with hub.db.read() as session:
        steps = (
            await session.scalars(select(AuditEntry).where(AuditEntry.subject_id == rid))
        ).all()
        assert sum(1 for e in steps if e.actor_staff_id is not None) >= 8


async def test_repatriation_refusals(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "console-repat-2")
    worker = await enrol(hub, "embassy-bangkok", StaffRole.CASEWORKER, "cw@bkk.example")
    viewer = await enrol(hub, "embassy-bangkok", StaffRole.VIEWER, "viewer@bkk.example")
    stranger = await enrol(hub, "embassy-kuala-lumpur", StaffRole.OFFICER, "officer@kl.example")
    officer = await enrol(hub, "embassy-bangkok", StaffRole.OFFICER, "stale@bkk.example")
    for account in (worker, viewer):
        async with signed_in(hub, account) as client:
            page = await client.get(f"/console/repatriations/{rid}")
            assert 'value="ACKNOWLEDGE"' not in page.text
            refused = await client.post(
                f"/console/repatriations/{rid}/action",
                data={"csrf": csrf_of(page.text), "action": "ACKNOWLEDGE"},
            )
            assert refused.status_code == 403 and 'data-code="FORBIDDEN"' in refused.text
    async with signed_in(hub, stranger) as client:
        assert (await client.get(f"/console/repatriations/{rid}")).status_code == 404
        inbox = await client.get("/console/repatriations")
        assert rid not in inbox.text
        refused = await client.post(
            f"/console/repatriations/{rid}/action",
            data={"csrf": csrf_of(inbox.text), "action": "ACKNOWLEDGE"},
        )
        assert refused.status_code == 404
    async with signed_in(hub, officer) as client:
        page = await client.get(f"/console/repatriations/{rid}")
        csrf = csrf_of(page.text)
        stale = await client.post(
            f"/console/repatriations/{rid}/action",
            data={"csrf": csrf, "action": "ACKNOWLEDGE", "version": "99"},
        )
        assert stale.status_code == 409 and 'data-code="CONFLICT"' in stale.text
        forged = await client.post(
            f"/console/repatriations/{rid}/action",
            data={"csrf": "forged", "action": "ACKNOWLEDGE"},
        )
        assert forged.status_code == 403 and 'data-code="CSRF"' in forged.text
        no_reason = await _post(client, rid, "action", action="REJECT", note=" ")
        assert no_reason.status_code == 400 and 'data-code="BAD_USER_INPUT"' in no_reason.text
        bad_cost = await _post(
            client, rid, "cost", item="AIR_TICKET", amount="lots", currency="THB"
        )
        assert bad_cost.status_code == 400
        bad_date = await _post(client, rid, "travel-plan", date="soon", route="by bus")
        assert bad_date.status_code == 400
    row = await _request(hub, rid)
    assert row.status == "SUBMITTED" and row.version == 1 and row.travel_plan_sealed is None


async def test_an_overdue_request_is_highlighted(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "console-repat-3")
    async with hub.db.write() as session:
        await session.execute(
            update(RepatriationRequest)
            .where(RepatriationRequest.id == rid)
            .values(acknowledge_by=utcnow() - timedelta(hours=1))
        )
    officer = await enrol(hub, "embassy-bangkok", StaffRole.OFFICER, "late@bkk.example")
    async with signed_in(hub, officer) as client:
        inbox = await client.get("/console/repatriations")
        row = inbox.text.split(f'data-repatriation="{rid}"')[0].rsplit("<tr", 1)[1]
        assert 'class="overdue"' in row
        page = await client.get(f"/console/repatriations/{rid}")
        assert "status overdue" in page.text


async def test_a_repatriation_is_requested_from_a_case(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    bare = await open_case(hub)
    officer = await enrol(hub, "adhoc", StaffRole.OFFICER, "officer@adhoc.example")
    worker = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "cw@adhoc.example")
    embassy = hub.members["embassy-bangkok"].organization_id
    reception = hub.members["mosavy"].organization_id

    def form(page: str, key: str) -> dict[str, str | list[str]]:
        return {
            "csrf": csrf_of(page),
            "key": key,
            "embassy_id": embassy,
            "reception_id": reception,
            "current_country": "th",
            "situation": "IMMIGRATION_DETENTION",
            "documents": ["NONE"],
            "assistance": ["NATIONALITY_VERIFICATION", "ESCORT"],
            "urgency": "URGENT",
            "notes": planted(ATTACK),
        }

    async with signed_in(hub, officer) as client:
        case_page = await client.get(f"/console/cases/{case_id}")
        assert f'href="/console/cases/{case_id}/repatriation"' in case_page.text
        page = await client.get(f"/console/cases/{case_id}/repatriation")
        assert page.status_code == 200 and embassy in page.text
        made = await client.post(
            f"/console/cases/{case_id}/repatriation", data=form(page.text, "console-key-1")
        )
        assert made.status_code == 303, made.text
        location = made.headers["location"]
        rid = location.rsplit("/", 1)[1]
        row = await _request(hub, rid)
        assert row.case_id == case_id and row.current_country == "TH"
        assert row.embassy_organization_id == embassy and row.status == "SUBMITTED"
        shown = await client.get(location)
        _escaped(shown.text)
        outbox = await client.get("/console/repatriations?box=outbox")
        assert f'data-repatriation="{rid}"' in outbox.text
        # Without the survivor's consent for repatriation: refused, nothing written.
        page = await client.get(f"/console/cases/{bare}/repatriation")
        refused = await client.post(
            f"/console/cases/{bare}/repatriation", data=form(page.text, "console-key-2")
        )
        assert refused.status_code == 403 and 'data-code="CONSENT_REQUIRED"' in refused.text
        bad = form(page.text, "console-key-3") | {"documents": [], "situation": "NOPE"}
        refused = await client.post(f"/console/cases/{case_id}/repatriation", data=bad)
        assert refused.status_code == 400
    async with signed_in(hub, worker) as client:
        refused = await client.get(f"/console/cases/{case_id}/repatriation")
        assert refused.status_code == 403 and 'data-code="FORBIDDEN"' in refused.text
    async with hub.db.read() as session:
        mine = (
            await session.scalars(
                select(RepatriationRequest).where(RepatriationRequest.case_id.in_([case_id, bare]))
            )
        ).all()
        assert [r.id for r in mine] == [rid]
