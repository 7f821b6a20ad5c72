"""The demo network walks the referral loop: Koh Kong transit centre refers a survivor to
ADHOC for legal aid and to the CCPCR shelter (waitlisted, then taken in); one referral
nobody acknowledges expires, another is escalated to the secretariat."""

from __future__ import annotations

from datetime import timedelta

from tests.api.referral_steps import (
    SENDER,
    act,
    at,
    audit_about,
    case_status,
    counts,
    deadlines,
    events_about,
    moved,
    read_referral,
    reason,
    record_consent,
    sent,
)
from tests.api.test_cases_flow import SURVIVOR, open_case
from tests.network import RunningHub

CASE = "query($id: ID!) { case(id: $id) { id fullName } }"
OUTCOME = ', outcome: {servicesDelivered: [LEGAL_AID], note: "complaint filed in Koh Kong court"}'


async def test_koh_kong_refers_to_legal_aid_and_the_shelter_and_both_loops_close(
    hub: RunningHub,
) -> None:
    kk = hub.members[SENDER].organization_id
    adhoc = hub.members["adhoc"].organization_id
    shelter = hub.members["ccpcr-shelter"].organization_id
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    await record_consent(hub, case_id, ["SERVICE_REFERRAL"], members=("ccpcr-shelter",))

    # Given two referrals sent, the case is REFERRED.
    legal = await sent(hub, case_id, "adhoc", "kk-0001-adhoc")
    bed = await sent(
        hub,
        case_id,
        "ccpcr-shelter",
        "kk-0001-shelter",
        ["SHELTER", "PSYCHOSOCIAL"],
        reason="needs a safe place to stay while the complaint runs",
    )
    assert (await case_status(hub, case_id))[0] == "REFERRED"

    # When ADHOC acknowledges, accepts, starts and completes, each at the version it saw,
    legal_id = legal["id"]
    steps = [
        ("acknowledgeReferral", "ACKNOWLEDGED"),
        ("acceptReferral", "ACCEPTED"),
        ("startReferral", "IN_PROGRESS"),
        ("completeReferral", "COMPLETED"),
    ]
    for version, (mutation, status) in enumerate(steps, start=1):
        extra = f", expectedVersion: {version}" + (
            OUTCOME if mutation == "completeReferral" else ""
        )
        done = await moved(hub, "adhoc", mutation, legal_id, extra)
        assert (done["status"], done["version"]) == (status, version + 1)

    # then the sender sees the whole history: who, when, which version.
    seen = await read_referral(hub, SENDER, legal_id)
    assert not seen.errors, seen.errors
    history = seen.data["referral"]["history"]
    assert [
        (h["action"], h["fromStatus"], h["toStatus"], h["by"], h["version"]) for h in history
    ] == [
        ("SEND", None, "SENT", kk, 1),
        ("ACKNOWLEDGE", "SENT", "ACKNOWLEDGED", adhoc, 2),
        ("ACCEPT", "ACKNOWLEDGED", "ACCEPTED", adhoc, 3),
        ("START", "ACCEPTED", "IN_PROGRESS", adhoc, 4),
        ("COMPLETE", "IN_PROGRESS", "COMPLETED", adhoc, 5),
    ]
    moments = [at(h["at"]) for h in history]
    assert moments == sorted(moments)
    outcome = await hub.gql(
        SENDER,
        "query($id: ID!) { referral(id: $id) { outcome { servicesDelivered note } } }",
        {"id": legal_id},
    )
    assert outcome.data["referral"]["outcome"] == {
        "servicesDelivered": ["LEGAL_AID"],
        "note": "complaint filed in Koh Kong court",
    }

    # Every step wrote one event for exactly the two parties, and one audit entry.
    events = await events_about(hub, legal_id)
    assert [e["type"] for e in events] == [
        "REFERRAL_SENT",
        "REFERRAL_ACKNOWLEDGED",
        "REFERRAL_ACCEPTED",
        "REFERRAL_STARTED",
        "REFERRAL_COMPLETED",
    ]
    assert all(e["audience"] == sorted([kk, adhoc]) for e in events)
    assert [e["actor"] for e in events] == [kk, adhoc, adhoc, adhoc, adhoc]
    assert [(e["payload"]["status"], e["payload"]["version"]) for e in events] == [
        ("SENT", 1),
        ("ACKNOWLEDGED", 2),
        ("ACCEPTED", 3),
        ("IN_PROGRESS", 4),
        ("COMPLETED", 5),
    ]
    assert [(a[0], a[1]) for a in await audit_about(hub, legal_id)] == [
        ("referral.send", kk),
        ("referral.acknowledge", adhoc),
        ("referral.accept", adhoc),
        ("referral.start", adhoc),
        ("referral.complete", adhoc),
    ]
    # The shelter referral is still open: the case stays REFERRED.
    assert (await case_status(hub, case_id))[0] == "REFERRED"

    # The shelter has no free bed: it acknowledges and waitlists, with a reason,
    bed_id = bed["id"]
    await moved(hub, "ccpcr-shelter", "acknowledgeReferral", bed_id)
    held = await moved(
        hub, "ccpcr-shelter", "holdReferral", bed_id, reason("no bed free until Monday")
    )
    assert (held["status"], held["version"]) == ("ON_HOLD", 3)
    seen = await read_referral(hub, SENDER, bed_id)
    assert seen.data["referral"]["status"] == "ON_HOLD"
    assert seen.data["referral"]["history"][-1]["reason"] == "no bed free until Monday"
    assert seen.data["referral"]["history"][-1]["by"] == shelter
    # then a bed frees up and it accepts: still an open referral, the case stays REFERRED.
    accepted = await moved(hub, "ccpcr-shelter", "acceptReferral", bed_id, ", expectedVersion: 3")
    assert (accepted["status"], accepted["version"]) == ("ACCEPTED", 4)
    assert [h["toStatus"] for h in accepted["history"]] == [
        "SENT",
        "ACKNOWLEDGED",
        "ON_HOLD",
        "ACCEPTED",
    ]
    assert (await case_status(hub, case_id))[0] == "REFERRED"
    assert [e["type"] for e in await events_about(hub, bed_id)] == [
        "REFERRAL_SENT",
        "REFERRAL_ACKNOWLEDGED",
        "REFERRAL_ON_HOLD",
        "REFERRAL_ACCEPTED",
    ]
    assert [a[0] for a in await audit_about(hub, bed_id)] == [
        "referral.send",
        "referral.acknowledge",
        "referral.hold",
        "referral.accept",
    ]

    # When the stay ends, no referral is open any more: the case is back IN_CARE.
    await moved(hub, "ccpcr-shelter", "startReferral", bed_id)
    await moved(
        hub,
        "ccpcr-shelter",
        "completeReferral",
        bed_id,
        ", outcome: {servicesDelivered: [SHELTER, PSYCHOSOCIAL]}",
    )
    assert await case_status(hub, case_id) == ("IN_CARE", ["OPEN", "REFERRED", "IN_CARE"])


