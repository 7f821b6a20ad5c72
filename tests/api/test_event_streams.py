"""Partners keep a live view over a real websocket: live, replayed after a reconnect, and
never anything they are not party to."""

from __future__ import annotations

import asyncio
import gc
import uuid
from typing import Any

import pytest
from strawberry.types.execution import ExecutionResult, PreExecutionError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from notifications.stream import StreamFilter, stream
from schema.build import build_schema
from schema.context import HubContext
from tests.api.event_support import (
    CASE_STATUS,
    EVENTS,
    LEGACY_WS,
    POLL,
    SUSPEND,
    TRANSPORT_WS,
    codes_of,
    counts,
    flip,
    head,
    ids,
    new_client,
    next_events,
    ok,
    outbox,
    partner_socket,
    poll_all,
    pump_of,
    receive,
    refer,
    registered,
    send,
    start,
    until,
    visible_ids,
)
from tests.api.test_cases_flow import open_case
from tests.network import RunningHub, Template, serve_hub

ROTATE = "mutation($id: String!) { rotateClientSecret(clientId: $id) { clientId } }"
ACT = "mutation($id: ID!) { %s(id: $id) { status } }"
WITHDRAW = (
    'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "changed her mind") { id } }'
)
DECLINE = 'mutation($id: ID!) { declineReferral(id: $id, reason: "no capacity") { status } }'
CASE_FOLLOW = "subscription($case: ID!, $after: String) { caseStatus(caseId: $case, after: $after) { id type subjectId payload } }"
BOX = (
    "subscription($box: ReferralBox!) { referralUpdates(box: $box) { id type subjectId payload } }"
)


async def test_the_secretariat_sees_a_suspension_the_moment_it_happens(hub: RunningHub) -> None:
    beijing = hub.members["embassy-beijing"].organization_id
    async with partner_socket(hub, "secretariat") as ws:
        await start(ws, "1")  # no cursor: from now on
        await registered(hub, 1)

        await ok(hub, "secretariat", SUSPEND, {"id": beijing})

        (event,) = await next_events(ws, 1)
        (row,) = await outbox(hub, int(event["id"]) - 1)
        assert int(event["id"]) == row.id == await head(hub)
        assert (event["topic"], event["type"], event["subjectId"]) == (
            "ORGANIZATION",
            "ORGANIZATION_SUSPENDED",
            beijing,
        )
        assert event["actorOrganizationId"] == hub.members["secretariat"].organization_id
        assert event["payload"]["organizationId"] == beijing


async def test_reconnecting_with_the_last_id_replays_exactly_what_was_missed(
    hub: RunningHub,
) -> None:
    start_at = await head(hub)
    async with partner_socket(hub, "secretariat") as ws:
        await start(ws, "1", EVENTS, {"after": str(start_at)})
        await flip(hub, "embassy-beijing", 1)
        (seen,) = await next_events(ws, 1)
    last = int(seen["id"])

    # While the partner is away: six changes it may see, one it may not, two more it may.
    await flip(hub, "embassy-beijing", 6)
    await open_case(hub)
    await flip(hub, "ngo-thailand", 2)
    expected = await visible_ids(hub, "secretariat", last)
    assert len(expected) == 8

    async with partner_socket(hub, "secretariat") as ws:
        await start(ws, "1", EVENTS, {"after": str(last)})
        replayed = ids(await next_events(ws, len(expected)))
        assert replayed == expected
        await flip(hub, "mosavy", 1)
        (live,) = await next_events(ws, 1)
        assert int(live["id"]) == await head(hub) and live["type"] == "ORGANIZATION_SUSPENDED"


