"""ADHOC follows a fishing-fleet prosecution for two survivors whose cases two CCPCR centres
own: complaint, investigation, a hearing with transport and accommodation, judgment,
compensation awarded and paid. Each organisation sees what consent gives it."""

from __future__ import annotations

from tests.api.justice_support import (
    COMPENSATION,
    HEARING,
    JUDGMENT,
    LEGAL_AID,
    LINK,
    LIST,
    UPDATE,
    consent_for_legal_aid,
    events_about,
    opened,
    org,
    read,
    step,
    survivor_case,
)
from tests.api.repatriation_support import fetch
from tests.marker_watch import planted
from tests.network import RunningHub

NAME_A = planted("Sok Dara")
NAME_B = planted("Pich Rithy")
OUTCOME = planted("the captain admitted holding Dara's passport")


async def test_legal_aid_follows_a_group_prosecution_to_compensation(hub: RunningHub) -> None:
    shelter, koh_kong = "ccpcr-shelter", "ccpcr-koh-kong"
    case_a = await survivor_case(hub, shelter, NAME_A, consent=False)
    # Dara's consent names ADHOC and the centre in Koh Kong that cares for her crewmate.
    grant_a = await consent_for_legal_aid(hub, case_a, shelter, recipients=(LEGAL_AID, koh_kong))
    case_b = await survivor_case(hub, koh_kong, NAME_B)

    # The shelter, owner of Dara's case, files the complaint with ADHOC as legal aid.
    legal = await opened(hub, shelter, [case_a], "legal-fleet-0001")
    lid = legal["id"]
    assert legal["status"] == "COMPLAINT_FILED" and legal["version"] == 1
    assert legal["openedById"] == org(hub, shelter)
    assert legal["legalAidId"] == org(hub, LEGAL_AID)
    assert [s["caseId"] for s in legal["survivors"]] == [case_a]
    assert legal["survivors"][0]["case"]["fullName"] == NAME_A

    # ADHOC sees Dara's identity and legal notes (her consent), not her health notes.
    seen = await read(hub, LEGAL_AID, lid)
    assert not seen.errors, seen.errors
    survivor = seen.data["legalCase"]["survivors"][0]["case"]
    assert survivor["fullName"] == NAME_A
    assert survivor["legalNotes"] == planted("held on the boat for three years")
    assert survivor["healthNotes"] is None

    # Not yet a party: the Koh Kong centre does not know the legal case exists.
    assert (await read(hub, koh_kong, lid)).codes == ["NOT_FOUND"]

    # ADHOC joins Rithy's case (his consent covers ADHOC): a group prosecution.
    linked = await step(hub, LEGAL_AID, LINK, {"id": lid, "case": case_b}, "linkCaseToLegalCase")
    assert [s["caseId"] for s in linked["survivors"]] == [case_a, case_b]
    # Now the Koh Kong centre is a party: the legal case's metadata, its own survivor's data,
    # and of Dara only what her consent gives it (it names the centre for LEGAL_AID).
    as_koh_kong = await read(hub, koh_kong, lid)
    assert not as_koh_kong.errors, as_koh_kong.errors
    survivors = {s["caseId"]: s["case"] for s in as_koh_kong.data["legalCase"]["survivors"]}
    assert survivors[case_b]["fullName"] == NAME_B
    assert survivors[case_a]["fullName"] == NAME_A
    assert survivors[case_a]["healthNotes"] is None

    for status in ("INVESTIGATION", "COURT"):
        moved = await step(hub, LEGAL_AID, UPDATE, {"id": lid, "status": status}, "updateLegalCase")
        assert moved["status"] == status
    hearing_input = {
        "date": "2026-11-20T09:00:00+07:00",
        "court": "Koh Kong Provincial Court",
        "transportProvided": True,
        "accommodationProvided": True,
        "outcomeNote": OUTCOME,
        "idempotencyKey": "hearing-fleet-0001",
    }
    heard = await step(
        hub, LEGAL_AID, HEARING, {"id": lid, "input": hearing_input}, "recordHearing"
    )
    (hearing,) = heard["hearings"]
    assert hearing["date"] == "2026-11-20T02:00:00+00:00"
    assert hearing["transportProvided"] is True and hearing["accommodationProvided"] is True
    assert hearing["outcomeNote"] == OUTCOME  # its writer reads it
    assert hearing["recordedBy"] == org(hub, LEGAL_AID)

    # The note may speak of either survivor: the Koh Kong centre owns Rithy's case and
    # Dara's consent names it, so it reads the note (a disclosure of Dara's LEGAL data);
    # the shelter owns Dara's case but Rithy's consent does not name it: withheld.
    before = await hub.scalar("SELECT count(*) FROM disclosures WHERE case_id = :c", c=case_a)
    as_koh_kong = await read(hub, koh_kong, lid)
    assert as_koh_kong.data["legalCase"]["hearings"][0]["outcomeNote"] == OUTCOME
    logged = await fetch(
        hub,
        "SELECT organization_id, categories, consent_grant_id FROM disclosures "
        "WHERE case_id = :c ORDER BY id",
        c=case_a,
    )
    assert len(logged) > before
    assert any(
        o == org(hub, koh_kong) and "LEGAL" in str(cats) and g == grant_a for o, cats, g in logged
    )
    as_shelter = await read(hub, shelter, lid)
    shelter_view = as_shelter.data["legalCase"]
    assert shelter_view["hearings"][0]["outcomeNote"] is None
    assert shelter_view["hearings"][0]["court"] == "Koh Kong Provincial Court"
    assert {
        "field": "hearings.outcomeNote",
        "category": "LEGAL",
        "reason": "RECIPIENT_NOT_COVERED",
    } in shelter_view["withheld"]

    judged = await step(
        hub,
        LEGAL_AID,
        JUDGMENT,
        {"id": lid, "input": {"verdict": "CONVICTED", "date": "2026-11-25"}, "v": 3},
        "recordJudgment",
    )
    assert (judged["status"], judged["verdict"], judged["judgmentOn"]) == (
        "JUDGMENT",
        "CONVICTED",
        "2026-11-25",
    )
    awarded = await step(
        hub,
        LEGAL_AID,
        COMPENSATION,
        {"id": lid, "input": {"stage": "AWARDED", "amount": "2500", "currency": "usd"}},
        "recordCompensation",
    )
    assert awarded["status"] == "COMPENSATION_AWARDED"
    assert awarded["compensationAwarded"] == {"amount": "2500.00", "currency": "USD"}
    paid = await step(
        hub,
        LEGAL_AID,
        COMPENSATION,
        {"id": lid, "input": {"stage": "PAID", "amount": "1800.50", "currency": "USD"}},
        "recordCompensation",
    )
    assert paid["status"] == "COMPENSATION_PAID"
    assert paid["compensationPaid"] == {"amount": "1800.50", "currency": "USD"}
    closed = await step(hub, LEGAL_AID, UPDATE, {"id": lid, "status": "CLOSED"}, "updateLegalCase")
    assert closed["status"] == "CLOSED" and closed["version"] == 7
    assert [(h["action"], h["toStatus"], h["version"]) for h in closed["history"]] == [
        ("OPEN", "COMPLAINT_FILED", 1),
        ("START_INVESTIGATION", "INVESTIGATION", 2),
        ("REFER_TO_COURT", "COURT", 3),
        ("RECORD_JUDGMENT", "JUDGMENT", 4),
        ("AWARD_COMPENSATION", "COMPENSATION_AWARDED", 5),
        ("PAY_COMPENSATION", "COMPENSATION_PAID", 6),
        ("CLOSE", "CLOSED", 7),
    ]
    # ADHOC's standing on the cases that came through the legal case ends with it.
    open_parties = await hub.scalar(
        "SELECT count(*) FROM case_parties WHERE source_type = 'LEGAL_CASE' "
        "AND source_id = :l AND ended_at IS NULL",
        l=lid,
    )
    assert open_parties == 0

    events = await events_about(hub, lid)
    assert [kind for kind, _, _ in events] == [
        "LEGAL_CASE_OPENED",
        "LEGAL_CASE_LINKED",
        "LEGAL_CASE_INVESTIGATION",
        "LEGAL_CASE_COURT",
        "LEGAL_HEARING_RECORDED",
        "LEGAL_CASE_JUDGMENT",
        "LEGAL_CASE_COMPENSATION_AWARDED",
        "LEGAL_CASE_COMPENSATION_PAID",
        "LEGAL_CASE_CLOSED",
    ]
    parties = sorted(org(hub, m) for m in (shelter, koh_kong, LEGAL_AID))
    assert events[-1][1] == parties
    assert events[-1][2]["legalCaseId"] == lid and events[-1][2]["status"] == "CLOSED"
    audited = await fetch(hub, "SELECT action FROM audit WHERE subject_id = :l ORDER BY id", l=lid)
    assert [a for (a,) in audited][:2] == ["legal_case.open", "legal_case.link"]
    assert len(audited) == 9

    # The same events reach the parties through the event stream, and nobody else.
    stream = 'query { events(after: "0", topics: [LEGAL]) { events { type subjectId } } }'
    # (The Koh Kong centre became a party with the link: the opening was before its time.)
    for who, expected in ((koh_kong, 8), (LEGAL_AID, 9), ("ngo-malaysia", 0), ("mosavy", 0)):
        seen_events = await hub.gql(who, stream)
        assert not seen_events.errors, seen_events.errors
        mine = [e for e in seen_events.data["events"]["events"] if e["subjectId"] == lid]
        assert len(mine) == expected, who

    listed = await step(hub, koh_kong, LIST, {"first": 10}, "legalCases")
    assert [e["node"]["id"] for e in listed["edges"]] == [lid]
    filtered = await step(hub, LEGAL_AID, LIST, {"first": 10, "status": "COURT"}, "legalCases")
    assert filtered["edges"] == []


async def test_legal_aid_opens_a_case_for_a_survivor_it_already_serves(hub: RunningHub) -> None:
    """ADHOC, named in the survivor's consent for LEGAL_AID, opens the legal case itself;
    the case's owner is a party from then on."""
    owner = "ccpcr-svay-rieng"
    case_id = await survivor_case(hub, owner, planted("Keo Sreymom"))
    legal = await opened(hub, LEGAL_AID, [case_id], "legal-adhoc-0001")
    assert legal["openedById"] == org(hub, LEGAL_AID)
    as_owner = await read(hub, owner, legal["id"])
    assert not as_owner.errors, as_owner.errors
    assert as_owner.data["legalCase"]["status"] == "COMPLAINT_FILED"
