"""The whole network, one person per browser: invitations, a case with its consent, a
referral that arrives live and is answered, a repatriation brought to hand-over, and the
suspension of a member. Every step is a click in Debian's Chromium; the walk runs in
English and in Khmer, with the accessibility scan on its pages.

People: a caseworker and an officer at ADHOC (organisation A, whose kind may request
repatriation), a caseworker at CCPCR Koh Kong (organisation B, which offers medical
care in Koh Kong), officers at the embassy in Bangkok and at MoSAVY (reception), and the
network's coordinator. Pages are told apart by ids, values and links, never by their
words, so the same walk reads in both languages; the words a step must show are looked
up in the console's own catalog.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable, Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from cases.models import Referral, RepatriationRequest
from gateway.console.i18n import translations
from orgs.staff_rules import StaffRole
from tests.api.console_support import invite
from tests.api.event_support import registered
from tests.api.repatriation_support import orgs
from tests.browser.test_console_browser import (
    ARTIFACTS,
    AXE,
    CHROMEDRIVER,
    CHROMIUM,
    _axe_problems,
    _enrol_and_sign_in,
)
from tests.browser.test_console_live_browser import _chrome
from tests.marker_watch import planted
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio

WAIT = 30  # seconds for a page to follow a click on a loaded machine
FLAKY = (NoSuchElementException, StaleElementReferenceException)
Browsers = Callable[[], webdriver.Chrome]


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    """Opens a browser per person on demand (same options as the shared fixture) and
    closes every one of them at the end, whatever happened."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"Debian's chromium and chromium-driver are needed ({CHROMIUM}, {CHROMEDRIVER})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"{message}; CI installs them and fails without them")
    os.environ["SE_OFFLINE"] = "true"
    opened: list[webdriver.Chrome] = []

    def new() -> webdriver.Chrome:
        browser = _chrome()
        opened.append(browser)
        return browser

    try:
        yield new
    finally:
        for browser in opened:
            try:
                browser.quit()
            except Exception:  # already closed by the walk
                pass


def _wait(browser: webdriver.Chrome, condition: Callable[[webdriver.Chrome], object]) -> None:
    WebDriverWait(browser, WAIT, ignored_exceptions=FLAKY).until(condition)


def _url(browser: webdriver.Chrome, pattern: str) -> re.Match[str]:
    """Wait for the page a click leads to; its address, matched."""
    _wait(browser, lambda b: re.search(pattern, b.current_url))
    found = re.search(pattern, browser.current_url)
    assert found, browser.current_url
    return found


def _click(browser: webdriver.Chrome, css: str) -> None:
    """Click what the page shows now; a live refresh may swap the element underneath."""
    located = (By.CSS_SELECTOR, css)

    def clicked(b: webdriver.Chrome) -> bool:
        if not expected_conditions.element_to_be_clickable(located)(b):
            return False
        b.find_element(*located).click()
        return True

    WebDriverWait(browser, WAIT, ignored_exceptions=FLAKY).until(clicked)


def _text(browser: webdriver.Chrome, css: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, css).text).strip()


def _sign_up(browser: webdriver.Chrome, base: str, path: str, email: str, locale: str) -> None:
    _enrol_and_sign_in(browser, base, path, email, locale)
    _url(browser, r"/console/referrals$")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == locale