async def test_replay_then_live_under_concurrent_writers_has_no_gap_and_no_duplicate(
    hub: RunningHub,
) -> None:
    cursor = await head(hub)
    case_id = await open_case(hub)
    client_id, _ = await new_client(hub, "ccpcr-koh-kong", "case system")
    await flip(hub, "embassy-beijing", 2)  # nothing for Koh Kong

    async def rotations() -> None:
        for _ in range(15):
            await ok(hub, "ccpcr-koh-kong", ROTATE, {"id": client_id})

    async def case_work() -> None:
        for n in range(15):
            status = "IN_CARE" if n % 2 == 0 else "OPEN"
            await ok(hub, "ccpcr-koh-kong", CASE_STATUS, {"id": case_id, "status": status})

    async def others() -> None:
        await flip(hub, "embassy-beijing", 6)

    writers = asyncio.gather(rotations(), case_work(), others())
    received: list[dict[str, Any]] = []
    async with partner_socket(hub, "ccpcr-koh-kong") as ws:
        await start(ws, "1", EVENTS, {"after": str(cursor)})  # while the writers run

        async def read() -> None:
            while True:
                received.extend(await next_events(ws, 1))

        reader = asyncio.create_task(read())
        try:
            await writers
            expected = await visible_ids(hub, "ccpcr-koh-kong", cursor)
            # case created, registration token issued, client registered, 30 changes
            assert len(expected) == 3 + 30
            await ok(hub, "ccpcr-koh-kong", ROTATE, {"id": client_id})  # one more, afterwards
            marker = await head(hub)
            async with asyncio.timeout(15):
                while len(received) < len(expected) + 1:
                    await asyncio.sleep(0.02)
        finally:
            reader.cancel()
        assert ids(received) == [*expected, marker]


async def test_a_destination_ngo_never_receives_a_referral_between_two_other_members(
    hub: RunningHub,
) -> None:
    cursor = await head(hub)
    async with (
        partner_socket(hub, "ngo-malaysia") as outsider,
        partner_socket(hub, "adhoc") as party,
    ):
        await start(outsider, "1")  # every topic
        await start(party, "1", EVENTS, {"topics": ["REFERRAL"]})
        await registered(hub, 2)

        case_id, referral = await refer(
            hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "kk-adhoc-1"
        )
        await ok(hub, "adhoc", ACT % "acknowledgeReferral", {"id": referral})
        await ok(hub, "ccpcr-koh-kong", CASE_STATUS, {"id": case_id, "status": "IN_CARE"})
        foreign = await outbox(hub, cursor)
        assert {e.topic for e in foreign} == {"CASE", "CONSENT", "REFERRAL"}

        await new_client(hub, "ngo-malaysia", "border desk")  # something that is its business
        marker = await head(hub)

        own = await next_events(outsider, 2)
        assert [e["type"] for e in own] == ["REGISTRATION_TOKEN_ISSUED", "CLIENT_REGISTERED"]
        assert int(own[-1]["id"]) == marker
        got = await next_events(party, 2)
        assert [(e["type"], e["subjectId"]) for e in got] == [
            ("REFERRAL_SENT", referral),
            ("REFERRAL_ACKNOWLEDGED", referral),
        ]
    assert await visible_ids(hub, "ngo-malaysia", cursor) == [int(own[0]["id"]), marker]
    assert await poll_all(hub, "ngo-malaysia", cursor, 50) == [int(own[0]["id"]), marker]


async def test_a_former_party_gets_no_case_event_replayed_once_its_relation_ended(
    hub: RunningHub,
) -> None:
    cursor = await head(hub)
    case_id, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "kk-adhoc-2"
    )
    async with partner_socket(hub, "adhoc") as ws:
        await start(ws, "1", EVENTS, {"after": str(cursor)})
        await ok(hub, "ccpcr-koh-kong", CASE_STATUS, {"id": case_id, "status": "IN_CARE"})
        a_party = await next_events(ws, 4)
    # The referral itself moves the case to REFERRED, which its parties hear about too.
    assert [e["type"] for e in a_party] == [
        "CONSENT_RECORDED",
        "CASE_STATUS_CHANGED",
        "REFERRAL_SENT",
        "CASE_STATUS_CHANGED",
    ]
    status_changes = {int(a_party[1]["id"]), int(a_party[3]["id"])}

    # ADHOC declines and the survivor withdraws consent: ADHOC is no longer party to the case.
    await ok(hub, "adhoc", ACT % "acknowledgeReferral", {"id": referral})
    await ok(hub, "adhoc", DECLINE, {"id": referral})
    consent = await hub.scalar("SELECT id FROM consent_grants WHERE case_id = :id", id=case_id)
    await ok(hub, "ccpcr-koh-kong", WITHDRAW, {"id": consent})

    async with partner_socket(hub, "adhoc") as ws:
        await start(ws, "1", EVENTS, {"after": str(cursor)})
        replayed = await next_events(ws, 4)
    assert [e["type"] for e in replayed] == [
        "CONSENT_RECORDED",
        "REFERRAL_SENT",
        "REFERRAL_ACKNOWLEDGED",
        "REFERRAL_DECLINED",
    ]
    assert not status_changes & set(ids(replayed))
    assert await poll_all(hub, "adhoc", cursor, 1) == ids(replayed)


