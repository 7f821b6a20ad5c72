"""Steps the referral tests share: send, act, run the deadline clock, read the outbox."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text

from cases.deadlines import DeadlinePolicy, DeadlineReport, run_deadlines
from tests.api.test_cases_flow import CONSENT
from tests.api.test_referral_flow import SEND
from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

SENDER = "ccpcr-koh-kong"
TABLES = ("referrals", "referral_changes", "case_parties", "events", "audit")
FIELDS = (
    "id status version overdue reason notes acknowledgeBy respondBy "
    "history { action fromStatus toStatus by at version reason }"
)


def send_input(
    hub: RunningHub,
    case_id: str,
    receiver: str,
    key: str,
    services: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A referral of ``case_id`` to demo member ``receiver`` (or a raw organisation id)."""
    org = hub.members[receiver].organization_id if receiver in hub.members else receiver
    return {
        "input": {
            "caseId": case_id,
            "receivingOrganizationId": org,
            "services": services or ["LEGAL_AID"],
            "urgency": "URGENT",
            "reason": planted("wants to file a complaint against the broker"),
            "idempotencyKey": key,
            **extra,
        }
    }


async def send(
    hub: RunningHub,
    case_id: str,
    receiver: str,
    key: str,
    services: list[str] | None = None,
    *,
    sender: str = SENDER,
    **extra: Any,
) -> GraphQLResult:
    return await hub.gql(sender, SEND, send_input(hub, case_id, receiver, key, services, **extra))


async def sent(
    hub: RunningHub,
    case_id: str,
    receiver: str,
    key: str,
    services: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Send and insist it worked; the new referral."""
    result = await send(hub, case_id, receiver, key, services, **extra)
    assert not result.errors, result.errors
    referral: dict[str, Any] = result.data["sendReferral"]
    assert referral["status"] == "SENT" and referral["version"] == 1
    return referral


async def act(
    hub: RunningHub,
    who: str | None,
    mutation: str,
    referral_id: str,
    args: str = "",
    *,
    token: str | None = None,
) -> GraphQLResult:
    """One lifecycle mutation, e.g. act(hub, "adhoc", "holdReferral", rid, reason("no bed"))."""
    query = f"mutation($id: ID!) {{ {mutation}(id: $id{args}) {{ {FIELDS} }} }}"
    return await hub.gql(who, query, {"id": referral_id}, token=token)


def reason(text: str) -> str:
    """A reason argument, quoted as GraphQL (JSON string syntax is valid GraphQL)."""
    return f", reason: {json.dumps(text)}"


async def moved(
    hub: RunningHub, who: str, mutation: str, referral_id: str, args: str = ""
) -> dict[str, Any]:
    """Act and insist it worked; the referral after the step."""
    result = await act(hub, who, mutation, referral_id, args)
    assert not result.errors, (mutation, result.errors)
    referral: dict[str, Any] = result.data[mutation]
    return referral


async def read_referral(hub: RunningHub, who: str, referral_id: str) -> GraphQLResult:
    return await hub.gql(
        who, f"query($id: ID!) {{ referral(id: $id) {{ {FIELDS} }} }}", {"id": referral_id}
    )


async def record_consent(
    hub: RunningHub,
    case_id: str,
    purposes: list[str],
    *,
    members: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
    categories: list[str] | None = None,
) -> None:
    """The survivor's consent, naming organisations (which become party to the case) or only
    kinds of organisation (which become party only through a referral)."""
    result = await hub.gql(
        SENDER,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": purposes,
                "categories": categories or ["IDENTITY", "LEGAL"],
                "recipientOrganizationIds": [hub.members[m].organization_id for m in members],
                "recipientKinds": list(kinds),
            }
        },
    )
    assert not result.errors, result.errors


async def rows(hub: RunningHub, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with hub.db.read() as session:
        return [tuple(r) for r in (await session.execute(text(sql), params)).all()]


def as_json(value: Any) -> Any:
    """JSON columns come back parsed on PostgreSQL and as text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


async def events_about(hub: RunningHub, subject_id: str) -> list[dict[str, Any]]:
    found = await rows(
        hub,
        "SELECT type, audience, payload, actor_organization_id FROM events "
        "WHERE subject_id = :id ORDER BY id",
        id=subject_id,
    )
    return [
        {"type": t, "audience": sorted(as_json(a)), "payload": as_json(p), "actor": actor}
        for t, a, p, actor in found
    ]


async def audit_about(hub: RunningHub, subject_id: str) -> list[tuple[Any, ...]]:
    return await rows(
        hub,
        "SELECT action, actor_organization_id, actor_client_id FROM audit "
        "WHERE subject_id = :id ORDER BY id",
        id=subject_id,
    )


async def counts(hub: RunningHub) -> dict[str, int]:
    return {table: await hub.scalar(f"SELECT COUNT(*) FROM {table}") for table in TABLES}


async def deadlines(hub: RunningHub, now: datetime) -> DeadlineReport:
    """One pass of the hub's deadline job at a fake ``now`` (the in-hub scheduler is off)."""
    return await run_deadlines(hub.db, hub.app.state.hub.cipher, now, DeadlinePolicy())


def at(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None
    return moment


async def case_status(hub: RunningHub, case_id: str) -> tuple[str, list[str]]:
    result = await hub.gql(
        SENDER,
        "query($id: ID!) { case(id: $id) { status statusHistory { status } } }",
        {"id": case_id},
    )
    assert not result.errors, result.errors
    case = result.data["case"]
    return case["status"], [s["status"] for s in case["statusHistory"]]
