"""Survivor data at rest: sealed in the database, bound to its place, and status notes kept
for the owner.

Someone who walks off with the database file (a backup, a stolen laptop running the demo)
must not find a survivor's name in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.marker_watch import planted
from tests.network import RunningHub, backend

OWNER = "ccpcr-koh-kong"
# Distinctive enough that finding it anywhere can only mean it leaked.
NAME = planted("Vannak Zephyrine-Oudom សុខ វណ្ណៈ")
PHONE = planted("+855 23 555 0199")
HEALTH = planted("Rarely-seen-condition 7731 under treatment")
SURVIVOR: dict[str, Any] = {
    "fullName": NAME,
    "otherNames": ["Zephy"],
    "phone": PHONE,
    "familyContact": planted("uncle Oudom Zephyrine, Kampot"),
    "healthNotes": HEALTH,
    "currentLocation": planted("Zephyrine safe house"),
}
SECRETS = [NAME, "សុខ វណ្ណៈ", "Zephyrine", PHONE, "Rarely-seen-condition"]

CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id fullName phone } }"
READ = "query($id: ID!) { case(id: $id) { id fullName phone healthNotes } }"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }"


async def open_case(hub: RunningHub, survivor: dict[str, Any], note: str | None = None) -> str:
    result = await hub.gql(
        OWNER,
        CREATE,
        {"input": {"ageBand": "AGE_18_20", "sex": "MALE", "survivor": survivor, "note": note}},
    )
    assert not result.errors, result.errors
    assert result.data["createCase"]["fullName"] == survivor["fullName"]
    return str(result.data["createCase"]["id"])


async def give_consent(hub: RunningHub, case_id: str, member: str, categories: list[str]) -> None:
    result = await hub.gql(
        OWNER,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["SERVICE_REFERRAL"],
                "categories": categories,
                "recipientOrganizationIds": [hub.members[member].organization_id],
            }
        },
    )
    assert not result.errors, result.errors


async def test_the_database_file_never_holds_the_survivors_name(hub: RunningHub) -> None:
    if backend() != "sqlite":
        pytest.skip("reads the SQLite database file; PostgreSQL is checked with SQL below")
    # Given a case, read back by its owner and by a partner it consented to
    case_id = await open_case(hub, SURVIVOR)
    await give_consent(hub, case_id, "ccpcr-shelter", ["IDENTITY", "CONTACT", "HEALTH"])
    seen = await hub.gql("ccpcr-shelter", READ, {"id": case_id})
    assert seen.data["case"]["fullName"] == NAME, seen.body

    # Then neither the database file nor its write-ahead log holds any of it
    database = make_url(hub.settings.database_url).database
    assert database is not None
    files = [Path(database), Path(f"{database}-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert len(raw) > 50_000  # the file really is the hub's database
    assert hub.members[OWNER].name.encode() in raw  # and plain text would be found in it
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret


async def test_no_text_column_of_the_database_holds_the_survivors_name(hub: RunningHub) -> None:
    case_id = await open_case(hub, SURVIVOR)
    await give_consent(hub, case_id, "adhoc", ["IDENTITY", "HEALTH"])
    assert (await hub.gql("adhoc", READ, {"id": case_id})).data["case"]["fullName"] == NAME

    # Every sealed value is under the case's own key, which the current data key wraps
    rows = await hub.scalar("SELECT COUNT(*) FROM case_fields WHERE case_id = :id", id=case_id)
    assert rows == len(SURVIVOR)
    current = hub.settings.data_key_ring[0]
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM case_fields WHERE case_id = :id AND key_id = 'c1' "
            "AND sealed LIKE 'c1.%'",
            id=case_id,
        )
        == rows
    )
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM keystore.case_keys WHERE case_id = :id AND wrapped LIKE :prefix",
            id=case_id,
            prefix=f"v1.{current}.%",
        )
        == 1
    )

    async with hub.db.read() as session:
        if backend() == "sqlite":
            tables = [
                r[0]
                for r in await session.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'table'")
                )
            ]
            columns = [
                (table, r[1])
                for table in tables
                for r in await session.execute(text(f'PRAGMA table_info("{table}")'))
            ]
        else:
            columns = [
                tuple(r)
                for r in await session.execute(
                    text(
                        "SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema()"
                    )
                )
            ]
        assert ("case_fields", "sealed") in columns and len(columns) > 50
        for table, column in columns:
            for secret in SECRETS:
                found = await session.scalar(
                    text(f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE :s'),
                    {"s": f"%{secret}%"},
                )
                assert found == 0, (table, column, secret)


async def test_a_sealed_value_moved_to_another_case_does_not_open(hub: RunningHub) -> None:
    # Given two survivors' cases
    first = await open_case(hub, SURVIVOR)
    other_name = "Bopha Quillfeather"
    second = await open_case(hub, {"fullName": other_name, "phone": "+855 11 000 222"})
    await give_consent(hub, second, "ccpcr-shelter", ["IDENTITY", "CONTACT"])
    disclosures = await hub.scalar("SELECT COUNT(*) FROM disclosures")

    # When someone with database access copies the first survivor's sealed name onto the second
    async with hub.db.write() as session:
        await session.execute(
            text(
                "UPDATE case_fields SET sealed = (SELECT sealed FROM case_fields "
                "WHERE case_id = :src AND field = 'fullName') "
                "WHERE case_id = :dst AND field = 'fullName'"
            ),
            {"src": first, "dst": second},
        )

    # Then the second case no longer opens for anyone: an internal error, and neither name
    for member in (OWNER, "ccpcr-shelter"):
        response = await hub.http.post(
            "/graphql",
            json={"query": READ, "variables": {"id": second}},
            headers={"Authorization": f"Bearer {await hub.token(member)}"},
        )
        body = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL"], body
        assert body["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]
        assert body["data"] == {"case": None}
        assert NAME not in response.text and other_name not in response.text
    # and nothing was recorded as disclosed
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures") == disclosures
    # while the first case still opens where it belongs
    assert (await hub.gql(OWNER, READ, {"id": first})).data["case"]["fullName"] == NAME

    # The same holds for a value moved to another field of the same case
    async with hub.db.write() as session:
        await session.execute(
            text(
                "UPDATE case_fields SET sealed = (SELECT sealed FROM case_fields "
                "WHERE case_id = :id AND field = 'fullName') "
                "WHERE case_id = :id AND field = 'familyContact'"
            ),
            {"id": first},
        )
    # (only a query that asks for the moved field opens it)
    untouched = await hub.gql(OWNER, READ, {"id": first})
    assert not untouched.errors and untouched.data["case"]["fullName"] == NAME
    moved = await hub.gql(
        OWNER, "query($id: ID!) { case(id: $id) { id familyContact } }", {"id": first}
    )
    assert moved.codes == ["INTERNAL"] and NAME not in str(moved.body)


HISTORY = "query($id: ID!) { case(id: $id) { status statusHistory { status by note } } }"
MOVE = (
    "mutation($id: ID!, $status: CaseStatus!, $note: String) "
    "{ updateCaseStatus(caseId: $id, status: $status, note: $note) { status } }"
)


async def test_status_notes_are_shown_to_the_owner_only(hub: RunningHub) -> None:
    owner = hub.members[OWNER].organization_id
    case_id = await open_case(hub, SURVIVOR, note="found at the Cham Yeam crossing")
    moved = await hub.gql(
        OWNER,
        MOVE,
        {"id": case_id, "status": "IN_CARE", "note": "moved to the shelter in Phnom Penh"},
    )
    assert not moved.errors, moved.errors
    await give_consent(hub, case_id, "ccpcr-shelter", ["HEALTH"])

    mine = await hub.gql(OWNER, HISTORY, {"id": case_id})
    assert mine.data["case"]["statusHistory"] == [
        {"status": "OPEN", "by": owner, "note": "found at the Cham Yeam crossing"},
        {"status": "IN_CARE", "by": owner, "note": "moved to the shelter in Phnom Penh"},
    ]
    theirs = await hub.gql("ccpcr-shelter", HISTORY, {"id": case_id})
    assert not theirs.errors, theirs.errors
    assert theirs.data["case"] == {
        "status": "IN_CARE",
        "statusHistory": [
            {"status": "OPEN", "by": owner, "note": None},
            {"status": "IN_CARE", "by": owner, "note": None},
        ],
    }
    stranger = await hub.gql("ngo-malaysia", HISTORY, {"id": case_id})
    assert stranger.codes == ["NOT_FOUND"] and "Cham Yeam" not in str(stranger.body)
