"""One survivor's journey through the demo network, so a newcomer sees every step with data.

Each step goes through the same service the GraphQL mutation calls, acting as the organisation
that does it in the real network, so the demo's events, audit entries, disclosures and consent
are the ones real use would write. Every survivor value is plainly fictional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cases import (
    assessment,
    custody,
    funding,
    hearings,
    interventions,
    justice,
    justice_steps,
    reintegration,
    repatriation,
)
from cases.assessment_rules import AssessorRole, IdentificationDecision, RiskFactor
from cases.custody_rules import TransferAction
from cases.deadlines import run_deadlines
from cases.intervention_rules import InterventionStatus, Reporter
from cases.justice_rules import LegalCaseStatus, Verdict
from cases.referral_rules import Urgency
from cases.reintegration_rules import ServiceAction, ServiceKind, VisitOutcome
from cases.repatriation_rules import (
    Assistance,
    CostItem,
    DocumentHeld,
    RepatriationAction,
    RepatriationStatus,
    Situation,
)
from cases.rules import AgeBand, CaseStatus, Sex
from cases.service import NewCase, create_case, update_case_status
from consent.family import FamilyBasis, FamilyRelationship
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from consent.service import NewConsent, record_consent
from orgs.demo import DemoMember
from orgs.principal import Principal
from orgs.rules import ServiceCategory
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

# Plainly invented: nobody could take these for a real person, place or story.
FICTIONAL_NAME = "Demo Survivor A (fictional)"
FICTIONAL_PLACE = "Example Shelter, Bangkok (fictional)"


@dataclass(frozen=True, slots=True)
class DemoJourney:
    """The ids of the journey's objects, for the demo's printout and its test."""

    case_id: str
    intervention_id: str
    repatriation_id: str
    transfer_id: str
    plan_id: str
    legal_case_id: str


def acting(member: DemoMember) -> Principal:
    """The member's own case system, as its token would make it."""
    return Principal(
        organization_id=member.organization_id,
        client_id=member.client_id,
        scopes=frozenset(member.scopes),
        organization_kind=member.kind.value,
    )


