"""An offer of custody not answered in time: the addressee is reminded the day before it is
due, then the offer expires (EXPIRED in the case's custody history) and the case stays with
its owner. One pass, run by ``cases.deadlines.run_deadlines``; each step is its own
transaction guarded by the row's state, so a re-run or a second scheduler is a no-op."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, select, update

from cases.custody import PARTY_SOURCE, transfer_payload
from cases.custody_models import CaseTransfer
from cases.custody_rules import (
    CUSTODY_WORKFLOW,
    OfferStep,
    TransferAction,
    TransferStatus,
    offer_step,
)
from cases.models import CaseParty
from cases.workflow import Role
from notifications.outbox import emit
from store.audit import record_audit
from store.engine import Database


class Report(Protocol):
    reminded: int
    expired: int


async def _step(
    db: Database,
    offer: CaseTransfer,
    event_type: str,
    audience: list[str],
    guard: ColumnElement[bool],
    values: dict[str, object],
    *,
    ends_standing: bool = False,
) -> bool:
    async with db.write() as session:
        result = await session.execute(
            update(CaseTransfer)
            .where(
                CaseTransfer.id == offer.id, CaseTransfer.status == TransferStatus.OFFERED, guard
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        if ends_standing:
            # As with an answer: the addressee's standing as the one deciding ends.
            await session.execute(
                update(CaseParty)
                .where(
                    CaseParty.source_type == PARTY_SOURCE,
                    CaseParty.source_id == offer.id,
                    CaseParty.organization_id == offer.to_organization_id,
                    CaseParty.ended_at.is_(None),
                )
                .values(ended_at=values["updated_at"])
                .execution_options(synchronize_session=False)
            )
        fresh = await session.get(CaseTransfer, offer.id)
        assert fresh is not None
        await session.refresh(fresh)
        await emit(
            session,
            topic="CASE",
            type=event_type,
            subject_id=offer.case_id,
            actor_organization_id=None,
            audience=audience,
            payload=transfer_payload(fresh),
        )
        await record_audit(
            session,
            actor_organization_id=None,
            actor_client_id="scheduler",
            action=f"case.{event_type.lower().removeprefix('case_')}",
            subject_type="CaseTransfer",
            subject_id=offer.id,
            detail={"status": fresh.status, "caseId": offer.case_id},
        )
    return True


async def custody_deadlines(db: Database, now: datetime, report: Report) -> None:
    """Every open offer: reminded once the day before it is due, expired once due."""
    async with db.read() as session:
        open_offers = list(
            await session.scalars(
                select(CaseTransfer).where(CaseTransfer.status == TransferStatus.OFFERED.value)
            )
        )
    for offer in open_offers:
        step = offer_step(offer.created_at, offer.reminded_at is not None, now)
        if step is OfferStep.EXPIRE:
            target = CUSTODY_WORKFLOW.next_state(
                TransferStatus.OFFERED, TransferAction.EXPIRE, Role.SYSTEM
            ).target
            if await _step(
                db,
                offer,
                "CASE_TRANSFER_EXPIRED",
                sorted({offer.from_organization_id, offer.to_organization_id}),
                CaseTransfer.version == offer.version,
                {
                    "status": str(target),
                    "version": offer.version + 1,
                    "answered_at": now,
                    "updated_at": now,
                },
                ends_standing=True,
            ):
                report.expired += 1
        elif step is OfferStep.REMIND and await _step(
            db,
            offer,
            "CASE_TRANSFER_REMINDER",
            [offer.to_organization_id],
            CaseTransfer.reminded_at.is_(None),
            {"reminded_at": now},
        ):
            report.reminded += 1
