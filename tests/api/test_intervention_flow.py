"""A mother tells ADHOC her daughter is held in a compound in Thailand. ADHOC asks the
embassy in Bangkok to find her, on the mother's consent; the embassy rescues her; her own
consent replaces her mother's; her return home begins from the intervention."""

from __future__ import annotations

from cases.case_keys import case_ciphers
from cases.reseal import reseal_all
from consent.family import open_basis
from consent.family_models import FamilyConsentBasis
from store.sealed import FieldCipher
from tests.api.intervention_support import (
    CONSENTS,
    MOTHER,
    PERSON,
    REPATRIATE,
    REQUEST,
    UPDATE,
    VIEW,
    WHERE,
    WHY,
    give_family_consent,
    intervention_input,
    own_consent,
    person_abroad,
    repatriation_input,
)
from tests.api.repatriation_support import do, fetch, last_event, orgs
from tests.network import RunningHub

BASIS = """
query($id: ID!) { familyConsentBasis(consentId: $id) { reportedBy relationship whyNotSelf } }"""


async def test_an_embassy_rescues_a_person_reported_by_her_family(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id = await person_abroad(hub)
    family_grant = await give_family_consent(hub, case_id, ["embassy-bangkok"])
    sent = await do(
        hub,
        "adhoc",
        REQUEST,
        {"input": intervention_input(hub, case_id, "adhoc-int-0001")},
        "requestIntervention",
    )
    iid = sent["id"]
    assert sent["status"] == "SUBMITTED" and sent["outcome"] is None
    # The basis of the mother's consent: ADHOC reads it; the embassy, a party, does not.
    basis = await do(hub, "adhoc", BASIS, {"id": family_grant}, "familyConsentBasis")
    assert basis == {"reportedBy": MOTHER, "relationship": "PARENT", "whyNotSelf": WHY}
    assert (await hub.gql("embassy-bangkok", BASIS, {"id": family_grant})).codes == ["NOT_FOUND"]
    no_pii = await hub.token("adhoc", scope="cases:read")
    assert (await hub.gql(None, BASIS, {"id": family_grant}, token=no_pii)).codes == ["NOT_FOUND"]
    assert sent["reportedBy"] == "FAMILY" and sent["lastKnownLocation"] == WHERE

    # The embassy reads where she was last seen and who she is, on her mother's consent.
    seen = await do(hub, "embassy-bangkok", VIEW, {"id": iid}, "interventionRequest")
    assert seen["lastKnownLocation"] == WHERE
    assert seen["case"] == {"id": case_id, "status": "ABROAD", "fullName": PERSON}
    cited = await fetch(
        hub,
        "SELECT DISTINCT consent_grant_id FROM disclosures WHERE organization_id = :o",
        o=org["embassy-bangkok"],
    )
    assert [row[0] for row in cited] == [family_grant]

    for status, outcome in (("ACKNOWLEDGED", None), ("LOCATED", "LOCATED"), ("RESCUED", "RESCUED")):
        step = await do(
            hub, "embassy-bangkok", UPDATE, {"id": iid, "status": status}, "updateIntervention"
        )
        assert (step["status"], step["outcome"]) == (status, outcome)
    kind, audience, payload = await last_event(hub, iid)
    assert kind == "INTERVENTION_RESCUED"
    assert audience == sorted([org["adhoc"], org["embassy-bangkok"]])
    assert payload["outcome"] == "RESCUED" and payload["caseId"] == case_id

    # Reached at last, she consents herself, to IDENTITY only: her mother's consent, which
    # gave the embassy LOCATION too, no longer applies.
    own = await own_consent(hub, case_id, ["embassy-bangkok", "mosavy"], ["IDENTITY"])
    grants = await do(hub, "adhoc", CONSENTS, {"id": case_id}, "consents")
    by_id = {g["id"]: g for g in grants}
    assert by_id[family_grant]["grantor"] == "FAMILY"
    assert by_id[family_grant]["withdrawal"]["reason"] == "superseded by the person's own consent"
    assert by_id[own]["withdrawal"] is None
    seen = await do(hub, "embassy-bangkok", VIEW, {"id": iid}, "interventionRequest")
    assert seen["lastKnownLocation"] is None
    assert {"field": "lastKnownLocation", "category": "LOCATION", "reason": "WITHDRAWN"} in seen[
        "withheld"
    ]
    assert seen["case"]["fullName"] == PERSON  # IDENTITY: now under her own consent
    latest = await fetch(
        hub,
        "SELECT consent_grant_id FROM disclosures WHERE organization_id = :o ORDER BY id DESC",
        o=org["embassy-bangkok"],
    )
    assert latest[0][0] == own
    superseded = await fetch(
        hub, "SELECT type, payload FROM events WHERE subject_id = :g ORDER BY id", g=family_grant
    )
    assert [row[0] for row in superseded] == ["CONSENT_RECORDED", "CONSENT_SUPERSEDED"]

    # From the rescue, her return: same case, same embassy, linked both ways.
    repatriation = await do(
        hub,
        "adhoc",
        REPATRIATE,
        {"id": iid, "input": repatriation_input(hub, "adhoc-int-rep-1")},
        "requestRepatriationFromIntervention",
    )
    assert repatriation["caseId"] == case_id and repatriation["status"] == "SUBMITTED"
    assert repatriation["embassyId"] == org["embassy-bangkok"]
    assert repatriation["receptionId"] == org["mosavy"]
    done = await do(hub, "adhoc", VIEW, {"id": iid}, "interventionRequest")
    assert done["status"] == "REPATRIATION_REQUESTED" and done["outcome"] == "RESCUED"
    assert done["repatriationRequestId"] == repatriation["id"]
    assert done["case"]["status"] == "AWAITING_REPATRIATION"
    assert [(h["action"], h["toStatus"]) for h in done["history"]] == [
        ("SUBMIT", "SUBMITTED"),
        ("ACKNOWLEDGE", "ACKNOWLEDGED"),
        ("LOCATE", "LOCATED"),
        ("RESCUE", "RESCUED"),
        ("REQUEST_REPATRIATION", "REPATRIATION_REQUESTED"),
    ]
    # A retry of the same step answers with the same repatriation request, nothing new.
    again = await do(
        hub,
        "adhoc",
        REPATRIATE,
        {"id": iid, "input": repatriation_input(hub, "adhoc-int-rep-1")},
        "requestRepatriationFromIntervention",
    )
    assert again["id"] == repatriation["id"]
    assert await hub.scalar("SELECT count(*) FROM repatriation_requests") == 1
    audit = await fetch(hub, "SELECT action FROM audit WHERE subject_id = :i ORDER BY id", i=iid)
    assert [row[0] for row in audit] == [
        "intervention.request",
        "intervention.acknowledge",
        "intervention.locate",
        "intervention.rescue",
        "intervention.request_repatriation",
    ]


async def test_a_search_that_found_nothing_is_resumed_and_closed(hub: RunningHub) -> None:
    case_id = await person_abroad(hub)
    await give_family_consent(hub, case_id, ["embassy-bangkok"])
    iid = (
        await do(
            hub,
            "adhoc",
            REQUEST,
            {"input": intervention_input(hub, case_id, "adhoc-int-0002", reportedBy="SELF")},
            "requestIntervention",
        )
    )["id"]
    await do(
        hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "ACKNOWLEDGED"}, "updateIntervention"
    )
    note = WHERE  # the note names where they looked: survivor data, sealed
    missing = await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": iid, "status": "NOT_FOUND", "note": note},
        "updateIntervention",
    )
    assert (missing["status"], missing["outcome"]) == ("NOT_FOUND", "NOT_FOUND")
    again = await do(
        hub,
        "adhoc",
        UPDATE,
        {"id": iid, "status": "ACKNOWLEDGED", "note": note},
        "updateIntervention",
    )
    assert again["status"] == "ACKNOWLEDGED" and again["outcome"] == "NOT_FOUND"
    await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": iid, "status": "NOT_FOUND", "note": note},
        "updateIntervention",
    )
    closed = await do(hub, "adhoc", UPDATE, {"id": iid, "status": "CLOSED"}, "updateIntervention")
    assert closed["status"] == "CLOSED"
    view = await do(hub, "adhoc", VIEW, {"id": iid}, "interventionRequest")
    assert [h["action"] for h in view["history"]][-4:] == [
        "REPORT_NOT_FOUND",
        "RESUME_SEARCH",
        "REPORT_NOT_FOUND",
        "CLOSE",
    ]
    assert view["history"][2]["note"] == note
    # Closed, the embassy's standing from this request ends (consent may still name it).
    ended = await fetch(
        hub,
        "SELECT ended_at FROM case_parties WHERE source_type = 'INTERVENTION' AND source_id = :i",
        i=iid,
    )
    assert len(ended) == 1 and ended[0][0] is not None
    sealed = await hub.scalar(
        "SELECT last_known_location_sealed FROM intervention_requests WHERE id = :i", i=iid
    )
    assert sealed.startswith("c1.") and "Songkhla" not in sealed  # under her case's key


