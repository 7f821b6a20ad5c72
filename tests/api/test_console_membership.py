"""The coordinator runs membership and reads the published statistics in the console;
a suspended member's staff are signed out at once; nobody else may do any of it."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import httpx

from cases.demo_desk import seed_desk_history
from cases.demo_journey import seed_demo_journey
from gateway.app import data_cipher
from orgs.staff_rules import StaffRole
from tests.api.console_support import Account, csrf_of, enrol, signed_in
from tests.api.repatriation_support import do
from tests.api.test_network_overview import OVERVIEW
from tests.network import RunningHub

XSS_NAME = "<script>alert(1)</script> Shelter"
_SVG = "{http://www.w3.org/2000/svg}"


def _svg(text: str) -> ElementTree.Element:
    return ElementTree.fromstring(text)


def _texts(svg: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(_SVG + "text")]


def _numbers(svg: ElementTree.Element) -> list[str]:
    return [t for t in _texts(svg) if t.isdigit()]


XSS_REASON = '"><img src=x onerror=alert(1)> checked the papers'


async def _coordinator(hub: RunningHub) -> Account:
    return await enrol(hub, "secretariat", StaffRole.COORDINATOR, "coordinator@sec.example")


async def _act(
    client: httpx.AsyncClient, org: str, action: str, reason: str, version: str | None = None
) -> httpx.Response:
    page = await client.get(f"/console/members/{org}")
    form = {"csrf": csrf_of(page.text), "action": action, "reason": reason}
    found = re.search(r'name="version" value="(\d+)"', page.text)
    if version is not None:
        form["version"] = version
    elif found:
        form["version"] = found.group(1)
    return await client.post(f"/console/members/{org}/action", data=form)


async def _status(hub: RunningHub, org: str) -> str:
    return str(await hub.scalar("SELECT status FROM organizations WHERE id = :o", o=org))


async def test_the_coordinator_registers_activates_and_invites_a_members_first_admin(
    hub: RunningHub,
) -> None:
    coordinator = await _coordinator(hub)
    async with signed_in(hub, coordinator) as client:
        listing = await client.get("/console/members")
        assert listing.status_code == 200
        adhoc = hub.members["adhoc"].organization_id
        assert f'data-organization="{adhoc}"' in listing.text
        made = await client.post(
            "/console/members",
            data={
                "csrf": csrf_of(listing.text),
                "name": XSS_NAME,
                "kind": "SERVICE_PROVIDER",
                "country": "KH",
            },
        )
        assert made.status_code == 303
        org = made.headers["location"].rsplit("/", 1)[1]
        assert await _status(hub, org) == "PENDING"
        page = await client.get(made.headers["location"])
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Shelter" in page.text
        assert "<script>alert(1)" not in page.text
        # No invitation before the member is active.
        assert 'action="/console/staff"' not in page.text

        missing = await _act(client, org, "ACTIVATE", "   ")
        assert missing.status_code == 400 and await _status(hub, org) == "PENDING"
        done = await _act(client, org, "ACTIVATE", XSS_REASON)
        assert done.status_code == 303 and await _status(hub, org) == "ACTIVE"
        history = await client.get(f"/console/members/{org}")
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt; checked the papers" in history.text
        assert "<img src=x" not in history.text
        assert "registered" in history.text

        invited = await client.post(
            "/console/staff",
            data={
                "csrf": csrf_of(history.text),
                "organization_id": org,
                "role": "ORG_ADMIN",
                "email": "first@new.example",
            },
        )
        assert invited.status_code == 200 and "/console/invite/" in invited.text


async def test_suspending_a_member_signs_its_staff_out_at_once(hub: RunningHub) -> None:
    adhoc = hub.members["adhoc"].organization_id
    worker = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "worker@adhoc.example")
    coordinator = await _coordinator(hub)
    async with signed_in(hub, worker) as staff_client:
        assert (await staff_client.get("/console/referrals")).status_code == 200
        async with signed_in(hub, coordinator) as client:
            suspended = await _act(client, adhoc, "SUSPEND", "did not answer referrals")
            assert suspended.status_code == 303
        gone = await staff_client.get("/console/referrals")
        assert gone.status_code == 303 and gone.headers["location"] == "/console/sign-in"
        # The audit entry names the coordinator in person, not only the secretariat.
        named = await hub.scalar(
            "SELECT count(*) FROM audit WHERE action = 'organization.suspend'"
            " AND subject_id = :o AND actor_staff_id IS NOT NULL",
            o=adhoc,
        )
        assert named == 1
        # Reinstating does not bring the ended session back.
        async with signed_in(hub, coordinator) as client:
            assert (await _act(client, adhoc, "REINSTATE", "answered")).status_code == 303
        assert (await staff_client.get("/console/referrals")).status_code == 303


async def test_a_stale_version_an_impossible_step_and_self_suspension_are_refused(
    hub: RunningHub,
) -> None:
    adhoc = hub.members["adhoc"].organization_id
    own = hub.members["secretariat"].organization_id
    coordinator = await _coordinator(hub)
    async with signed_in(hub, coordinator) as client:
        stale = await _act(client, adhoc, "SUSPEND", "late", version="0")
        assert stale.status_code == 409 and 'data-code="CONFLICT"' in stale.text
        wrong = await _act(client, adhoc, "ACTIVATE", "already active")
        assert wrong.status_code == 409 and 'data-code="INVALID_TRANSITION"' in wrong.text
        unknown = await _act(client, adhoc, "DELETE", "no such action")
        assert unknown.status_code == 400
        itself = await _act(client, own, "SUSPEND", "oops")
        assert itself.status_code == 403
        nowhere = await client.get("/console/members/no-such-org")
        assert nowhere.status_code == 404
    assert await _status(hub, adhoc) == "ACTIVE" and await _status(hub, own) == "ACTIVE"


async def test_only_the_coordinator_reaches_membership_and_statistics(hub: RunningHub) -> None:
    adhoc = hub.members["adhoc"].organization_id
    for member, role in (
        ("adhoc", StaffRole.ORG_ADMIN),
        ("adhoc", StaffRole.CASEWORKER),
        ("adhoc", StaffRole.VIEWER),
    ):
        person = await enrol(hub, member, role, f"{role.value.lower()}@{member}.example")
        async with signed_in(hub, person) as client:
            for path in ("/console/members", f"/console/members/{adhoc}", "/console/statistics"):
                page = await client.get(path)
                assert page.status_code == 403, (role, path)
            home = await client.get("/console/referrals")
            assert 'href="/console/members"' not in home.text
            csrf = csrf_of(home.text)
            action = await client.post(
                f"/console/members/{adhoc}/action",
                data={"csrf": csrf, "action": "SUSPEND", "reason": "mine now"},
            )
            assert action.status_code == 403
            token = await client.post(
                f"/console/members/{adhoc}/registration-token", data={"csrf": csrf}
            )
            assert token.status_code == 403 and "rhr_" not in token.text
            made = await client.post(
                "/console/members",
                data={"csrf": csrf, "name": "Rogue", "kind": "SERVICE_PROVIDER", "country": "KH"},
            )
            assert made.status_code == 403
    assert await _status(hub, adhoc) == "ACTIVE"
    assert await hub.scalar("SELECT count(*) FROM organizations WHERE name = 'Rogue'") == 0
    assert await hub.scalar("SELECT count(*) FROM registration_tokens") == 0


async def test_membership_forms_refuse_a_forged_csrf_token(hub: RunningHub) -> None:
    adhoc = hub.members["adhoc"].organization_id
    coordinator = await _coordinator(hub)
    async with signed_in(hub, coordinator) as client:
        refused = await client.post(
            f"/console/members/{adhoc}/action",
            data={"csrf": "forged", "action": "SUSPEND", "reason": "x"},
        )
        assert refused.status_code == 403 and 'data-code="CSRF"' in refused.text
    assert await _status(hub, adhoc) == "ACTIVE"


async def test_the_statistics_page_draws_the_same_suppressed_chart_as_the_endpoint(
    hub: RunningHub,
) -> None:
    coordinator = await _coordinator(hub)
    token = await hub.token("secretariat", "statistics:read")
    query = "measure=REFERRALS&rows=OUTCOME&columns=SEX"
    served = await hub.http.get(
        f"/statistics.svg?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    assert served.status_code == 200
    async with signed_in(hub, coordinator) as client:
        page = await client.get(f"/console/statistics?{query}")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert len(page.content) < 100 * 1024
        inline = re.search(r'<figure id="chart">(.*)</figure>', page.text, re.S)
        assert inline
        # The same bars and numbers as the endpoint's chart; only the words are translated.
        drawn, endpoint = _svg(inline.group(1)), _svg(served.text)
        assert [r.attrib for r in drawn.iter(_SVG + "rect")] == [
            r.attrib for r in endpoint.iter(_SVG + "rect")
        ]
        assert _numbers(drawn) == _numbers(endpoint)
        assert "Referrals by Outcome and Sex" in _texts(drawn)
        assert "REFERRALS by OUTCOME and SEX" in _texts(endpoint)
        assert {"Outcome", "Referrals"} <= set(_texts(drawn))  # the axes' captions
        khmer = await client.get(f"/console/statistics?{query}&lang=km")
        chart = re.search(r'<figure id="chart">(.*)</figure>', khmer.text, re.S)
        assert chart
        words = _texts(_svg(chart.group(1)))
        assert any("តាម" in w and "និង" in w for w in words)  # the title, in Khmer
        assert not {"REFERRALS", "OUTCOME", "SEX", "FEMALE", "suppressed"} & set(words)
        assert _numbers(_svg(chart.group(1))) == _numbers(endpoint)
        # Drawn inline: no script in the chart, and none in the page but the console's own file.
        assert "<svg" in inline.group(1) and "<script" not in inline.group(1)
        assert page.text.count("<script") == page.text.count('<script src="/console/static/')
        default = await client.get("/console/statistics?lang=en")
        assert default.status_code == 200 and "Cases by Month" in default.text
        bad = await client.get("/console/statistics?measure=SURVIVORS")
        assert bad.status_code == 400


async def test_the_overview_page_shows_the_desk_the_api_shows_and_no_survivor_data(
    hub: RunningHub,
) -> None:
    cipher = data_cipher(hub.settings)
    await seed_demo_journey(hub.db, cipher, hub.members)
    history = await seed_desk_history(hub.db, cipher, hub.members)
    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    coordinator = await _coordinator(hub)
    async with signed_in(hub, coordinator) as client:
        page = await client.get("/console/overview")
        assert page.status_code == 200 and len(page.content) < 100 * 1024
        shown = re.findall(r'<tr data-item="([^"]+)"', page.text)
        assert shown == [i["id"] for i in overview["lateItems"]]
        assert history.still_late_request_id in shown
        assert history.acknowledged_late_request_id not in shown
        assert history.idle_client_id in page.text and "Never used" in page.text
        assert "fictional" not in page.text
        khmer = await client.get("/console/overview?lang=km")
        assert "ទិដ្ឋភាពទូទៅនៃបណ្តាញ" in khmer.text
    worker = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "admin@adhoc.example")
    async with signed_in(hub, worker) as client:
        refused = await client.get("/console/overview")
        assert refused.status_code == 403 and history.still_late_request_id not in refused.text
