"""Bad input on cases and consent: each refusal has its documented code, writes nothing,
and never repeats the survivor's data back (in the answer, the outbox, the audit trail or
the server log).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

OWNER = "ccpcr-koh-kong"
NAME = planted("Keo Sreyneang Refusalcase")
PHONE = planted("+855 16 909 4411")
SURVIVOR: dict[str, Any] = {
    "fullName": NAME,
    "phone": PHONE,
    "homeProvince": "តាកែវ",  # Takeo in Khmer, recorded as KH-21: a code carries no marker
    "healthNotes": planted("fracture of the left wrist, healing"),
}

CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id version status } }"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id version } }"
WITHDRAW = (
    "mutation($id: ID!, $reason: String!) "
    "{ withdrawConsent(consentId: $id, reason: $reason) { id } }"
)
STATUS = (
    "mutation($id: ID!, $status: CaseStatus!, $note: String, $v: Int) "
    "{ updateCaseStatus(caseId: $id, status: $status, note: $note, expectedVersion: $v) "
    "{ id status version } }"
)
SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit pending") { status } }'
TABLES = (
    "cases",
    "case_fields",
    "case_status_changes",
    "case_parties",
    "consent_grants",
    "consent_withdrawals",
    "disclosures",
    "events",
    "audit",
)


class Refusals:
    """Sends operations that must be refused and checks nothing was written."""

    def __init__(self, hub: RunningHub) -> None:
        self.hub = hub
        self.messages: list[str] = []

    async def counts(self) -> dict[str, int]:
        return {t: await self.hub.scalar(f"SELECT COUNT(*) FROM {t}") for t in TABLES}

    async def expect(
        self,
        code: str,
        who: str | None,
        query: str,
        variables: dict[str, Any],
        token: str | None = None,
    ) -> GraphQLResult:
        before = await self.counts()
        result = await self.hub.gql(who, query, variables, token=token)
        assert result.status == 200, result.body
        assert result.codes and set(result.codes) == {code}, (variables, result.body)
        if result.data is not None:
            assert all(value is None for value in result.data.values()), result.body
        assert await self.counts() == before, variables
        self.messages += [e["message"] for e in result.errors]
        return result


async def open_case(hub: RunningHub, age_band: str = "AGE_24_26") -> dict[str, Any]:
    result = await hub.gql(
        OWNER, CREATE, {"input": {"ageBand": age_band, "sex": "FEMALE", "survivor": SURVIVOR}}
    )
    assert not result.errors, result.errors
    case: dict[str, Any] = result.data["createCase"]
    return case


def consent(case_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "input": {
            "caseId": case_id,
            "grantor": "SURVIVOR",
            "method": "VERBAL",
            "purposes": ["LEGAL_AID"],
            "categories": ["IDENTITY", "LEGAL"],
            **changes,
        }
    }


async def test_consent_is_refused_unless_the_owner_records_it_for_real_members(
    hub: RunningHub,
) -> None:
    refuse = Refusals(hub)
    org = {key: m.organization_id for key, m in hub.members.items()}
    case_id = (await open_case(hub))["id"]
    legal_aid = {"recipientOrganizationIds": [org["adhoc"]]}
    granted = await hub.gql(OWNER, CONSENT, consent(case_id, **legal_aid))
    assert not granted.errors, granted.errors

    # Legal aid is party to the case, but it is not its owner: it may not record consent
    await refuse.expect("FORBIDDEN", "adhoc", CONSENT, consent(case_id, **legal_aid))
    # An NGO that is not party learns nothing, exactly as for a case that does not exist
    stranger = await refuse.expect(
        "NOT_FOUND", "ngo-malaysia", CONSENT, consent(case_id, **legal_aid)
    )
    missing = await refuse.expect(
        "NOT_FOUND", "ngo-malaysia", CONSENT, consent(str(uuid.uuid4()), **legal_aid)
    )
    assert stranger.errors[0]["message"] == missing.errors[0]["message"]

    # Recipients must be active members: an unknown organisation, a suspended one
    await refuse.expect(
        "BAD_USER_INPUT",
        OWNER,
        CONSENT,
        consent(case_id, recipientOrganizationIds=[str(uuid.uuid4())]),
    )
    suspended = await hub.gql("secretariat", SUSPEND, {"id": org["ngo-malaysia"]})
    assert suspended.data["suspendOrganization"]["status"] == "SUSPENDED", suspended.body
    await refuse.expect(
        "BAD_USER_INPUT",
        OWNER,
        CONSENT,
        consent(case_id, recipientOrganizationIds=[org["adhoc"], org["ngo-malaysia"]]),
    )

    # Purposes, categories, grantors and kinds come from fixed lists
    for change in (
        {"purposes": ["MARKETING"]},
        {"categories": ["FINANCIAL"]},
        {"grantor": "SOCIAL_WORKER"},
        {"method": "EMAIL"},
        {"recipientKinds": ["BANK"]},
    ):
        await refuse.expect(
            "BAD_USER_INPUT", OWNER, CONSENT, consent(case_id, **legal_aid, **change)
        )
    # and a grant names at least one purpose, category and recipient
    for change in ({"purposes": [], **legal_aid}, {"categories": [], **legal_aid}, {}):
        await refuse.expect("BAD_USER_INPUT", OWNER, CONSENT, consent(case_id, **change))
    # A grant ends after it starts
    await refuse.expect(
        "BAD_USER_INPUT",
        OWNER,
        CONSENT,
        consent(
            case_id,
            **legal_aid,
            validFrom="2030-01-02T00:00:00+00:00",
            validUntil="2030-01-01T00:00:00+00:00",
        ),
    )
    await refuse.expect(
        "BAD_USER_INPUT",
        OWNER,
        CONSENT,
        consent(
            case_id,
            **legal_aid,
            validFrom="2030-01-01T00:00:00+00:00",
            validUntil="2030-01-01T00:00:00+00:00",
        ),
    )

    # For a child, a guardian consents, not the child
    child = (await open_case(hub, "AGE_9_17"))["id"]
    await refuse.expect("BAD_USER_INPUT", OWNER, CONSENT, consent(child, **legal_aid))
    by_guardian = await hub.gql(OWNER, CONSENT, consent(child, **legal_aid, grantor="GUARDIAN"))
    assert not by_guardian.errors, by_guardian.errors

    # A withdrawn grant cannot be withdrawn again
    grant_id = granted.data["recordConsent"]["id"]
    reason = {"id": grant_id, "reason": "survivor asked"}
    first = await hub.gql(OWNER, WITHDRAW, reason)
    assert not first.errors, first.errors
    await refuse.expect("INVALID_TRANSITION", OWNER, WITHDRAW, reason)
    # and only the owner withdraws: the former recipient is no longer party
    await refuse.expect("NOT_FOUND", "adhoc", WITHDRAW, reason)

    assert not [m for m in refuse.messages if NAME in m or PHONE in m]


async def test_only_the_owner_moves_a_case_and_only_along_allowed_transitions(
    hub: RunningHub,
) -> None:
    refuse = Refusals(hub)
    org = {key: m.organization_id for key, m in hub.members.items()}
    case = await open_case(hub)
    case_id = case["id"]
    shelter = consent(
        case_id,
        purposes=["SERVICE_REFERRAL"],
        categories=["HEALTH"],
        recipientOrganizationIds=[org["ccpcr-shelter"]],
    )
    assert not (await hub.gql(OWNER, CONSENT, shelter)).errors

    move = {"id": case_id, "status": "IN_CARE", "note": "moved to shelter"}
    await refuse.expect("FORBIDDEN", "ccpcr-shelter", STATUS, move)
    await refuse.expect("NOT_FOUND", "ccpcr-svay-rieng", STATUS, move)
    await refuse.expect("NOT_FOUND", OWNER, STATUS, {**move, "id": str(uuid.uuid4())})
    # Someone changed the case since the owner last read it
    await refuse.expect("CONFLICT", OWNER, STATUS, {**move, "v": case["version"] + 1})
    # Already in that status
    await refuse.expect("INVALID_TRANSITION", OWNER, STATUS, {**move, "status": "OPEN"})
    # Not a status at all
    await refuse.expect("BAD_USER_INPUT", OWNER, STATUS, {**move, "status": "ARCHIVED"})

    moved = await hub.gql(OWNER, STATUS, {**move, "v": case["version"]})
    assert moved.data["updateCaseStatus"]["status"] == "IN_CARE", moved.body
    closed = await hub.gql(OWNER, STATUS, {"id": case_id, "status": "CLOSED"})
    assert closed.data["updateCaseStatus"]["status"] == "CLOSED", closed.body
    # A closed case only reopens
    for status in ("IN_CARE", "REFERRED", "FOLLOW_UP", "REPATRIATED"):
        await refuse.expect("INVALID_TRANSITION", OWNER, STATUS, {"id": case_id, "status": status})
    reopened = await hub.gql(OWNER, STATUS, {"id": case_id, "status": "OPEN"})
    assert reopened.data["updateCaseStatus"]["status"] == "OPEN", reopened.body

    # Who has seen what, and the grants themselves, are for the owner only
    for query in (
        "query($id: ID!) { disclosures(caseId: $id) { id } }",
        "query($id: ID!) { consents(caseId: $id) { id } }",
    ):
        await refuse.expect("FORBIDDEN", "ccpcr-shelter", query, {"id": case_id})
        await refuse.expect("NOT_FOUND", "ngo-thailand", query, {"id": case_id})

    # A token without cases:write opens nothing, and one without cases:read reads nothing
    reader = await hub.token(OWNER, scope="cases:read")
    new_case = {"input": {"ageBand": "AGE_24_26", "sex": "FEMALE", "survivor": SURVIVOR}}
    await refuse.expect("FORBIDDEN", None, CREATE, new_case, token=reader)
    await refuse.expect("FORBIDDEN", None, STATUS, {**move, "status": "IN_CARE"}, token=reader)
    writer = await hub.token(OWNER, scope="cases:write")
    await refuse.expect(
        "FORBIDDEN", None, "query($id: ID!) { case(id: $id) { id } }", {"id": case_id}, token=writer
    )
    # The coordinator has no case scopes at all
    await refuse.expect("FORBIDDEN", "secretariat", CREATE, new_case)
    await refuse.expect("FORBIDDEN", "secretariat", "{ cases { edges { node { id } } } }", {})

    assert not [m for m in refuse.messages if NAME in m or PHONE in m]


# Survivor data sent in a shape the hub refuses: each is refused without quoting it back.
BAD_SURVIVOR_DATA: list[tuple[dict[str, Any], str]] = [
    ({"estimatedAge": 200}, "200"),
    ({"estimatedAge": -1}, "-1"),
    ({"estimatedAge": 2**40}, str(2**40)),
    ({"destinationCountry": "XX"}, "XX"),
    ({"dateOfBirth": "2001-02-30"}, "2001-02-30"),
    ({"exploitationStartDate": "last rainy season"}, "last rainy season"),
    ({"dateOfBirth": NAME}, NAME),
    ({"estimatedAge": NAME}, NAME),
    ({"fullName": [NAME, "Sreyneang"]}, NAME),
    ({"identityDocuments": [{"type": "PASSPORT", "number": ""}]}, "PASSPORT"),
    ({"identityDocuments": [{"type": "PASSPORT"}]}, "PASSPORT"),
    ({"fullName": NAME, "nickname": "Neang"}, NAME),
    ({"phone": PHONE, "destinationCountry": "XX"}, PHONE),
]


@pytest.mark.parametrize(("survivor", "value"), BAD_SURVIVOR_DATA)
async def test_bad_survivor_data_is_refused_without_repeating_it(
    hub: RunningHub, survivor: dict[str, Any], value: str, caplog: pytest.LogCaptureFixture
) -> None:
    refuse = Refusals(hub)
    with caplog.at_level(logging.INFO):
        await refuse.expect(
            "BAD_USER_INPUT",
            OWNER,
            CREATE,
            {"input": {"ageBand": "AGE_24_26", "sex": "FEMALE", "survivor": survivor}},
        )
        # a partner system that forgets a required field gets no echo of the rest either
        await refuse.expect(
            "BAD_USER_INPUT", OWNER, CREATE, {"input": {"sex": "FEMALE", "survivor": survivor}}
        )
    assert not [m for m in refuse.messages if value in m], refuse.messages
    assert NAME not in caplog.text


async def test_the_outbox_and_the_audit_trail_never_hold_survivor_data(hub: RunningHub) -> None:
    # Given a case that has been through its life: consent, reads, status changes, withdrawal
    org = {key: m.organization_id for key, m in hub.members.items()}
    case = await open_case(hub)
    granted = await hub.gql(
        OWNER,
        CONSENT,
        consent(
            case["id"], recipientOrganizationIds=[org["adhoc"]], categories=["IDENTITY", "CONTACT"]
        ),
    )
    seen = await hub.gql(
        "adhoc", "query($id: ID!) { case(id: $id) { fullName phone } }", {"id": case["id"]}
    )
    assert seen.data["case"] == {"fullName": NAME, "phone": PHONE}, seen.body
    await hub.gql(OWNER, STATUS, {"id": case["id"], "status": "IN_CARE"})
    await hub.gql(OWNER, WITHDRAW, {"id": granted.data["recordConsent"]["id"], "reason": "asked"})
    await hub.gql(
        "adhoc",
        "mutation($id: ID!) { acknowledgeConsentWithdrawal(consentId: $id) { acknowledgedAt } }",
        {"id": granted.data["recordConsent"]["id"]},
    )

    # Then no event and no audit entry holds her name or phone
    async with hub.db.read() as session:
        payloads = [str(r[0]) for r in await session.execute(text("SELECT payload FROM events"))]
        details = [str(r[0]) for r in await session.execute(text("SELECT detail FROM audit"))]
    assert len(payloads) > 5 and len(details) > 5
    for row in payloads + details:
        assert NAME not in row and PHONE not in row and "KH-21" not in row, row
