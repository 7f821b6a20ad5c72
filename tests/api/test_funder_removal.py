"""The Thai NGO named the wrong funder on its repatriation request: it removes it, as long
as that funder has recorded no cost there. A funder that has paid stays named (its costs stay
on record), and nobody but the request's manager removes anyone."""

from __future__ import annotations

from tests.api.reintegration_support import FUNDING, NAME_FUNDER, RECORD_COST
from tests.api.repatriation_support import decoded, do, fetch, orgs
from tests.api.test_funding_flow import REP, cost, thai_request
from tests.network import RunningHub

REMOVE = (
    "mutation($kind: FundedSubjectKind!, $id: ID!, $funder: ID!) { removeFunder(subjectKind: "
    "$kind, subjectId: $id, funderOrganizationId: $funder) { funders { organizationId } "
    "costs { funderId amount } } }"
)


async def test_a_funder_named_by_mistake_is_removed_and_hears_of_it(hub: RunningHub) -> None:
    org = orgs(hub)
    _, rid = await thai_request(hub, "fund-remove-0001")
    target = {"kind": REP, "id": rid}
    await do(hub, "ngo-thailand", NAME_FUNDER, {**target, "funder": org["adhoc"]}, "nameFunder")
    await do(
        hub, "ngo-thailand", NAME_FUNDER, {**target, "funder": org["ccpcr-shelter"]}, "nameFunder"
    )

    removed = await do(
        hub, "ngo-thailand", REMOVE, {**target, "funder": org["ccpcr-shelter"]}, "removeFunder"
    )
    assert removed["funders"] == [{"organizationId": org["adhoc"]}]
    ((audience, payload),) = [
        (decoded(a), decoded(p))
        for a, p in await fetch(
            hub,
            "SELECT audience, payload FROM events WHERE subject_id = :r AND type = :t",
            r=rid,
            t="FUNDER_REMOVED",
        )
    ]
    assert org["ccpcr-shelter"] in audience and org["ngo-thailand"] in audience
    assert payload == {"subjectKind": REP, "subjectId": rid, "funder": org["ccpcr-shelter"]}
    audited = await hub.scalar(
        "SELECT count(*) FROM audit WHERE subject_id = :r AND action = 'funding.remove_funder'",
        r=rid,
    )
    assert audited == 1
    # Removed, it no longer sees the subject nor records a cost on it.
    gone = await hub.gql("ccpcr-shelter", FUNDING, target)
    assert gone.codes == ["NOT_FOUND"]
    late = await hub.gql(
        "ccpcr-shelter", RECORD_COST, {**target, "input": cost("FOOD", "5", "THB")}
    )
    assert late.codes == ["NOT_FOUND"]
    # Removing it again: it is not a funder here.
    again = await hub.gql("ngo-thailand", REMOVE, {**target, "funder": org["ccpcr-shelter"]})
    assert again.codes == ["BAD_USER_INPUT"]


async def test_a_funder_with_costs_stays_and_only_the_manager_removes(hub: RunningHub) -> None:
    org = orgs(hub)
    _, rid = await thai_request(hub, "fund-remove-0002")
    target = {"kind": REP, "id": rid}
    await do(hub, "ngo-thailand", NAME_FUNDER, {**target, "funder": org["adhoc"]}, "nameFunder")
    await do(
        hub,
        "adhoc",
        RECORD_COST,
        {**target, "input": cost("AIR_TICKET", "4200", "THB")},
        "recordCost",
    )
    before = {
        t: await hub.scalar(f"SELECT count(*) FROM {t}")
        for t in ("subject_funders", "funded_costs", "events", "audit")
    }

    kept = await hub.gql("ngo-thailand", REMOVE, {**target, "funder": org["adhoc"]})
    assert kept.codes == ["CONFLICT"], kept.body
    # The funder itself and the embassy (a party, not the manager) may not remove it.
    for who in ("adhoc", "embassy-bangkok"):
        refused = await hub.gql(who, REMOVE, {**target, "funder": org["adhoc"]})
        assert refused.codes == ["FORBIDDEN"], (who, refused.body)
    # Not a party: as if the request did not exist. Without the scope: refused too.
    hidden = await hub.gql("ngo-malaysia", REMOVE, {**target, "funder": org["adhoc"]})
    assert hidden.codes == ["NOT_FOUND"]
    narrow = await hub.token("ngo-thailand", scope="repatriation:read")
    no_scope = await hub.gql(None, REMOVE, {**target, "funder": org["adhoc"]}, token=narrow)
    assert set(no_scope.codes) <= {"FORBIDDEN", "NOT_FOUND"} and no_scope.codes
    after = {
        t: await hub.scalar(f"SELECT count(*) FROM {t}")
        for t in ("subject_funders", "funded_costs", "events", "audit")
    }
    assert after == before
    still = await do(hub, "ngo-thailand", FUNDING, target, "funding")
    assert [f["organizationId"] for f in still["funders"]] == [org["adhoc"]]