async def test_rotating_the_data_key_reseals_what_an_intervention_holds(hub: RunningHub) -> None:
    """Where she was, the embassy's notes and her mother's words: re-sealed under a new key
    like every other sealed value, and still readable afterwards."""
    case_id = await person_abroad(hub)
    family_grant = await give_family_consent(hub, case_id, ["embassy-bangkok"])
    iid = (
        await do(
            hub,
            "adhoc",
            REQUEST,
            {"input": intervention_input(hub, case_id, "adhoc-int-keys")},
            "requestIntervention",
        )
    )["id"]
    await do(
        hub, "embassy-bangkok", UPDATE, {"id": iid, "status": "ACKNOWLEDGED"}, "updateIntervention"
    )
    await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": iid, "status": "NOT_FOUND", "note": WHERE},
        "updateIntervention",
    )
    current, keys = hub.settings.data_key_ring
    rotated = FieldCipher({**keys, "rotated-k2": b"\x07" * 32}, "rotated-k2")
    sql_values = (
        "SELECT last_known_location_sealed FROM intervention_requests WHERE id = :i",
        "SELECT note_sealed FROM intervention_changes WHERE request_id = :i "
        "AND note_sealed IS NOT NULL",
    )
    before = [await hub.scalar(sql, i=iid) for sql in sql_values]
    await reseal_all(hub.db, rotated)
    # Her values are under her case's key, which the rotation re-wraps: the values stay put.
    assert [await hub.scalar(sql, i=iid) for sql in sql_values] == before
    assert all(value.startswith("c1.") for value in before)
    wrapped = await hub.scalar(
        "SELECT wrapped FROM keystore.case_keys WHERE case_id = :c", c=case_id
    )
    assert wrapped.startswith("v1.rotated-k2.") and current != "rotated-k2"
    basis = await hub.scalar(
        "SELECT basis_sealed FROM family_consent_bases WHERE grant_id = :g", g=family_grant
    )
    assert basis.startswith("c1.")
    async with hub.db.read() as session:
        row = await session.get(FamilyConsentBasis, family_grant)
        assert row is not None
        opener = (await case_ciphers(session, rotated, [case_id]))[case_id]
        assert open_basis(opener, row).reported_by == MOTHER
