"""In the browser: a caseworker records a survivor's consent on the case page, then opens
her report in Khmer to print it (Debian's Chromium, the fixtures of test_console_browser)."""

from __future__ import annotations

import asyncio
import os

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from orgs.staff_rules import StaffRole
from tests.api.console_support import invite
from tests.api.repatriation_support import open_case
from tests.browser.test_console_browser import (  # noqa: F401  (driver is a fixture)
    ARTIFACTS,
    AXE,
    _axe_problems,
    _enrol_and_sign_in,
    driver,
    follow,
)
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio

READ = "query($id: ID!) { case(id: $id) { id fullName } }"


async def test_a_caseworker_records_consent_and_prints_her_report_in_khmer(
    hub: RunningHub,
    driver: webdriver.Chrome,  # noqa: F811
) -> None:
    case_id = await open_case(hub, owner="ccpcr-koh-kong")
    adhoc = hub.members["adhoc"].organization_id
    path = await invite(hub, "ccpcr-koh-kong", StaffRole.CASEWORKER, "print@ccpcr.example")
    base = hub.base_url

    def record() -> list[str]:
        _enrol_and_sign_in(driver, base, path, "print@ccpcr.example", "en")
        driver.get(f"{base}/console/cases/{case_id}")
        form = driver.find_element(By.CSS_SELECTOR, "form.consent-form")
        form.find_element(By.CSS_SELECTOR, 'input[name=method][value="THUMBPRINT"]').click()
        form.find_element(By.ID, "interpreter_language").send_keys("km")
        form.find_element(By.CSS_SELECTOR, 'input[name=purposes][value="LEGAL_AID"]').click()
        for category in ("IDENTITY", "LEGAL"):
            form.find_element(
                By.CSS_SELECTOR, f'input[name=categories][value="{category}"]'
            ).click()
        form.find_element(By.CSS_SELECTOR, f'input[name=recipients][value="{adhoc}"]').click()
        follow(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        return _axe_problems(driver) if AXE else []

    case_problems = await asyncio.to_thread(record)
    assert driver.current_url.endswith(f"/console/cases/{case_id}#consent")
    grant = driver.find_element(By.CSS_SELECTOR, "article.grant")
    assert "Consent version 1" in grant.text and "Thumbprint" in grant.text
    # The recipient reads the case through the API: one line in her report.
    read = await hub.gql("adhoc", READ, {"id": case_id})
    assert not read.errors, read.errors

    def report() -> list[str]:
        driver.get(f"{base}/console/cases/{case_id}")
        follow(
            driver,
            driver.find_element(By.CSS_SELECTOR, f'a[href="/console/cases/{case_id}/report"]'),
        )
        driver.find_element(By.CSS_SELECTOR, '#language option[value="km"]').click()
        follow(driver, driver.find_element(By.CSS_SELECTOR, "form.report-language button"))
        return _axe_problems(driver) if AXE else []

    report_problems = await asyncio.to_thread(report)
    article = driver.find_element(By.CSS_SELECTOR, "article.report")
    assert article.get_attribute("lang") == "km"
    assert "អ្នកដែលបានឃើញព័ត៌មានរបស់អ្នក" in article.text
    assert "ADHOC Legal Aid" in article.text
    # Her caseworker's own pages stay in English around it.
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    # Printed, only the report: the console's header and forms are left off the page.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not driver.find_element(By.TAG_NAME, "header").is_displayed()
    assert not driver.find_element(By.CSS_SELECTOR, "form.report-language").is_displayed()
    assert article.is_displayed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "console-survivor-report-km.png"
    assert driver.save_screenshot(str(shot))
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    if AXE is None and os.environ.get("CI"):
        pytest.fail("HUB_TEST_AXE must name axe-core's axe.min.js in CI")
    assert case_problems == [] and report_problems == []