class Walk:
    """What the people of the walk do, each in a browser of her own (Selenium blocks:
    every method runs in a thread)."""

    def __init__(self, hub: RunningHub, locale: str) -> None:
        self.base = hub.base_url
        self.locale = locale
        self.t = translations(locale).gettext
        self.ids = orgs(hub)
        self.problems: dict[str, list[str]] = {}

    def scan(self, browser: webdriver.Chrome, page: str) -> None:
        if AXE:
            self.problems[page] = _axe_problems(browser)

    def open_case(self, a: webdriver.Chrome, path: str, email: str) -> str:
        _sign_up(a, self.base, path, email, self.locale)
        _click(a, 'nav a[href="/console/cases/new"]')
        _url(a, r"/console/cases/new$")
        self.scan(a, "new case")
        Select(a.find_element(By.ID, "age_band")).select_by_value("AGE_21_23")
        Select(a.find_element(By.ID, "sex")).select_by_value("FEMALE")
        a.find_element(By.ID, "fullName").send_keys(planted("Srey Pov"))
        a.find_element(By.ID, "currentLocation").send_keys(planted("IDC Suan Phlu"))
        a.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        case_id = _url(a, r"/console/cases/(?!new)([^/#?]+)$").group(1)
        form = a.find_element(By.CSS_SELECTOR, "form.consent-form")
        form.find_element(By.CSS_SELECTOR, 'input[name=method][value="THUMBPRINT"]').click()
        form.find_element(By.ID, "interpreter_language").send_keys("km")
        for name, values in (
            ("purposes", ["SERVICE_REFERRAL", "REPATRIATION"]),
            ("categories", ["IDENTITY", "LOCATION", "HEALTH"]),
            ("recipients", [self.ids[m] for m in ("ccpcr-koh-kong", "embassy-bangkok", "mosavy")]),
        ):
            for value in values:
                form.find_element(By.CSS_SELECTOR, f'input[name={name}][value="{value}"]').click()
        self.scan(a, "case")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _url(a, rf"/console/cases/{case_id}#consent$")
        _wait(a, lambda b: b.find_elements(By.CSS_SELECTOR, "article.grant"))
        assert self.t("THUMBPRINT") in _text(a, "article.grant")
        return case_id

    def fill_referral(self, a: webdriver.Chrome, case_id: str) -> None:
        """Find medical care in Koh Kong and fill in the referral, not sent yet."""
        _click(a, 'nav a[href="/console/services"]')
        _url(a, r"/console/services$")
        Select(a.find_element(By.ID, "category")).select_by_value("MEDICAL")
        a.find_element(By.ID, "area").send_keys("Koh Kong")
        a.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
        _url(a, r"area=Koh")
        rows = [
            r
            for r in a.find_elements(By.CSS_SELECTOR, "tr[data-offer]")
            if r.text.startswith("CCPCR Transit Centre Koh Kong")
        ]
        assert len(rows) == 1, a.find_element(By.TAG_NAME, "main").text
        self.scan(a, "services")
        rows[0].find_element(By.CSS_SELECTOR, 'a[href$="/refer"]').click()
        _url(a, r"/refer$")
        Select(a.find_element(By.ID, "case_id")).select_by_value(case_id)
        Select(a.find_element(By.ID, "urgency")).select_by_value("URGENT")
        a.find_element(By.ID, "reason").send_keys(planted("needs a doctor this week"))
        self.scan(a, "send a referral")

    def send(self, a: webdriver.Chrome) -> None:
        a.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        _url(a, r"/console/referrals\?box=outbox$")

    def arrives(self, b: webdriver.Chrome, referral: str) -> None:
        """B's inbox, open since before the referral was sent, shows it (live.js)."""
        row = f'tr[data-referral="{referral}"]'
        _wait(b, lambda d: d.find_elements(By.CSS_SELECTOR, row))
        assert b.find_element(By.TAG_NAME, "html").get_attribute("data-live-refreshed")
        assert _text(b, f"{row} td").startswith(self.t("SENT"))
        self.scan(b, "inbox")
        if self.locale == "km":
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "console-walk-inbox-km.png"
            assert b.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000

    def answer(self, b: webdriver.Chrome, referral: str) -> None:
        row = f'tr[data-referral="{referral}"]'
        steps = (("ACKNOWLEDGE", "ACKNOWLEDGED"), ("ACCEPT", "ACCEPTED"), ("START", "IN_PROGRESS"))
        for action, status in steps:
            self._act(b, row, action)
            self._shows(b, row, status)
        note = planted("seen by the clinic")

        def complete(d: webdriver.Chrome) -> bool:
            form = d.find_element(By.CSS_SELECTOR, f'{row} form:has(input[value="COMPLETE"])')
            box = form.find_element(By.CSS_SELECTOR, 'input[name=delivered][value="MEDICAL"]')
            assert box.is_selected()
            field = form.find_element(By.CSS_SELECTOR, "textarea[name=note]")
            field.clear()
            field.send_keys(note)
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            return True

        _wait(b, complete)
        self._shows(b, row, "COMPLETED")

    def _shows(self, browser: webdriver.Chrome, row: str, status: str) -> None:
        """Wait for the row's status cell to read the status, in the page's language."""
        _wait(browser, lambda d: _text(d, f"{row} td").startswith(self.t(status)))

    def _act(self, b: webdriver.Chrome, row: str, action: str) -> None:
        _click(b, f'{row} form:has(input[name=action][value="{action}"]) button[type=submit]')

    def outcome(self, a: webdriver.Chrome, referral: str) -> str:
        _click(a, 'nav a[href="/console/referrals?box=outbox"]')
        _url(a, r"box=outbox$")
        row = f'tr[data-referral="{referral}"]'
        self._shows(a, row, "COMPLETED")
        self.scan(a, "outbox")
        return _text(a, f"{row} td.outcome")

    def request_repatriation(self, o: webdriver.Chrome, path: str, email: str, case: str) -> str:
        _sign_up(o, self.base, path, email, self.locale)
        o.get(f"{self.base}/console/cases/{case}")  # her bookmark of the case page
        _click(o, f'a[href="/console/cases/{case}/repatriation"]')
        _url(o, rf"/console/cases/{case}/repatriation$")
        Select(o.find_element(By.ID, "embassy_id")).select_by_value(self.ids["embassy-bangkok"])
        Select(o.find_element(By.ID, "reception_id")).select_by_value(self.ids["mosavy"])
        o.find_element(By.ID, "current_country").send_keys("TH")
        Select(o.find_element(By.ID, "situation")).select_by_value("IMMIGRATION_DETENTION")
        for name, value in (
            ("documents", "NONE"),
            ("assistance", "NATIONALITY_VERIFICATION"),
            ("assistance", "TRAVEL_DOCUMENT"),
        ):
            o.find_element(By.CSS_SELECTOR, f'input[name={name}][value="{value}"]').click()
        Select(o.find_element(By.ID, "urgency")).select_by_value("URGENT")
        self.scan(o, "request repatriation")
        o.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        return _url(o, r"/console/repatriations/([^/#?]+)$").group(1)

    def open_request(self, o: webdriver.Chrome, path: str, email: str, rid: str) -> None:
        _sign_up(o, self.base, path, email, self.locale)
        _click(o, 'nav a[href="/console/repatriations"]')
        _url(o, r"/console/repatriations$")
        self.scan(o, f"repatriations ({email})")
        _click(o, f'tr[data-repatriation="{rid}"] a[href="/console/repatriations/{rid}"]')
        _url(o, rf"/console/repatriations/{rid}$")
        self.scan(o, f"repatriation ({email})")

    def step(self, o: webdriver.Chrome, action: str, status: str, note: str = "") -> None:
        form = f'form.action:has(input[name=action][value="{action}"])'
        if note:
            o.find_element(By.CSS_SELECTOR, f"{form} textarea[name=note]").send_keys(note)
        _click(o, f"{form} button[type=submit]")
        _wait(o, lambda d: _text(d, "dd.status") == self.t(status))

    def suspend(self, c: webdriver.Chrome, path: str, email: str, member: str) -> None:
        _sign_up(c, self.base, path, email, self.locale)
        _click(c, 'nav a[href="/console/members"]')
        _url(c, r"/console/members$")
        self.scan(c, "members")
        _click(c, f'a[href="/console/members/{member}"]')
        _url(c, rf"/console/members/{member}$")
        self.scan(c, "member")
        c.find_element(By.ID, "reason-SUSPEND").send_keys("referrals left unanswered")
        _click(c, "#do-SUSPEND")
        _wait(c, lambda d: d.find_elements(By.ID, "do-REINSTATE"))
        assert _text(c, "#member-status") == self.t("SUSPENDED")

    def sent_to_sign_in(self, b: webdriver.Chrome) -> None:
        _click(b, 'nav a[href="/console/referrals?box=outbox"]')
        _url(b, r"/console/sign-in$")
        assert b.find_elements(By.ID, "email")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("locale", ["en", "km"])
