"""The console in a real browser: Debian's headless Chromium driven by Selenium.

Nothing is downloaded at run time: the driver path is given explicitly, so Selenium
Manager never runs. In CI (``CI`` set) a missing browser fails the run; elsewhere the
tests are skipped, and say so.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.errorhandler import ErrorHandler
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from orgs.staff_rules import StaffRole
from tests.api.console_support import PASSWORD, invite
from tests.api.event_support import refer
from tests.network import RunningHub

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HUB_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts"
# axe-core's axe.min.js, installed from npm by .ci/run into a local directory (never a CDN).
AXE = os.environ.get("HUB_TEST_AXE")

pytestmark = pytest.mark.asyncio


class _ReplacedNodeIsStale(ErrorHandler):
    """Chromium's driver sometimes answers a question about an element whose document is
    being replaced with an "unhandled inspector error" (node not in the document) instead of
    "stale element reference". It is the same fact: raised as the latter, so that every wait
    that expects an element to go stale, or asks again when one does, treats it so."""

    def check_response(self, response: dict[str, Any]) -> None:
        try:
            super().check_response(response)
        except WebDriverException as error:
            if "does not belong to the document" in str(error.msg):
                raise StaleElementReferenceException(error.msg) from error
            raise


def chrome() -> webdriver.Chrome:
    """Debian's Chromium, headless, as every browser test opens it."""
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,900")
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    browser.error_handler = _ReplacedNodeIsStale()
    browser.set_page_load_timeout(30)
    return browser


@pytest.fixture
def driver() -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"Debian's chromium and chromium-driver are needed ({CHROMIUM}, {CHROMEDRIVER})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"{message}; CI installs them and fails without them")
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager never downloads
    browser = chrome()
    try:
        yield browser
    finally:
        browser.quit()


def follow(browser: webdriver.Chrome, element: WebElement) -> None:
    """Click a link or a form's button and wait until the page it leads to has loaded: on a
    busy machine the click returns while the old page is still there, and reading it then
    finds the old page's elements (or ones gone stale under the reader). The old document is
    marked, and the wait ends when a document without the mark is complete. (Waiting for an
    old element to go stale asks Chromium about a node while its document is being replaced,
    which it may answer with an "unhandled inspector error" instead of "stale".)"""
    browser.execute_script("window.__hubLeaving = true")
    element.click()
    WebDriverWait(browser, 30).until(_arrived)


def _arrived(browser: webdriver.Chrome) -> bool:
    try:
        return bool(
            browser.execute_script(
                "return window.__hubLeaving === undefined && document.readyState === 'complete'"
            )
        )
    except WebDriverException:
        return False  # between two documents: asked again


def _enrol_and_sign_in(
    browser: webdriver.Chrome, base_url: str, path: str, email: str, locale: str
) -> None:
    """What a new caseworker does, click by click (runs in a thread: Selenium blocks)."""
    browser.get(base_url + path)
    secret = browser.find_element(By.ID, "totp-secret").text
    totp = pyotp.TOTP(secret)
    browser.find_element(By.ID, "display_name").send_keys("Sokha Chea")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, f'#locale option[value="{locale}"]').click()
    browser.find_element(By.ID, "code").send_keys(totp.now())
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # The answer page may still be loading when the click returns (a busy machine): wait
    # for it rather than read the page the form was on.
    codes = WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "ul.codes code")
    )
    assert len(codes) == 8
    browser.get(base_url + "/console/sign-in")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    # The enrolment code is spent; the next time step's code is within the allowed drift.
    from datetime import datetime

    browser.find_element(By.ID, "code").send_keys(
        totp.generate_otp(totp.timecode(datetime.now()) + 1)
    )
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda b: not b.current_url.endswith("/sign-in"))


async def test_a_caseworker_enrols_signs_in_and_sees_the_inbox(
    hub: RunningHub, driver: webdriver.Chrome
) -> None:
    _, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "browser-en-1"
    )
    path = await invite(hub, "adhoc", StaffRole.CASEWORKER, "browser@adhoc.example")
    await asyncio.to_thread(
        _enrol_and_sign_in, driver, hub.base_url, path, "browser@adhoc.example", "en"
    )
    assert driver.current_url.endswith("/console/referrals")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Inbox"
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-referral="{referral}"]')
    assert "Sent" in row.text and "Acknowledge" in row.text
    # The CSP holds: the page ran no script, and the browser reported no violation.
    logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
    assert not [e for e in logs if "Content Security Policy" in e.get("message", "")]


async def test_the_same_walk_in_khmer_with_a_screenshot(
    hub: RunningHub, driver: webdriver.Chrome
) -> None:
    _, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "browser-km-1"
    )
    path = await invite(hub, "adhoc", StaffRole.CASEWORKER, "khmer@adhoc.example")
    await asyncio.to_thread(
        _enrol_and_sign_in, driver, hub.base_url, path, "khmer@adhoc.example", "km"
    )
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "km"
    assert driver.find_element(By.TAG_NAME, "h1").text == "ប្រអប់ទទួល"
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-referral="{referral}"]')
    assert "បានផ្ញើ" in row.text  # SENT
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "console-inbox-km.png"
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    # The per-page switch shows the same page in English.
    await asyncio.to_thread(driver.get, hub.base_url + "/console/referrals?lang=en")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Inbox"


def _axe_problems(browser: webdriver.Chrome) -> list[str]:
    """Serious and critical accessibility violations on the current page, by axe-core run
    inside it (injected from the installed file through the driver, not by the page)."""
    assert AXE is not None
    browser.execute_script(Path(AXE).read_text() + "\nreturn true;")
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map("
        "v => [v.id, v.impact, v.nodes.length])));"
    )
    return [
        f"{rule} ({impact}, {nodes})"
        for rule, impact, nodes in result
        if impact in ("serious", "critical")
    ]


async def test_the_pages_pass_an_accessibility_scan(
    hub: RunningHub, driver: webdriver.Chrome
) -> None:
    if AXE is None:
        if os.environ.get("CI"):
            pytest.fail("HUB_TEST_AXE must name axe-core's axe.min.js in CI")
        pytest.skip("HUB_TEST_AXE is not set: no axe-core to run (CI installs it from npm)")
    await refer(hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "browser-axe-1")
    path = await invite(hub, "adhoc", StaffRole.CASEWORKER, "axe@adhoc.example")

    def walk() -> dict[str, list[str]]:
        found = {}
        # The scan can fail: an image without alternative text is a critical violation.
        driver.get("data:text/html,<html lang=en><title>t</title><img src=x.png></html>")
        found["control"] = _axe_problems(driver)
        driver.get(hub.base_url + path)
        found["invitation"] = _axe_problems(driver)
        driver.get(hub.base_url + "/console/sign-in")
        found["sign-in"] = _axe_problems(driver)
        _enrol_and_sign_in(driver, hub.base_url, path, "axe@adhoc.example", "km")
        found["inbox (km)"] = _axe_problems(driver)
        return found

    problems = await asyncio.to_thread(walk)
    assert [p.split(" ")[0] for p in problems.pop("control")] == ["image-alt"]
    assert problems == {"invitation": [], "sign-in": [], "inbox (km)": []}
