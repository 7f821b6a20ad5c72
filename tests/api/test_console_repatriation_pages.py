"""The console's repatriation lists page with the API's cursor: every request once, newest
first, the box kept from page to page; a forged cursor is refused."""

from __future__ import annotations

import re

import pytest

from gateway.console import sendpages
from orgs.staff_rules import StaffRole
from tests.api.console_support import enrol, signed_in
from tests.api.repatriation_support import a_request
from tests.network import RunningHub

_ROW = re.compile(r'data-repatriation="([^"]+)"')
_NEXT = re.compile(r'id="next-page" rel="next" href="([^"]+)"|href="([^"]+)" id="next-page"')


def _next(page: str) -> str | None:
    found = _NEXT.search(page)
    return (found.group(1) or found.group(2)).replace("&amp;", "&") if found else None


async def test_the_lists_page_through_every_request_once(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sendpages, "PAGE_SIZE", 2)
    made = [(await a_request(hub, f"console-paging-{n}"))[1] for n in range(3)]
    officer = await enrol(hub, "embassy-bangkok", StaffRole.OFFICER, "pages@embassy.example")
    sender = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "pages@adhoc.example")
    for account, first_path in ((officer, "/console/repatriations"), (sender, None)):
        async with signed_in(hub, account) as client:
            path = first_path or "/console/repatriations?box=outbox"
            seen: list[str] = []
            pages = 0
            while path is not None:
                page = await client.get(path)
                assert page.status_code == 200, page.text
                rows = _ROW.findall(page.text)
                assert 1 <= len(rows) <= 2
                seen += rows
                pages += 1
                path = _next(page.text)
                if first_path is None and path is not None:
                    assert "box=outbox&" in path  # the outbox stays the outbox
                if pages > 1:
                    assert 'id="first-page"' in page.text
            assert pages == 2
            assert seen == list(reversed(made))  # newest first, each once
    other = await enrol(hub, "embassy-kuala-lumpur", StaffRole.OFFICER, "pages@kl.example")
    async with signed_in(hub, other) as client:
        page = await client.get("/console/repatriations")
        assert _ROW.findall(page.text) == [] and _next(page.text) is None


async def test_a_forged_cursor_is_refused(hub: RunningHub) -> None:
    officer = await enrol(hub, "embassy-bangkok", StaffRole.OFFICER, "forged@embassy.example")
    async with signed_in(hub, officer) as client:
        for bad in ("not-a-cursor", "%3Cscript%3E", "bm90aGluZw=="):
            page = await client.get(f"/console/repatriations?after={bad}")
            assert page.status_code == 400 and "<script>" not in page.text
