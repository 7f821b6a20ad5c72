"""A group of one incident in the demo network, so a newcomer sees the group operations.

Three fishermen of one trawler, found by the NGO in Thailand, linked as one incident group and
repatriated together by the embassy in Bangkok to the Ministry of Social Affairs; the third's
consent does not name the embassy, so he is left out on his own. Each step goes through the
service its GraphQL mutation calls, as the organisation that does it; every survivor value is
plainly fictional. The story `tests/api/test_group_story.py` tells, in short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cases import group_repatriation, groups, repatriation
from cases.demo_journey import acting
from cases.group_rules import IncidentKind
from cases.referral_rules import Urgency
from cases.repatriation import TravelPlan
from cases.repatriation_rules import (
    Assistance,
    DocumentHeld,
    RepatriationAction,
    RepatriationStatus,
    Situation,
)
from cases.rules import AgeBand, Sex
from cases.service import NewCase, create_case
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from consent.service import NewConsent, record_consent
from orgs.demo import DemoMember
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

FICTIONAL_FISHERMEN = (
    "Demo Fisherman C (fictional)",
    "Demo Fisherman D (fictional)",
    "Demo Fisherman E (fictional)",
)
FICTIONAL_ROUTE = "Example Port - Example Border by bus, with escort (fictional)"


@dataclass(frozen=True, slots=True)
class DemoGroup:
    """The ids of the group's objects, for the demo's test."""

    group_id: str
    case_ids: tuple[str, ...]
    group_repatriation_id: str
    request_ids: tuple[str, ...]
    refused_case_ids: tuple[str, ...]


async def seed_demo_group(
    db: Database, cipher: FieldCipher, members: dict[str, DemoMember]
) -> DemoGroup:
    """Three fishermen of one boat: two brought home as a group and handed over, the third
    held back by his own consent."""
    ngo, embassy, ministry = (
        acting(members[k]) for k in ("ngo-thailand", "embassy-bangkok", "mosavy")
    )
    org = {k: m.organization_id for k, m in members.items()}
    case_ids: list[str] = []
    for name in FICTIONAL_FISHERMEN:
        opened = await create_case(
            db,
            ngo,
            cipher,
            NewCase(
                age_band=AgeBand.AGE_21_23,
                sex=Sex.MALE,
                nationality="KH",
                survivor={"fullName": name},
            ),
        )
        case_ids.append(opened.case.id)
    group = await groups.create_group(
        db,
        ngo,
        groups.NewGroup(
            kind=IncidentKind.FISHING_VESSEL,
            country="TH",
            member_organization_ids=[],
            idempotency_key="demo-group-trawler",
        ),
    )
    for case_id in case_ids:
        await groups.add_case(db, ngo, group.id, case_id)
    # Two consent to the embassy and the Ministry for their return; the third to the Ministry.
    for case_id, recipients in zip(
        case_ids,
        (
            [org["embassy-bangkok"], org["mosavy"]],
            [org["embassy-bangkok"], org["mosavy"]],
            [org["mosavy"]],
        ),
        strict=True,
    ):
        await record_consent(
            db,
            ngo,
            NewConsent(
                case_id=case_id,
                grantor=Grantor.SURVIVOR,
                method=ConsentMethod.THUMBPRINT,
                purposes=[Purpose.REPATRIATION],
                categories=[DataCategory.IDENTITY, DataCategory.LOCATION],
                recipient_organization_ids=recipients,
            ),
            cipher,
        )
    result = await group_repatriation.request_group_repatriation(
        db,
        ngo,
        cipher,
        group_repatriation.NewGroupRepatriation(
            group_id=group.id,
            embassy_id=org["embassy-bangkok"],
            reception_organization_id=org["mosavy"],
            current_country="TH",
            situation=Situation.SHELTER,
            documents_held=[DocumentHeld.NONE],
            assistance_needed=[Assistance.TRAVEL_DOCUMENT, Assistance.ESCORT],
            urgency=Urgency.URGENT,
            idempotency_key="demo-group-home",
        ),
    )
    outing = result.group_repatriation
    request_ids = [r.id for r in result.requests]
    for rid in request_ids:
        await repatriation.act(db, embassy, cipher, rid, RepatriationAction.ACKNOWLEDGE)
        for status in (RepatriationStatus.VERIFYING, RepatriationStatus.DOCUMENTS_ISSUED):
            await repatriation.update_status(db, embassy, cipher, rid, status, None, None)
    await group_repatriation.record_group_travel_plan(
        db,
        embassy,
        cipher,
        outing.id,
        TravelPlan(travel_date=(utcnow() + timedelta(days=14)).date(), route=FICTIONAL_ROUTE),
    )
    for rid in request_ids:
        for status in (RepatriationStatus.TRAVEL_ARRANGED, RepatriationStatus.RETURNED):
            await repatriation.update_status(db, embassy, cipher, rid, status, None, None)
        await repatriation.act(db, ministry, cipher, rid, RepatriationAction.CONFIRM_HANDOVER)
    return DemoGroup(
        group_id=group.id,
        case_ids=tuple(case_ids),
        group_repatriation_id=outing.id,
        request_ids=tuple(request_ids),
        refused_case_ids=tuple(r.case_id for r in result.refused),
    )
