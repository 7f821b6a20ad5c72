"""Driving the staff console over real HTTP, as a browser without JavaScript would."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
import pyotp

from orgs import staff
from orgs.staff_rules import StaffRole
from tests.network import RunningHub

PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'name="csrf" value="([^"]+)"')
_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


@dataclass
class Account:
    email: str
    password: str
    secret: str
    recovery: list[str]
    organization_id: str

    def code(self, offset: int = 0) -> str:
        totp = pyotp.TOTP(self.secret)
        return totp.generate_otp(totp.timecode(datetime.now()) + offset)


def csrf_of(page: str) -> str:
    found = _HIDDEN.search(page)
    assert found, "the page has no CSRF field"
    return html.unescape(found.group(1))


@asynccontextmanager
async def browser(hub: RunningHub) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that does not follow redirects (tests look at them)."""
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=30) as client:
        yield client


async def invite(hub: RunningHub, member: str, role: StaffRole, email: str) -> str:
    """An invitation issued by the operator (as the CLI does); returns its page path."""
    org = hub.members[member].organization_id
    issued = await staff.issue_invite(hub.db, staff.Inviter(), org, role, email)
    return f"/console/invite/{issued.token}"


async def enrol(
    hub: RunningHub,
    member: str,
    role: StaffRole,
    email: str,
    display_name: str = "Sokha Chea",
    locale: str = "en",
) -> Account:
    """Invitation → page with TOTP secret → password and first code: a new account."""
    path = await invite(hub, member, role, email)
    async with browser(hub) as client:
        page = await client.get(path)
        assert page.status_code == 200, page.text
        found = _SECRET.search(page.text)
        assert found, "the invitation shows no TOTP secret"
        secret = found.group(1)
        totp = pyotp.TOTP(secret)
        done = await client.post(
            path,
            data={
                "csrf": csrf_of(page.text),
                "display_name": display_name,
                "password": PASSWORD,
                "locale": locale,
                "time_zone": "Asia/Phnom_Penh",
                "code": totp.now(),
            },
        )
        assert done.status_code == 200, done.text
        codes = re.findall(r"<li><code>([0-9a-f]+)</code></li>", done.text)
    return Account(email, PASSWORD, secret, codes, hub.members[member].organization_id)


async def sign_in(
    client: httpx.AsyncClient, account: Account, *, password: str | None = None, code: str = ""
) -> httpx.Response:
    page = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={
            "csrf": csrf_of(page.text),
            "email": account.email,
            "password": password if password is not None else account.password,
            # A TOTP code works once: each sign-in after enrolment spends a recovery code
            # unless the test passes a code of its own.
            "code": code or account.recovery.pop(),
        },
    )


@asynccontextmanager
async def signed_in(hub: RunningHub, account: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(hub) as client:
        response = await sign_in(client, account)
        assert response.status_code == 303, response.text
        yield client
