"""The secretariat walks a member through its membership, and every step leaves a trace.

PENDING -> ACTIVE -> SUSPENDED -> ACTIVE -> REVOKED, each change with a reason kept in the
organisation's history, one outbox event and one audit entry, committed together.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from notifications.models import Event
from store.audit import AuditEntry
from tests.network import RunningHub, unique

TABLES = ("organizations", "membership_changes", "events", "audit", "api_clients")

REGISTER = """
mutation Register($input: RegisterOrganizationInput!) {
  registerOrganization(input: $input) {
    id name kind country areasServed contactEmail status version
  }
}
"""

HISTORY = """
query History($id: ID!) {
  organization(id: $id) {
    status version
    history { fromStatus toStatus reason byOrganizationId at }
  }
}
"""


def change(mutation: str) -> str:
    return f"""
    mutation Change($id: ID!, $reason: String!, $expectedVersion: Int) {{
      {mutation}(id: $id, reason: $reason, expectedVersion: $expectedVersion) {{
        id status version
      }}
    }}
    """


async def counts(hub: RunningHub) -> dict[str, int]:
    return {table: int(await hub.scalar(f"SELECT COUNT(*) FROM {table}")) for table in TABLES}


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {table: after[table] - before[table] for table in TABLES}


async def events_about(hub: RunningHub, subject_id: str) -> list[Event]:
    async with hub.db.read() as session:
        return list(
            await session.scalars(
                select(Event).where(Event.subject_id == subject_id).order_by(Event.id)
            )
        )


async def audit_about(hub: RunningHub, subject_id: str) -> list[AuditEntry]:
    async with hub.db.read() as session:
        return list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject_id == subject_id)
                .order_by(AuditEntry.id)
            )
        )


async def register(hub: RunningHub, name: str | None = None, **fields: Any) -> dict[str, Any]:
    new = {
        "name": name or unique("Partner NGO Vietnam"),
        "kind": "DESTINATION_NGO",
        "country": "VN",
        "areasServed": ["Ho Chi Minh City"],
        "contactEmail": "referrals@ngo-vietnam.example.org",
    } | fields
    result = await hub.gql("secretariat", REGISTER, {"input": new})
    assert result.errors == [], result.body
    org: dict[str, Any] = result.data["registerOrganization"]
    return org


async def test_the_secretariat_registers_a_new_partner_as_pending(hub: RunningHub) -> None:
    secretariat = hub.members["secretariat"]
    before = await counts(hub)

    org = await register(hub, "Partner NGO Vietnam", country="vn", areasServed=[" Hanoi ", ""])

    assert org["status"] == "PENDING"
    assert org["version"] == 1
    assert org["name"] == "Partner NGO Vietnam"
    assert org["kind"] == "DESTINATION_NGO"
    assert org["country"] == "VN"
    assert org["areasServed"] == ["Hanoi"]
    assert org["contactEmail"] == "referrals@ngo-vietnam.example.org"
    assert grown(before, await counts(hub)) == {
        "organizations": 1,
        "membership_changes": 1,
        "events": 1,
        "audit": 1,
        "api_clients": 0,
    }
    [event] = await events_about(hub, org["id"])
    assert (event.topic, event.type) == ("ORGANIZATION", "ORGANIZATION_REGISTERED")
    assert {org["id"], secretariat.organization_id} <= set(event.audience)
    assert event.actor_organization_id == secretariat.organization_id
    assert "ngo-vietnam.example.org" not in json.dumps(event.payload)
    [entry] = await audit_about(hub, org["id"])
    assert (entry.action, entry.subject_type) == ("organization.register", "Organization")
    assert entry.actor_organization_id == secretariat.organization_id
    assert entry.actor_client_id == secretariat.client_id
    assert "ngo-vietnam.example.org" not in json.dumps(entry.detail)


async def test_a_member_goes_from_pending_to_revoked_and_every_step_is_recorded(
    hub: RunningHub,
) -> None:
    secretariat = hub.members["secretariat"]
    org = await register(hub)
    steps = [
        ("activateOrganization", "agreement signed", "PENDING", "ACTIVE", "ORGANIZATION_ACTIVATED"),
        ("suspendOrganization", "data breach under review", "ACTIVE", "SUSPENDED",
         "ORGANIZATION_SUSPENDED"),
        ("reinstateOrganization", "review closed, controls fixed", "SUSPENDED", "ACTIVE",
         "ORGANIZATION_REINSTATED"),
        ("revokeMembership", "left the network", "ACTIVE", "REVOKED", "MEMBERSHIP_REVOKED"),
    ]  # fmt: skip
    version = org["version"]
    for mutation, reason, source, target, event_type in steps:
        before = await counts(hub)

        result = await hub.gql(
            "secretariat",
            change(mutation),
            {"id": org["id"], "reason": f"  {reason}\n", "expectedVersion": version},
        )

        assert result.errors == [], (mutation, result.body)
        assert result.data[mutation] == {"id": org["id"], "status": target, "version": version + 1}
        version += 1
        assert grown(before, await counts(hub)) == {
            "organizations": 0,
            "membership_changes": 1,
            "events": 1,
            "audit": 1,
            "api_clients": 0,
        }, mutation
        event = (await events_about(hub, org["id"]))[-1]
        assert (event.topic, event.type) == ("ORGANIZATION", event_type)
        assert {org["id"], secretariat.organization_id} <= set(event.audience)
        assert event.payload == {
            "organizationId": org["id"],
            "from": source,
            "to": target,
            "reason": reason,
        }
        entry = (await audit_about(hub, org["id"]))[-1]
        assert entry.action == f"organization.{mutation_action(mutation)}"
        assert entry.actor_organization_id == secretariat.organization_id
        assert entry.detail == {"from": source, "to": target, "reason": reason}

    result = await hub.gql("secretariat", HISTORY, {"id": org["id"]})
    assert result.errors == [], result.body
    assert result.data["organization"]["status"] == "REVOKED"
    history = result.data["organization"]["history"]
    assert [(h["fromStatus"], h["toStatus"], h["reason"]) for h in history] == [
        (None, "PENDING", "registered"),
        *[(source, target, reason) for _, reason, source, target, _ in steps],
    ]
    assert {h["byOrganizationId"] for h in history} == {secretariat.organization_id}
    moments = [datetime.fromisoformat(h["at"]) for h in history]
    assert {m.utcoffset() for m in moments} == {timedelta(0)}
    assert moments == sorted(moments)
    # After the lifecycle the outbox and the audit trail hold five entries each for it.
    assert len(await events_about(hub, org["id"])) == 5
    assert len(await audit_about(hub, org["id"])) == 5


def mutation_action(mutation: str) -> str:
    return {
        "activateOrganization": "activate",
        "suspendOrganization": "suspend",
        "reinstateOrganization": "reinstate",
        "revokeMembership": "revoke",
    }[mutation]


async def test_a_change_without_expected_version_still_applies(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"]

    result = await hub.gql(
        "secretariat",
        change("suspendOrganization"),
        {"id": shelter.organization_id, "reason": "unpaid audit findings"},
    )

    assert result.errors == [], result.body
    assert result.data["suspendOrganization"]["status"] == "SUSPENDED"
    status = await hub.scalar(
        "SELECT status FROM organizations WHERE id = :id", id=shelter.organization_id
    )
    assert status == "SUSPENDED"


async def test_a_reason_of_exactly_two_thousand_characters_is_accepted(hub: RunningHub) -> None:
    org = await register(hub)

    result = await hub.gql(
        "secretariat", change("activateOrganization"), {"id": org["id"], "reason": "r" * 2000}
    )

    assert result.errors == [], result.body
    assert result.data["activateOrganization"]["status"] == "ACTIVE"


async def test_ten_coordinators_suspending_the_same_member_at_once_suspend_it_once(
    hub: RunningHub,
) -> None:
    ngo = hub.members["ngo-malaysia"]
    token = await hub.token("secretariat")
    before = await counts(hub)
    before_changes = int(
        await hub.scalar(
            "SELECT COUNT(*) FROM membership_changes WHERE organization_id = :id",
            id=ngo.organization_id,
        )
    )
    before_events = len(await events_about(hub, ngo.organization_id))

    results = await asyncio.gather(
        *(
            hub.gql(
                None,
                change("suspendOrganization"),
                {"id": ngo.organization_id, "reason": f"complaint #{i}"},
                token=token,
            )
            for i in range(10)
        )
    )

    winners = [r for r in results if not r.errors]
    losers = [r for r in results if r.errors]
    assert len(winners) == 1, [r.body for r in results]
    assert winners[0].data["suspendOrganization"]["status"] == "SUSPENDED"
    for loser in losers:
        assert loser.codes in (["INVALID_TRANSITION"], ["CONFLICT"]), loser.body
        assert loser.data is None
    assert grown(before, await counts(hub)) == {
        "organizations": 0,
        "membership_changes": 1,
        "events": 1,
        "audit": 1,
        "api_clients": 0,
    }
    changes = int(
        await hub.scalar(
            "SELECT COUNT(*) FROM membership_changes WHERE organization_id = :id",
            id=ngo.organization_id,
        )
    )
    assert changes == before_changes + 1
    new_events = (await events_about(hub, ngo.organization_id))[before_events:]
    assert [e.type for e in new_events] == ["ORGANIZATION_SUSPENDED"]
    assert (
        await hub.scalar("SELECT version FROM organizations WHERE id = :id", id=ngo.organization_id)
        == winners[0].data["suspendOrganization"]["version"]
    )