async def seed_demo_journey(
    db: Database, cipher: FieldCipher, members: dict[str, DemoMember]
) -> DemoJourney:
    """A sixteen-year-old reported by her family, rescued in Thailand, brought home and taken
    over by the reception ministry, who follows her case to court: the story
    `tests/api/test_journey_story.py` tells, step by step."""
    ngo, embassy, ministry = (
        acting(members[k]) for k in ("ngo-thailand", "embassy-bangkok", "mosavy")
    )
    org = {k: m.organization_id for k, m in members.items()}

    opened = await create_case(
        db,
        ngo,
        cipher,
        NewCase(
            age_band=AgeBand.AGE_9_17,
            sex=Sex.FEMALE,
            nationality="KH",
            survivor={"fullName": FICTIONAL_NAME, "currentLocation": FICTIONAL_PLACE},
        ),
    )
    case = opened.case
    # Her family's report: their consent, with its basis, lets the embassy look for her.
    await record_consent(
        db,
        ngo,
        NewConsent(
            case_id=case.id,
            grantor=Grantor.FAMILY,
            method=ConsentMethod.VERBAL,
            purposes=[Purpose.REPATRIATION],
            categories=[DataCategory.IDENTITY, DataCategory.LOCATION],
            recipient_organization_ids=[org["embassy-bangkok"]],
            family_basis=FamilyBasis(
                reported_by="Demo Relative B (fictional)",
                relationship=FamilyRelationship.OTHER_RELATIVE,
                why_not_self="Demo note: unreachable abroad (fictional).",
            ),
        ),
        cipher,
    )
    intervention = await interventions.request_intervention(
        db,
        ngo,
        cipher,
        interventions.NewIntervention(
            case_id=case.id,
            embassy_id=org["embassy-bangkok"],
            current_country="TH",
            reported_by=Reporter.FAMILY,
            urgency=Urgency.URGENT,
            idempotency_key="demo-journey-intervention",
            last_known_location=FICTIONAL_PLACE,
        ),
    )
    for found in (
        InterventionStatus.ACKNOWLEDGED,
        InterventionStatus.LOCATED,
        InterventionStatus.RESCUED,
    ):
        await interventions.update_status(db, embassy, cipher, intervention.id, found, None, None)
    # Reached, her guardian's consent replaces the family's: the embassy and the Ministry
    # for her return, the Ministry also for her care at home.
    for recipients, purposes, categories in (
        (
            [org["embassy-bangkok"], org["mosavy"]],
            [Purpose.REPATRIATION],
            [DataCategory.IDENTITY, DataCategory.LOCATION],
        ),
        (
            [org["mosavy"]],
            [Purpose.REPATRIATION, Purpose.SERVICE_REFERRAL],
            [DataCategory.IDENTITY, DataCategory.LOCATION, DataCategory.HEALTH],
        ),
    ):
        await record_consent(
            db,
            ngo,
            NewConsent(
                case_id=case.id,
                grantor=Grantor.GUARDIAN,
                method=ConsentMethod.WRITTEN,
                purposes=purposes,
                categories=categories,
                recipient_organization_ids=recipients,
            ),
            cipher,
        )
    await assessment.record_assessment(
        db,
        ngo,
        cipher,
        assessment.NewAssessment(
            case_id=case.id,
            needs=[ServiceCategory.PSYCHOSOCIAL, ServiceCategory.EDUCATION],
            risks=[RiskFactor.RE_TRAFFICKING],
            identification=IdentificationDecision.IDENTIFIED,
            assessor_role=AssessorRole.SOCIAL_WORKER,
            needs_note="Demo note: counselling and a school place (fictional).",
        ),
    )
    request = await interventions.repatriate_from_intervention(
        db,
        ngo,
        cipher,
        intervention.id,
        repatriation.NewRepatriation(
            case_id=case.id,
            embassy_id=org["embassy-bangkok"],
            reception_organization_id=org["mosavy"],
            current_country="TH",
            situation=Situation.SHELTER,
            documents_held=[DocumentHeld.NONE],
            assistance_needed=[Assistance.NATIONALITY_VERIFICATION, Assistance.TRAVEL_DOCUMENT],
            urgency=Urgency.URGENT,
            idempotency_key="demo-journey-repatriation",
        ),
    )
    rid = request.id
    await repatriation.act(db, embassy, cipher, rid, RepatriationAction.ACKNOWLEDGE)
    for status in (RepatriationStatus.VERIFYING, RepatriationStatus.DOCUMENTS_ISSUED):
        await repatriation.update_status(db, embassy, cipher, rid, status, None, None)
    # A child: the Ministry assesses her family before the embassy may arrange travel.
    await assessment.record_family_assessment(
        db,
        ministry,
        cipher,
        rid,
        assessment.NewFamilyAssessment(
            family_traced=True,
            safe_to_return=True,
            safety_reasons="Demo note: family home visited, safe (fictional).",
        ),
    )
    for status in (RepatriationStatus.TRAVEL_ARRANGED, RepatriationStatus.RETURNED):
        await repatriation.update_status(db, embassy, cipher, rid, status, None, None)
    await repatriation.act(db, ministry, cipher, rid, RepatriationAction.CONFIRM_HANDOVER)
    # The hand-over offered the case to the Ministry; it takes the case over.
    async with db.read() as session:
        offer = await custody.open_offer(session, case.id)
    if offer is None:
        raise RuntimeError("the demo hand-over offered no custody transfer")
    await custody.answer_transfer(db, ministry, cipher, offer.id, TransferAction.ACCEPT)
    await update_case_status(db, ministry, cipher, case.id, CaseStatus.REINTEGRATING, None)
    plan_id = await _reintegration(db, cipher, members, case.id)
    legal_id = await _justice(db, cipher, members, case.id)
    # ADHOC pays for her return and her living allowance, named funder by each manager.
    adhoc = acting(members["adhoc"])
    for manager, kind, subject, item, amount, currency in (
        (ngo, funding.SubjectKind.REPATRIATION_REQUEST, rid, CostItem.AIR_TICKET, "4200", "THB"),
        (ngo, funding.SubjectKind.REPATRIATION_REQUEST, rid, CostItem.FOOD, "350.50", "THB"),
        (
            ministry,
            funding.SubjectKind.REINTEGRATION_PLAN,
            plan_id,
            CostItem.LIVING_ALLOWANCE,
            "150",
            "USD",
        ),
    ):
        await funding.name_funder(db, manager, kind, subject, org["adhoc"])
        await funding.record_cost(
            db, adhoc, kind, subject, funding.NewCost(item=item, amount=amount, currency=currency)
        )
    return DemoJourney(
        case_id=case.id,
        intervention_id=intervention.id,
        repatriation_id=rid,
        transfer_id=offer.id,
        plan_id=plan_id,
        legal_case_id=legal_id,
    )


