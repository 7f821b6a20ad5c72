"""What the hub refuses about intervention requests and a family member's consent: each a
documented error code, and nothing written (no request, history row, grant, basis, case
party, event or audit entry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cases.deadlines import run_deadlines
from tests.api.intervention_support import (
    CONSENTS,
    MOTHER,
    REPATRIATE,
    REQUEST,
    UPDATE,
    VIEW,
    WHY,
    an_intervention,
    counts,
    family_consent,
    give_family_consent,
    intervention_input,
    own_consent,
    person_abroad,
    repatriation_input,
)
from tests.api.repatriation_support import CONSENT, do, last_event, orgs
from tests.network import GraphQLResult, RunningHub

WITHDRAW = """
mutation($id: ID!, $reason: String!) { withdrawConsent(consentId: $id, reason: $reason) { id } }"""
SUSPEND = """
mutation($id: ID!, $reason: String!) { suspendOrganization(id: $id, reason: $reason) { status } }"""


async def refused(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], code: str
) -> GraphQLResult:
    """``who`` is refused with ``code`` and the database is exactly as it was."""
    before = await counts(hub)
    result = await hub.gql(who, query, variables)
    assert result.codes == [code], (variables, result.errors)
    assert await counts(hub) == before, variables
    return result


async def test_a_family_consent_needs_its_basis_and_ends_with_her_own(hub: RunningHub) -> None:
    case_id = await person_abroad(hub)
    # FAMILY without a basis, or with an empty part of it; a basis with another grantor.
    await refused(hub, "adhoc", CONSENT, _without_basis(hub, case_id), "BAD_USER_INPUT")
    for part in ("reportedBy", "whyNotSelf"):
        empty = {"reportedBy": MOTHER, "relationship": "PARENT", "whyNotSelf": WHY, part: " "}
        variables = family_consent(hub, case_id, ["embassy-bangkok"], basis=empty)
        result = await refused(hub, "adhoc", CONSENT, variables, "BAD_USER_INPUT")
        assert part in result.errors[0]["message"]
        assert MOTHER not in str(result.body) and WHY not in str(result.body)
    with_basis = family_consent(hub, case_id, ["embassy-bangkok"], grantor="SURVIVOR")
    await refused(hub, "adhoc", CONSENT, with_basis, "BAD_USER_INPUT")
    # Only the owner records consent, FAMILY or not.
    await refused(
        hub,
        "ccpcr-shelter",
        CONSENT,
        family_consent(hub, case_id, ["embassy-bangkok"]),
        "NOT_FOUND",
    )
    # Her own consent recorded, a relative can no longer speak for her.
    family = await give_family_consent(hub, case_id, ["embassy-bangkok"])
    await own_consent(hub, case_id, ["embassy-bangkok"], ["IDENTITY"])
    late = family_consent(hub, case_id, ["embassy-bangkok"])
    result = await refused(hub, "adhoc", CONSENT, late, "BAD_USER_INPUT")
    assert "own consent" in result.errors[0]["message"]
    # Even after she withdraws her own consent, a relative cannot give it back for her.
    grants = await do(hub, "adhoc", CONSENTS, {"id": case_id}, "consents")
    for grant in grants:
        if grant["withdrawal"] is None:
            await do(
                hub,
                "adhoc",
                WITHDRAW,
                {"id": grant["id"], "reason": "she said no"},
                "withdrawConsent",
            )
    result = await refused(hub, "adhoc", CONSENT, late, "BAD_USER_INPUT")
    assert "own consent" in result.errors[0]["message"]
    sealed = await hub.scalar(
        "SELECT basis_sealed FROM family_consent_bases WHERE grant_id = :g", g=family
    )
    assert sealed.startswith("c1.") and "Mao" not in sealed  # under her case's key


def _without_basis(hub: RunningHub, case_id: str) -> dict[str, Any]:
    variables = family_consent(hub, case_id, ["embassy-bangkok"])
    del variables["input"]["familyBasis"]
    return variables


async def test_an_intervention_goes_only_to_a_covering_embassy_with_consent(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    case_id = await person_abroad(hub)
    # No consent at all: nothing lets the embassy act.
    await refused(
        hub,
        "adhoc",
        REQUEST,
        {"input": intervention_input(hub, case_id, "int-refuse-00")},
        "CONSENT_REQUIRED",
    )
    await give_family_consent(hub, case_id, ["embassy-bangkok", "mosavy", "embassy-beijing"])

    def asking(**overrides: Any) -> dict[str, Any]:
        return {"input": intervention_input(hub, case_id, "int-refuse-01", **overrides)}

    # Not an embassy; an embassy that does not cover the country; bad input.
    await refused(hub, "adhoc", REQUEST, asking(embassyId=org["mosavy"]), "BAD_USER_INPUT")
    await refused(hub, "adhoc", REQUEST, asking(embassyId=org["embassy-beijing"]), "BAD_USER_INPUT")
    await refused(hub, "adhoc", REQUEST, asking(currentCountry="XX"), "BAD_USER_INPUT")
    await refused(hub, "adhoc", REQUEST, asking(idempotencyKey="short"), "BAD_USER_INPUT")
    await refused(
        hub, "adhoc", REQUEST, asking(acknowledgeBy="2020-01-01T00:00:00+00:00"), "BAD_USER_INPUT"
    )
    # Consent that names the embassy for another purpose does not cover it.
    other = await person_abroad(hub)
    variables = family_consent(hub, other, ["embassy-bangkok"])
    variables["input"]["purposes"] = ["SERVICE_REFERRAL"]
    await do(hub, "adhoc", CONSENT, variables, "recordConsent")
    await refused(
        hub,
        "adhoc",
        REQUEST,
        {"input": intervention_input(hub, other, "int-refuse-02")},
        "CONSENT_REQUIRED",
    )
    # Not the owner of the case: a stranger sees no case; a party may not ask for it.
    await refused(hub, "ngo-malaysia", REQUEST, asking(), "NOT_FOUND")
    await refused(hub, "mosavy", REQUEST, asking(), "FORBIDDEN")
    # Without the write scope.
    token = await hub.token("adhoc", scope="repatriation:read cases:read")
    before = await counts(hub)
    scoped = await hub.gql(None, REQUEST, asking(), token=token)
    assert scoped.codes == ["FORBIDDEN"] and await counts(hub) == before
    # A suspended embassy takes no requests.
    await hub.gql("secretariat", SUSPEND, {"id": org["embassy-bangkok"], "reason": "review"})
    await refused(hub, "adhoc", REQUEST, asking(), "BAD_USER_INPUT")


async def test_retries_answer_the_same_and_a_reused_key_conflicts(hub: RunningHub) -> None:
    case_id, iid = await an_intervention(hub, "int-retry-001")
    before = await counts(hub)
    again = await do(
        hub,
        "adhoc",
        REQUEST,
        {"input": intervention_input(hub, case_id, "int-retry-001")},
        "requestIntervention",
    )
    assert again["id"] == iid and await counts(hub) == before
    await refused(
        hub,
        "adhoc",
        REQUEST,
        {"input": intervention_input(hub, case_id, "int-retry-001", urgency="ROUTINE")},
        "CONFLICT",
    )


async def test_only_the_parties_see_it_and_only_the_table_moves_it(hub: RunningHub) -> None:
    _, iid = await an_intervention(hub, "int-steps-001")
    for stranger in ("ngo-malaysia", "embassy-beijing", "mosavy"):
        hidden = await hub.gql(stranger, VIEW, {"id": iid})
        assert hidden.codes == ["NOT_FOUND"]
        await refused(hub, stranger, UPDATE, {"id": iid, "status": "ACKNOWLEDGED"}, "NOT_FOUND")
    # The requester cannot record what the embassy found; the embassy cannot skip a step.
    await refused(hub, "adhoc", UPDATE, {"id": iid, "status": "ACKNOWLEDGED"}, "INVALID_TRANSITION")
    await refused(
        hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "RESCUED"}, "INVALID_TRANSITION"
    )
    await refused(
        hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "CANCELLED"}, "INVALID_TRANSITION"
    )
    acked = await do(
        hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "ACKNOWLEDGED"}, "updateIntervention"
    )
    # A stale version; NOT_FOUND needs a note; no repatriation before she is found.
    await refused(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": iid, "status": "LOCATED", "v": acked["version"] - 1},
        "CONFLICT",
    )
    await refused(
        hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "NOT_FOUND"}, "BAD_USER_INPUT"
    )
    ask = {"id": iid, "input": repatriation_input(hub, "int-steps-rep1")}
    await refused(hub, "adhoc", REPATRIATE, ask, "INVALID_TRANSITION")
    await do(hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "LOCATED"}, "updateIntervention")
    # Found: the embassy cannot open the repatriation (the case is not its own), strangers see
    # nothing, a stale version conflicts, and the reception must be covered by consent.
    await refused(hub, "embassy-bangkok", REPATRIATE, ask, "INVALID_TRANSITION")
    await refused(hub, "ngo-malaysia", REPATRIATE, ask, "NOT_FOUND")
    await refused(hub, "adhoc", REPATRIATE, {**ask, "v": 1}, "CONFLICT")
    await refused(hub, "adhoc", REPATRIATE, ask, "CONSENT_REQUIRED")  # mosavy is not covered
    # Cancelling needs a reason, and only before anything is found.
    await refused(
        hub, "adhoc", UPDATE, {"id": iid, "status": "CANCELLED", "note": "x"}, "INVALID_TRANSITION"
    )


async def test_an_unacknowledged_intervention_is_reminded_then_escalated_once(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    due = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    case_id = await person_abroad(hub)
    await give_family_consent(hub, case_id, ["embassy-bangkok"])
    sent = await do(
        hub,
        "adhoc",
        REQUEST,
        {"input": intervention_input(hub, case_id, "int-late-0001", acknowledgeBy=due.isoformat())},
        "requestIntervention",
    )
    iid = sent["id"]
    assert datetime.fromisoformat(sent["acknowledgeBy"]) == due
    cipher = hub.app.state.hub.cipher
    before = await counts(hub)
    early = await run_deadlines(hub.db, cipher, due - timedelta(hours=3))
    assert (early.reminded, early.escalated) == (0, 0) and await counts(hub) == before

    soon = await run_deadlines(hub.db, cipher, due - timedelta(minutes=30))
    assert soon.reminded == 1
    assert (await last_event(hub, iid))[:2] == ("INTERVENTION_REMINDER", [org["embassy-bangkok"]])
    assert (await run_deadlines(hub.db, cipher, due - timedelta(minutes=20))).reminded == 0

    late = await run_deadlines(hub.db, cipher, due + timedelta(minutes=1))
    assert late.escalated == 1
    kind, audience, payload = await last_event(hub, iid)
    assert kind == "INTERVENTION_ESCALATED" and org["secretariat"] in audience
    assert {org["adhoc"], org["embassy-bangkok"]} <= set(audience)
    assert payload["status"] == "SUBMITTED" and "lastKnownLocation" not in payload
    seen = await do(hub, "embassy-bangkok", VIEW, {"id": iid}, "interventionRequest")
    assert seen["overdue"] is True
    settled = await counts(hub)
    assert (await run_deadlines(hub.db, cipher, due + timedelta(hours=5))).escalated == 0
    assert await counts(hub) == settled
    acked = await do(
        hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "ACKNOWLEDGED"}, "updateIntervention"
    )
    assert acked["status"] == "ACKNOWLEDGED"
    seen = await do(hub, "embassy-bangkok", VIEW, {"id": iid}, "interventionRequest")
    assert seen["overdue"] is False


BOX = """
query($box: ReferralBox!, $status: InterventionStatus) {
  interventionRequests(box: $box, status: $status, first: 5) {
    edges { node { id status lastKnownLocation } }
    pageInfo { hasNextPage }
  }
}"""


async def test_the_boxes_list_an_intervention_for_its_two_parties_only(hub: RunningHub) -> None:
    _, iid = await an_intervention(hub, "int-boxes-001")
    for who, box in (("embassy-bangkok", "INBOX"), ("adhoc", "OUTBOX")):
        listed = await do(hub, who, BOX, {"box": box}, "interventionRequests")
        assert [e["node"]["id"] for e in listed["edges"]] == [iid]
        assert listed["edges"][0]["node"]["lastKnownLocation"] is not None
        waiting = await do(
            hub, who, BOX, {"box": box, "status": "SUBMITTED"}, "interventionRequests"
        )
        assert len(waiting["edges"]) == 1
        other = await do(hub, who, BOX, {"box": box, "status": "RESCUED"}, "interventionRequests")
        assert other["edges"] == []
    for who, box in (
        ("embassy-bangkok", "OUTBOX"),
        ("adhoc", "INBOX"),
        ("embassy-kuala-lumpur", "INBOX"),
        ("ngo-malaysia", "OUTBOX"),
    ):
        assert (await do(hub, who, BOX, {"box": box}, "interventionRequests"))["edges"] == []
