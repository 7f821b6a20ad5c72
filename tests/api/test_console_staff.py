"""Admins invite their colleagues; the coordinator invites a member's first admin."""

from __future__ import annotations

import re

import httpx
import pyotp

from orgs.staff_rules import StaffRole
from tests.api.console_support import PASSWORD, browser, csrf_of, enrol, signed_in
from tests.network import RunningHub


async def _invite(
    client: httpx.AsyncClient, email: str, role: str, organization_id: str | None = None
) -> httpx.Response:
    page = await client.get("/console/staff")
    assert page.status_code == 200
    form = {"csrf": csrf_of(page.text), "email": email, "role": role}
    if organization_id:
        form["organization_id"] = organization_id
    done = await client.post("/console/staff", data=form)
    return done


async def test_an_admin_invites_a_caseworker_who_then_enrols(hub: RunningHub) -> None:
    admin = await enrol(hub, "ccpcr-shelter", StaffRole.ORG_ADMIN, "admin@shelter.example")
    async with signed_in(hub, admin) as client:
        done = await _invite(client, "new@shelter.example", "CASEWORKER")
        assert done.status_code == 200
        found = re.search(r'id="invite-link">[^<]*(/console/invite/[^<]+)<', done.text)
        assert found
    async with browser(hub) as newcomer:
        page = await newcomer.get(found.group(1))
        assert "new@shelter.example" in page.text and "Caseworker" in page.text
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
        assert secret
        made = await newcomer.post(
            found.group(1),
            data={
                "csrf": csrf_of(page.text),
                "display_name": "Vanna",
                "password": PASSWORD,
                "code": pyotp.TOTP(secret.group(1)).now(),
            },
        )
        assert made.status_code == 200


async def test_a_caseworker_may_not_invite_anyone(hub: RunningHub) -> None:
    worker = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "w@adhoc.example")
    async with signed_in(hub, worker) as client:
        assert (await client.get("/console/staff")).status_code == 403


async def test_the_coordinator_invites_only_a_members_admin(hub: RunningHub) -> None:
    coordinator = await enrol(hub, "secretariat", StaffRole.COORDINATOR, "c@sec.example")
    adhoc = hub.members["adhoc"].organization_id
    async with signed_in(hub, coordinator) as client:
        ok = await _invite(client, "first@adhoc.example", "ORG_ADMIN", adhoc)
        assert ok.status_code == 200 and "/console/invite/" in ok.text
        refused = await _invite(client, "cw@adhoc.example", "CASEWORKER", adhoc)
        assert refused.status_code == 403
        missing = await _invite(client, "x@nowhere.example", "ORG_ADMIN", "no-such-org")
        assert missing.status_code == 404
