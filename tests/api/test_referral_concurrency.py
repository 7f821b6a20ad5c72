"""Many clicks at once: a receiver's case system retries an acknowledgement fifty times in
parallel, a sender's retries a send ten times. Exactly one of each happens."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.api.referral_steps import (
    SENDER,
    act,
    events_about,
    read_referral,
    record_consent,
    send,
    sent,
)
from tests.api.test_cases_flow import open_case
from tests.network import RunningHub


async def legal_aid_case(hub: RunningHub) -> str:
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    return case_id


async def test_fifty_parallel_acknowledgements_have_exactly_one_winner(hub: RunningHub) -> None:
    case_id = await legal_aid_case(hub)
    rid = (await sent(hub, case_id, "adhoc", "kk-race-0001"))["id"]
    await hub.token("adhoc")  # one token for all fifty calls, fetched before the race

    results = await asyncio.gather(
        *(act(hub, "adhoc", "acknowledgeReferral", rid) for _ in range(50))
    )

    winners = [r for r in results if not r.errors]
    assert len(winners) == 1, Counter(tuple(r.codes) for r in results)
    assert winners[0].data["acknowledgeReferral"]["version"] == 2
    losers = Counter(r.codes[0] for r in results if r.errors)
    assert sum(losers.values()) == 49
    assert set(losers) <= {"INVALID_TRANSITION", "CONFLICT"}, losers
    assert all(len(r.codes) == 1 for r in results if r.errors)

    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM referral_changes WHERE referral_id = :id AND action = 'ACKNOWLEDGE'",
            id=rid,
        )
        == 1
    )
    types = Counter(e["type"] for e in await events_about(hub, rid))
    assert types == {"REFERRAL_SENT": 1, "REFERRAL_ACKNOWLEDGED": 1}
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM audit WHERE subject_id = :id AND action = 'referral.acknowledge'",
            id=rid,
        )
        == 1
    )
    seen = (await read_referral(hub, SENDER, rid)).data["referral"]
    assert (seen["status"], seen["version"]) == ("ACKNOWLEDGED", 2)
    assert [h["version"] for h in seen["history"]] == [1, 2]


async def test_ten_parallel_retries_of_one_send_make_one_referral(hub: RunningHub) -> None:
    case_id = await legal_aid_case(hub)
    await hub.token(SENDER)

    results = await asyncio.gather(
        *(send(hub, case_id, "adhoc", "kk-race-send-01") for _ in range(10))
    )

    assert [r.errors for r in results] == [[]] * 10, [r.body for r in results if r.errors]
    ids = {r.data["sendReferral"]["id"] for r in results}
    assert len(ids) == 1
    (rid,) = ids
    assert await hub.scalar("SELECT COUNT(*) FROM referrals") == 1
    assert (
        await hub.scalar("SELECT COUNT(*) FROM referral_changes WHERE referral_id = :id", id=rid)
        == 1
    )
    assert await hub.scalar("SELECT COUNT(*) FROM case_parties WHERE source_type = 'REFERRAL'") == 1
    assert [e["type"] for e in await events_about(hub, rid)] == ["REFERRAL_SENT"]
    assert await hub.scalar("SELECT COUNT(*) FROM audit WHERE action = 'referral.send'") == 1
