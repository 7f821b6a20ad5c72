"""Custody transfers refused: each refusal with its documented code, nothing written."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.custody_support import (
    ACCEPT,
    CANCEL,
    CASE,
    DECLINE,
    ONE,
    TRANSFER,
    consent_to,
    counts,
    transfer_input,
)
from tests.api.repatriation_support import do, open_case, orgs
from tests.marker_watch import planted
from tests.network import RunningHub

REASON = planted("she asked to be closer to her mother")


async def _consented_case(hub: RunningHub, *recipients: str) -> str:
    """ADHOC's case; the survivor agreed to share it with ``recipients`` for her care."""
    case_id = await open_case(hub)
    await consent_to(
        hub, case_id, "adhoc", list(recipients), ["SERVICE_REFERRAL"], ["IDENTITY", "HEALTH"]
    )
    return case_id


async def _refused(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], code: str
) -> str:
    """The operation fails with ``code`` and writes nothing at all."""
    before = await counts(hub)
    result = await hub.gql(who, query, variables)
    assert result.codes == [code], result.body
    assert REASON not in str(result.body["errors"])
    assert await counts(hub) == before
    message: str = result.errors[0]["message"]
    return message


async def _offer(hub: RunningHub, case_id: str, to: str, key: str) -> dict[str, Any]:
    return await do(
        hub, "adhoc", TRANSFER, transfer_input(hub, case_id, to, REASON, key), "transferCase"
    )


async def test_only_the_owner_offers_a_case(hub: RunningHub) -> None:
    case_id = await _consented_case(hub, "ccpcr-shelter", "mosavy")
    offer = transfer_input(hub, case_id, "ccpcr-shelter", REASON, "custody-r-owner-1")
    # A party that does not own it: FORBIDDEN; anyone else: as if the case did not exist.
    message = await _refused(hub, "mosavy", TRANSFER, offer, "FORBIDDEN")
    assert "only the organisation that owns the case" in message
    await _refused(hub, "ngo-malaysia", TRANSFER, offer, "NOT_FOUND")
    # A token without `cases:write` is refused before anything is looked up.
    token = await hub.token("adhoc", scope="cases:read")
    before = await counts(hub)
    scoped = await hub.gql(None, TRANSFER, offer, token=token)
    assert scoped.codes == ["FORBIDDEN"] and await counts(hub) == before