async def test_the_whole_network_walks_through_the_console(
    hub: RunningHub, browsers: Browsers, locale: str
) -> None:
    if AXE is None and os.environ.get("CI"):
        pytest.fail("HUB_TEST_AXE must name axe-core's axe.min.js in CI")
    walk = Walk(hub, locale)
    people = {
        "a": ("adhoc", StaffRole.CASEWORKER),
        "a-officer": ("adhoc", StaffRole.OFFICER),
        "b": ("ccpcr-koh-kong", StaffRole.CASEWORKER),
        "embassy": ("embassy-bangkok", StaffRole.OFFICER),
        "reception": ("mosavy", StaffRole.OFFICER),
        "coordinator": ("secretariat", StaffRole.COORDINATOR),
    }
    email = {who: f"{who}-{locale}@walk.example" for who in people}
    # 1. Each person's invitation, issued by the operator as the CLI does.
    path = {who: await invite(hub, m, role, email[who]) for who, (m, role) in people.items()}

    # 2. A opens a case, records the survivor's consent and fills in a referral to B.
    a = browsers()
    case_id = await asyncio.to_thread(walk.open_case, a, path["a"], email["a"])
    await asyncio.to_thread(walk.fill_referral, a, case_id)
    # 3. B signs in; her inbox is open and listening, and empty, before A sends.
    b = browsers()
    await asyncio.to_thread(_sign_up, b, hub.base_url, path["b"], email["b"], locale)
    assert b.find_elements(By.CSS_SELECTOR, "tr[data-referral]") == []
    await registered(hub, 2)  # A's form page and B's inbox
    await asyncio.to_thread(walk.send, a)
    async with hub.db.read() as session:
        sent = (await session.scalars(select(Referral).where(Referral.case_id == case_id))).one()
    assert sent.receiver_organization_id == walk.ids["ccpcr-koh-kong"]
    assert sent.urgency == "URGENT"
    await asyncio.to_thread(walk.arrives, b, sent.id)
    await asyncio.to_thread(walk.answer, b, sent.id)
    # 4. A sees the outcome in her outbox.
    outcome = await asyncio.to_thread(walk.outcome, a, sent.id)
    assert walk.t("Services delivered") in outcome and walk.t("MEDICAL") in outcome
    await asyncio.to_thread(a.quit)

    # 5. A's officer asks the embassy; the embassy runs the request up to the return; the
    # reception organisation records the hand-over.
    officer = browsers()
    rid = await asyncio.to_thread(
        walk.request_repatriation, officer, path["a-officer"], email["a-officer"], case_id
    )
    await asyncio.to_thread(officer.quit)
    embassy = browsers()
    await asyncio.to_thread(walk.open_request, embassy, path["embassy"], email["embassy"], rid)
    for action, status in (
        ("ACKNOWLEDGE", "ACKNOWLEDGED"),
        ("VERIFY", "VERIFYING"),
        ("ISSUE_DOCUMENTS", "DOCUMENTS_ISSUED"),
        ("ARRANGE_TRAVEL", "TRAVEL_ARRANGED"),
        ("RETURN", "RETURNED"),
    ):
        await asyncio.to_thread(walk.step, embassy, action, status)
    await asyncio.to_thread(embassy.quit)
    reception = browsers()
    await asyncio.to_thread(
        walk.open_request, reception, path["reception"], email["reception"], rid
    )
    await asyncio.to_thread(
        walk.step, reception, "CONFIRM_HANDOVER", "HANDED_OVER", planted("met at Poipet")
    )
    await asyncio.to_thread(reception.quit)
    async with hub.db.read() as session:
        request = await session.get(RepatriationRequest, rid)
        assert request is not None and request.status == "HANDED_OVER"
        assert request.case_id == case_id

    # 6. The coordinator suspends B; B's next page is the sign-in.
    coordinator = browsers()
    await asyncio.to_thread(
        walk.suspend,
        coordinator,
        path["coordinator"],
        email["coordinator"],
        walk.ids["ccpcr-koh-kong"],
    )
    await asyncio.to_thread(walk.sent_to_sign_in, b)

    # 7. The accessibility scan found nothing serious on any page of the walk.
    if AXE:
        assert len(walk.problems) >= 12, sorted(walk.problems)
        assert {page: found for page, found in walk.problems.items() if found} == {}
