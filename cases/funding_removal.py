"""Removing a funder named on a subject by mistake (or that withdrew before paying).

Decided: only a funder that has recorded no cost on the subject can be removed
(``funding_rules.check_removable``). Costs are a financial record that other organisations
and the cost report rely on; removing their funder would leave costs without one, or
silently change totals already reported. A funder that has paid stays named.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from cases.funding import SUBJECTS, Funding, SubjectKind, _audience, _costs, _payload, _subject
from cases.funding_models import FundedCost, SubjectFunder
from cases.funding_rules import check_removable
from notifications.outbox import emit
from orgs.principal import Principal
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError


async def remove_funder(
    db: Database, actor: Principal, kind: SubjectKind, subject_id: str, funder_id: str
) -> Funding:
    """The organisation that manages the subject removes a named funder with no costs here.

    NOT_FOUND for a subject the actor cannot see, FORBIDDEN for a party that does not manage
    it, BAD_USER_INPUT for an organisation that is not a funder of it, CONFLICT once the
    funder has recorded a cost. The removed funder hears of it (it is in the audience)."""
    registration = SUBJECTS[kind]
    async with db.write() as session:
        subject, funders = await _subject(
            session, actor, kind, subject_id, registration.write_scope
        )
        if actor.organization_id not in subject.managers:
            raise HubError(
                ErrorCode.FORBIDDEN, "only the organisation that manages it removes funders"
            )
        if all(f.organization_id != funder_id for f in funders):
            raise HubError(ErrorCode.BAD_USER_INPUT, "that organisation is not a funder here")
        recorded = await session.scalar(
            select(func.count())
            .select_from(FundedCost)
            .where(
                FundedCost.subject_kind == kind.value,
                FundedCost.subject_id == subject.id,
                FundedCost.funder_organization_id == funder_id,
            )
        )
        check_removable(int(recorded or 0))
        audience = _audience(subject, funders)
        await session.execute(
            delete(SubjectFunder).where(
                SubjectFunder.subject_kind == kind.value,
                SubjectFunder.subject_id == subject.id,
                SubjectFunder.organization_id == funder_id,
            )
        )
        await emit(
            session,
            topic=registration.topic,
            type="FUNDER_REMOVED",
            subject_id=subject.id,
            actor_organization_id=actor.organization_id,
            audience=audience,
            payload=_payload(subject, funder=funder_id),
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="funding.remove_funder",
            subject_type=kind.value,
            subject_id=subject.id,
            detail={"funder": funder_id},
            request_id=actor.request_id,
        )
        remaining = [f for f in funders if f.organization_id != funder_id]
        costs = await _costs(session, kind, subject.id)
    return Funding(subject, remaining, costs)
