"""Who may not open, link, move or read a legal case, and that a refusal writes nothing."""

from __future__ import annotations

from tests.api.justice_support import (
    COMPENSATION,
    FIELDS,
    HEARING,
    JUDGMENT,
    LEGAL_AID,
    LINK,
    LIST,
    OPEN,
    UPDATE,
    consent_for_legal_aid,
    counts,
    open_input,
    opened,
    org,
    read,
    step,
    survivor_case,
)
from tests.marker_watch import planted
from tests.network import RunningHub

SHELTER = "ccpcr-shelter"
HEARING_INPUT = {
    "date": "2026-11-20T09:00:00Z",
    "court": "Koh Kong Provincial Court",
    "transportProvided": False,
    "accommodationProvided": False,
    "idempotencyKey": "hearing-0001",
}


async def test_only_the_owner_or_the_legal_aid_organisation_opens_and_only_with_consent(
    hub: RunningHub,
) -> None:
    covered = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    uncovered = await survivor_case(hub, SHELTER, planted("Nov Srey"), consent=False)
    # Consent naming ADHOC for HEALTH only: not LEGAL, so not enough for a legal case.
    health_only = await survivor_case(hub, SHELTER, planted("Ly Kanha"), consent=False)
    await consent_for_legal_aid(hub, health_only, SHELTER, categories=("HEALTH",))
    # The Koh Kong centre is a party to the covered case (the consent names it) but owns none.
    await consent_for_legal_aid(hub, covered, SHELTER, recipients=("ccpcr-koh-kong",))
    before = await counts(hub)

    refusals = [
        ("ccpcr-koh-kong", [covered], {}, "FORBIDDEN"),  # a party, not the owner
        ("ngo-malaysia", [covered], {}, "NOT_FOUND"),  # not even a party
        (SHELTER, [uncovered], {}, "CONSENT_REQUIRED"),
        (SHELTER, [covered, uncovered], {}, "CONSENT_REQUIRED"),  # all or nothing
        (SHELTER, [health_only], {}, "CONSENT_REQUIRED"),
        (SHELTER, [covered], {"legalAidOrganizationId": org(hub, "mosavy")}, "BAD_USER_INPUT"),
        (SHELTER, [], {}, "BAD_USER_INPUT"),
        (SHELTER, [covered], {"court": "  "}, "BAD_USER_INPUT"),
        (SHELTER, [covered], {"complaintFiledOn": "2099-01-01"}, "BAD_USER_INPUT"),
        (SHELTER, [covered], {"idempotencyKey": "short"}, "BAD_USER_INPUT"),
        # the embassy's token cannot write cases at all
        ("embassy-bangkok", [covered], {}, "FORBIDDEN"),
    ]
    for n, (who, cases, extra, code) in enumerate(refusals):
        result = await hub.gql(who, OPEN, open_input(hub, cases, f"refused-open-{n:04d}", **extra))
        assert result.codes == [code], (who, extra, result.body)
        assert result.data is None or result.data.get("openLegalCase") is None
    assert await counts(hub) == before


async def test_a_retried_opening_returns_the_same_legal_case_and_a_reused_key_conflicts(
    hub: RunningHub,
) -> None:
    case_id = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    first = await opened(hub, SHELTER, [case_id], "legal-retry-0001")
    again = await opened(hub, SHELTER, [case_id], "legal-retry-0001")
    assert again["id"] == first["id"]
    assert await hub.scalar("SELECT count(*) FROM legal_cases") == 1
    other = await hub.gql(
        SHELTER, OPEN, open_input(hub, [case_id], "legal-retry-0001", court="Another Court")
    )
    assert other.codes == ["CONFLICT"]


