"""The coordinator's desk: the secretariat sees what is late in the network, as metadata,
and never the survivor behind it; it reminds the late organisation and talks with the
item's parties in sealed notes. Through real HTTP against a served hub."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from cases.deadlines import run_deadlines
from cases.models import RepatriationRequest
from orgs.models import ApiClient
from orgs.principal import operator
from orgs.rules import MembershipAction
from orgs.service import change_membership
from tests.api.repatriation_support import (
    ACK,
    a_request,
    do,
    fetch,
    last_event,
    orgs,
)
from tests.api.test_case_erasure import erase
from tests.api.test_oauth_private_key_jwt import ec_key, register_keys
from tests.marker_watch import planted
from tests.network import RunningHub

OVERVIEW = """
query($settled: Boolean) {
  networkOverview(includeSettled: $settled) {
    generatedAt
    lateItems {
      kind id status lateOrganizationId dueAt lateBySeconds overdue remindedAt escalatedAt
      coordinatorReminders createdAt parties { organizationId role }
    }
    lateAcknowledgers {
      organizationId acknowledged late medianSecondsToAcknowledge p90SecondsToAcknowledge
    }
    failingWebhooks { webhookId organizationId failedDeliveries retryingDeliveries }
    clientsNeedingAttention { clientId organizationId keyExpiresAt lastTokenAt concerns }
  }
}"""
ITEM = """
query($kind: DeskItemKind!, $id: ID!) {
  deskItem(kind: $kind, id: $id) {
    kind id status lateOrganizationId dueAt lateBySeconds overdue remindedAt escalatedAt
    coordinatorReminders parties { organizationId role }
  }
}"""
# Every survivor field and free text of a request, asked for by the coordinator.
SURVIVOR_VIEW = """
query($id: ID!) {
  repatriationRequest(id: $id) {
    id notes travelPlan { date route escort } case { fullName currentLocation }
    history { note }
  }
}"""
CASE = "query($id: ID!) { case(id: $id) { id fullName currentLocation } }"
REMIND = """
mutation($kind: DeskItemKind!, $id: ID!) {
  remindOrganization(kind: $kind, id: $id) { id organizationId itemKind itemId byOrganizationId }
}"""
NOTICES = "{ deskNotices { id organizationId itemKind itemId byOrganizationId } }"
NOTE = """
mutation($kind: DeskItemKind!, $id: ID!, $text: String!) {
  addDeskNote(kind: $kind, id: $id, text: $text) { id authorOrganizationId text }
}"""
NOTES = """
query($kind: DeskItemKind!, $id: ID!) {
  deskNotes(kind: $kind, id: $id) { id authorOrganizationId text }
}"""
KIND = "REPATRIATION_REQUEST"
# What the desk shows of an item: nothing else exists on the type.
METADATA = {
    "kind",
    "id",
    "status",
    "parties",
    "lateOrganizationId",
    "dueAt",
    "lateBySeconds",
    "overdue",
    "remindedAt",
    "escalatedAt",
    "coordinatorReminders",
    "createdAt",
}
NOTES_TEXT = planted("She fears the broker who holds her passport in Rayong")


async def escalated_request(hub: RunningHub, key: str, hours_late: int = 3) -> tuple[str, str]:
    """ADHOC's request to the embassy in Bangkok, with free-text notes, left unacknowledged
    past its deadline; the deadline pass has escalated it to the secretariat."""
    case_id, rid = await a_request(hub, key, notes=NOTES_TEXT)
    past = datetime.now(UTC) - timedelta(hours=hours_late)
    async with hub.db.write() as session:
        await session.execute(
            update(RepatriationRequest)
            .where(RepatriationRequest.id == rid)
            .values(acknowledge_by=past)
            .execution_options(synchronize_session=False)
        )
    report = await run_deadlines(hub.db, hub.app.state.hub.cipher, datetime.now(UTC))
    assert report.escalated == 1
    return case_id, rid


def _text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


async def test_the_coordinator_sees_an_escalated_request_s_metadata_and_not_its_survivor(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    case_id, rid = await a_request(hub, "desk-before-01", notes=NOTES_TEXT)
    # Before it is late the request is not the coordinator's to see, not even as metadata.
    early = await hub.gql("secretariat", ITEM, {"kind": KIND, "id": rid})
    assert early.codes == ["NOT_FOUND"] and early.data is None
    empty = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    assert rid not in [i["id"] for i in empty["lateItems"]]

    case_id, rid = await escalated_request(hub, "desk-late-01")

    # The escalation names what the secretariat may now read, and carries no survivor data.
    kind, audience, payload = await last_event(hub, rid)
    assert kind == "REPATRIATION_ESCALATED" and org["secretariat"] in audience
    assert payload["coordinatorMayRead"] == {"kind": KIND, "id": rid, "query": "deskItem"}
    assert NOTES_TEXT not in _text(payload)

    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    (item,) = [i for i in overview["lateItems"] if i["id"] == rid]
    assert set(item) == METADATA
    assert (item["kind"], item["status"], item["overdue"]) == (KIND, "SUBMITTED", True)
    assert item["lateOrganizationId"] == org["embassy-bangkok"]
    assert {(p["organizationId"], p["role"]) for p in item["parties"]} == {
        (org["adhoc"], "REQUESTER"),
        (org["embassy-bangkok"], "EMBASSY"),
        (org["mosavy"], "RECEPTION"),
    }
    assert 3 * 3600 - 60 <= item["lateBySeconds"] <= 3 * 3600 + 600
    assert item["escalatedAt"] is not None and item["coordinatorReminders"] == []
    # The embassy that owes it is listed as acknowledging late.
    late_orgs = {a["organizationId"]: a for a in overview["lateAcknowledgers"]}
    assert late_orgs[org["embassy-bangkok"]]["late"] >= 1

    seen = await do(hub, "secretariat", ITEM, {"kind": KIND, "id": rid}, "deskItem")
    # Same item, read a moment later: only how late it is may have grown.
    moving = ("createdAt", "lateBySeconds")
    assert {k: v for k, v in seen.items() if k not in moving} == {
        k: v for k, v in item.items() if k not in moving
    }
    assert item["lateBySeconds"] <= seen["lateBySeconds"] <= item["lateBySeconds"] + 60

    # Her data stays out of reach: the request itself and her case are refused outright,
    # each with its documented code, and a survivor field does not exist on the desk's type.
    refused = await hub.gql("secretariat", SURVIVOR_VIEW, {"id": rid})
    assert refused.codes == ["NOT_FOUND"] and refused.data == {"repatriationRequest": None}
    no_case = await hub.gql("secretariat", CASE, {"id": case_id})
    assert no_case.codes == ["FORBIDDEN"] and no_case.data == {"case": None}
    for survivor_field in (
        "notes",
        "case { fullName }",
        "travelPlan { route }",
        "history { note }",
    ):
        asked = await hub.gql(
            "secretariat",
            f"query($id: ID!) {{ deskItem(kind: {KIND}, id: $id) {{ id {survivor_field} }} }}",
            {"id": rid},
        )
        assert asked.codes == ["BAD_USER_INPUT"] and asked.data is None, survivor_field
    for body in (overview, seen, refused.body, no_case.body):
        assert NOTES_TEXT not in _text(body)
        assert planted("Chan Vuthy") not in _text(body)


async def test_others_are_refused_the_desk(hub: RunningHub) -> None:
    _, rid = await escalated_request(hub, "desk-refused-01")
    # Parties and strangers alike: the overview and the desk item are the coordinator's.
    for who in ("adhoc", "embassy-bangkok", "ngo-malaysia"):
        for query, variables in ((OVERVIEW, {}), (ITEM, {"kind": KIND, "id": rid})):
            result = await hub.gql(who, query, variables)
            assert result.codes == ["FORBIDDEN"] and result.data is None, (who, query)
        reminded = await hub.gql(who, REMIND, {"kind": KIND, "id": rid})
        assert reminded.codes == ["FORBIDDEN"]
    # The coordinator's own client without network:admin gets nothing either.
    narrow = await hub.token("secretariat", scope="orgs:read")
    result = await hub.gql(None, OVERVIEW, token=narrow)
    assert result.codes == ["FORBIDDEN"] and result.data is None
    # An id of another kind, or an unknown id, does not exist.
    wrong = await hub.gql("secretariat", ITEM, {"kind": "REFERRAL", "id": rid})
    assert wrong.codes == ["NOT_FOUND"]
    bad = await hub.gql(
        "secretariat", OVERVIEW.replace("includeSettled", "windowDays: 0, includeSettled")
    )
    assert bad.codes == ["BAD_USER_INPUT"]
    assert await hub.scalar("SELECT count(*) FROM desk_notices") == 0


async def test_a_suspended_coordinator_gets_nothing(hub: RunningHub) -> None:
    _, rid = await escalated_request(hub, "desk-suspended-01")
    token = await hub.token("secretariat")
    assert not (await hub.gql(None, OVERVIEW, token=token)).errors
    await change_membership(
        hub.db,
        operator(),
        hub.members["secretariat"].organization_id,
        MembershipAction.SUSPEND,
        "audit of the secretariat",
    )
    for query, variables in (
        (OVERVIEW, {}),
        (ITEM, {"kind": KIND, "id": rid}),
        (REMIND, {"kind": KIND, "id": rid}),
    ):
        result = await hub.gql(None, query, variables, token=token)
        assert result.codes == ["UNAUTHENTICATED"] and not result.data, result.body
        assert rid not in _text(result.body)


async def test_the_coordinator_reminds_the_late_embassy(hub: RunningHub) -> None:
    org = orgs(hub)
    _, rid = await escalated_request(hub, "desk-remind-01")
    notice = await do(hub, "secretariat", REMIND, {"kind": KIND, "id": rid}, "remindOrganization")
    assert notice["organizationId"] == org["embassy-bangkok"]
    assert (notice["itemKind"], notice["itemId"]) == (KIND, rid)
    assert notice["byOrganizationId"] == org["secretariat"]

    # An event to the embassy alone, and an audit entry.
    kind, audience, payload = await last_event(hub, rid)
    assert (kind, audience) == ("DESK_REMINDER", [org["embassy-bangkok"]])
    assert payload == {
        "itemKind": KIND,
        "itemId": rid,
        "noticeId": notice["id"],
        "status": "SUBMITTED",
    }
    audits = await fetch(
        hub, "SELECT action, actor_organization_id FROM audit WHERE subject_id = :r", r=rid
    )
    assert ("desk.remind", org["secretariat"]) in [tuple(a) for a in audits]

    # The embassy reads its notice; nobody else has one.
    (mine,) = await do(hub, "embassy-bangkok", NOTICES, {}, "deskNotices")
    assert mine == notice
    assert await do(hub, "adhoc", NOTICES, {}, "deskNotices") == []
    # The desk's deadline history shows the reminder.
    item = await do(hub, "secretariat", ITEM, {"kind": KIND, "id": rid}, "deskItem")
    assert len(item["coordinatorReminders"]) == 1

    # Acknowledged, late: off the current list, still in the settled history.
    await do(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation")
    now = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    assert rid not in [i["id"] for i in now["lateItems"]]
    settled = await do(hub, "secretariat", OVERVIEW, {"settled": True}, "networkOverview")
    (old,) = [i for i in settled["lateItems"] if i["id"] == rid]
    assert (old["status"], old["overdue"], old["lateBySeconds"]) == ("ACKNOWLEDGED", False, 0)
    late = {a["organizationId"]: a for a in settled["lateAcknowledgers"]}[org["embassy-bangkok"]]
    assert late["acknowledged"] >= 1 and late["late"] >= 1
    assert late["medianSecondsToAcknowledge"] is not None


async def test_a_conversation_note_reaches_the_parties_and_nobody_else(hub: RunningHub) -> None:
    org = orgs(hub)
    _, rid = await escalated_request(hub, "desk-note-01")
    text = planted("Her brother in Battambang can meet her at the border")
    note = await do(
        hub, "secretariat", NOTE, {"kind": KIND, "id": rid, "text": text}, "addDeskNote"
    )
    assert (note["authorOrganizationId"], note["text"]) == (org["secretariat"], text)
    reply = await do(
        hub, "embassy-bangkok", NOTE, {"kind": KIND, "id": rid, "text": "Checking"}, "addDeskNote"
    )

    # Sealed at rest; the event says a note exists, not what it says.
    (stored,) = await fetch(hub, "SELECT text_sealed FROM desk_notes WHERE id = :i", i=note["id"])
    assert stored[0] and text not in stored[0]
    kind, audience, payload = await last_event(hub, rid)
    assert kind == "DESK_NOTE_ADDED" and payload == {
        "itemKind": KIND,
        "itemId": rid,
        "noteId": reply["id"],
    }
    assert set(audience) == {
        org["adhoc"],
        org["embassy-bangkok"],
        org["mosavy"],
        org["secretariat"],
    }

    for who in ("secretariat", "adhoc", "embassy-bangkok", "mosavy"):
        notes = await do(hub, who, NOTES, {"kind": KIND, "id": rid}, "deskNotes")
        assert [n["text"] for n in notes] == [text, "Checking"], who
    for who in ("ngo-malaysia", "embassy-kuala-lumpur"):
        refused = await hub.gql(who, NOTES, {"kind": KIND, "id": rid})
        assert refused.codes == ["NOT_FOUND"] and text not in _text(refused.body), who
        written = await hub.gql(who, NOTE, {"kind": KIND, "id": rid, "text": "x"})
        assert written.codes == ["NOT_FOUND"], who
    # An empty note is refused and nothing is written.
    before = await hub.scalar("SELECT count(*) FROM desk_notes")
    empty = await hub.gql("secretariat", NOTE, {"kind": KIND, "id": rid, "text": "  "})
    assert empty.codes == ["BAD_USER_INPUT"]
    assert await hub.scalar("SELECT count(*) FROM desk_notes") == before


async def test_notes_about_her_are_cleared_when_her_case_is_erased(hub: RunningHub) -> None:
    case_id, rid = await escalated_request(hub, "desk-erased-01")
    text = planted("Her sister's phone is the way to reach her")
    await do(hub, "secretariat", NOTE, {"kind": KIND, "id": rid, "text": text}, "addDeskNote")
    erased = await erase(hub, case_id, "desk-erase-01", who="adhoc")
    assert not erased.errors, erased.errors
    (note,) = await do(hub, "secretariat", NOTES, {"kind": KIND, "id": rid}, "deskNotes")
    assert note["text"] is None
    assert await hub.scalar("SELECT count(*) FROM desk_notes WHERE text_sealed IS NOT NULL") == 0


async def test_a_conversation_opens_only_once_the_item_is_late(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "desk-early-note-01")
    for who in ("adhoc", "secretariat"):
        result = await hub.gql(who, NOTE, {"kind": KIND, "id": rid, "text": "early"})
        assert result.codes == ["NOT_FOUND"], who
    assert await hub.scalar("SELECT count(*) FROM desk_notes") == 0


async def test_clients_unused_or_due_for_rotation_are_listed(hub: RunningHub) -> None:
    org = orgs(hub)
    client_id = hub.members["ngo-malaysia"].client_id
    # Registered long ago, never given a token, never rotated.
    async with hub.db.write() as session:
        await session.execute(
            update(ApiClient)
            .where(ApiClient.client_id == client_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=175), last_token_at=None)
            .execution_options(synchronize_session=False)
        )
    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    listed = {c["clientId"]: c for c in overview["clientsNeedingAttention"]}
    assert listed[client_id]["organizationId"] == org["ngo-malaysia"]
    assert set(listed[client_id]["concerns"]) == {"NEVER_USED", "NEVER_ROTATED", "KEY_NEAR_EXPIRY"}
    assert listed[client_id]["lastTokenAt"] is None

    # A token is issued: the client is no longer unused, and the hub noted when.
    await hub.fetch_token("ngo-malaysia")
    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    listed = {c["clientId"]: c for c in overview["clientsNeedingAttention"]}
    assert set(listed[client_id]["concerns"]) == {"NEVER_ROTATED", "KEY_NEAR_EXPIRY"}
    assert listed[client_id]["lastTokenAt"] is not None

    # Registering new signing keys (private_key_jwt) is a rotation: nothing left to flag.
    key = ec_key("ngo-malaysia-2026")
    registered = await register_keys(
        hub, "ngo-malaysia", "ngo-malaysia", {"keys": [key.as_dict(private=False)]}
    )
    assert registered.errors == []
    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    assert client_id not in [c["clientId"] for c in overview["clientsNeedingAttention"]]
