"""A console page's live stream: the `events` subscription's visibility, over SSE, ending
with the session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orgs import staff, staff_status
from orgs.rules import OrganizationKind
from orgs.staff_rules import StaffRole
from tests.api.console_support import browser, csrf_of, enrol, signed_in
from tests.api.event_support import SUSPEND, head, ok, outbox, refer, registered
from tests.api.live_support import EVENTS_PATH, live
from tests.api.repatriation_support import open_case
from tests.marker_watch import planted
from tests.network import RunningHub, Template, serve_hub

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def hub(template: Template) -> AsyncIterator[RunningHub]:
    """Heartbeats (and the session re-checks made with them) every half second."""
    async with serve_hub(template, console_live_heartbeat=0.5) as running:
        yield running


@pytest.fixture
async def quiet_hub(template: Template) -> AsyncIterator[RunningHub]:
    """No heartbeat within a test's time: a stream that ends was cut off at once."""
    async with serve_hub(template, console_live_heartbeat=120.0) as running:
        yield running


async def test_an_event_for_her_organisation_arrives_and_one_for_another_does_not(
    hub: RunningHub,
) -> None:
    adhoc = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "live@adhoc.example")
    other = await enrol(hub, "ngo-malaysia", StaffRole.CASEWORKER, "live@ngo.example")
    async with (
        signed_in(hub, adhoc) as adhoc_client,
        signed_in(hub, other) as other_client,
        live(adhoc_client) as adhoc_stream,
        live(other_client) as other_stream,
    ):
        await registered(hub, 2)
        case_id, referral = await refer(
            hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "live-console-1"
        )
        got = await adhoc_stream.event()
        while got["subjectId"] != referral:
            got = await adhoc_stream.event()
        assert got["topic"] == "REFERRAL" and got["type"] == "REFERRAL_SENT"
        assert set(got) == {"id", "topic", "type", "subjectId"}  # ids and kinds only
        row = next(e for e in await outbox(hub) if e.id == int(got["id"]))
        assert adhoc.organization_id in row.audience
        # The pump offered that row to both streams in one pass: two heartbeats later
        # the other organisation's stream has still carried no event.
        beats = 0
        while beats < 2:
            message = await other_stream.message()
            assert message is not None
            assert message.data is None, message
            beats += message.comment == "heartbeat"
        assert not any(line.startswith(("data:", "id:")) for line in other_stream.raw)
        text = "\n".join(adhoc_stream.raw + other_stream.raw)
        assert planted("wants to file a complaint against the broker") not in text
        assert case_id


async def test_a_reconnecting_page_replays_what_it_missed_from_last_event_id(
    hub: RunningHub,
) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "resume@adhoc.example")
    before = await head(hub)
    _, first = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "live-resume-1"
    )
    await open_case(hub, owner="ccpcr-svay-rieng")  # events adhoc may not see
    expected = [e.id for e in await outbox(hub, before) if account.organization_id in e.audience]
    assert expected
    async with signed_in(hub, account) as client, live(client, str(before)) as stream:
        replayed = [int((await stream.event())["id"]) for _ in expected]
        assert replayed == expected
        assert first in {e.subject_id for e in await outbox(hub, before)}
        assert len(expected) < len(await outbox(hub, before))
    # A cursor that is not an event id is refused; one ahead of the stream starts from now.
    async with signed_in(hub, account) as client:
        bad = await client.get(EVENTS_PATH, headers={"Last-Event-ID": "12; DROP"})
        assert bad.status_code == 400
        async with live(client, str(await head(hub) + 1000)) as stream:
            await registered(hub, 1)
            message = await stream.message()
            assert message is not None and message.data is None


async def test_no_stream_without_a_session_or_without_the_subscribe_scope(
    hub: RunningHub,
) -> None:
    async with browser(hub) as anonymous:
        refused = await anonymous.get(EVENTS_PATH)
        assert refused.status_code == 401
        assert refused.headers["cache-control"] == "no-store"
        anonymous.cookies.set("hub_console", "not-a-session", path="/console")
        forged = await anonymous.get(EVENTS_PATH)
        assert forged.status_code == 401
    admin = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "admin@adhoc.example")
    async with signed_in(hub, admin) as client:
        assert (await client.get(EVENTS_PATH)).status_code == 403


