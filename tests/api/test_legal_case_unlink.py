"""A survivor leaves a fishing-fleet prosecution: ADHOC, which gives legal aid, unlinks her
case with a reason. The others stay linked; the reason is sealed in the history and read
back by ADHOC only; her case's owner hears of it; refusals write nothing."""

from __future__ import annotations

from typing import Any

from tests.api.justice_support import (
    FIELDS,
    LEGAL_AID,
    LINK,
    READ,
    TABLES,
    opened,
    org,
    survivor_case,
)
from tests.api.repatriation_support import decoded, fetch
from tests.marker_watch import planted
from tests.network import RunningHub

UNLINK = f"""
mutation($id: ID!, $case: ID!, $reason: String!) {{
  unlinkCaseFromLegalCase(legalCaseId: $id, caseId: $case, reason: $reason) {{ {FIELDS} }}
}}"""


async def counts(hub: RunningHub) -> dict[str, int]:
    return {t: int(await hub.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


async def three_survivors(hub: RunningHub, key: str) -> tuple[str, list[str]]:
    """Two of the shelter's survivors and one of the Koh Kong centre's on one legal case."""
    first = await survivor_case(hub, "ccpcr-shelter", planted("Sok Dara"))
    second = await survivor_case(hub, "ccpcr-shelter", planted("Keo Sophal"))
    third = await survivor_case(hub, "ccpcr-koh-kong", planted("Ly Sreymom"))
    lid = (await opened(hub, "ccpcr-shelter", [first, second], key))["id"]
    linked = await hub.gql(LEGAL_AID, LINK, {"id": lid, "case": third})
    assert not linked.errors, linked.errors
    return lid, [first, second, third]


async def test_legal_aid_unlinks_a_survivor_with_a_reason_only_it_reads_back(
    hub: RunningHub,
) -> None:
    lid, (first, second, third) = await three_survivors(hub, "unlink-0001")
    reason = planted("she no longer wants to testify against the boat captain")
    done = await hub.gql(LEGAL_AID, UNLINK, {"id": lid, "case": third, "reason": reason})
    assert not done.errors, done.errors
    legal: dict[str, Any] = done.data["unlinkCaseFromLegalCase"]
    assert sorted(s["caseId"] for s in legal["survivors"]) == sorted([first, second])
    last = legal["history"][-1]
    assert (last["action"], last["by"], last["note"]) == ("UNLINK", org(hub, LEGAL_AID), reason)

    # The opener sees that she left, never why: her consent no longer counts here.
    seen = await hub.gql("ccpcr-shelter", READ, {"id": lid})
    assert not seen.errors, seen.errors
    entry = seen.data["legalCase"]["history"][-1]
    assert entry["action"] == "UNLINK" and entry["note"] is None
    assert {"field": "history.note", "category": "LEGAL", "reason": "WRITER_ONLY"} in seen.data[
        "legalCase"
    ]["withheld"]
    assert reason not in str(seen.body)
    # Her case's owner is no longer a party to the legal case, but was told.
    gone = await hub.gql("ccpcr-koh-kong", READ, {"id": lid})
    assert gone.data == {"legalCase": None} or gone.codes == ["NOT_FOUND"]
    ((audience, payload),) = [
        (decoded(a), decoded(p))
        for a, p in await fetch(
            hub,
            "SELECT audience, payload FROM events WHERE subject_id = :l AND type = :t",
            l=lid,
            t="LEGAL_CASE_UNLINKED",
        )
    ]
    assert org(hub, "ccpcr-koh-kong") in audience and payload["caseId"] == third
    assert reason not in str(payload)
    audited = await hub.scalar(
        "SELECT count(*) FROM audit WHERE subject_id = :l AND action = 'legal_case.unlink'", l=lid
    )
    assert audited == 1
    # ADHOC's standing on her case through this legal case ended.
    ended = await fetch(
        hub,
        "SELECT ended_at FROM case_parties WHERE case_id = :c AND source_id = :l",
        c=third,
        l=lid,
    )
    assert len(ended) == 1 and ended[0][0] is not None


async def test_refused_unlinks_write_nothing(hub: RunningHub) -> None:
    lid, (first, second, third) = await three_survivors(hub, "unlink-0002")
    before = await counts(hub)
    why = planted("linked by mistake")
    cases: list[tuple[str, str, str, str]] = [
        # the opener neither owns the Koh Kong case nor gives legal aid
        ("ccpcr-shelter", third, why, "FORBIDDEN"),
        # no party to the legal case: as if it did not exist
        ("ngo-malaysia", first, why, "NOT_FOUND"),
        ("ccpcr-shelter", first, "  ", "BAD_USER_INPUT"),
        ("ccpcr-shelter", lid, why, "BAD_USER_INPUT"),  # not a linked case
    ]
    for who, case_id, reason, expected in cases:
        refused = await hub.gql(who, UNLINK, {"id": lid, "case": case_id, "reason": reason})
        assert refused.codes == [expected], (who, case_id, refused.body)
        assert why not in str(refused.body)
    no_scope = await hub.gql(
        None,
        UNLINK,
        {"id": lid, "case": first, "reason": why},
        token=await hub.token("ccpcr-shelter", scope="cases:read"),
    )
    assert no_scope.codes == ["FORBIDDEN"]
    assert await counts(hub) == before

    # Down to one survivor: the last one stays (close the legal case instead).
    for case_id in (second, third):
        owner = "ccpcr-shelter" if case_id == second else LEGAL_AID
        ok = await hub.gql(owner, UNLINK, {"id": lid, "case": case_id, "reason": why})
        assert not ok.errors, ok.errors
    last = await hub.gql("ccpcr-shelter", UNLINK, {"id": lid, "case": first, "reason": why})
    assert last.codes == ["BAD_USER_INPUT"]
    again = await hub.gql(LEGAL_AID, UNLINK, {"id": lid, "case": third, "reason": why})
    assert again.codes == ["BAD_USER_INPUT"]