async def test_a_referral_nobody_acknowledges_expires_and_the_receiver_loses_the_case(
    hub: RunningHub,
) -> None:
    kk = hub.members[SENDER].organization_id
    mosavy = hub.members["mosavy"].organization_id
    case_id = await open_case(hub)
    # Consent names the kind (government), so the ministry is party only through the referral.
    await record_consent(hub, case_id, ["SERVICE_REFERRAL"], kinds=("GOVERNMENT",))
    referral = await sent(hub, case_id, "mosavy", "kk-0002-mosavy", ["FAMILY_TRACING"])
    rid, acknowledge_by = referral["id"], at(referral["acknowledgeBy"])
    assert (await hub.gql("mosavy", CASE, {"id": case_id})).data["case"]["fullName"] == SURVIVOR[
        "fullName"
    ]

    # Within the grace period after the deadline it is only escalated, not expired.
    report = await deadlines(hub, acknowledge_by + timedelta(hours=23, minutes=59))
    assert (report.escalated, report.expired) == (1, 0)

    # When the clock passes acknowledgeBy + 24 h,
    report = await deadlines(hub, acknowledge_by + timedelta(hours=24, seconds=1))
    assert (report.reminded, report.escalated, report.expired) == (0, 0, 1)

    # then the referral is EXPIRED by the hub itself,
    seen = await read_referral(hub, SENDER, rid)
    expired = seen.data["referral"]
    assert (expired["status"], expired["version"]) == ("EXPIRED", 2)
    assert expired["history"][-1]["action"] == "EXPIRE"
    assert expired["history"][-1]["by"] is None
    events = await events_about(hub, rid)
    assert [e["type"] for e in events][-1] == "REFERRAL_EXPIRED"
    assert events[-1]["audience"] == sorted([kk, mosavy]) and events[-1]["actor"] is None
    assert (await audit_about(hub, rid))[-1] == ("referral.expire", None, "scheduler")
    # the ministry no longer sees the case, and cannot acknowledge late,
    gone = await hub.gql("mosavy", CASE, {"id": case_id})
    assert gone.codes == ["NOT_FOUND"] and gone.data == {"case": None}
    late = await act(hub, "mosavy", "acknowledgeReferral", rid)
    assert late.codes == ["INVALID_TRANSITION"]
    # and with nothing open the case is back IN_CARE.
    assert await case_status(hub, case_id) == ("IN_CARE", ["OPEN", "REFERRED", "IN_CARE"])

    # A second pass at the same moment finds nothing left to do.
    before = await counts(hub)
    report = await deadlines(hub, acknowledge_by + timedelta(hours=24, seconds=1))
    assert (report.reminded, report.escalated, report.expired) == (0, 0, 0)
    assert await counts(hub) == before


