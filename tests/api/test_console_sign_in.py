"""People sign in to the console: invitation, second factor, sessions and their end."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from orgs import service as org_service
from orgs.principal import operator
from orgs.rules import MembershipAction
from orgs.staff_models import StaffMember, StaffSession
from orgs.staff_rules import StaffRole
from tests.api.console_support import PASSWORD, browser, csrf_of, enrol, invite, sign_in, signed_in
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


async def test_an_invited_caseworker_enrols_signs_in_and_sees_the_inbox(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "sokha@adhoc.example")
    assert len(account.recovery) == 8
    async with browser(hub) as client:
        response = await sign_in(client, account)
        assert response.status_code == 303
        assert response.headers["location"] == "/console/referrals"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
        # Plain-HTTP loopback development is the one case without `Secure`.
        assert "Secure" not in cookie
        inbox = await client.get("/console/referrals")
        assert inbox.status_code == 200
        assert "Sokha Chea" in inbox.text and "ADHOC Legal Aid" in inbox.text
        assert inbox.headers["cache-control"] == "no-store"
        csp = inbox.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        # Scripts only from the console's own static files, never inline.
        scripts = re.findall(r"<script[^>]*>", inbox.text)
        assert all(
            re.fullmatch(r'<script src="/console/static/[a-z]+\.js" defer>', s) for s in scripts
        )
        assert "</script>" not in inbox.text.replace("></script>", "")
        assert len(inbox.content) < 100 * 1024


async def test_an_invitation_works_once(hub: RunningHub) -> None:
    path = await invite(hub, "adhoc", StaffRole.VIEWER, "once@adhoc.example")
    async with browser(hub) as client:
        page = await client.get(path)
        secret = page.text.split('id="totp-secret">')[1].split("<")[0]
        form = {
            "csrf": csrf_of(page.text),
            "display_name": "Dara",
            "password": PASSWORD,
            "locale": "km",
            "time_zone": "Asia/Bangkok",
            "code": pyotp.TOTP(secret).now(),
        }
        assert (await client.post(path, data=form)).status_code == 200
        again = await client.post(path, data=form)
        assert again.status_code == 404
        assert (await client.get(path)).status_code == 404


async def test_a_wrong_totp_code_at_enrolment_creates_nothing(hub: RunningHub) -> None:
    path = await invite(hub, "adhoc", StaffRole.VIEWER, "wrong@adhoc.example")
    async with browser(hub) as client:
        page = await client.get(path)
        refused = await client.post(
            path,
            data={
                "csrf": csrf_of(page.text),
                "display_name": "Dara",
                "password": PASSWORD,
                "code": "000000",
            },
        )
        assert refused.status_code == 400
    async with hub.db.read() as session:
        assert (await session.scalars(select(StaffMember))).all() == []


async def test_a_form_without_its_csrf_token_is_refused(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "csrf@adhoc.example")
    async with browser(hub) as client:
        # Sign-in form posted from elsewhere: no double-submit cookie, no token.
        forged = await client.post(
            "/console/sign-in",
            data={"email": account.email, "password": PASSWORD, "code": account.recovery[0]},
        )
        assert forged.status_code == 403
        assert 'data-code="CSRF"' in forged.text
    async with signed_in(hub, account) as client:
        refused = await client.post("/console/sign-out", data={"csrf": "guessed"})
        assert refused.status_code == 403
        # Still signed in: the forged request changed nothing.
        assert (await client.get("/console/referrals")).status_code == 200


async def test_sign_in_issues_a_fresh_session_id_never_the_one_brought(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "fix@adhoc.example")
    async with signed_in(hub, account) as first:
        known = first.cookies["hub_console"]
        async with browser(hub) as victim:
            # An attacker plants a session id they know in the victim's browser.
            victim.cookies.set("hub_console", known, domain="127.0.0.1", path="/console")
            response = await sign_in(victim, account)
            assert response.status_code == 303
            fresh = victim.cookies["hub_console"]
            assert fresh != known
        # The planted id was ended by the sign-in: it gives the attacker nothing.
        assert (await first.get("/console/referrals")).status_code == 303


async def test_failures_lock_sign_in_with_a_growing_delay(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "lock@adhoc.example")
    async with browser(hub) as client:
        for _ in range(5):
            refused = await sign_in(client, account, password="not the password", code="123456")
            assert refused.status_code == 401
        async with hub.db.read() as session:
            row = (await session.scalars(select(StaffMember))).one()
            first_lock = row.locked_until
        assert first_lock is not None
        # The right password and a good code are refused while locked, in the same words;
        # a locked account checks nothing, so guesses cannot continue.
        locked = await sign_in(client, account)
        assert locked.status_code == 401 and locked.text == refused.text
        # When the delay has passed, one more failure locks it for twice as long.
        async with hub.db.write() as session:
            await session.execute(update(StaffMember).values(locked_until=None))
        await sign_in(client, account, password="not the password", code="123456")
        async with hub.db.read() as session:
            row = (await session.scalars(select(StaffMember))).one()
            assert row.failed_attempts == 6
            assert row.locked_until is not None
            assert row.locked_until - first_lock > timedelta(seconds=25)
        # Once the delay has passed, the right credentials work and the count resets.
        async with hub.db.write() as session:
            await session.execute(update(StaffMember).values(locked_until=None))
        assert (await sign_in(client, account)).status_code == 303
        async with hub.db.read() as session:
            assert (await session.scalars(select(StaffMember))).one().failed_attempts == 0


async def test_an_unknown_email_reads_like_a_wrong_password(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "known@adhoc.example")
    async with browser(hub) as client:
        wrong = await sign_in(client, account, password="not the password", code="123456")
        account.email = "nobody@adhoc.example"
        unknown = await sign_in(client, account, code="123456")
    assert wrong.status_code == unknown.status_code == 401
    assert "Sign-in refused" in wrong.text
    assert wrong.text == unknown.text


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
async def test_a_session_ends_after_30_idle_minutes_or_12_hours(
    hub: RunningHub, column: str
) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "idle@adhoc.example")
    async with signed_in(hub, account) as client:
        assert (await client.get("/console/referrals")).status_code == 200
        back = timedelta(minutes=31) if column == "last_seen_at" else timedelta(hours=12)
        async with hub.db.write() as session:
            row = (await session.scalars(select(StaffSession))).one()
            setattr(row, column, getattr(row, column) - back)
        gone = await client.get("/console/referrals")
        assert gone.status_code == 303 and gone.headers["location"] == "/console/sign-in"


async def test_sign_out_everywhere_ends_every_session(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "all@adhoc.example")
    async with signed_in(hub, account) as laptop, signed_in(hub, account) as phone:
        page = await phone.get("/console/referrals")
        out = await phone.post(
            "/console/sign-out", data={"csrf": csrf_of(page.text), "everywhere": "1"}
        )
        assert out.status_code == 303
        assert (await laptop.get("/console/referrals")).status_code == 303
        assert (await phone.get("/console/referrals")).status_code == 303


async def test_a_suspended_organisation_is_signed_out_at_once(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "susp@adhoc.example")
    async with signed_in(hub, account) as client:
        assert (await client.get("/console/referrals")).status_code == 200
        await org_service.change_membership(
            hub.db, operator(), account.organization_id, MembershipAction.SUSPEND, "audit"
        )
        assert (await client.get("/console/referrals")).status_code == 303
        await org_service.change_membership(
            hub.db, operator(), account.organization_id, MembershipAction.REINSTATE, "cleared"
        )
        # Reinstatement does not bring the ended session back.
        assert (await client.get("/console/referrals")).status_code == 303
