"""Scopes hold wherever a type loads, not only at the root.

A token with only `referrals:read` reads the referral but not the case behind it, however
it walks there; an embassy token with only `repatriation:read` likewise. The same tokens with
`cases:read` added see the case (so the test can fail), and `pii:read` still gates identity.
"""

from __future__ import annotations

import json

from tests.api.event_support import (
    codes_of,
    next_events,
    partner_socket,
    receive,
    registered,
    start,
)
from tests.api.referral_steps import SENDER, record_consent, sent
from tests.api.repatriation_support import a_request
from tests.api.test_cases_flow import open_case
from tests.marker_watch import planted
from tests.network import RunningHub

CASE_FIELDS = "id fullName legalNotes healthNotes currentLocation withheld { field reason }"
INBOX = (
    f"{{ referrals(box: INBOX) {{ edges {{ node {{ id reason case {{ {CASE_FIELDS} }} }} }} }} }}"
)
ONE = f"query($id: ID!) {{ referral(id: $id) {{ id case {{ {CASE_FIELDS} }} }} }}"
REPATRIATIONS = f"{{ repatriationRequests(box: INBOX) {{ edges {{ node {{ id case {{ {CASE_FIELDS} }} }} }} }} }}"


async def legal_aid_referral(hub: RunningHub, key: str) -> tuple[str, str]:
    case_id = await open_case(hub)
    await record_consent(
        hub,
        case_id,
        ["LEGAL_AID"],
        members=("adhoc",),
        categories=["IDENTITY", "LEGAL", "HEALTH", "LOCATION"],
    )
    referral = await sent(hub, case_id, "adhoc", key, reasonCategory="LEGAL")
    return case_id, referral["id"]


async def test_referrals_read_alone_does_not_open_the_case_behind_a_referral(
    hub: RunningHub,
) -> None:
    case_id, rid = await legal_aid_referral(hub, "kk-scope-0001")
    only = await hub.token("adhoc", scope="referrals:read")
    inbox = await hub.gql(None, INBOX, token=only)
    assert not inbox.errors, inbox.errors
    (edge,) = inbox.data["referrals"]["edges"]
    assert edge["node"]["id"] == rid and edge["node"]["case"] is None
    assert edge["node"]["reason"] is not None  # the referral itself is what the scope is for
    single = await hub.gql(None, ONE, {"id": rid}, token=only)
    assert single.data["referral"]["case"] is None
    for body in (inbox.body, single.body):
        assert "Sophal" not in json.dumps(body) and "legalNotes" not in json.dumps(body)
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures WHERE case_id = :id", id=case_id) == (
        1  # the LEGAL reason of the referral, nothing of the case
    )

    # With cases:read as well, the case comes through the same edge; identity needs pii:read.
    wider = await hub.token("adhoc", scope="referrals:read cases:read")
    seen = await hub.gql(None, ONE, {"id": rid}, token=wider)
    case = seen.data["referral"]["case"]
    assert case["id"] == case_id and case["legalNotes"] is not None
    assert case["fullName"] is None
    assert {"field": "fullName", "reason": "PII_SCOPE_REQUIRED"} in case["withheld"]


async def test_a_write_only_token_gets_no_text_and_no_case_back_from_its_mutation(
    hub: RunningHub,
) -> None:
    _, rid = await legal_aid_referral(hub, "kk-scope-0002")
    writer = await hub.token("adhoc", scope="referrals:write")
    acked = await hub.gql(
        None,
        "mutation($id: ID!) { acknowledgeReferral(id: $id) { status reason withheld "
        f"{{ field reason }} case {{ {CASE_FIELDS} }} }} }}",
        {"id": rid},
        token=writer,
    )
    assert not acked.errors, acked.errors
    result = acked.data["acknowledgeReferral"]
    assert result["status"] == "ACKNOWLEDGED"
    assert result["reason"] is None and result["case"] is None
    assert {"field": "reason", "reason": "SCOPE_REQUIRED"} in result["withheld"]
    # and reading is refused outright
    assert (await hub.gql(None, ONE, {"id": rid}, token=writer)).codes == ["FORBIDDEN"]


async def test_repatriation_read_alone_does_not_open_the_case_behind_a_request(
    hub: RunningHub,
) -> None:
    case_id, rid = await a_request(hub, "bkk-scope-0001")
    only = await hub.token("embassy-bangkok", scope="repatriation:read")
    inbox = await hub.gql(None, REPATRIATIONS, token=only)
    assert not inbox.errors, inbox.errors
    (edge,) = inbox.data["repatriationRequests"]["edges"]
    assert edge["node"]["id"] == rid and edge["node"]["case"] is None
    assert "IDC Suan Phlu" not in json.dumps(inbox.body)
    wider = await hub.token("embassy-bangkok", scope="repatriation:read cases:read")
    seen = await hub.gql(None, REPATRIATIONS, token=wider)
    (edge,) = seen.data["repatriationRequests"]["edges"]
    assert edge["node"]["case"]["currentLocation"] == planted("IDC Suan Phlu, Bangkok")
    assert edge["node"]["case"]["id"] == case_id


async def test_a_case_status_subscription_needs_cases_read(hub: RunningHub) -> None:
    case_id, _ = await legal_aid_referral(hub, "kk-scope-0003")
    query = "subscription($id: ID!) { caseStatus(caseId: $id) { type payload } }"
    # Over a real websocket: without cases:read the case does not exist for this token,
    only = await hub.token(SENDER, scope="events:subscribe")
    async with partner_socket(hub, None, token=only) as ws:
        await start(ws, "1", query, {"id": case_id})
        message = await receive(ws)
        assert message["id"] == "1" and codes_of(message) == ["NOT_FOUND"], message
    # and with it the subscription starts and delivers the case's next status change.
    both = await hub.token(SENDER, scope="events:subscribe cases:read cases:write")
    async with partner_socket(hub, None, token=both) as ws:
        await start(ws, "1", query, {"id": case_id})
        await registered(hub, 1)
        changed = await hub.gql(
            SENDER,
            "mutation($id: ID!) { updateCaseStatus(caseId: $id, status: IN_CARE) { status } }",
            {"id": case_id},
        )
        assert not changed.errors, changed.errors
        (event,) = await next_events(ws, 1)
        assert event["type"] == "CASE_STATUS_CHANGED"
