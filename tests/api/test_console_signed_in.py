"""Every console page behind the sign-in answers a browser without a session with the
sign-in page, and every form it takes is refused when its CSRF token is forged, in the
order the page has always checked things. The routes are read from the running app, so a
page added later without ``signed_in`` (or without ``checked_form``) fails here."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from starlette.routing import Mount, Route

from orgs.staff_rules import StaffRole
from tests.api.console_support import browser, enrol, signed_in
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio

# Pages a browser reaches before signing in, or that answer a signed-out stream or
# script on their own terms (tested with their pages).
PUBLIC = {
    "/",
    "/sign-in",
    "/invite/{token}",
    "/sign-in/key/options",
    "/sign-in/key",
    "/events",
}
# The security-key endpoints talk JSON to static/webauthn.js, so they refuse in JSON.
JSON_ROUTES = {"/security-keys/options", "/security-keys/add"}
# What a caseworker of a member organisation is answered for a form with a forged token:
# most pages check the token first; these check the role or the thing named first, as
# they did before the preamble was shared (the order of refusals is part of the page).
CHECKED_FIRST = {
    ("/clients", "POST"): (403, "FORBIDDEN"),
    ("/webhooks", "POST"): (403, "FORBIDDEN"),
    ("/members", "POST"): (403, "FORBIDDEN"),
    ("/staff", "POST"): (403, "FORBIDDEN"),
    ("/services/{offer_id}/refer", "POST"): (404, "NOT_FOUND"),
    ("/cases/{case_id}/repatriation", "POST"): (403, "FORBIDDEN"),
}
_CODE = re.compile(r'data-code="([A-Z_]+)"')


def console_routes(app: Any) -> list[tuple[str, str]]:
    """(path, method) of every page under the /console mount, read from the app."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/console")
    found = []
    for route in mount.routes:
        if isinstance(route, Route):
            found += [(route.path, m) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def concrete(path: str) -> str:
    """The path with an unknown id in every parameter (no page may act on it anyway)."""
    return re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)


async def test_without_a_session_every_page_sends_the_browser_to_sign_in(
    hub: RunningHub,
) -> None:
    routes = [(p, m) for p, m in console_routes(hub.app) if p not in PUBLIC]
    # The routes really were found: the sweep cannot pass by sweeping nothing.
    assert ("/referrals/{referral_id}/action", "POST") in routes
    assert ("/cases/{case_id}/report", "GET") in routes
    assert len(routes) > 30
    answers = {}
    async with browser(hub) as client:
        for path, method in routes:
            url = "/console" + concrete(path)
            response = await (client.post(url, data={}) if method == "POST" else client.get(url))
            answers[(path, method)] = (response.status_code, response.headers.get("location"))
            assert response.headers["x-frame-options"] == "DENY", path
    expected = {
        (path, method): (401, None) if path in JSON_ROUTES else (303, "/console/sign-in")
        for path, method in routes
    }
    assert answers == expected


async def test_a_forged_csrf_token_is_refused_on_every_form(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "forged-forms@adhoc.example")
    forms = [(p, m) for p, m in console_routes(hub.app) if m == "POST" and p not in PUBLIC]
    assert ("/sign-out", "POST") in forms
    answers = {}
    async with signed_in(hub, account) as client:
        for path, method in forms:
            url = "/console" + concrete(path)
            if path in JSON_ROUTES:
                response = await client.post(url, json={"csrf": "forged"})
                code = response.json()["error"]["code"]
            else:
                response = await client.post(url, data={"csrf": "forged", "action": "x"})
                found = _CODE.search(response.text)
                code = found.group(1) if found else None
            answers[(path, method)] = (response.status_code, code)
        # Still signed in: no forged form (sign-out among them) changed anything.
        assert (await client.get("/console/referrals")).status_code == 200
    expected = {key: CHECKED_FIRST.get(key, (403, "CSRF")) for key in forms}
    assert answers == expected
