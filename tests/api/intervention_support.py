"""Steps shared by the intervention and group tests: a person still abroad, reported by her
mother to ADHOC, and the consent that lets the embassy in Bangkok look for her."""

from __future__ import annotations

from typing import Any

from tests.api.repatriation_support import CONSENT, CREATE, do, orgs
from tests.marker_watch import planted
from tests.network import RunningHub

TABLES = (
    "intervention_requests",
    "intervention_changes",
    "repatriation_requests",
    "consent_grants",
    "consent_withdrawals",
    "family_consent_bases",
    "case_parties",
    "events",
    "audit",
)
REQUEST = """
mutation($input: RequestInterventionInput!) {
  requestIntervention(input: $input) {
    id status outcome version reportedBy acknowledgeBy lastKnownLocation caseId
  }
}"""
UPDATE = """
mutation($id: ID!, $status: InterventionStatus!, $note: String, $v: Int) {
  updateIntervention(id: $id, status: $status, note: $note, expectedVersion: $v) {
    id status outcome version
  }
}"""
VIEW = """
query($id: ID!) {
  interventionRequest(id: $id) {
    id status outcome version lastKnownLocation repatriationRequestId overdue
    withheld { field category reason }
    history { action fromStatus toStatus by version note }
    case { id status fullName }
  }
}"""
REPATRIATE = """
mutation($id: ID!, $input: RepatriationFromInterventionInput!, $v: Int) {
  requestRepatriationFromIntervention(interventionId: $id, input: $input, expectedVersion: $v) {
    id status caseId embassyId receptionId
  }
}"""
CONSENTS = """
query($id: ID!) {
  consents(caseId: $id) { id version grantor withdrawal { at reason } }
}"""

PERSON = planted("Sok Dara")
WHERE = planted("a karaoke compound behind the market in Songkhla")
MOTHER = planted("Mao Srey, her mother")
WHY = planted("held by her employer, phone taken")


async def counts(hub: RunningHub) -> dict[str, int]:
    return {t: int(await hub.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


async def person_abroad(hub: RunningHub, owner: str = "adhoc", name: str = PERSON) -> str:
    created = await do(
        hub,
        owner,
        CREATE,
        {
            "input": {
                "ageBand": "AGE_18_20",
                "sex": "FEMALE",
                "nationality": "KH",
                "survivor": {"fullName": name},
            }
        },
        "createCase",
    )
    case_id: str = created["id"]
    return case_id


def family_consent(
    hub: RunningHub,
    case_id: str,
    recipients: list[str],
    categories: list[str] | None = None,
    basis: dict[str, Any] | None = None,
    grantor: str = "FAMILY",
) -> dict[str, Any]:
    """A relative's consent for the embassy (and whoever else) to act, with its basis."""
    org = orgs(hub)
    return {
        "input": {
            "caseId": case_id,
            "grantor": grantor,
            "method": "VERBAL",
            "purposes": ["REPATRIATION"],
            "categories": categories or ["IDENTITY", "LOCATION"],
            "recipientOrganizationIds": [org[r] for r in recipients],
            "familyBasis": basis
            if basis is not None
            else {"reportedBy": MOTHER, "relationship": "PARENT", "whyNotSelf": WHY},
        }
    }


async def give_family_consent(hub: RunningHub, case_id: str, recipients: list[str]) -> str:
    recorded = await do(
        hub, "adhoc", CONSENT, {**family_consent(hub, case_id, recipients)}, "recordConsent"
    )
    grant_id: str = recorded["id"]
    return grant_id


async def own_consent(
    hub: RunningHub, case_id: str, recipients: list[str], categories: list[str]
) -> str:
    """The person's own consent, once the embassy has reached her."""
    variables = family_consent(hub, case_id, recipients, categories, grantor="SURVIVOR")
    del variables["input"]["familyBasis"]
    recorded = await do(hub, "adhoc", CONSENT, variables, "recordConsent")
    grant_id: str = recorded["id"]
    return grant_id


def intervention_input(hub: RunningHub, case_id: str, key: str, **overrides: Any) -> dict[str, Any]:
    return {
        "caseId": case_id,
        "embassyId": orgs(hub)["embassy-bangkok"],
        "currentCountry": "TH",
        "reportedBy": "FAMILY",
        "urgency": "URGENT",
        "idempotencyKey": key,
        "lastKnownLocation": WHERE,
        **overrides,
    }


async def an_intervention(hub: RunningHub, key: str) -> tuple[str, str]:
    """Given ADHOC's case with the mother's consent, an intervention request to Bangkok."""
    case_id = await person_abroad(hub)
    await give_family_consent(hub, case_id, ["embassy-bangkok"])
    sent = await do(
        hub,
        "adhoc",
        REQUEST,
        {"input": intervention_input(hub, case_id, key)},
        "requestIntervention",
    )
    return case_id, sent["id"]


def repatriation_input(hub: RunningHub, key: str) -> dict[str, Any]:
    return {
        "receivingOrganizationId": orgs(hub)["mosavy"],
        "situation": "SHELTER",
        "documentsHeld": ["NONE"],
        "assistanceNeeded": ["TRAVEL_DOCUMENT", "ESCORT"],
        "urgency": "URGENT",
        "idempotencyKey": key,
    }
