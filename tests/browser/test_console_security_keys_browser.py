"""A security key in a real browser: Chrome's virtual authenticator registers a key on the
Security keys page, then signs in with it; the new pages pass the accessibility scan.

The hub's public URL names ``localhost``: browsers refuse an IP address as WebAuthn's
relying party ID.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import (
    Protocol,
    Transport,
    VirtualAuthenticatorOptions,
)
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from orgs.security_key_models import StaffSecurityKey
from orgs.staff_rules import StaffRole
from store.audit import AuditEntry
from tests.api.console_support import Account, enrol
from tests.browser.test_console_browser import (  # noqa: F401 - the driver fixture
    AXE,
    _axe_problems,
    driver,
    follow,
)
from tests.network import RunningHub, Template, serve_hub

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def local_hub(template: Template) -> AsyncIterator[RunningHub]:
    async with serve_hub(template, host="localhost") as running:
        yield running


def _visible(browser: webdriver.Chrome, element_id: str) -> None:
    WebDriverWait(browser, 30).until(
        expected_conditions.visibility_of_element_located((By.ID, element_id))
    )


def _register_and_sign_in(
    browser: webdriver.Chrome, base_url: str, account: Account
) -> dict[str, list[str]]:
    """Sign in with a recovery code, add a key, sign out, sign in with the key."""
    problems: dict[str, list[str]] = {}
    browser.add_virtual_authenticator(
        VirtualAuthenticatorOptions(
            protocol=Protocol.CTAP2,
            transport=Transport.USB,
            has_resident_key=False,
            has_user_verification=True,
            is_user_consenting=True,
            is_user_verified=True,
        )
    )
    browser.get(base_url + "/console/sign-in")
    browser.find_element(By.ID, "email").send_keys(account.email)
    browser.find_element(By.ID, "password").send_keys(account.password)
    browser.find_element(By.ID, "code").send_keys(account.recovery.pop())
    follow(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Security keys"))
    # The script found PublicKeyCredential: the add form is shown, the notice hidden.
    _visible(browser, "key-add")
    assert not browser.find_element(By.ID, "key-unsupported").is_displayed()
    if AXE:
        problems["security keys (empty)"] = _axe_problems(browser)
    browser.find_element(By.ID, "key-name").send_keys("Blue key")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#key-add button[type=submit]"))
    assert browser.current_url.endswith("/console/security-keys?added=1")
    assert browser.find_element(By.CSS_SELECTOR, "td.key-name").text == "Blue key"
    if AXE:
        problems["security keys (one key)"] = _axe_problems(browser)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "header form button[type=submit]"))
    assert browser.current_url.endswith("/console/sign-in")
    _visible(browser, "key-button")
    if AXE:
        problems["sign-in (with key button)"] = _axe_problems(browser)
    browser.find_element(By.ID, "email").send_keys(account.email)
    # A wrong password: the refusal is shown beside the button, and nothing else happens.
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.ID, "key-button").click()
    _visible(browser, "key-error")
    assert "Sign-in refused" in browser.find_element(By.ID, "key-error").text
    assert browser.current_url.endswith("/console/sign-in")
    browser.find_element(By.ID, "password").clear()
    browser.find_element(By.ID, "password").send_keys(account.password)
    # No code typed: the key is the second factor.
    browser.find_element(By.ID, "key-button").click()
    WebDriverWait(browser, 30).until(lambda b: b.current_url.endswith("/console/referrals"))
    assert "Sokha Chea" in browser.find_element(By.TAG_NAME, "header").text
    logs = browser.get_log("browser") if hasattr(browser, "get_log") else []
    assert not [e for e in logs if "Content Security Policy" in e.get("message", "")]
    return problems


async def test_a_key_is_added_and_signs_in_in_a_real_browser(
    local_hub: RunningHub,
    driver: webdriver.Chrome,  # noqa: F811 - the fixture imported above
) -> None:
    if AXE is None and os.environ.get("CI"):
        pytest.fail("HUB_TEST_AXE must name axe-core's axe.min.js in CI")
    account = await enrol(local_hub, "adhoc", StaffRole.CASEWORKER, "vkey@adhoc.example")
    problems = await asyncio.to_thread(_register_and_sign_in, driver, local_hub.base_url, account)
    assert all(found == [] for found in problems.values()), problems
    if AXE:
        assert len(problems) == 3
    async with local_hub.db.read() as session:
        key = (await session.scalars(select(StaffSecurityKey))).one()
        used = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "staff.security_key.use")
            )
        ).one()
    assert key.name == "Blue key" and key.last_used_at is not None
    assert used.detail == {"key_id": key.id}
