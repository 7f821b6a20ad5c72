"""The coordinator acts on a late item from the overview page: reminds the late
organisation, adds a note to the item's conversation, suspends the organisation; the
same services as remindOrganization, addDeskNote and suspendOrganization, the same
refusals."""

from __future__ import annotations

import re

import httpx

from orgs.staff_rules import StaffRole
from tests.api.console_support import Account, csrf_of, enrol, signed_in
from tests.api.repatriation_support import a_request, do, fetch, last_event, orgs
from tests.api.test_network_overview import KIND, NOTES, NOTICES, escalated_request
from tests.marker_watch import planted
from tests.network import RunningHub

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


async def _coordinator(hub: RunningHub) -> Account:
    return await enrol(hub, "secretariat", StaffRole.COORDINATOR, "desk@sec.example")


async def _lever(
    client: httpx.AsyncClient,
    rid: str,
    lever: str,
    data: dict[str, str] | None = None,
    csrf: str | None = None,
    kind: str = KIND,
) -> httpx.Response:
    if csrf is None:
        csrf = csrf_of((await client.get("/console/referrals")).text)
    return await client.post(
        f"/console/overview/{kind}/{rid}/{lever}", data={"csrf": csrf, **(data or {})}
    )


async def _status(hub: RunningHub, organization_id: str) -> str:
    (row,) = await fetch(hub, "SELECT status FROM organizations WHERE id = :i", i=organization_id)
    return str(row[0])


async def test_the_coordinator_reminds_the_late_embassy_from_the_overview(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    _, rid = await escalated_request(hub, "console-lever-remind")
    async with signed_in(hub, await _coordinator(hub)) as client:
        page = await client.get("/console/overview")
        row = page.text.split(f'<tr data-item="{rid}"')[1].split("</tr>")[0]
        assert f'action="/console/overview/{KIND}/{rid}/remind"' in row
        # The status is a word, not the code.
        assert "<td>Submitted</td>" in row and "<td>SUBMITTED</td>" not in row
        done = await _lever(client, rid, "remind")
        assert done.status_code == 303
        assert done.headers["location"] == "/console/overview?done=remind"
        shown = await client.get(done.headers["location"])
        assert 'id="lever-done">The organisation was reminded.' in shown.text
        khmer = await client.get("/console/overview?lang=km")
        khmer_row = khmer.text.split(f'<tr data-item="{rid}"')[1].split("</tr>")[0]
        assert "SUBMITTED" not in khmer_row.replace(f"{KIND}/{rid}", "")
        assert "រំលឹកអង្គការ" in khmer_row
    (notice,) = await do(hub, "embassy-bangkok", NOTICES, {}, "deskNotices")
    assert (notice["itemId"], notice["byOrganizationId"]) == (rid, org["secretariat"])
    kind, audience, _ = await last_event(hub, rid)
    assert (kind, audience) == ("DESK_REMINDER", [org["embassy-bangkok"]])


async def test_a_note_from_the_overview_joins_the_conversation_and_is_never_shown_there(
    hub: RunningHub,
) -> None:
    _, rid = await escalated_request(hub, "console-lever-note")
    text = planted("Her aunt in Poipet will wait at the crossing " + XSS)
    async with signed_in(hub, await _coordinator(hub)) as client:
        done = await _lever(client, rid, "note", {"text": text})
        assert done.status_code == 303
        page = await client.get("/console/overview?done=note")
        assert "Poipet" not in page.text and "<script>alert" not in page.text
        empty = await _lever(client, rid, "note", {"text": "   "})
        assert empty.status_code == 400
    notes = await do(hub, "adhoc", NOTES, {"kind": KIND, "id": rid}, "deskNotes")
    assert [n["text"] for n in notes] == [text]
    kind, _, payload = await last_event(hub, rid)
    assert kind == "DESK_NOTE_ADDED" and "text" not in payload


async def test_the_coordinator_suspends_the_late_organisation_with_a_reason(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    _, rid = await escalated_request(hub, "console-lever-suspend")
    async with signed_in(hub, await _coordinator(hub)) as client:
        no_reason = await _lever(client, rid, "suspend", {"reason": "  "})
        assert no_reason.status_code == 400
        assert await _status(hub, org["embassy-bangkok"]) == "ACTIVE"
        # The organisation comes from the item, never from the form.
        done = await _lever(
            client, rid, "suspend", {"reason": XSS, "organization_id": org["adhoc"]}
        )
        assert done.status_code == 303
    assert await _status(hub, org["embassy-bangkok"]) == "SUSPENDED"
    assert await _status(hub, org["adhoc"]) == "ACTIVE"
    changes = await fetch(
        hub,
        "SELECT reason FROM membership_changes WHERE organization_id = :i ORDER BY id DESC",
        i=org["embassy-bangkok"],
    )
    assert changes[0][0] == XSS.strip()


async def test_levers_are_refused_as_the_api_refuses_them(hub: RunningHub) -> None:
    org = orgs(hub)
    _, rid = await escalated_request(hub, "console-lever-refused")
    _, on_time = await a_request(hub, "console-lever-on-time")
    coordinator = await _coordinator(hub)
    async with signed_in(hub, coordinator) as client:
        forged = await _lever(client, rid, "remind", csrf="forged")
        assert forged.status_code == 403
        assert (await _lever(client, rid, "escalate")).status_code == 400
        assert (await _lever(client, rid, "remind", kind="CASE")).status_code == 400
        # Not late: not on the desk, as deskItem answers.
        assert (await _lever(client, on_time, "remind")).status_code == 404
        assert (await _lever(client, on_time, "note", {"text": "early"})).status_code == 404
        assert (await _lever(client, "no-such-item", "suspend", {"reason": "x"})).status_code == 404
    # A party's caseworker may add a note (as on the API) but neither remind nor suspend.
    party = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "party@adhoc.example")
    async with signed_in(hub, party) as client:
        assert (await _lever(client, rid, "remind")).status_code == 403
        assert (await _lever(client, rid, "suspend", {"reason": "x"})).status_code == 403
        assert (await client.get("/console/overview")).status_code == 403
    outsider = await enrol(hub, "ngo-malaysia", StaffRole.CASEWORKER, "out@ngo.example")
    async with signed_in(hub, outsider) as client:
        assert (await _lever(client, rid, "note", {"text": "hello"})).status_code == 404
    viewer = await enrol(hub, "adhoc", StaffRole.VIEWER, "v@adhoc.example")
    async with signed_in(hub, viewer) as client:
        assert (await _lever(client, rid, "note", {"text": "hello"})).status_code == 403
    assert await do(hub, "embassy-bangkok", NOTICES, {}, "deskNotices") == []
    assert await do(hub, "secretariat", NOTES, {"kind": KIND, "id": rid}, "deskNotes") == []
    assert await _status(hub, org["embassy-bangkok"]) == "ACTIVE"
    assert not re.search(r"DESK_(REMINDER|NOTE_ADDED)", str(await last_event(hub, rid)))
