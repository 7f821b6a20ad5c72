"""Unlinking a survivor case from a legal case: she withdraws from the prosecution, or was
linked by mistake. With a reason, audited, an event to every party it had (her case's
owner included), and the legal aid organisation's standing on her case through this legal
case ends.

The reason is about her: sealed in the legal case's history (action UNLINK) and read back
only by the organisation that wrote it. Other notes on a legal case are released under the
consent of every case still linked; hers is no longer among them, so theirs cannot release
what was said about her.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from cases.justice import (
    TOPIC,
    audience,
    bad,
    check_note,
    history_entry,
    load_legal_case,
    payload,
    roles_of,
)
from cases.justice_models import LegalCase, LegalCaseLink
from cases.justice_rules import LEGAL_CASE_WORKFLOW
from cases.models import Case, CaseParty
from notifications.outbox import emit
from orgs.principal import Principal
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher
from store.types import utcnow

UNLINK = "UNLINK"


async def unlink_case(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    legal_id: str,
    case_id: str,
    reason: str,
) -> LegalCase:
    """`unlinkCaseFromLegalCase`: by the case's owner or the legal aid organisation.

    NOT_FOUND for a legal case the actor is no party to; BAD_USER_INPUT without a reason,
    for a case not linked, or for the last survivor (discontinue the legal case instead);
    FORBIDDEN for the opener that neither owns the case nor gives legal aid;
    INVALID_TRANSITION once the legal case is closed."""
    why = check_note(reason)
    if why is None:
        raise bad("reason: say why the case leaves the legal case")
    now = utcnow()
    org = actor.organization_id or ""
    async with db.write() as session:
        legal = await load_legal_case(session, actor, legal_id)
        if legal.status in LEGAL_CASE_WORKFLOW.final:
            raise LEGAL_CASE_WORKFLOW.refusal(
                legal.status,
                roles_of(legal, org),
                "Cannot unlink a case: this legal case "
                + LEGAL_CASE_WORKFLOW.state_words(legal.status),
            )
        link = await session.get(LegalCaseLink, (legal.id, case_id))
        if link is None:
            raise bad("caseId: not a case linked to this legal case")
        case = await session.get(Case, case_id)
        assert case is not None
        if org not in (case.owner_organization_id, legal.legal_aid_organization_id):
            raise HubError(
                ErrorCode.FORBIDDEN,
                "only the organisation that owns the case or the legal aid organisation may "
                "unlink it",
            )
        linked = await session.scalar(
            select(func.count())
            .select_from(LegalCaseLink)
            .where(LegalCaseLink.legal_case_id == legal.id)
        )
        if int(linked or 0) <= 1:
            raise bad("the last survivor of a legal case cannot be unlinked: close it instead")
        told = await audience(session, legal)  # before: her case's owner hears of it too
        await session.delete(link)
        await session.execute(
            update(CaseParty)
            .where(
                CaseParty.case_id == case_id,
                CaseParty.source_type == "LEGAL_CASE",
                CaseParty.source_id == legal.id,
                CaseParty.ended_at.is_(None),
            )
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        session.add(history_entry(cipher, legal, UNLINK, legal.status, org, now, why))
        await session.flush()
        await emit(
            session,
            topic=TOPIC,
            type="LEGAL_CASE_UNLINKED",
            subject_id=legal.id,
            actor_organization_id=org,
            audience=told,
            payload=payload(legal, caseId=case_id),
        )
        await record_audit(
            session,
            actor_organization_id=org,
            actor_client_id=actor.client_id,
            action="legal_case.unlink",
            subject_type="LegalCase",
            subject_id=legal.id,
            detail={"case": case_id},
            request_id=actor.request_id,
        )
    return legal