async def test_signing_out_ends_the_stream_at_once(quiet_hub: RunningHub) -> None:
    hub = quiet_hub
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "out@adhoc.example")
    async with signed_in(hub, account) as client, live(client) as stream:
        await registered(hub, 1)
        kept = client.cookies["hub_console"]
        page = await client.get("/console/referrals")
        signed_out = await client.post("/console/sign-out", data={"csrf": csrf_of(page.text)})
        assert signed_out.status_code == 303
        assert await stream.until_ended(seconds=5) == []
        await registered(hub, 0)
    # The same cookie, kept by a browser that ignored the sign-out, opens nothing.
    async with browser(hub) as stale:
        stale.cookies.set("hub_console", kept, path="/console")
        assert (await stale.get(EVENTS_PATH)).status_code == 401


async def test_signing_out_everywhere_ends_her_other_streams(quiet_hub: RunningHub) -> None:
    hub = quiet_hub
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "every@adhoc.example")
    async with (
        signed_in(hub, account) as laptop,
        signed_in(hub, account) as phone,
        live(phone) as stream,
    ):
        await registered(hub, 1)
        page = await laptop.get("/console/referrals")
        done = await laptop.post(
            "/console/sign-out", data={"csrf": csrf_of(page.text), "everywhere": "1"}
        )
        assert done.status_code == 303
        assert await stream.until_ended(seconds=5) == []


async def test_suspending_her_organisation_ends_the_stream_at_once(
    quiet_hub: RunningHub,
) -> None:
    hub = quiet_hub
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "susp@adhoc.example")
    async with signed_in(hub, account) as client, live(client) as stream:
        await registered(hub, 1)
        await ok(hub, "secretariat", SUSPEND, {"id": account.organization_id})
        assert await stream.until_ended(seconds=5) == []


async def test_a_disabled_account_loses_its_stream_at_the_next_heartbeat(
    hub: RunningHub,
) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "gone@adhoc.example")
    admin = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "boss@adhoc.example")
    async with hub.db.read() as session:
        from sqlalchemy import select

        from orgs.staff_models import StaffMember

        staff_id = (
            await session.scalars(select(StaffMember.id).where(StaffMember.email == account.email))
        ).one()
        admin_id = (
            await session.scalars(select(StaffMember.id).where(StaffMember.email == admin.email))
        ).one()
    by = staff.Person(
        staff_id=admin_id,
        organization_id=admin.organization_id,
        organization_name="ADHOC Legal Aid",
        organization_kind=OrganizationKind.LEGAL_AID,
        role=StaffRole.ORG_ADMIN,
        display_name="Admin",
        email=admin.email,
        locale="en",
        time_zone="Asia/Phnom_Penh",
        csrf_token="unused",
    )
    async with signed_in(hub, account) as client, live(client) as stream:
        await registered(hub, 1)
        # The service alone (as another process would): no cut-off, the heartbeat's check.
        await staff_status.set_disabled(hub.db, by, staff_id, True, "left")
        # Heartbeats come every half second; the first one after the disable ends it.
        await stream.until_ended(seconds=3)
        assert stream.ended


async def test_a_stream_ends_when_the_hub_shuts_down(template: Template) -> None:
    """uvicorn waits for open responses before stopping: the hub ends its streams first."""
    async with serve_hub(template, console_live_heartbeat=120.0) as hub:
        account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "bye@adhoc.example")
        async with signed_in(hub, account) as client, live(client) as stream:
            await registered(hub, 1)
            assert hub.server is not None
            hub.server.should_exit = True
            assert await stream.until_ended(seconds=10) == []


async def test_a_page_refreshing_itself_does_not_keep_an_idle_session_alive(
    hub: RunningHub,
) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "idle@adhoc.example")
    seen = "SELECT last_seen_at FROM staff_sessions WHERE ended_at IS NULL"
    async with signed_in(hub, account) as client:
        await client.get("/console/referrals")
        before = await hub.scalar(seen)
        refreshed = await client.get("/console/referrals", headers={"X-Hub-Live-Refresh": "1"})
        assert refreshed.status_code == 200
        async with live(client):
            await registered(hub, 1)
        assert await hub.scalar(seen) == before  # neither the refresh nor the stream
        await client.get("/console/referrals")
        assert await hub.scalar(seen) != before  # her own visit does