async def test_following_a_case_it_is_not_party_to_looks_exactly_like_an_unknown_case(
    hub: RunningHub,
) -> None:
    followed = await open_case(hub)
    other = await open_case(hub)
    cursor = await head(hub)
    async with partner_socket(hub, "ngo-malaysia") as ws:
        answers = []
        for op, case in (("foreign", followed), ("unknown", str(uuid.uuid4()))):
            await start(ws, op, CASE_FOLLOW, {"case": case})
            message = await receive(ws)
            assert message["id"] == op and message["type"] == "next"
            assert await receive(ws) == {"id": op, "type": "complete"}
            answers.append(message["payload"])
        assert answers[0] == answers[1]
        assert [e["extensions"]["code"] for e in answers[0]["errors"]] == ["NOT_FOUND"]
        assert answers[0]["data"] is None

    async with partner_socket(hub, "ccpcr-koh-kong") as ws:
        await start(ws, "1", CASE_FOLLOW, {"case": followed, "after": str(cursor)})
        await ok(hub, "ccpcr-koh-kong", CASE_STATUS, {"id": other, "status": "IN_CARE"})
        await ok(hub, "ccpcr-koh-kong", CASE_STATUS, {"id": followed, "status": "CLOSED"})
        (event,) = await next_events(ws, 1)
    assert (event["type"], event["subjectId"]) == ("CASE_STATUS_CHANGED", followed)
    assert (event["payload"]["from"], event["payload"]["to"]) == ("OPEN", "CLOSED")
    assert int(event["id"]) == await head(hub)


async def test_referral_updates_show_each_organisation_its_own_inbox_and_outbox(
    hub: RunningHub,
) -> None:
    async with (
        partner_socket(hub, "ccpcr-koh-kong") as koh_kong,
        partner_socket(hub, "adhoc") as adhoc,
    ):
        await start(koh_kong, "in", BOX, {"box": "INBOX"})
        await start(koh_kong, "out", BOX, {"box": "OUTBOX"})
        await start(adhoc, "in", BOX, {"box": "INBOX"})
        await registered(hub, 3)

        _, to_adhoc = await refer(
            hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "kk-adhoc-3"
        )
        _, to_koh_kong = await refer(
            hub,
            "ccpcr-svay-rieng",
            "ccpcr-koh-kong",
            ["EMERGENCY_SUPPORT"],
            "SERVICE_REFERRAL",
            "svay-rieng-koh-kong-1",
        )

        (incoming,) = await next_events(adhoc, 1, "in")
        assert (incoming["type"], incoming["subjectId"]) == ("REFERRAL_SENT", to_adhoc)
        (outgoing,) = await next_events(koh_kong, 1, "out")
        assert (outgoing["type"], outgoing["subjectId"]) == ("REFERRAL_SENT", to_adhoc)
        # Koh Kong's inbox skips its own referral to ADHOC and shows the one it receives.
        (inbox,) = await next_events(koh_kong, 1, "in")
        assert (inbox["type"], inbox["subjectId"]) == ("REFERRAL_SENT", to_koh_kong)
        assert inbox["payload"]["receiver"] == hub.members["ccpcr-koh-kong"].organization_id


