"""Finding a service, sending a referral and a repatriation's hand-over, in a real browser
(the driver and the sign-in walk of ``test_console_browser``)."""

from __future__ import annotations

import asyncio

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from cases.models import Referral, RepatriationRequest
from orgs.staff_rules import StaffRole
from tests.api.console_support import invite
from tests.api.repatriation_support import UPDATE, a_request, give_consent, open_case
from tests.browser.test_console_browser import (
    AXE,
    _axe_problems,
    _enrol_and_sign_in,
    driver,  # noqa: F401 - the fixture, shared
)
from tests.marker_watch import planted
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


def _wait_for(browser: webdriver.Chrome, url_part: str) -> None:
    """A click that submits or follows a link returns before the next page is there."""
    WebDriverWait(browser, 15).until(expected_conditions.url_contains(url_part))


def _wait_text(browser: webdriver.Chrome, css: str, text: str) -> None:
    located = (By.CSS_SELECTOR, css)
    WebDriverWait(browser, 15).until(
        expected_conditions.text_to_be_present_in_element(located, text)
    )


async def test_a_caseworker_finds_a_service_and_sends_a_referral(
    hub: RunningHub,
    driver: webdriver.Chrome,  # noqa: F811
) -> None:
    case_id = await open_case(hub, owner="ccpcr-koh-kong")
    await give_consent(hub, case_id, ["adhoc"], owner="ccpcr-koh-kong", purposes=("LEGAL_AID",))
    path = await invite(hub, "ccpcr-koh-kong", StaffRole.CASEWORKER, "find@kk.example")
    reason = planted("wants to file a complaint")

    def walk() -> list[str]:
        problems: list[str] = []
        _enrol_and_sign_in(driver, hub.base_url, path, "find@kk.example", "en")
        driver.find_element(By.LINK_TEXT, "Find a service").click()
        _wait_for(driver, "/console/services")
        Select(driver.find_element(By.ID, "category")).select_by_value("LEGAL_AID")
        driver.find_element(By.ID, "area").send_keys("Koh Kong")
        driver.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
        _wait_for(driver, "area=Koh")
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-offer]")
        assert rows and "ADHOC Legal Aid" in rows[0].text, driver.current_url
        if AXE:
            problems += _axe_problems(driver)
        rows[0].find_element(By.LINK_TEXT, "Send a referral").click()
        _wait_for(driver, "/refer")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Send a referral"
        Select(driver.find_element(By.ID, "case_id")).select_by_value(case_id)
        Select(driver.find_element(By.ID, "urgency")).select_by_value("URGENT")
        driver.find_element(By.ID, "reason").send_keys(reason)
        if AXE:
            problems += _axe_problems(driver)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        _wait_for(driver, "/console/referrals?box=outbox")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Outbox"
        return problems

    problems = await asyncio.to_thread(walk)
    assert problems == []
    async with hub.db.read() as session:
        sent = (await session.scalars(select(Referral).where(Referral.case_id == case_id))).one()
    assert sent.receiver_organization_id == hub.members["adhoc"].organization_id
    row = await asyncio.to_thread(
        driver.find_element, By.CSS_SELECTOR, f'tr[data-referral="{sent.id}"]'
    )
    assert "Sent" in row.text and "Urgent" in row.text


async def test_an_officer_acknowledges_and_the_reception_records_hand_over(
    hub: RunningHub,
    driver: webdriver.Chrome,  # noqa: F811
) -> None:
    _, rid = await a_request(hub, "browser-repat-1")
    embassy = await invite(hub, "embassy-bangkok", StaffRole.OFFICER, "officer@bkk.example")
    reception = await invite(hub, "mosavy", StaffRole.OFFICER, "officer@mosavy.example")

    def acknowledge() -> list[str]:
        _enrol_and_sign_in(driver, hub.base_url, embassy, "officer@bkk.example", "en")
        driver.find_element(By.LINK_TEXT, "Repatriation").click()
        _wait_for(driver, "/console/repatriations")
        row = driver.find_element(By.CSS_SELECTOR, f'tr[data-repatriation="{rid}"]')
        assert "Submitted" in row.text
        row.find_element(By.LINK_TEXT, "Open request").click()
        _wait_for(driver, f"/console/repatriations/{rid}")
        problems = _axe_problems(driver) if AXE else []
        driver.find_element(By.CSS_SELECTOR, 'form.action button[type="submit"]').click()
        _wait_text(driver, "dd.status", "Acknowledged")
        driver.delete_all_cookies()
        return problems

    problems = await asyncio.to_thread(acknowledge)
    assert problems == []
    # The embassy's next steps, through the API, up to the survivor's return home.
    for status in ("VERIFYING", "DOCUMENTS_ISSUED", "TRAVEL_ARRANGED", "RETURNED"):
        moved = await hub.gql("embassy-bangkok", UPDATE, {"id": rid, "status": status})
        assert not moved.errors, moved.errors

    def hand_over() -> None:
        _enrol_and_sign_in(driver, hub.base_url, reception, "officer@mosavy.example", "en")
        driver.get(f"{hub.base_url}/console/repatriations/{rid}")
        driver.find_element(By.ID, "note-CONFIRM_HANDOVER").send_keys(planted("met at Poipet"))
        driver.find_element(By.XPATH, "//button[text()='Confirm hand-over']").click()
        _wait_text(driver, "dd.status", "Handed over")

    await asyncio.to_thread(hand_over)
    async with hub.db.read() as session:
        row = await session.get(RepatriationRequest, rid)
        assert row is not None and row.status == "HANDED_OVER"
