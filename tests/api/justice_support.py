"""Steps shared by the legal case flow and refusal tests: a fishing-fleet prosecution
that ADHOC follows for survivors whose cases shelters own."""

from __future__ import annotations

import json
from typing import Any

from tests.api.repatriation_support import fetch
from tests.api.test_repatriation_flow import CONSENT, CREATE
from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

LEGAL_AID = "adhoc"
FIELDS = (
    "id status version court complaintFiledOn openedById legalAidId verdict judgmentOn "
    "compensationAwarded { amount currency } compensationPaid { amount currency } "
    "survivors { caseId linkedBy case { id fullName legalNotes healthNotes } } "
    "hearings { id date court transportProvided accommodationProvided outcomeNote recordedBy } "
    "history { action fromStatus toStatus by version note } "
    "withheld { field category reason }"
)
OPEN = f"""
mutation($input: OpenLegalCaseInput!) {{ openLegalCase(input: $input) {{ {FIELDS} }} }}"""
READ = f"query($id: ID!) {{ legalCase(id: $id) {{ {FIELDS} }} }}"
LINK = f"""
mutation($id: ID!, $case: ID!) {{
  linkCaseToLegalCase(legalCaseId: $id, caseId: $case) {{ {FIELDS} }}
}}"""
UPDATE = f"""
mutation($id: ID!, $status: LegalCaseStatus!, $reason: String, $v: Int) {{
  updateLegalCase(id: $id, status: $status, reason: $reason, expectedVersion: $v) {{ {FIELDS} }}
}}"""
JUDGMENT = f"""
mutation($id: ID!, $input: JudgmentInput!, $v: Int) {{
  recordJudgment(id: $id, input: $input, expectedVersion: $v) {{ {FIELDS} }}
}}"""
COMPENSATION = f"""
mutation($id: ID!, $input: CompensationInput!, $v: Int) {{
  recordCompensation(id: $id, input: $input, expectedVersion: $v) {{ {FIELDS} }}
}}"""
HEARING = f"""
mutation($id: ID!, $input: HearingInput!) {{
  recordHearing(legalCaseId: $id, input: $input) {{ {FIELDS} }}
}}"""
LIST = """
query($status: LegalCaseStatus, $first: Int!, $after: String) {
  legalCases(status: $status, first: $first, after: $after) {
    edges { cursor node { id status } }
    pageInfo { hasNextPage endCursor }
  }
}"""
TABLES = (
    "legal_cases",
    "legal_case_links",
    "legal_case_changes",
    "legal_case_hearings",
    "case_parties",
    "events",
    "audit",
)


def org(hub: RunningHub, member: str) -> str:
    return hub.members[member].organization_id


async def consent_for_legal_aid(
    hub: RunningHub,
    case_id: str,
    owner: str,
    categories: tuple[str, ...] = ("IDENTITY", "LEGAL"),
    recipients: tuple[str, ...] = (LEGAL_AID,),
) -> str:
    """The survivor's consent, recorded by her case's owner, naming ADHOC for LEGAL_AID."""
    result = await hub.gql(
        owner,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "THUMBPRINT",
                "purposes": ["LEGAL_AID"],
                "categories": list(categories),
                "recipientOrganizationIds": [org(hub, r) for r in recipients],
            }
        },
    )
    assert not result.errors, result.errors
    consent_id: str = result.data["recordConsent"]["id"]
    return consent_id


async def survivor_case(hub: RunningHub, owner: str, name: str, *, consent: bool = True) -> str:
    """A case of ``owner`` with legal notes, and (by default) consent for ADHOC."""
    survivor = {
        "fullName": name,
        "legalNotes": planted("held on the boat for three years"),
        "healthNotes": planted("injured hand"),
    }
    created = await hub.gql(
        owner,
        CREATE,
        {
            "input": {
                "ageBand": "AGE_21_23",
                "sex": "MALE",
                "nationality": "KH",
                "survivor": survivor,
            }
        },
    )
    assert not created.errors, created.errors
    case_id: str = created.data["createCase"]["id"]
    if consent:
        await consent_for_legal_aid(hub, case_id, owner)
    return case_id


def open_input(hub: RunningHub, case_ids: list[str], key: str, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "caseIds": case_ids,
            "legalAidOrganizationId": org(hub, LEGAL_AID),
            "court": "Koh Kong Provincial Court",
            "complaintFiledOn": "2026-10-02",
            "idempotencyKey": key,
            **extra,
        }
    }


async def opened(hub: RunningHub, who: str, case_ids: list[str], key: str) -> dict[str, Any]:
    result = await hub.gql(who, OPEN, open_input(hub, case_ids, key))
    assert not result.errors, result.errors
    legal: dict[str, Any] = result.data["openLegalCase"]
    return legal


async def step(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], field: str
) -> dict[str, Any]:
    result = await hub.gql(who, query, variables)
    assert not result.errors, (field, result.errors)
    data: dict[str, Any] = result.data[field]
    return data


async def read(hub: RunningHub, who: str, legal_id: str) -> GraphQLResult:
    return await hub.gql(who, READ, {"id": legal_id})


async def counts(hub: RunningHub) -> dict[str, int]:
    return {t: int(await hub.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


async def events_about(hub: RunningHub, legal_id: str) -> list[tuple[str, list[str], Any]]:
    rows = await fetch(
        hub,
        "SELECT type, audience, payload FROM events WHERE subject_id = :id ORDER BY id",
        id=legal_id,
    )
    return [
        (
            kind,
            json.loads(a) if isinstance(a, str) else a,
            json.loads(p) if isinstance(p, str) else p,
        )
        for kind, a, p in rows
    ]
