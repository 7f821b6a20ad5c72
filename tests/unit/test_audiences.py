"""Which subscriptions may share one execution, and what one member of an audience holds."""

from __future__ import annotations

import json
import time

import pytest

from gateway.fanout import COMPLETE, TOKEN_EXPIRED, TOO_SLOW, Member, audience_key, shareable
from gateway.settings import load_settings
from orgs.principal import Principal

LIVE = "subscription { events(topics: [ORGANIZATION]) { id type } }"
WITH_CURSOR = "subscription($after: String) { events(after: $after) { id } }"
SECRETARIAT = Principal(
    organization_id="org-sec",
    client_id="client-sec",
    scopes=frozenset({"events:subscribe", "orgs:read"}),
    organization_kind="COORDINATOR",
    token_id="jti-1",
    # A day: the module is imported when the suite is collected, maybe long before it runs.
    expires_at=int(time.time()) + 86_400,
)


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        (LIVE, None, ()),
        (WITH_CURSOR, None, ("after",)),
        ("subscription { events(after: null) { id } }", None, ()),
        ("subscription { referralUpdates(box: INBOX) { id } }", None, ()),
        # A replay from a literal cursor is the subscriber's own.
        ('subscription { events(after: "12") { id } }', None, None),
        ('subscription($a: String = "12") { events(after: $a) { id } }', None, None),
        # caseStatus checks the case when it starts: never shared.
        ('subscription { caseStatus(caseId: "c") { id } }', None, None),
        ("subscription { ... on Subscription { events { id } } }", None, None),
        ("query { viewer { clientId } }", None, None),
        ("subscription { events { id ", None, None),
        ("subscription A { events { id } } subscription B { events { id } }", None, None),
        ("subscription A { events { id } } subscription B { events { id } }", "B", ()),
    ],
)
def test_only_subscriptions_whose_start_depends_on_the_caller_alone_are_shared(
    query: str, name: str | None, expected: tuple[str, ...] | None
) -> None:
    assert shareable(query, name) == expected


def test_equal_visibility_and_operation_make_one_audience_and_any_difference_another() -> None:
    key = audience_key(LIVE, {}, None, SECRETARIAT)
    assert key is not None
    # Another token of the same client: same audience (expiry and revocation are per member).
    other_token = Principal(
        organization_id="org-sec",
        client_id="client-sec",
        scopes=SECRETARIAT.scopes,
        organization_kind="COORDINATOR",
        token_id="jti-2",
        expires_at=int(time.time()) + 60,
    )
    assert audience_key(LIVE, None, None, other_token) == key
    different = [
        Principal("org-other", "client-sec", SECRETARIAT.scopes, "COORDINATOR"),
        Principal("org-sec", "client-2", SECRETARIAT.scopes, "COORDINATOR"),
        Principal("org-sec", "client-sec", frozenset({"events:subscribe"}), "COORDINATOR"),
        Principal("org-sec", "client-sec", SECRETARIAT.scopes, "NGO"),
    ]
    for principal in different:
        assert audience_key(LIVE, {}, None, principal) not in (None, key)
    assert audience_key(WITH_CURSOR, {"after": None}, None, SECRETARIAT) is not None
    assert audience_key(WITH_CURSOR, {"after": "3"}, None, SECRETARIAT) is None
    first = audience_key(WITH_CURSOR, {"x": 1, "after": None}, None, SECRETARIAT)
    assert first == audience_key(WITH_CURSOR, {"after": None, "x": 1}, None, SECRETARIAT)
    assert first != audience_key(WITH_CURSOR, {"after": None, "x": 2}, None, SECRETARIAT)
    assert audience_key(LIVE, {}, None, None) is None
    assert audience_key(LIVE, {}, None, Principal(None, "cli")) is None


async def test_a_member_gets_the_shared_payload_under_its_own_id() -> None:
    member = Member('a"1', SECRETARIAT, capacity=3)
    payload = json.dumps({"data": {"events": {"id": "7", "type": "X"}}})
    member.offer(payload)
    member.end(COMPLETE)  # a completion: what is queued is still delivered
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    ending = await member.deliver(send)
    assert ending.code is None
    assert [json.loads(frame) for frame in sent] == [
        {"id": 'a"1', "type": "next", "payload": json.loads(payload)}
    ]


async def test_a_member_falling_behind_its_queue_is_cut_off_and_its_queue_dropped() -> None:
    member = Member("1", SECRETARIAT, capacity=3)
    for n in range(5):
        member.offer(f'{{"n":{n}}}')
    assert member.ending == TOO_SLOW and len(member.payloads) == 3
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    assert await member.deliver(send) == TOO_SLOW
    assert sent == [] and not member.payloads


async def test_a_member_whose_token_expired_is_given_nothing_more() -> None:
    expired = Principal("org-sec", "client-sec", SECRETARIAT.scopes, expires_at=int(time.time()))
    member = Member("1", expired, capacity=3)
    member.offer('{"n":1}')
    assert member.ending == TOKEN_EXPIRED and not member.payloads


def test_websocket_compression_is_off_unless_asked_for() -> None:
    assert load_settings({}).ws_compression is False
    assert load_settings({"HUB_WS_COMPRESSION": "true"}).ws_compression is True
