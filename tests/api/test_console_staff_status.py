"""An organisation's admin disables a colleague's account (and enables it again): every
session and the open live stream end at once; the reason is kept and shown as history."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from orgs.staff_rules import StaffRole
from tests.api.console_support import Account, browser, csrf_of, enrol, sign_in, signed_in
from tests.api.event_support import registered
from tests.api.live_support import live
from tests.network import RunningHub, Template, serve_hub

pytestmark = pytest.mark.asyncio

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture
async def quiet_hub(template: Template) -> AsyncIterator[RunningHub]:
    """No heartbeat within a test's time: a stream that ends was cut off at once."""
    async with serve_hub(template, console_live_heartbeat=120.0) as running:
        yield running


async def _staff_id(hub: RunningHub, account: Account) -> str:
    found = await hub.scalar(f"SELECT id FROM staff WHERE email = '{account.email}'")
    assert isinstance(found, str)
    return found


async def _change(
    client: httpx.AsyncClient, staff_id: str, action: str, reason: str, csrf: str | None = None
) -> httpx.Response:
    page = await client.get("/console/staff")
    token = csrf if csrf is not None else csrf_of(page.text)
    return await client.post(
        f"/console/staff/{staff_id}/status",
        data={"csrf": token, "action": action, "reason": reason},
    )


async def _disabled(hub: RunningHub, staff_id: str) -> bool:
    return bool(await hub.scalar(f"SELECT disabled FROM staff WHERE id = '{staff_id}'"))


async def _history(hub: RunningHub, staff_id: str) -> int:
    query = f"SELECT COUNT(*) FROM staff_status_changes WHERE staff_id = '{staff_id}'"
    return int(await hub.scalar(query))


async def test_disabling_ends_her_sessions_and_her_live_stream_at_once(
    quiet_hub: RunningHub,
) -> None:
    hub = quiet_hub
    admin = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "boss@adhoc.example", "Dara Admin")
    worker = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "cw@adhoc.example", "Srey Worker")
    worker_id = await _staff_id(hub, worker)
    async with (
        signed_in(hub, worker) as worker_client,
        signed_in(hub, worker) as worker_phone,
        live(worker_client) as stream,
        signed_in(hub, admin) as admin_client,
    ):
        await registered(hub, 1)
        assert (await worker_phone.get("/console/referrals")).status_code == 200
        started = time.monotonic()
        done = await _change(admin_client, worker_id, "disable", "left the organisation " + XSS)
        assert done.status_code == 303 and done.headers["location"] == "/console/staff"
        # Cut off by the page, not by a heartbeat (none comes for 120 seconds).
        assert await stream.until_ended(seconds=1) == []
        assert time.monotonic() - started < 1.5
        for client in (worker_client, worker_phone):
            gone = await client.get("/console/referrals")
            assert gone.status_code == 303 and gone.headers["location"] == "/console/sign-in"
        page = await admin_client.get("/console/staff")
    assert await _disabled(hub, worker_id)
    section = page.text.split(f'id="staff-{worker_id}"')[1].split("</section>")[0]
    assert "Disabled" in section and "Enable the account" in section
    assert "Dara Admin" in section  # who did it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img" in section
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    async with browser(hub) as client:  # a disabled account cannot sign in again
        refused = await sign_in(client, worker)
        assert refused.status_code == 401


async def test_an_admin_enables_the_account_again_and_she_signs_in(hub: RunningHub) -> None:
    admin = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "boss2@adhoc.example")
    worker = await enrol(hub, "adhoc", StaffRole.OFFICER, "off@adhoc.example")
    worker_id = await _staff_id(hub, worker)
    async with signed_in(hub, admin) as client:
        assert (await _change(client, worker_id, "disable", "on leave")).status_code == 303
        again = await _change(client, worker_id, "disable", "twice")
        assert again.status_code == 409  # already disabled: nothing recorded
        assert (await _change(client, worker_id, "enable", "back from leave")).status_code == 303
        page = await client.get("/console/staff")
    section = page.text.split(f'id="staff-{worker_id}"')[1].split("</section>")[0]
    reasons = re.findall(r'<td class="reason">([^<]*)</td>', section)
    assert reasons == ["on leave", "back from leave"]
    assert "Disable the account" in section
    assert not await _disabled(hub, worker_id)
    async with browser(hub) as client:
        assert (await sign_in(client, worker)).status_code == 303


async def test_the_page_and_history_read_in_khmer(hub: RunningHub) -> None:
    admin = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "km@adhoc.example", locale="km")
    worker = await enrol(hub, "adhoc", StaffRole.VIEWER, "v@adhoc.example")
    worker_id = await _staff_id(hub, worker)
    async with signed_in(hub, admin) as client:
        assert (await _change(client, worker_id, "disable", "left")).status_code == 303
        page = await client.get("/console/staff")
    assert "បុគ្គលិករបស់អង្គការ" in page.text and "បើកគណនីវិញ" in page.text
    assert "Enable the account" not in page.text


async def test_refusals_change_nothing(hub: RunningHub) -> None:
    admin = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "boss3@adhoc.example")
    second = await enrol(hub, "adhoc", StaffRole.ORG_ADMIN, "boss4@adhoc.example")
    worker = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "cw3@adhoc.example")
    foreign = await enrol(hub, "ngo-malaysia", StaffRole.ORG_ADMIN, "boss@ngo.example")
    admin_id = await _staff_id(hub, admin)
    second_id = await _staff_id(hub, second)
    worker_id = await _staff_id(hub, worker)
    async with signed_in(hub, admin) as client:
        own = await _change(client, admin_id, "disable", "leaving")
        assert own.status_code == 403  # never herself: the organisation keeps an admin
        page = await client.get("/console/staff")
        assert f'action="/console/staff/{admin_id}/status"' not in page.text
        assert f'action="/console/staff/{worker_id}/status"' in page.text
        forged = await _change(client, worker_id, "disable", "forged", csrf="not-the-token")
        assert forged.status_code == 403 and "CSRF" in forged.text
        assert (await _change(client, worker_id, "disable", "   ")).status_code == 400
        assert (await _change(client, worker_id, "disable", "x" * 501)).status_code == 400
        assert (await _change(client, worker_id, "delete", "why")).status_code == 400
        missing = await _change(client, "no-such-person", "disable", "why")
        assert missing.status_code == 404
    async with signed_in(hub, foreign) as client:
        other = await _change(client, worker_id, "disable", "not mine")
        assert other.status_code == 404  # another organisation's person: not found
        page = await client.get("/console/staff")
        assert "cw3@adhoc.example" not in page.text
    async with signed_in(hub, worker) as client:
        page = await client.get("/console/staff")
        assert page.status_code == 403
        token = csrf_of((await client.get("/console/referrals")).text)
        not_admin = await _change(client, second_id, "disable", "coup", csrf=token)
        assert not_admin.status_code == 403
    for staff_id in (admin_id, second_id, worker_id):
        assert not await _disabled(hub, staff_id)
        assert await _history(hub, staff_id) == 0
    async with browser(hub) as client:  # signed out: to the sign-in page, nothing changed
        anonymous = await client.post(
            f"/console/staff/{worker_id}/status", data={"action": "disable", "reason": "x"}
        )
        assert anonymous.status_code == 303
    # One admin disables the other: allowed, she is still there to undo it.
    async with signed_in(hub, admin) as client:
        assert (await _change(client, second_id, "disable", "left")).status_code == 303
    assert await _disabled(hub, second_id)
