"""Live console pages in two real browsers: a referral sent by one organisation appears in
the other's inbox without a reload, and the nav badge counts it."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from orgs.staff_rules import StaffRole
from tests.api.console_support import Account, enrol
from tests.api.event_support import refer, registered
from tests.browser.test_console_browser import AXE, CHROMEDRIVER, CHROMIUM, _axe_problems, chrome
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


def _chrome() -> webdriver.Chrome:
    return chrome()


@pytest.fixture
def two_browsers() -> Iterator[tuple[webdriver.Chrome, webdriver.Chrome]]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"Debian's chromium and chromium-driver are needed ({CHROMIUM}, {CHROMEDRIVER})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"{message}; CI installs them and fails without them")
    os.environ["SE_OFFLINE"] = "true"
    first = _chrome()
    try:
        second = _chrome()
        try:
            yield first, second
        finally:
            second.quit()
    finally:
        first.quit()


def _sign_in(browser: webdriver.Chrome, base_url: str, account: Account, page: str) -> None:
    browser.get(base_url + "/console/sign-in")
    browser.find_element(By.ID, "email").send_keys(account.email)
    browser.find_element(By.ID, "password").send_keys(account.password)
    browser.find_element(By.ID, "code").send_keys(account.recovery.pop())
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    browser.get(base_url + page)


def _badge(browser: webdriver.Chrome) -> str:
    link = browser.find_element(By.ID, "live-new")
    return "" if not link.is_displayed() else browser.find_element(By.ID, "live-badge").text


def _wait_for_row(browser: webdriver.Chrome, referral: str) -> str:
    selector = f'tr[data-referral="{referral}"]'
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.CSS_SELECTOR, selector))
    WebDriverWait(browser, 15).until(lambda b: _badge(b) == "1")
    return str(browser.find_element(By.CSS_SELECTOR, selector).text)


async def test_a_referral_appears_live_in_the_other_organisations_inbox(
    hub: RunningHub, two_browsers: tuple[webdriver.Chrome, webdriver.Chrome]
) -> None:
    inbox_browser, outbox_browser = two_browsers
    receiver = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "live-b@adhoc.example")
    sender = await enrol(hub, "ccpcr-koh-kong", StaffRole.CASEWORKER, "live-a@ccpcr.example")
    await asyncio.to_thread(_sign_in, inbox_browser, hub.base_url, receiver, "/console/referrals")
    await asyncio.to_thread(
        _sign_in, outbox_browser, hub.base_url, sender, "/console/referrals?box=outbox"
    )
    assert inbox_browser.find_elements(By.CSS_SELECTOR, "tr[data-referral]") == []
    assert _badge(inbox_browser) == ""  # nothing new yet: the badge is hidden
    await registered(hub, 2)  # both pages are listening

    _, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "live-browser-1"
    )

    row = await asyncio.to_thread(_wait_for_row, inbox_browser, referral)
    assert "Sent" in row and "Acknowledge" in row  # the receiver's list, with its actions
    sent = await asyncio.to_thread(_wait_for_row, outbox_browser, referral)
    assert "Sent" in sent and "Acknowledge" not in sent
    # No reload happened: the page was patched in place by the script.
    assert inbox_browser.find_element(By.TAG_NAME, "html").get_attribute("data-live-refreshed")
    logs = inbox_browser.get_log("browser") if hasattr(inbox_browser, "get_log") else []
    assert not [e for e in logs if "Content Security Policy" in e.get("message", "")]
    if AXE and Path(AXE).is_file():
        assert _axe_problems(inbox_browser) == []
