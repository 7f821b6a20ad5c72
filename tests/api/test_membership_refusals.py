"""Membership changes the hub refuses, and the proof that a refusal changes nothing.

Every refusal carries its documented code, and the organisations, their history, the outbox,
the audit trail and the API clients are exactly as they were before.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.network import GraphQLResult, RunningHub, unique

TABLES = ("organizations", "membership_changes", "events", "audit", "api_clients")

REGISTER = """
mutation Register($input: RegisterOrganizationInput!) {
  registerOrganization(input: $input) { id status version }
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


async def snapshot(hub: RunningHub, organization_id: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        table: await hub.scalar(f"SELECT COUNT(*) FROM {table}") for table in TABLES
    }
    if organization_id is not None:
        for column in ("status", "version"):
            state[column] = await hub.scalar(
                f"SELECT {column} FROM organizations WHERE id = :id", id=organization_id
            )
    return state


async def refused(
    hub: RunningHub,
    who: str,
    query: str,
    variables: dict[str, Any],
    code: str,
    organization_id: str | None = None,
) -> GraphQLResult:
    """Run an operation the hub must refuse with ``code``, and check nothing changed."""
    before = await snapshot(hub, organization_id)
    result = await hub.gql(who, query, variables)
    assert result.codes == [code], result.body
    assert result.data is None, result.body
    assert await snapshot(hub, organization_id) == before
    return result


async def register(hub: RunningHub) -> str:
    new = {"name": unique("Partner NGO Vietnam"), "kind": "DESTINATION_NGO", "country": "VN"}
    result = await hub.gql("secretariat", REGISTER, {"input": new})
    assert result.errors == [], result.body
    org_id: str = result.data["registerOrganization"]["id"]
    return org_id


async def set_status(hub: RunningHub, mutation: str, org_id: str) -> None:
    result = await hub.gql("secretariat", change(mutation), {"id": org_id, "reason": "setup"})
    assert result.errors == [], result.body


# --- only the coordinator manages membership ------------------------------------------------


@pytest.mark.parametrize("caller", ["ccpcr-shelter", "embassy-bangkok"])
async def test_a_shelter_or_an_embassy_cannot_change_anyones_membership(
    hub: RunningHub, caller: str
) -> None:
    # Given one organisation in each state a membership mutation would accept
    pending = await register(hub)
    suspended = hub.members["ngo-thailand"].organization_id
    await set_status(hub, "suspendOrganization", suspended)
    active = hub.members["adhoc"].organization_id
    attempts = [
        ("activateOrganization", pending),
        ("suspendOrganization", active),
        ("reinstateOrganization", suspended),
        ("revokeMembership", active),
        ("suspendOrganization", hub.members[caller].organization_id),
    ]
    for mutation, target in attempts:
        await refused(
            hub, caller, change(mutation), {"id": target, "reason": "because"}, "FORBIDDEN", target
        )
    new = {"name": unique("Rogue Shelter"), "kind": "SERVICE_PROVIDER", "country": "KH"}
    await refused(hub, caller, REGISTER, {"input": new}, "FORBIDDEN")


# --- the state machine ------------------------------------------------------------------------


async def test_revocation_is_final(hub: RunningHub) -> None:
    org = hub.members["ngo-malaysia"].organization_id
    await set_status(hub, "revokeMembership", org)
    for mutation in (
        "reinstateOrganization",
        "activateOrganization",
        "suspendOrganization",
        "revokeMembership",
    ):
        await refused(
            hub, "secretariat", change(mutation), {"id": org, "reason": "second chance"},
            "INVALID_TRANSITION", org,
        )  # fmt: skip


async def test_a_pending_organisation_cannot_be_suspended_or_reinstated(hub: RunningHub) -> None:
    org = await register(hub)
    for mutation in ("suspendOrganization", "reinstateOrganization"):
        await refused(
            hub, "secretariat", change(mutation), {"id": org, "reason": "complaint"},
            "INVALID_TRANSITION", org,
        )  # fmt: skip


async def test_an_active_member_cannot_be_activated_again(hub: RunningHub) -> None:
    org = hub.members["adhoc"].organization_id
    await refused(
        hub, "secretariat", change("activateOrganization"), {"id": org, "reason": "again"},
        "INVALID_TRANSITION", org,
    )  # fmt: skip


@pytest.mark.parametrize("reason", ["", "   ", " \t\n "])
async def test_a_change_needs_a_reason(hub: RunningHub, reason: str) -> None:
    org = hub.members["ccpcr-koh-kong"].organization_id
    await refused(
        hub, "secretariat", change("suspendOrganization"), {"id": org, "reason": reason},
        "BAD_USER_INPUT", org,
    )  # fmt: skip


async def test_a_reason_longer_than_two_thousand_characters_is_refused(hub: RunningHub) -> None:
    org = hub.members["ccpcr-koh-kong"].organization_id
    await refused(
        hub, "secretariat", change("suspendOrganization"), {"id": org, "reason": "r" * 2001},
        "BAD_USER_INPUT", org,
    )  # fmt: skip


async def test_a_change_based_on_a_stale_version_is_a_conflict(hub: RunningHub) -> None:
    org = hub.members["ccpcr-svay-rieng"].organization_id
    seen = int(await hub.scalar("SELECT version FROM organizations WHERE id = :id", id=org))
    # Someone else suspends and reinstates the member meanwhile.
    await set_status(hub, "suspendOrganization", org)
    await set_status(hub, "reinstateOrganization", org)

    await refused(
        hub, "secretariat", change("suspendOrganization"),
        {"id": org, "reason": "late complaint", "expectedVersion": seen}, "CONFLICT", org,
    )  # fmt: skip


@pytest.mark.parametrize(
    "mutation",
    ["activateOrganization", "suspendOrganization", "reinstateOrganization", "revokeMembership"],
)
async def test_changing_an_unknown_organisation_is_not_found(
    hub: RunningHub, mutation: str
) -> None:
    await refused(
        hub, "secretariat", change(mutation), {"id": str(uuid.uuid4()), "reason": "typo"},
        "NOT_FOUND",
    )  # fmt: skip


@pytest.mark.parametrize("mutation", ["suspendOrganization", "revokeMembership"])
async def test_the_coordinator_cannot_suspend_or_revoke_itself(
    hub: RunningHub, mutation: str
) -> None:
    own = hub.members["secretariat"].organization_id
    await refused(
        hub, "secretariat", change(mutation), {"id": own, "reason": "stepping down"},
        "FORBIDDEN", own,
    )  # fmt: skip


# --- registration input ---------------------------------------------------------------------


@pytest.mark.parametrize("country", ["XX", "Cambodia", "KHM", ""])
async def test_a_country_must_be_an_iso_code(hub: RunningHub, country: str) -> None:
    new = {"name": unique("Partner NGO"), "kind": "DESTINATION_NGO", "country": country}
    await refused(hub, "secretariat", REGISTER, {"input": new}, "BAD_USER_INPUT")


@pytest.mark.parametrize("name", ["ADHOC Legal Aid", "  ADHOC   Legal Aid "])
async def test_two_organisations_cannot_share_a_name(hub: RunningHub, name: str) -> None:
    new = {"name": name, "kind": "LEGAL_AID", "country": "KH"}
    await refused(hub, "secretariat", REGISTER, {"input": new}, "CONFLICT")


async def test_an_unknown_kind_is_refused_by_validation(hub: RunningHub) -> None:
    inline = """
    mutation { registerOrganization(input: {name: "Charity X", kind: CHARITY, country: "KH"}) {
      id } }
    """
    result = await refused(hub, "secretariat", inline, {}, "BAD_USER_INPUT")
    assert "CHARITY" in result.errors[0]["message"]
    assert "path" not in result.errors[0] or result.errors[0]["path"] is None

    new = {"name": "Charity X", "kind": "CHARITY", "country": "KH"}
    await refused(hub, "secretariat", REGISTER, {"input": new}, "BAD_USER_INPUT")


async def test_a_version_that_is_not_a_number_is_bad_input(hub: RunningHub) -> None:
    org = hub.members["adhoc"].organization_id
    await refused(
        hub, "secretariat", change("suspendOrganization"),
        {"id": org, "reason": "complaint", "expectedVersion": "two"}, "BAD_USER_INPUT", org,
    )  # fmt: skip