async def test_a_late_referral_is_reminded_then_escalated_to_the_secretariat_once(
    hub: RunningHub,
) -> None:
    kk = hub.members[SENDER].organization_id
    adhoc = hub.members["adhoc"].organization_id
    secretariat = hub.members["secretariat"].organization_id
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    referral = await sent(hub, case_id, "adhoc", "kk-0003-adhoc", urgency="EMERGENCY")
    rid, acknowledge_by = referral["id"], at(referral["acknowledgeBy"])
    assert at(referral["respondBy"]) - acknowledge_by == timedelta(hours=20)

    # Two hours before the deadline nobody is bothered.
    before = await counts(hub)
    report = await deadlines(hub, acknowledge_by - timedelta(hours=2))
    assert (report.reminded, report.escalated, report.expired) == (0, 0, 0)
    assert await counts(hub) == before

    # Half an hour before it, the receiver (and only the receiver) is reminded, once.
    report = await deadlines(hub, acknowledge_by - timedelta(minutes=30))
    assert (report.reminded, report.escalated) == (1, 0)
    reminder = (await events_about(hub, rid))[-1]
    assert reminder["type"] == "REFERRAL_REMINDER" and reminder["audience"] == [adhoc]
    again = await deadlines(hub, acknowledge_by - timedelta(minutes=10))
    assert again.reminded == 0
    assert (await read_referral(hub, "adhoc", rid)).data["referral"]["overdue"] is False

    # Past the deadline but within the grace period: overdue, and escalated to the coordinator.
    late = acknowledge_by + timedelta(minutes=1)
    report = await deadlines(hub, late)
    assert (report.reminded, report.escalated, report.expired) == (0, 1, 0)
    for party in (SENDER, "adhoc"):
        seen = (await read_referral(hub, party, rid)).data["referral"]
        assert (seen["status"], seen["overdue"], seen["version"]) == ("SENT", True, 1)
    escalation = (await events_about(hub, rid))[-1]
    assert escalation["type"] == "REFERRAL_ESCALATED"
    assert escalation["audience"] == sorted([kk, adhoc, secretariat])
    assert escalation["payload"]["status"] == "SENT"
    assert (await audit_about(hub, rid))[-1] == ("referral.escalated", None, "scheduler")

    # A second pass at the same time changes nothing.
    before = await counts(hub)
    report = await deadlines(hub, late)
    assert (report.reminded, report.escalated, report.expired) == (0, 0, 0)
    assert await counts(hub) == before

    # When ADHOC finally acknowledges, the referral is no longer overdue.
    answered = await moved(hub, "adhoc", "acknowledgeReferral", rid)
    assert (answered["status"], answered["overdue"]) == ("ACKNOWLEDGED", False)


async def test_the_transit_centre_finds_the_phnom_penh_shelter_in_the_directory(
    hub: RunningHub,
) -> None:
    query = """
    query($category: ServiceCategory, $area: String, $accepting: Boolean) {
      services(category: $category, area: $area, acceptingReferrals: $accepting) {
        category capacityStatus available maximum areasServed organization { id name }
      }
    }"""
    found = await hub.gql(
        SENDER, query, {"category": "SHELTER", "area": "Phnom Penh", "accepting": True}
    )
    assert not found.errors, found.errors
    assert found.data["services"] == [
        {
            "category": "SHELTER",
            "capacityStatus": "WAITLIST",
            "available": 0,
            "maximum": 40,
            "areasServed": ["KH-12", "KH-8"],
            "organization": {
                "id": hub.members["ccpcr-shelter"].organization_id,
                "name": "CCPCR Shelter Phnom Penh",
            },
        }
    ]
    # The shelters of the destination NGOs serve other areas; nobody shelters in Koh Kong.
    elsewhere = await hub.gql(SENDER, query, {"category": "SHELTER", "area": "Koh Kong"})
    assert elsewhere.data["services"] == []
    closed = await hub.gql(
        SENDER, query, {"category": "SHELTER", "area": "Phnom Penh", "accepting": False}
    )
    assert closed.data["services"] == []