async def test_a_case_goes_to_another_active_member_that_may_own_it(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id = await _consented_case(hub, "ccpcr-shelter", "embassy-bangkok")
    to_self = transfer_input(hub, case_id, "adhoc", REASON, "custody-r-self-1")
    assert "to its owner" in await _refused(hub, "adhoc", TRANSFER, to_self, "BAD_USER_INPUT")
    embassy = transfer_input(hub, case_id, "embassy-bangkok", REASON, "custody-r-emb-1")
    assert "cannot own cases" in await _refused(hub, "adhoc", TRANSFER, embassy, "BAD_USER_INPUT")
    nobody = transfer_input(hub, case_id, "adhoc", REASON, "custody-r-none-1")
    nobody["input"]["toOrganizationId"] = "00000000-0000-0000-0000-000000000000"
    await _refused(hub, "adhoc", TRANSFER, nobody, "BAD_USER_INPUT")
    # Suspended by the secretariat: no longer a member a case can go to.
    await do(
        hub,
        "secretariat",
        'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }',
        {"id": org["ccpcr-shelter"]},
        "suspendOrganization",
    )
    shelter = transfer_input(hub, case_id, "ccpcr-shelter", REASON, "custody-r-susp-1")
    message = await _refused(hub, "adhoc", TRANSFER, shelter, "BAD_USER_INPUT")
    assert "not an active member" in message
    # Empty reasons and short keys are refused too.
    blank = transfer_input(hub, case_id, "ccpcr-shelter", "  ", "custody-r-blank-1")
    await _refused(hub, "adhoc", TRANSFER, blank, "BAD_USER_INPUT")
    short = transfer_input(hub, case_id, "ccpcr-shelter", REASON, "k")
    await _refused(hub, "adhoc", TRANSFER, short, "BAD_USER_INPUT")


async def test_the_survivors_consent_must_name_the_new_owner(hub: RunningHub) -> None:
    case_id = await _consented_case(hub, "ccpcr-shelter")
    koh_kong = transfer_input(hub, case_id, "ccpcr-koh-kong", REASON, "custody-r-consent-1")
    await _refused(hub, "adhoc", TRANSFER, koh_kong, "CONSENT_REQUIRED")
    # Offered while she agreed, accepted after she withdrew: refused, nothing changes hands.
    offered = await _offer(hub, case_id, "ccpcr-shelter", "custody-r-consent-2")
    grants = await do(
        hub,
        "adhoc",
        "query($id: ID!) { consents(caseId: $id) { id } }",
        {"id": case_id},
        "consents",
    )
    for grant in grants:
        await do(
            hub,
            "adhoc",
            'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "no") { id } }',
            {"id": grant["id"]},
            "withdrawConsent",
        )
    await _refused(hub, "ccpcr-shelter", ACCEPT, {"id": offered["id"]}, "CONSENT_REQUIRED")
    case = await do(hub, "adhoc", CASE, {"id": case_id}, "case")
    assert case["ownerId"] == orgs(hub)["adhoc"]


async def test_one_open_offer_per_case(hub: RunningHub) -> None:
    case_id = await _consented_case(hub, "ccpcr-shelter", "mosavy")
    first = await _offer(hub, case_id, "ccpcr-shelter", "custody-r-open-1")
    second = transfer_input(hub, case_id, "mosavy", REASON, "custody-r-open-2")
    assert "open transfer offer" in await _refused(hub, "adhoc", TRANSFER, second, "CONFLICT")
    # Once the first is answered, another may be made.
    await do(hub, "adhoc", CANCEL, {"id": first["id"]}, "cancelCaseTransfer")
    assert (await _offer(hub, case_id, "mosavy", "custody-r-open-3"))["status"] == "OFFERED"


async def test_two_offers_at_once_leave_one_standing(hub: RunningHub) -> None:
    case_id = await _consented_case(hub, "ccpcr-shelter", "mosavy")
    results = await asyncio.gather(
        *(
            hub.gql("adhoc", TRANSFER, transfer_input(hub, case_id, to, REASON, key))
            for to, key in (("ccpcr-shelter", "custody-r-race-1"), ("mosavy", "custody-r-race-2"))
        )
    )
    assert sorted(tuple(r.codes) for r in results) == [(), ("CONFLICT",)], [r.body for r in results]
    offered = await hub.scalar(
        "SELECT count(*) FROM case_transfers WHERE case_id = :c AND status = 'OFFERED'", c=case_id
    )
    assert offered == 1


async def test_a_retried_offer_is_the_same_offer(hub: RunningHub) -> None:
    case_id = await _consented_case(hub, "ccpcr-shelter")
    first = await _offer(hub, case_id, "ccpcr-shelter", "custody-r-retry-1")
    before = await counts(hub)
    again = await _offer(hub, case_id, "ccpcr-shelter", "custody-r-retry-1")
    assert again["id"] == first["id"] and await counts(hub) == before
    reused = transfer_input(hub, case_id, "ccpcr-shelter", planted("other"), "custody-r-retry-1")
    message = await _refused(hub, "adhoc", TRANSFER, reused, "CONFLICT")
    assert "idempotencyKey" in message


async def test_only_the_addressee_answers_and_only_once(hub: RunningHub) -> None:
    case_id = await _consented_case(hub, "ccpcr-shelter", "mosavy")
    offered = await _offer(hub, case_id, "ccpcr-shelter", "custody-r-answer-1")
    tid = offered["id"]
    # Another party to the case is not the addressee: the offer does not exist for it.
    await _refused(hub, "mosavy", ACCEPT, {"id": tid}, "NOT_FOUND")
    await _refused(hub, "mosavy", ONE, {"id": tid}, "NOT_FOUND")
    await _refused(hub, "ngo-malaysia", DECLINE, {"id": tid, "reason": "x"}, "NOT_FOUND")
    # The offerer does not answer its own offer; the addressee does not cancel it.
    message = await _refused(hub, "adhoc", ACCEPT, {"id": tid}, "INVALID_TRANSITION")
    assert "only the addressee" in message
    await _refused(hub, "ccpcr-shelter", CANCEL, {"id": tid}, "INVALID_TRANSITION")
    # A decline needs its reason; a stale version is a conflict.
    await _refused(hub, "ccpcr-shelter", DECLINE, {"id": tid, "reason": " "}, "BAD_USER_INPUT")
    await _refused(hub, "ccpcr-shelter", ACCEPT, {"id": tid, "v": 7}, "CONFLICT")
    await do(hub, "ccpcr-shelter", ACCEPT, {"id": tid, "v": 1}, "acceptCaseTransfer")
    # Answered: a retried accept, a late decline or cancel are invalid transitions.
    late = await _refused(hub, "ccpcr-shelter", ACCEPT, {"id": tid}, "INVALID_TRANSITION")
    assert "already been accepted" in late
    await _refused(hub, "ccpcr-shelter", DECLINE, {"id": tid, "reason": "x"}, "INVALID_TRANSITION")
    await _refused(hub, "adhoc", CANCEL, {"id": tid}, "INVALID_TRANSITION")
    # And the former owner cannot offer what it no longer owns.
    back = transfer_input(hub, case_id, "mosavy", REASON, "custody-r-answer-2")
    await _refused(hub, "adhoc", TRANSFER, back, "FORBIDDEN")
