"""The coordinator suspends a member; the member's signed-in staff browser is sent to the
sign-in page at its next click. Then the coordinator's own pages, in the same browser,
reinstate the member and pass the accessibility scan."""

from __future__ import annotations

import asyncio
import os

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from orgs.staff_rules import StaffRole
from tests.api.console_support import Account, csrf_of, enrol, invite, signed_in
from tests.browser.test_console_browser import (  # noqa: F401 - the driver fixture
    AXE,
    _axe_problems,
    _enrol_and_sign_in,
    driver,
    follow,
)
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


async def _suspend(hub: RunningHub, coordinator: Account, organization_id: str) -> None:
    """The coordinator's "Suspend" on the member's page, over real HTTP."""
    async with signed_in(hub, coordinator) as client:
        page = await client.get(f"/console/members/{organization_id}")
        done = await client.post(
            f"/console/members/{organization_id}/action",
            data={
                "csrf": csrf_of(page.text),
                "action": "SUSPEND",
                "reason": "referrals left unanswered",
            },
        )
        assert done.status_code == 303, done.text


def _coordinator_reinstates(
    browser: webdriver.Chrome, base_url: str, account: Account, organization_id: str
) -> dict[str, list[str]]:
    browser.get(base_url + "/console/sign-in")
    browser.find_element(By.ID, "email").send_keys(account.email)
    browser.find_element(By.ID, "password").send_keys(account.password)
    browser.find_element(By.ID, "code").send_keys(account.recovery.pop())
    follow(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Membership"))
    problems = {"members": _axe_problems(browser)} if AXE else {}
    browser.get(f"{base_url}/console/members/{organization_id}")
    assert browser.find_element(By.ID, "member-status").text == "Suspended"
    browser.find_element(By.ID, "reason-REINSTATE").send_keys("answered since")
    follow(browser, browser.find_element(By.ID, "do-REINSTATE"))
    assert browser.find_element(By.ID, "member-status").text == "Active"
    assert "answered since" in browser.find_element(By.TAG_NAME, "table").text
    if AXE:
        problems["member"] = _axe_problems(browser)
        follow(browser, browser.find_element(By.LINK_TEXT, "Statistics"))
        assert browser.find_element(By.CSS_SELECTOR, "#chart svg")
        problems["statistics"] = _axe_problems(browser)
    return problems


async def test_a_suspended_members_staff_browser_is_sent_to_sign_in(
    hub: RunningHub,
    driver: webdriver.Chrome,  # noqa: F811 - the fixture imported above
) -> None:
    adhoc = hub.members["adhoc"].organization_id
    coordinator = await enrol(hub, "secretariat", StaffRole.COORDINATOR, "c@sec.example")
    path = await invite(hub, "adhoc", StaffRole.CASEWORKER, "staff@adhoc.example")
    await asyncio.to_thread(
        _enrol_and_sign_in, driver, hub.base_url, path, "staff@adhoc.example", "en"
    )
    assert driver.current_url.endswith("/console/referrals")

    await _suspend(hub, coordinator, adhoc)

    # Her next click: the session ended with the suspension.
    await asyncio.to_thread(follow, driver, driver.find_element(By.LINK_TEXT, "Outbox"))
    assert driver.current_url.endswith("/console/sign-in")
    assert driver.find_element(By.ID, "email")

    problems = await asyncio.to_thread(
        _coordinator_reinstates, driver, hub.base_url, coordinator, adhoc
    )
    if AXE is None and os.environ.get("CI"):
        pytest.fail("HUB_TEST_AXE must name axe-core's axe.min.js in CI")
    assert all(found == [] for found in problems.values()), problems