async def test_a_polling_client_sees_the_same_sequence_as_a_subscriber(hub: RunningHub) -> None:
    cursor = await head(hub)
    await flip(hub, "embassy-beijing", 3)
    await open_case(hub)  # not the secretariat's
    await flip(hub, "ngo-thailand", 2)
    expected = await visible_ids(hub, "secretariat", cursor)
    assert len(expected) == 5

    polled = await poll_all(hub, "secretariat", cursor, 2)
    async with partner_socket(hub, "secretariat") as ws:
        await start(ws, "1", EVENTS, {"after": str(cursor)})
        streamed = ids(await next_events(ws, len(expected)))
    assert polled == streamed == expected
    caught_up = (await ok(hub, "secretariat", POLL, {"after": str(expected[-1]), "first": 10}))[
        "events"
    ]
    assert caught_up == {"events": [], "endCursor": str(await head(hub))}


async def test_a_cursor_that_is_not_an_event_id_is_refused_as_bad_input(hub: RunningHub) -> None:
    before = await counts(hub, "events", "audit")
    ahead = str(await head(hub) + 1000)
    for after in ("abc", "-1", ahead):
        polled = await hub.gql("secretariat", POLL, {"after": after, "first": 10})
        assert (polled.codes, polled.data) == (["BAD_USER_INPUT"], None), after
    async with partner_socket(hub, "secretariat") as ws:
        for after in ("abc", "-1", ahead):
            await start(ws, after, EVENTS, {"after": after})
            refused = await receive(ws)
            assert refused["id"] == after and codes_of(refused) == ["BAD_USER_INPUT"], refused
            assert await receive(ws) == {"id": after, "type": "complete"}
    assert pump_of(hub).subscriber_count == 0
    assert await counts(hub, "events", "audit") == before


async def test_a_client_without_the_events_scope_may_neither_subscribe_nor_poll(
    hub: RunningHub,
) -> None:
    token = await hub.token("secretariat", scope="orgs:read")
    polled = await hub.gql(None, POLL, {"first": 10}, token=token)
    assert polled.codes == ["FORBIDDEN"]
    async with partner_socket(hub, None, token=token) as ws:
        await start(ws, "1")
        refused = await receive(ws)
        assert refused["id"] == "1" and codes_of(refused) == ["FORBIDDEN"], refused
        await flip(hub, "embassy-beijing", 1)
        await start(ws, "2", "{ viewer { clientId } }")
        answer = await receive(ws)  # the very next message: no event slipped through
        assert answer["id"] == "2" and answer["payload"]["data"]["viewer"]["clientId"]
    assert pump_of(hub).subscriber_count == 0


async def test_a_partner_on_the_legacy_graphql_ws_protocol_gets_events_too(hub: RunningHub) -> None:
    cursor = await head(hub)
    async with partner_socket(hub, "secretariat", protocol=LEGACY_WS) as ws:
        assert ws.subprotocol == LEGACY_WS
        await send(
            ws,
            {
                "id": "1",
                "type": "start",
                "payload": {"query": EVENTS, "variables": {"after": str(cursor)}},
            },
        )
        await flip(hub, "embassy-beijing", 2)
        got = await next_events(ws, 2)
        assert ids(got) == await visible_ids(hub, "secretariat", cursor)
        assert [e["type"] for e in got] == ["ORGANIZATION_SUSPENDED", "ORGANIZATION_REINSTATED"]
        await send(ws, {"id": "1", "type": "stop"})
        await registered(hub, 0)


async def test_the_101st_operation_on_one_socket_is_refused_and_the_socket_stays_usable(
    hub: RunningHub,
) -> None:
    async with partner_socket(hub, "secretariat") as ws:
        for n in range(101):
            await start(ws, str(n))
        refused = await receive(ws)
        assert refused["id"] == "100" and refused["type"] == "error", refused
        assert "limit" in refused["payload"][0]["message"]
        await registered(hub, 100)

        await send(ws, {"id": "0", "type": "complete"})
        await registered(hub, 99)
        await start(ws, "viewer", "{ viewer { clientId } }")
        await flip(hub, "embassy-beijing", 1)
        newest = str(await head(hub))
        delivered: dict[str, str] = {}
        while len(delivered) < 100:
            message = await receive(ws)
            if message["type"] == "next":
                value = message["payload"]["data"]
                delivered[message["id"]] = value["events"]["id"] if "events" in value else "viewer"
        assert delivered == {"viewer": "viewer"} | {str(n): newest for n in range(1, 100)}