async def test_non_parties_see_nothing_and_cannot_act(hub: RunningHub) -> None:
    case_id = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    lid = (await opened(hub, SHELTER, [case_id], "legal-party-0001"))["id"]
    before = await counts(hub)
    for who in ("ngo-malaysia", "mosavy", "ccpcr-koh-kong"):
        assert (await read(hub, who, lid)).codes == ["NOT_FOUND"]
        listed = await step(hub, who, LIST, {"first": 10}, "legalCases")
        assert listed["edges"] == []
        moved = await hub.gql(who, UPDATE, {"id": lid, "status": "INVESTIGATION"})
        assert moved.codes == ["NOT_FOUND"]
        heard = await hub.gql(who, HEARING, {"id": lid, "input": HEARING_INPUT})
        assert heard.codes == ["NOT_FOUND"]
    assert await counts(hub) == before
    # A token without `cases:read` reads nothing, even the legal aid organisation's.
    token = await hub.token(LEGAL_AID, scope="orgs:read")
    denied = await hub.gql(None, f'{{ legalCase(id: "{lid}") {{ id }} }}', token=token)
    assert denied.codes == ["FORBIDDEN"]


async def test_the_stages_follow_the_table_and_a_stale_version_conflicts(hub: RunningHub) -> None:
    case_id = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    lid = (await opened(hub, SHELTER, [case_id], "legal-stage-0001"))["id"]
    before = await counts(hub)
    # The opener does not conduct the case: it may only end it early.
    by_opener = await hub.gql(SHELTER, UPDATE, {"id": lid, "status": "INVESTIGATION"})
    assert by_opener.codes == ["INVALID_TRANSITION"]
    assert by_opener.errors[0]["extensions"]["allowedActions"] == ["DISCONTINUE"]
    skipped = await hub.gql(LEGAL_AID, UPDATE, {"id": lid, "status": "COURT"})
    assert skipped.codes == ["INVALID_TRANSITION"]
    judged_early = await hub.gql(
        LEGAL_AID, JUDGMENT, {"id": lid, "input": {"verdict": "CONVICTED", "date": "2026-11-01"}}
    )
    assert judged_early.codes == ["INVALID_TRANSITION"]
    paid_early = await hub.gql(
        LEGAL_AID,
        COMPENSATION,
        {"id": lid, "input": {"stage": "PAID", "amount": "10", "currency": "USD"}},
    )
    assert paid_early.codes == ["INVALID_TRANSITION"]
    hearing_early = await hub.gql(LEGAL_AID, HEARING, {"id": lid, "input": HEARING_INPUT})
    assert hearing_early.codes == ["INVALID_TRANSITION"]
    via_update = await hub.gql(LEGAL_AID, UPDATE, {"id": lid, "status": "JUDGMENT"})
    assert via_update.codes == ["BAD_USER_INPUT"]
    stale = await hub.gql(LEGAL_AID, UPDATE, {"id": lid, "status": "INVESTIGATION", "v": 7})
    assert stale.codes == ["CONFLICT"]
    no_reason = await hub.gql(SHELTER, UPDATE, {"id": lid, "status": "CLOSED"})
    assert no_reason.codes == ["BAD_USER_INPUT"]
    assert await counts(hub) == before

    for status in ("INVESTIGATION", "COURT"):
        await step(hub, LEGAL_AID, UPDATE, {"id": lid, "status": status}, "updateLegalCase")
    by_opener = await hub.gql(SHELTER, HEARING, {"id": lid, "input": HEARING_INPUT})
    assert by_opener.codes == ["FORBIDDEN"]
    await step(
        hub,
        LEGAL_AID,
        JUDGMENT,
        {"id": lid, "input": {"verdict": "CONVICTED", "date": "2026-11-01"}},
        "recordJudgment",
    )
    for amount, currency in (("-5", "USD"), ("ten", "USD"), ("10", "XYZ"), ("NaN", "USD")):
        bad = await hub.gql(
            LEGAL_AID,
            COMPENSATION,
            {"id": lid, "input": {"stage": "AWARDED", "amount": amount, "currency": currency}},
        )
        assert bad.codes == ["BAD_USER_INPUT"], (amount, currency)
    after_judgment = await read(hub, LEGAL_AID, lid)
    assert after_judgment.data["legalCase"]["compensationAwarded"] is None
    assert after_judgment.data["legalCase"]["status"] == "JUDGMENT"


