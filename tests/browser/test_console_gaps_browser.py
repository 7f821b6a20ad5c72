"""An organisation's admin disables a colleague on the staff page, in a real browser; the
coordinator opens a late item's levers on the overview and reminds the late embassy. Both
pages pass the accessibility scan."""

from __future__ import annotations

import asyncio
import os

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from orgs.staff_rules import StaffRole
from tests.api.console_support import Account, enrol, invite
from tests.api.test_network_overview import escalated_request
from tests.browser.test_console_browser import (  # noqa: F401 - the driver fixture
    AXE,
    _axe_problems,
    _enrol_and_sign_in,
    driver,
    follow,
)
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


def _admin_disables(browser: webdriver.Chrome, staff_id: str) -> list[str]:
    follow(browser, browser.find_element(By.LINK_TEXT, "Staff"))
    section = browser.find_element(By.ID, f"staff-{staff_id}")
    section.find_element(By.TAG_NAME, "textarea").send_keys("left the organisation")
    follow(browser, section.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    section = browser.find_element(By.ID, f"staff-{staff_id}")
    assert section.find_element(By.CLASS_NAME, "staff-state").text == "Disabled"
    assert "left the organisation" in section.find_element(By.TAG_NAME, "table").text
    return _axe_problems(browser) if AXE else []


def _coordinator_reminds(
    browser: webdriver.Chrome, base_url: str, account: Account, item_id: str
) -> list[str]:
    browser.delete_all_cookies()
    browser.get(base_url + "/console/sign-in")
    browser.find_element(By.ID, "email").send_keys(account.email)
    browser.find_element(By.ID, "password").send_keys(account.password)
    browser.find_element(By.ID, "code").send_keys(account.recovery.pop())
    follow(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Network overview"))
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-item="{item_id}"]')
    assert "Submitted" in row.text
    row.find_element(By.TAG_NAME, "summary").click()
    problems = _axe_problems(browser) if AXE else []
    follow(browser, row.find_element(By.CSS_SELECTOR, "form[action$='/remind'] button"))
    assert "reminded" in browser.find_element(By.ID, "lever-done").text
    return problems


async def test_an_admin_disables_a_colleague_and_the_coordinator_reminds_an_embassy(
    hub: RunningHub,
    driver: webdriver.Chrome,  # noqa: F811 - the fixture imported above
) -> None:
    worker = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "leaving@adhoc.example")
    staff_id = await hub.scalar(f"SELECT id FROM staff WHERE email = '{worker.email}'")
    path = await invite(hub, "adhoc", StaffRole.ORG_ADMIN, "admin-b@adhoc.example")
    await asyncio.to_thread(
        _enrol_and_sign_in, driver, hub.base_url, path, "admin-b@adhoc.example", "en"
    )
    staff_problems = await asyncio.to_thread(_admin_disables, driver, str(staff_id))
    assert await hub.scalar(f"SELECT disabled FROM staff WHERE id = '{staff_id}'")

    _, rid = await escalated_request(hub, "browser-lever-1")
    coordinator = await enrol(hub, "secretariat", StaffRole.COORDINATOR, "c-b@sec.example")
    overview_problems = await asyncio.to_thread(
        _coordinator_reminds, driver, hub.base_url, coordinator, rid
    )
    if AXE is None and os.environ.get("CI"):
        pytest.fail("HUB_TEST_AXE must name axe-core's axe.min.js in CI")
    assert staff_problems == [] and overview_problems == [], (staff_problems, overview_problems)
