"""History for the coordinator's desk in the demo network, so ``networkOverview`` shows
something real: a repatriation request still unacknowledged days after its deadline, one
acknowledged late, a webhook whose deliveries fail, an API client registered long ago and
never used.

Each item is made through the service real use calls; only the clock is set back (creation
times and deadlines moved into the past, as if the requests had been sent days ago), then the
deadline runner escalates them as it would have. Every survivor value is plainly fictional.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from cases import repatriation
from cases.deadlines import run_deadlines
from cases.demo_journey import acting
from cases.models import RepatriationRequest
from cases.referral_rules import Urgency
from cases.repatriation_rules import Assistance, DocumentHeld, RepatriationAction, Situation
from cases.rules import AgeBand, Sex
from cases.service import NewCase, create_case
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from consent.service import NewConsent, record_consent
from notifications.models import WebhookAttempt, WebhookDelivery
from notifications.stream import EventTopic
from notifications.webhooks import FAILED, create_webhook
from orgs.demo import DemoMember
from orgs.models import ApiClient
from orgs.principal import operator
from orgs.service import create_client
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

# Fictional: an example.org address never answers, as a partner's broken endpoint would not.
DEMO_FAILING_WEBHOOK = "https://hooks.example.org/demo-failing"
DEMO_IDLE_CLIENT = "Old integration (demo)"


@dataclass(frozen=True, slots=True)
class DeskHistory:
    """The ids the overview shows, for the demo's test."""

    still_late_request_id: str
    acknowledged_late_request_id: str
    failing_webhook_id: str
    idle_client_id: str


async def _late_request(
    db: Database,
    cipher: FieldCipher,
    members: dict[str, DemoMember],
    embassy: str,
    key: str,
    sent_days_ago: int,
    now: datetime,
) -> str:
    """ADHOC's request to ``embassy`` for a fictional survivor, as if sent days ago."""
    adhoc = acting(members["adhoc"])
    org = {k: m.organization_id for k, m in members.items()}
    opened = await create_case(
        db,
        adhoc,
        cipher,
        NewCase(
            age_band=AgeBand.AGE_21_23,
            sex=Sex.MALE,
            nationality="KH",
            survivor={"fullName": f"Demo Survivor {key} (fictional)"},
        ),
    )
    await record_consent(
        db,
        adhoc,
        NewConsent(
            case_id=opened.case.id,
            grantor=Grantor.SURVIVOR,
            method=ConsentMethod.THUMBPRINT,
            purposes=[Purpose.REPATRIATION],
            categories=[DataCategory.IDENTITY],
            recipient_organization_ids=[org[embassy], org["mosavy"]],
        ),
        cipher,
    )
    request = await repatriation.request_repatriation(
        db,
        adhoc,
        cipher,
        repatriation.NewRepatriation(
            case_id=opened.case.id,
            embassy_id=org[embassy],
            reception_organization_id=org["mosavy"],
            current_country="MY" if embassy == "embassy-kuala-lumpur" else "TH",
            situation=Situation.IMMIGRATION_DETENTION,
            documents_held=[DocumentHeld.NONE],
            assistance_needed=[Assistance.NATIONALITY_VERIFICATION, Assistance.ESCORT],
            urgency=Urgency.URGENT,
            idempotency_key=f"demo-desk-{key}",
        ),
    )
    sent = now - timedelta(days=sent_days_ago)
    async with db.write() as session:
        await session.execute(
            update(RepatriationRequest)
            .where(RepatriationRequest.id == request.id)
            .values(created_at=sent, acknowledge_by=sent + timedelta(days=1))
            .execution_options(synchronize_session=False)
        )
    return request.id


async def seed_desk_history(
    db: Database, cipher: FieldCipher, members: dict[str, DemoMember]
) -> DeskHistory:
    now = utcnow()
    still_late = await _late_request(
        db, cipher, members, "embassy-kuala-lumpur", "desk-a", sent_days_ago=4, now=now
    )
    acknowledged_late = await _late_request(
        db, cipher, members, "embassy-bangkok", "desk-b", sent_days_ago=3, now=now
    )
    await run_deadlines(db, cipher, now)
    bangkok = acting(members["embassy-bangkok"])
    await repatriation.act(db, bangkok, cipher, acknowledged_late, RepatriationAction.ACKNOWLEDGE)

    malaysia = acting(members["ngo-malaysia"])
    hook, _ = await create_webhook(
        db, malaysia, cipher, DEMO_FAILING_WEBHOOK, [EventTopic.ORGANIZATION], False
    )
    async with db.write() as session:
        for event_id, hours_ago in ((1, 30), (2, 6)):
            delivery_id = str(uuid.uuid4())
            session.add(
                WebhookDelivery(
                    id=delivery_id,
                    webhook_id=hook.id,
                    event_id=event_id,
                    status=FAILED,
                    attempts=3,
                    created_at=now - timedelta(hours=hours_ago),
                    next_attempt_at=now,
                    delivered_at=None,
                )
            )
            await session.flush()
            for attempt in range(3):
                session.add(
                    WebhookAttempt(
                        delivery_id=delivery_id,
                        at=now - timedelta(hours=hours_ago, minutes=-10 * attempt),
                        status_code=None,
                        error="connect timeout",
                        duration_ms=10_000,
                    )
                )

    beijing = members["embassy-beijing"]
    idle = await create_client(
        db, operator(), beijing.organization_id, DEMO_IDLE_CLIENT, ["orgs:read"]
    )
    async with db.write() as session:
        await session.execute(
            update(ApiClient)
            .where(ApiClient.client_id == idle.client.client_id)
            .values(created_at=now - timedelta(days=200))
            .execution_options(synchronize_session=False)
        )
    return DeskHistory(still_late, acknowledged_late, hook.id, idle.client.client_id)
