"""Steps and look-ups shared by the repatriation story and refusal tests."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from tests.api.test_repatriation_flow import CONSENT, CREATE
from tests.api.test_repatriation_flow import REQUEST as REQUEST
from tests.marker_watch import planted
from tests.network import RunningHub

TABLES = ("repatriation_requests", "repatriation_changes", "case_parties", "events", "audit")
VIEW = """
query($id: ID!) {
  repatriationRequest(id: $id) {
    id status heldFrom version overdue acknowledgeBy embassyId requesterId receptionId
    travelPlan { date route escort }
    costs { item amount currency paidBy }
    history { action fromStatus toStatus by at version note }
  }
}"""
UPDATE = """
mutation($id: ID!, $status: RepatriationStatus!, $note: String, $v: Int) {
  updateRepatriation(id: $id, status: $status, note: $note, expectedVersion: $v) {
    id status heldFrom version
  }
}"""
ACK = "mutation($id: ID!) { acknowledgeRepatriation(id: $id) { id status version overdue } }"
HANDOVER = """
mutation($id: ID!, $note: String) { confirmHandover(id: $id, note: $note) { id status version } }"""
PLAN = """
mutation($id: ID!, $input: TravelPlanInput!) {
  recordTravelPlan(id: $id, input: $input) { id version travelPlan { date route escort } }
}"""
COST = """
mutation($id: ID!, $input: CostInput!) {
  recordRepatriationCost(id: $id, input: $input) { id costs { item amount currency paidBy } }
}"""
BOX = """
query($box: ReferralBox!, $status: RepatriationStatus, $first: Int!, $after: String) {
  repatriationRequests(box: $box, status: $status, first: $first, after: $after) {
    edges { cursor node { id status } }
    pageInfo { hasNextPage endCursor }
  }
}"""
CASE = "query($id: ID!) { case(id: $id) { id status statusHistory { status by } } }"


def orgs(hub: RunningHub) -> dict[str, str]:
    return {k: m.organization_id for k, m in hub.members.items()}


def decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def fetch(hub: RunningHub, sql: str, **params: Any) -> list[Any]:
    async with hub.db.read() as session:
        return list((await session.execute(text(sql), params)).all())


async def counts(hub: RunningHub) -> dict[str, int]:
    return {t: int(await hub.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


NAME = planted("Chan Vuthy")


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after[t] - before[t] for t in TABLES}


async def open_case(hub: RunningHub, owner: str = "adhoc", name: str = NAME) -> str:
    survivor = {"fullName": name, "currentLocation": planted("IDC Suan Phlu, Bangkok")}
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
    return case_id


async def give_consent(
    hub: RunningHub,
    case_id: str,
    recipients: list[str],
    owner: str = "adhoc",
    purposes: tuple[str, ...] = ("REPATRIATION",),
) -> None:
    org = orgs(hub)
    consent = await hub.gql(
        owner,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "THUMBPRINT",
                "purposes": list(purposes),
                "categories": ["IDENTITY", "LOCATION"],
                "recipientOrganizationIds": [org[r] for r in recipients],
            }
        },
    )
    assert not consent.errors, consent.errors


def request_input(hub: RunningHub, case_id: str, key: str, **overrides: Any) -> dict[str, Any]:
    org = orgs(hub)
    return {
        "caseId": case_id,
        "embassyId": org["embassy-bangkok"],
        "receivingOrganizationId": org["mosavy"],
        "currentCountry": "TH",
        "situation": "IMMIGRATION_DETENTION",
        "documentsHeld": ["NONE"],
        "assistanceNeeded": ["NATIONALITY_VERIFICATION", "TRAVEL_DOCUMENT", "ESCORT"],
        "urgency": "URGENT",
        "idempotencyKey": key,
        **overrides,
    }


async def a_request(hub: RunningHub, key: str, **overrides: Any) -> tuple[str, str]:
    """Given ADHOC's case with the survivor's consent, a request to the embassy in Bangkok."""
    case_id = await open_case(hub)
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    sent = await hub.gql("adhoc", REQUEST, {"input": request_input(hub, case_id, key, **overrides)})
    assert not sent.errors, sent.errors
    return case_id, sent.data["requestRepatriation"]["id"]


async def last_event(hub: RunningHub, rid: str) -> tuple[str, list[str], dict[str, Any]]:
    rows = await fetch(
        hub,
        "SELECT type, audience, payload FROM events WHERE subject_id = :rid ORDER BY id DESC",
        rid=rid,
    )
    kind, audience, payload = rows[0]
    return kind, decoded(audience), decoded(payload)


async def do(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], field: str
) -> dict[str, Any]:
    result = await hub.gql(who, query, variables)
    assert not result.errors, (field, result.errors)
    data: dict[str, Any] = result.data[field]
    return data