async def test_the_opener_discontinues_with_a_reason_and_a_closed_case_takes_no_more(
    hub: RunningHub,
) -> None:
    case_id = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    other = await survivor_case(hub, SHELTER, planted("Nov Srey"))
    lid = (await opened(hub, SHELTER, [case_id], "legal-close-0001"))["id"]
    reason = planted("the family withdrew the complaint after threats")
    closed = await step(
        hub, SHELTER, UPDATE, {"id": lid, "status": "CLOSED", "reason": reason}, "updateLegalCase"
    )
    assert closed["status"] == "CLOSED"
    assert closed["history"][-1]["action"] == "DISCONTINUE"
    assert closed["history"][-1]["note"] == reason  # the writer reads its own reason
    before = await counts(hub)
    assert (await hub.gql(SHELTER, LINK, {"id": lid, "case": other})).codes == [
        "INVALID_TRANSITION"
    ]
    again = await hub.gql(LEGAL_AID, UPDATE, {"id": lid, "status": "CLOSED", "reason": "x"})
    assert again.codes == ["INVALID_TRANSITION"]
    assert await counts(hub) == before


async def test_linking_needs_the_owner_or_the_survivors_consent(hub: RunningHub) -> None:
    case_id = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    lid = (await opened(hub, SHELTER, [case_id], "legal-link-0001"))["id"]
    # Owned by another centre, no consent for ADHOC: ADHOC does not even see it.
    unseen = await survivor_case(hub, "ccpcr-koh-kong", planted("Pich Rithy"), consent=False)
    # Seen by ADHOC through consent for another purpose, but not LEGAL_AID.
    wrong_purpose = await survivor_case(hub, "ccpcr-koh-kong", planted("Ouk Vanna"), consent=False)
    await hub.gql(
        "ccpcr-koh-kong",
        "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }",
        {
            "input": {
                "caseId": wrong_purpose,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["SERVICE_REFERRAL"],
                "categories": ["LEGAL"],
                "recipientOrganizationIds": [org(hub, LEGAL_AID)],
            }
        },
    )
    before = await counts(hub)
    assert (await hub.gql(LEGAL_AID, LINK, {"id": lid, "case": unseen})).codes == ["NOT_FOUND"]
    assert (await hub.gql(LEGAL_AID, LINK, {"id": lid, "case": wrong_purpose})).codes == [
        "CONSENT_REQUIRED"
    ]
    # The owner of an unlinked case is no party to the legal case: it cannot find it.
    assert (await hub.gql("ccpcr-koh-kong", LINK, {"id": lid, "case": unseen})).codes == [
        "NOT_FOUND"
    ]
    already = await hub.gql(SHELTER, LINK, {"id": lid, "case": case_id})
    assert already.codes == ["CONFLICT"]
    assert await counts(hub) == before


async def test_a_withdrawn_consent_hides_the_survivor_and_the_notes_again(hub: RunningHub) -> None:
    owner = "ccpcr-koh-kong"
    case_a = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    case_b = await survivor_case(hub, owner, planted("Pich Rithy"), consent=False)
    grant_b = await consent_for_legal_aid(hub, case_b, owner, recipients=(LEGAL_AID, SHELTER))
    lid = (await opened(hub, SHELTER, [case_a], "legal-withdraw-01"))["id"]
    await step(hub, LEGAL_AID, LINK, {"id": lid, "case": case_b}, "linkCaseToLegalCase")
    for status in ("INVESTIGATION", "COURT"):
        await step(hub, LEGAL_AID, UPDATE, {"id": lid, "status": status}, "updateLegalCase")
    note = planted("Rithy identified the broker in court")
    await step(
        hub,
        LEGAL_AID,
        HEARING,
        {"id": lid, "input": {**HEARING_INPUT, "outcomeNote": note}},
        "recordHearing",
    )
    shown = (await read(hub, SHELTER, lid)).data["legalCase"]
    assert shown["hearings"][0]["outcomeNote"] == note
    withdrawn = await hub.gql(
        owner,
        'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "no") { id } }',
        {"id": grant_b},
    )
    assert not withdrawn.errors, withdrawn.errors
    for who in (SHELTER, LEGAL_AID):
        after = (await read(hub, who, lid)).data["legalCase"]
        survivors = {s["caseId"]: s["case"] for s in after["survivors"]}
        assert survivors[case_b] is None or survivors[case_b]["fullName"] is None
        # the legal case itself is still theirs to follow
        assert after["hearings"][0]["court"] == "Koh Kong Provincial Court"
    shelter_after = (await read(hub, SHELTER, lid)).data["legalCase"]
    assert shelter_after["hearings"][0]["outcomeNote"] is None
    assert {"field": "hearings.outcomeNote", "category": "LEGAL", "reason": "WITHDRAWN"} in (
        shelter_after["withheld"]
    )
    # ADHOC wrote the note: it still reads what it wrote.
    adhoc_after = (await read(hub, LEGAL_AID, lid)).data["legalCase"]
    assert adhoc_after["hearings"][0]["outcomeNote"] == note