async def test_only_allowed_origins_may_open_a_socket(template: Template) -> None:
    async with serve_hub(template, allowed_origins=("https://partner.example",)) as hub:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                hub.ws_url, subprotocols=[TRANSPORT_WS], origin=Origin("https://evil.example")
            ):
                pass
        assert refused.value.response.status_code == 403
        async with partner_socket(
            hub, "secretariat", origin=Origin("https://partner.example")
        ) as ws:
            await start(ws, "1", "{ viewer { clientId } }")
            answer = await receive(ws)
            assert (
                answer["payload"]["data"]["viewer"]["clientId"]
                == hub.members["secretariat"].client_id
            )


@pytest.mark.parametrize(
    "operation",
    [
        "subscription { events { id type } }",
        "subscription { referralUpdates(box: INBOX) { id type } }",
    ],
)
async def test_a_subscription_closed_between_events_leaves_the_pump_at_once(
    hub: RunningHub, operation: str
) -> None:
    # A legacy graphql-ws `stop` that arrives while the operation is between two events
    # (its generator suspended, not running) closes the generator instead of cancelling a
    # task inside it. The stream it reads from must be closed then too, not later by
    # asyncio's finalizer for abandoned generators: until then it stays registered with
    # the pump, as one subscription too many.
    state = hub.app.state.hub
    pump = pump_of(hub)
    member = "adhoc" if "referralUpdates" in operation else "secretariat"
    principal = await state.verifier.verify(await hub.token(member))
    context = HubContext(
        db=hub.db,
        request_id=uuid.uuid4().hex,
        cipher=state.cipher,
        pump=pump,
        production=False,
        standing_check=state.verifier.still_in_good_standing,
        principal=principal,
    )
    schema = build_schema(introspection=False)
    before = pump.stream_count
    source = await schema.subscribe(operation, context_value=context)
    assert not isinstance(source, ExecutionResult), source
    first = asyncio.ensure_future(anext(source))
    await until(lambda: pump.stream_count == before + 1, "the subscription registered")
    if member == "adhoc":
        await refer(hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "kk-closing")
    else:
        await flip(hub, "embassy-beijing", 2)
    result = await first
    assert not isinstance(result, PreExecutionError) and not result.errors, result
    gc.disable()
    try:
        await source.aclose()
        assert pump.stream_count == before
    finally:
        gc.enable()


async def test_a_stream_cancelled_as_its_next_event_arrives_ends(hub: RunningHub) -> None:
    # An event queued for a subscription in the same turn as the subscription's task is
    # cancelled (a graphql-ws `stop`, a socket closing). On Python 3.11, asyncio.wait_for
    # returns such an event and drops the cancellation: the stream would live on,
    # registered with the pump, and whoever awaits the cancelled task would wait forever.
    state = hub.app.state.hub
    pump = pump_of(hub)
    principal = await state.verifier.verify(await hub.token("secretariat"))

    async def still_allowed() -> bool:
        return True

    events = stream(hub.db, pump, principal, None, StreamFilter(), still_allowed)
    registered_before = set(pump._subscribers)
    reader = asyncio.ensure_future(anext(events))
    await until(lambda: len(pump._subscribers) > len(registered_before), "the stream registered")
    (subscriber,) = pump._subscribers - registered_before
    (latest,) = (await outbox(hub))[-1:]
    subscriber.queue.put_nowait(latest)  # the event arrives ...
    reader.cancel()  # ... in the same turn as the cancellation
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await reader
    await events.aclose()
    assert subscriber not in pump._subscribers
