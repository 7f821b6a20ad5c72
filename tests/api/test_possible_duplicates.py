"""A survivor already known at the Koh Kong transit centre is registered again at Svay Rieng:
the Svay Rieng caseworker hears only that she may be known elsewhere. The two owners agree to
link the cases; until then neither learns the other's organisation or case, and a link moves
no survivor data. Someone else with the same name is not flagged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from cases.blind_reindex import reindex
from cases.service import reseal_data
from store.sealed import FieldCipher
from tests.api.test_case_erasure import erase
from tests.marker_watch import planted
from tests.network import RunningHub

KK, SR, SHELTER = "ccpcr-koh-kong", "ccpcr-svay-rieng", "ccpcr-shelter"
CREATE = """
mutation($input: CreateCaseInput!) {
  createCase(input: $input) { id owner: ownerId possibleDuplicate duplicateHint }
}"""
LINKS = """
query { caseLinks { id yourCaseId status askedOfYou hint otherOrganizationId otherCaseId } }"""
REQUEST = """
mutation($hint: ID!) {
  requestCaseLink(hint: $hint) {
    id yourCaseId status askedOfYou hint otherOrganizationId otherCaseId
  }
}"""
ANSWER = """
mutation($id: ID!, $accept: Boolean!) {
  answerCaseLink(id: $id, accept: $accept) {
    id yourCaseId status askedOfYou otherOrganizationId otherCaseId
  }
}"""
READ = "query($id: ID!) { case(id: $id) { id fullName } }"


async def open_case(
    hub: RunningHub, who: str, names: list[str], born: str | None, sex: str = "FEMALE"
) -> dict[str, Any]:
    survivor: dict[str, Any] = {"fullName": names[0], "otherNames": names[1:]}
    if born is not None:
        survivor["dateOfBirth"] = born
    result = await hub.gql(
        who,
        CREATE,
        {"input": {"ageBand": "AGE_24_26", "sex": sex, "survivor": survivor}},
    )
    assert not result.errors, result.body
    case: dict[str, Any] = result.data["createCase"]
    return case


def reveals(body: Any, *secrets: str) -> list[str]:
    """Which of ``secrets`` appear anywhere in a response."""
    return [s for s in secrets if s in str(body)]


async def test_a_duplicate_is_flagged_across_organisations_without_revealing_either(
    hub: RunningHub,
) -> None:
    kk_org, sr_org = hub.members[KK].organization_id, hub.members[SR].organization_id
    kk_name = hub.members[KK].name
    sr_name = hub.members[SR].name
    # Given her case at Koh Kong, in Latin letters and in Khmer
    first = await open_case(hub, KK, [planted("Sok Srey Mom"), planted("សុខ ស្រីមុំ")], "2001-04-12")
    assert (first["possibleDuplicate"], first["duplicateHint"]) == (False, None)

    # When Svay Rieng registers her with the parts in another order and another spelling
    second = await hub.gql(
        SR,
        CREATE,
        {
            "input": {
                "ageBand": "AGE_24_26",
                "sex": "FEMALE",
                "survivor": {"fullName": planted("SREI  mom sok"), "dateOfBirth": "2001-04-12"},
            }
        },
    )
    # Then it hears she may be known elsewhere, and nothing of where or what
    answer = second.data["createCase"]
    assert answer["possibleDuplicate"] is True and answer["duplicateHint"], second.body
    assert reveals(second.body, kk_org, kk_name, first["id"]) == []
    sr_case = answer["id"]

    # Koh Kong sees nothing yet; Svay Rieng sees only its own possible duplicate
    assert (await hub.gql(KK, LINKS)).data["caseLinks"] == []
    mine = await hub.gql(SR, LINKS)
    assert [(x["yourCaseId"], x["status"], x["askedOfYou"]) for x in mine.data["caseLinks"]] == [
        (sr_case, "POSSIBLE", False)
    ]
    assert mine.data["caseLinks"][0]["hint"] == answer["duplicateHint"]
    assert reveals(mine.body, kk_org, kk_name, first["id"]) == []

    # Nobody else can use the hint, and Svay Rieng cannot answer its own request
    stolen = await hub.gql(SHELTER, REQUEST, {"hint": answer["duplicateHint"]})
    assert stolen.codes == ["NOT_FOUND"], stolen.body
    asked = await hub.gql(SR, REQUEST, {"hint": answer["duplicateHint"]})
    assert not asked.errors, asked.body
    assert [x["status"] for x in asked.data["requestCaseLink"]] == ["REQUESTED"]
    assert reveals(asked.body, kk_org, kk_name, first["id"]) == []
    link_id = asked.data["requestCaseLink"][0]["id"]
    own = await hub.gql(SR, ANSWER, {"id": link_id, "accept": True})
    assert own.codes == ["NOT_FOUND"], own.body
    other = await hub.gql(SHELTER, ANSWER, {"id": link_id, "accept": True})
    assert other.codes == ["NOT_FOUND"], other.body

    # Koh Kong sees a request naming only Svay Rieng and its own case
    request = await hub.gql(KK, LINKS)
    assert request.data["caseLinks"] == [
        {
            "id": link_id,
            "yourCaseId": first["id"],
            "status": "REQUESTED",
            "askedOfYou": True,
            "hint": None,
            "otherOrganizationId": sr_org,
            "otherCaseId": None,
        }
    ]
    assert reveals(request.body, sr_case, answer["duplicateHint"], sr_name) == []
    payloads = await hub.scalar(
        "SELECT payload FROM events WHERE type = 'CASE_LINK_REQUESTED' AND subject_id = :id",
        id=first["id"],
    )
    assert payloads is not None and reveals(payloads, sr_case, answer["duplicateHint"]) == []

    # When Koh Kong accepts, each sees that the link exists and with whom
    linked = await hub.gql(KK, ANSWER, {"id": link_id, "accept": True})
    assert linked.data["answerCaseLink"]["status"] == "LINKED", linked.body
    assert linked.data["answerCaseLink"]["otherCaseId"] == sr_case
    theirs = (await hub.gql(SR, LINKS)).data["caseLinks"][0]
    assert (theirs["status"], theirs["otherOrganizationId"], theirs["otherCaseId"]) == (
        "LINKED",
        kk_org,
        first["id"],
    )
    again = await hub.gql(KK, ANSWER, {"id": link_id, "accept": False})
    assert again.codes == ["INVALID_TRANSITION"], again.body
    # A link moves no data: without consent the case is still not there for Svay Rieng
    assert (await hub.gql(SR, READ, {"id": first["id"]})).codes == ["NOT_FOUND"]


async def test_someone_else_is_not_flagged(hub: RunningHub) -> None:
    await open_case(hub, KK, [planted("Chan Dara")], "1999-01-02")
    for names, born, sex in (
        ([planted("Chan Dara")], "1999-01-03", "FEMALE"),  # another birthday
        ([planted("Chan Dara")], "1999-01-02", "MALE"),  # another sex
        ([planted("Chan Darith")], "1999-01-02", "FEMALE"),  # another name
        ([planted("Chan Dara")], None, "FEMALE"),  # no date of birth: nothing to match on
    ):
        case = await open_case(hub, SR, names, born, sex)
        assert (case["possibleDuplicate"], case["duplicateHint"]) == (False, None), names
    # Her own organisation registering her twice is no "known elsewhere"
    again = await open_case(hub, KK, [planted("Chan Dara")], "1999-01-02")
    assert again["possibleDuplicate"] is False


async def test_khmer_spellings_meet_and_erasure_takes_her_out_of_the_index(
    hub: RunningHub,
) -> None:
    # A zero-width space left by a Khmer keyboard does not hide her
    first = await open_case(hub, KK, [planted("ស្រី\u200bមុំ")], "2003-09-30")
    count = "SELECT COUNT(*) FROM case_blind_index WHERE case_id = :id"
    assert await hub.scalar(count, id=first["id"]) >= 1
    second = await open_case(hub, SHELTER, [planted("ស្រីមុំ")], "2003-09-30")
    assert second["possibleDuplicate"] is True
    # Once Koh Kong erases her data, the index no longer knows her there
    erased = await erase(hub, first["id"], "erase-dup-00001", who=KK)
    assert not erased.errors, erased.body
    assert await hub.scalar(count, id=first["id"]) == 0
    third = await open_case(hub, SR, [planted("ស្រីមុំ")], "2003-09-30")
    # Still known at the shelter (its own entry), no longer at Koh Kong
    assert third["possibleDuplicate"] is True
    links = await hub.scalar(
        "SELECT COUNT(*) FROM case_links WHERE asking_case_id = :id", id=third["id"]
    )
    assert links == 1


async def test_rotating_the_data_keys_reindexes_old_and_unindexed_cases(hub: RunningHub) -> None:
    # A case from before the index (its entries removed as if opened before 0018_places)
    old = await open_case(hub, KK, [planted("Keo Sophea")], "1998-07-07")
    async with hub.db.write() as session:
        await session.execute(
            text("DELETE FROM case_blind_index WHERE case_id = :id"), {"id": old["id"]}
        )
    current, keys = hub.settings.data_key_ring
    # When a new data key is put first and the rotation runs, she is indexed under both keys
    rotated = FieldCipher({**keys, "k-next": bytes(range(32))}, "k-next")
    assert await reindex(hub.db, rotated) == 2
    key_ids = "SELECT key_id FROM case_blind_index WHERE case_id = :id ORDER BY key_id"
    assert [r for (r,) in await fetch_all(hub, key_ids, old["id"])] == sorted([current, "k-next"])
    assert await reindex(hub.db, rotated) == 0  # run again: nothing missing
    # The hub, still on the old key, finds her again from another organisation
    again = await open_case(hub, SR, [planted("Sophea Keo")], "1998-07-07")
    assert again["possibleDuplicate"] is True
    # Once the rotation has re-wrapped every case key and the old key leaves the ring, its
    # entries go (nothing could match them any more) and the later case gets its k-next entry
    assert await reseal_data(hub.db, rotated) > 0
    only_next = FieldCipher({"k-next": bytes(range(32))}, "k-next")
    assert await reindex(hub.db, only_next) >= 1
    assert [r for (r,) in await fetch_all(hub, key_ids, old["id"])] == ["k-next"]
    assert [r for (r,) in await fetch_all(hub, key_ids, again["id"])] == ["k-next"]


async def fetch_all(hub: RunningHub, sql: str, case_id: str) -> list[Any]:
    async with hub.db.read() as session:
        return list((await session.execute(text(sql), {"id": case_id})).all())