async def test_a_hearing_scheduled_ahead_gets_its_outcome_once_from_legal_aid(
    hub: RunningHub,
) -> None:
    case_id = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    lid = (await opened(hub, SHELTER, [case_id], "legal-outcome-01"))["id"]
    for status in ("INVESTIGATION", "COURT"):
        await step(hub, LEGAL_AID, UPDATE, {"id": lid, "status": status}, "updateLegalCase")
    ahead = {**HEARING_INPUT, "date": "2027-01-15T02:00:00Z"}
    scheduled = await step(hub, LEGAL_AID, HEARING, {"id": lid, "input": ahead}, "recordHearing")
    (hearing,) = scheduled["hearings"]
    assert hearing["outcomeNote"] is None
    outcome = planted("adjourned: the interpreter did not come")
    query = f"""
    mutation($h: ID!, $note: String!) {{
      recordHearingOutcome(hearingId: $h, outcomeNote: $note) {{ {FIELDS} }}
    }}"""
    before = await counts(hub)
    for who, note, expected in (
        (SHELTER, outcome, "FORBIDDEN"),  # the opener does not record hearings
        ("ngo-malaysia", outcome, "NOT_FOUND"),
        (LEGAL_AID, "   ", "BAD_USER_INPUT"),
    ):
        refused = await hub.gql(who, query, {"h": hearing["id"], "note": note})
        assert refused.codes == [expected], who
    assert await counts(hub) == before
    done = await step(
        hub, LEGAL_AID, query, {"h": hearing["id"], "note": outcome}, "recordHearingOutcome"
    )
    assert done["hearings"][0]["outcomeNote"] == outcome
    twice = await hub.gql(LEGAL_AID, query, {"h": hearing["id"], "note": outcome})
    assert twice.codes == ["CONFLICT"]
    # The shelter owns the only linked case: it reads the note without anyone's consent.
    shelter_view = (await read(hub, SHELTER, lid)).data["legalCase"]
    assert shelter_view["hearings"][0]["outcomeNote"] == outcome


async def test_a_retried_hearing_is_recorded_once_and_a_reused_key_conflicts(
    hub: RunningHub,
) -> None:
    case_id = await survivor_case(hub, SHELTER, planted("Chea Sokha"))
    lid = (await opened(hub, SHELTER, [case_id], "legal-hearing-01"))["id"]
    for status in ("INVESTIGATION", "COURT"):
        await step(hub, LEGAL_AID, UPDATE, {"id": lid, "status": status}, "updateLegalCase")
    first = await step(
        hub, LEGAL_AID, HEARING, {"id": lid, "input": HEARING_INPUT}, "recordHearing"
    )
    again = await step(
        hub, LEGAL_AID, HEARING, {"id": lid, "input": HEARING_INPUT}, "recordHearing"
    )
    assert [h["id"] for h in again["hearings"]] == [h["id"] for h in first["hearings"]]
    assert await hub.scalar("SELECT count(*) FROM legal_case_hearings") == 1
    moved = {**HEARING_INPUT, "date": "2026-12-01T09:00:00Z"}
    reused = await hub.gql(LEGAL_AID, HEARING, {"id": lid, "input": moved})
    assert reused.codes == ["CONFLICT"]
    # Someone else's retry of a key it never used is not an answer about this legal case.
    outsider = await hub.gql("ngo-malaysia", HEARING, {"id": lid, "input": HEARING_INPUT})
    assert outsider.codes == ["NOT_FOUND"]