async def _reintegration(
    db: Database, cipher: FieldCipher, members: dict[str, DemoMember], case_id: str
) -> str:
    """The Ministry plans her school with the shelter, which visits her: the first visit
    overdue and escalated by the deadline runner (run as of just after its date), then seen
    and safe, the third still to come."""
    ministry, shelter = acting(members["mosavy"]), acting(members["ccpcr-shelter"])
    shelter_id = members["ccpcr-shelter"].organization_id
    await record_consent(
        db,
        ministry,
        NewConsent(
            case_id=case_id,
            grantor=Grantor.GUARDIAN,
            method=ConsentMethod.WRITTEN,
            purposes=[Purpose.FOLLOW_UP],
            categories=[DataCategory.IDENTITY, DataCategory.LOCATION],
            recipient_organization_ids=[shelter_id],
        ),
        cipher,
    )
    plan = await reintegration.create_plan(
        db,
        ministry,
        cipher,
        reintegration.NewPlan(
            case_id=case_id,
            services=[reintegration.PlannedService(ServiceKind.SCHOOL_ENROLMENT, shelter_id)],
            idempotency_key="demo-journey-plan",
        ),
    )
    state = await _plan(db, ministry, plan.id)
    (school,) = state.services
    for action in (ServiceAction.START, ServiceAction.COMPLETE):
        await reintegration.act_on_service(db, shelter, cipher, school.id, action, None, None, None)
    now = utcnow()
    due = now + timedelta(days=14)
    await reintegration.schedule_visit(db, ministry, plan.id, due, shelter_id, None)
    await run_deadlines(db, cipher, due - timedelta(hours=20))
    await run_deadlines(db, cipher, due + timedelta(minutes=1))
    for outcome, days in ((VisitOutcome.SEEN, 44), (VisitOutcome.SAFE, 90)):
        (visit,) = [
            v for v in (await _plan(db, ministry, plan.id)).visits if v.status == "SCHEDULED"
        ]
        await reintegration.record_visit(
            db,
            shelter,
            cipher,
            visit.id,
            reintegration.VisitReport(outcome=outcome, next_due_at=now + timedelta(days=days)),
            None,
        )
    return plan.id


async def _plan(db: Database, actor: Principal, plan_id: str) -> reintegration.PlanState:
    async with db.read() as session:
        return await reintegration.load_plan(session, actor, plan_id)


async def _justice(
    db: Database, cipher: FieldCipher, members: dict[str, DemoMember], case_id: str
) -> str:
    """The Ministry files a complaint with ADHOC as legal aid, on her guardian's consent;
    ADHOC follows it through a hearing to compensation paid. Dates lie in the past, as the
    hub requires of a complaint, a hearing held and a judgment."""
    ministry, adhoc = acting(members["mosavy"]), acting(members["adhoc"])
    today = utcnow()
    await record_consent(
        db,
        ministry,
        NewConsent(
            case_id=case_id,
            grantor=Grantor.GUARDIAN,
            method=ConsentMethod.WRITTEN,
            purposes=[Purpose.LEGAL_AID],
            categories=[DataCategory.IDENTITY, DataCategory.LEGAL],
            recipient_organization_ids=[members["adhoc"].organization_id],
        ),
        cipher,
    )
    legal = await justice.open_legal_case(
        db,
        ministry,
        cipher,
        justice.NewLegalCase(
            case_ids=[case_id],
            legal_aid_organization_id=members["adhoc"].organization_id,
            court="Phnom Penh Municipal Court",
            complaint_filed_on=(today - timedelta(days=30)).date(),
            idempotency_key="demo-journey-legal",
        ),
    )
    for status in (LegalCaseStatus.INVESTIGATION, LegalCaseStatus.COURT):
        await justice_steps.update_status(db, adhoc, cipher, legal.id, status, None, None)
    await hearings.record_hearing(
        db,
        adhoc,
        cipher,
        legal.id,
        hearings.NewHearing(
            held_at=today - timedelta(days=10),
            court="Phnom Penh Municipal Court",
            transport_provided=True,
            accommodation_provided=True,
            idempotency_key="demo-journey-hearing",
            outcome_note="Demo note: she testified by video link (fictional).",
        ),
    )
    await justice_steps.record_judgment(
        db, adhoc, cipher, legal.id, Verdict.CONVICTED, (today - timedelta(days=3)).date(), None
    )
    for paid in (False, True):
        await justice_steps.record_compensation(
            db, adhoc, cipher, legal.id, paid, "1500.00", "USD", None
        )
    return legal.id
