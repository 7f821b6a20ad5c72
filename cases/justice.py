"""Legal cases: a legal aid organisation follows a prosecution for one or many survivors.

Who may do what (decided here, documented in the README's "Justice" section):
- open: the owner of every case it links, or the legal aid organisation itself for cases it
  already sees; the legal aid organisation named must be a LEGAL_AID member;
- link a survivor case (at opening or later): its owner, or the legal case's legal aid
  organisation for a case it sees; either way the survivor's consent must cover the legal
  aid organisation for LEGAL data for LEGAL_AID (unless it owns the case);
- see the legal case (court, stage, hearings, judgment, compensation): its parties, which
  are the opener, the legal aid organisation and the owners of the linked cases; anyone
  else gets NOT_FOUND;
- see a linked survivor's data: through ``case``, as consent allows (the link makes the
  legal aid organisation a LEGAL_AID party of the case, nothing more).

Each step is one transaction: the change, its history entry, an event without survivor
data and an audit entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants, visible_to
from cases.justice_models import LegalCase, LegalCaseChange, LegalCaseLink
from cases.justice_rules import (
    LEGAL_CASE_WORKFLOW,
    NOTE_CATEGORY,
    NOTE_PURPOSE,
    LegalCaseStatus,
)
from cases.models import Case, CaseParty
from cases.paging import after_cursor, check_idempotency_key, check_page_size, fingerprint, once
from cases.workflow import Role
from consent.rules import Purpose, Recipient, decide
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher, Sealing
from store.types import utcnow

READ_SCOPE = "cases:read"
TOPIC = "LEGAL"
MAX_LINKED = 200
MAX_NOTE = 4_000
S = LegalCaseStatus


@dataclass(frozen=True, slots=True)
class NewLegalCase:
    case_ids: Sequence[str]
    legal_aid_organization_id: str
    court: str
    complaint_filed_on: date
    idempotency_key: str


def bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def check_court(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 200:
        raise bad("court: 1 to 200 characters")
    return cleaned


def check_note(text: str | None) -> str | None:
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_NOTE:
        raise bad(f"outcomeNote is longer than {MAX_NOTE} characters")
    return cleaned or None


def roles_of(legal: LegalCase, organization_id: str | None) -> set[Role]:
    roles = set()
    if organization_id == legal.legal_aid_organization_id:
        roles.add(Role.RECEIVER)
    if organization_id == legal.opened_by_organization_id:
        roles.add(Role.SENDER)
    return roles


def party_filter(organization_id: str) -> ColumnElement[bool]:
    """The row filter of legal cases: opener, legal aid organisation, or owner of a linked
    case. Applied wherever legal cases load."""
    owns_linked = exists(
        select(LegalCaseLink.case_id)
        .join(Case, Case.id == LegalCaseLink.case_id)
        .where(
            LegalCaseLink.legal_case_id == LegalCase.id,
            Case.owner_organization_id == organization_id,
        )
    )
    return or_(
        LegalCase.opened_by_organization_id == organization_id,
        LegalCase.legal_aid_organization_id == organization_id,
        owns_linked,
    )


def payload(legal: LegalCase, **extra: object) -> dict[str, object]:
    """What an event says about a legal case: ids, stage, version. Never a note."""
    return {
        "legalCaseId": legal.id,
        "status": legal.status,
        "version": legal.version,
        "legalAid": legal.legal_aid_organization_id,
        "openedBy": legal.opened_by_organization_id,
        **extra,
    }


async def audience(session: AsyncSession, legal: LegalCase) -> list[str]:
    owners = await session.scalars(
        select(Case.owner_organization_id)
        .join(LegalCaseLink, LegalCaseLink.case_id == Case.id)
        .where(LegalCaseLink.legal_case_id == legal.id)
    )
    return sorted({legal.opened_by_organization_id, legal.legal_aid_organization_id, *owners})


async def load_legal_case(session: AsyncSession, actor: Principal, legal_id: str) -> LegalCase:
    """The legal case if the actor is a party to it; NOT_FOUND otherwise."""
    org = actor.organization_id
    if org is None:
        raise not_found("legal case")
    legal = await session.scalar(
        select(LegalCase).where(LegalCase.id == legal_id, party_filter(org))
    )
    if legal is None:
        raise not_found("legal case")
    return legal


async def _legal_aid_member(session: AsyncSession, organization_id: str) -> Organization:
    org = await session.get(Organization, organization_id)
    if org is None or org.status != MembershipStatus.ACTIVE:
        raise bad("the legal aid organisation is not an active member")
    if org.kind != OrganizationKind.LEGAL_AID:
        raise bad("legalAidOrganizationId must name a legal aid organisation")
    return org


async def _linkable_case(
    session: AsyncSession, actor: Principal, case_id: str, legal_aid: Organization, at: datetime
) -> Case:
    """The case ``actor`` may join to a legal case followed by ``legal_aid``, or why not."""
    org = actor.organization_id or ""
    case = await session.scalar(select(Case).where(Case.id == case_id, visible_to(org, at)))
    if case is None:
        raise not_found("case")
    if case.owner_organization_id != org and org != legal_aid.id:
        raise HubError(
            ErrorCode.FORBIDDEN,
            "only the organisation that owns the case or the legal aid organisation may link it",
        )
    if case.owner_organization_id != legal_aid.id:
        grants = (await load_grants(session, [case.id])).get(case.id, [])
        recipient = Recipient(legal_aid.id, legal_aid.kind)
        if not decide(grants, recipient, NOTE_PURPOSE, NOTE_CATEGORY, at).allowed:
            raise HubError(
                ErrorCode.CONSENT_REQUIRED,
                "the survivor's consent does not cover the legal aid organisation for LEGAL "
                "data for LEGAL_AID",
            )
    return case


async def _link(session: AsyncSession, legal: LegalCase, case: Case, by: str, at: datetime) -> None:
    session.add(
        LegalCaseLink(
            legal_case_id=legal.id, case_id=case.id, linked_by_organization_id=by, linked_at=at
        )
    )
    if case.owner_organization_id != legal.legal_aid_organization_id:
        session.add(
            CaseParty(
                case_id=case.id,
                organization_id=legal.legal_aid_organization_id,
                purpose=Purpose.LEGAL_AID.value,
                source_type="LEGAL_CASE",
                source_id=legal.id,
                valid_from=at,
            )
        )


def history_entry(
    cipher: Sealing,
    legal: LegalCase,
    action: str,
    previous: str | None,
    by: str | None,
    at: datetime,
    note: str | None = None,
) -> LegalCaseChange:
    change_id = str(uuid.uuid4())
    return LegalCaseChange(
        id=change_id,
        legal_case_id=legal.id,
        action=action,
        from_status=previous,
        to_status=legal.status,
        by_organization_id=by,
        at=at,
        version=legal.version,
        note_sealed=cipher.seal(note, table="legal_case_changes", column="note", row_id=change_id)
        if note
        else None,
    )


async def record_step(
    session: AsyncSession,
    actor: Principal,
    legal: LegalCase,
    kind: str,
    action: str,
    detail: dict[str, object],
    **extra: object,
) -> None:
    """The event and the audit entry every step writes with its change."""
    await emit(
        session,
        topic=TOPIC,
        type=kind,
        subject_id=legal.id,
        actor_organization_id=actor.organization_id,
        audience=await audience(session, legal),
        payload=payload(legal, **extra),
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=action,
        subject_type="LegalCase",
        subject_id=legal.id,
        detail=detail,
        request_id=actor.request_id,
    )


def _fingerprint(new: NewLegalCase) -> str:
    return fingerprint(
        [
            sorted(set(new.case_ids)),
            new.legal_aid_organization_id,
            new.court.strip(),
            new.complaint_filed_on.isoformat(),
        ]
    )


async def open_legal_case(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewLegalCase
) -> LegalCase:
    """`openLegalCase`: a complaint filed, for the survivors of ``case_ids``. Idempotent."""
    opener = actor.organization_id
    if opener is None:
        raise HubError(ErrorCode.FORBIDDEN, "legal cases are opened by member organisations")
    key = check_idempotency_key(new.idempotency_key)
    digest = _fingerprint(new)

    async def existing(session: AsyncSession) -> LegalCase | None:
        found: LegalCase | None = await session.scalar(
            select(LegalCase).where(
                LegalCase.opened_by_organization_id == opener, LegalCase.idempotency_key == key
            )
        )
        return found

    return await once(
        db, existing, lambda: _open(db, actor, cipher, new, key, digest), digest, "legal case"
    )


async def _open(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    new: NewLegalCase,
    key: str,
    digest: str,
) -> LegalCase:
    opener = actor.organization_id
    assert opener is not None
    case_ids = list(dict.fromkeys(new.case_ids))
    if not 1 <= len(case_ids) <= MAX_LINKED:
        raise bad(f"caseIds: 1 to {MAX_LINKED} cases")
    court = check_court(new.court)
    now = utcnow()
    if new.complaint_filed_on > now.date():
        raise bad("complaintFiledOn cannot be in the future")
    async with db.write() as session:
        legal_aid = await _legal_aid_member(session, new.legal_aid_organization_id)
        cases = [await _linkable_case(session, actor, c, legal_aid, now) for c in case_ids]
        legal = LegalCase(
            id=str(uuid.uuid4()),
            opened_by_organization_id=opener,
            legal_aid_organization_id=legal_aid.id,
            court=court,
            complaint_filed_on=new.complaint_filed_on,
            status=S.COMPLAINT_FILED.value,
            version=1,
            idempotency_key=key,
            request_fingerprint=digest,
            created_at=now,
            updated_at=now,
        )
        session.add(legal)
        await session.flush()
        for case in cases:
            await _link(session, legal, case, opener, now)
        session.add(history_entry(cipher, legal, "OPEN", None, opener, now))
        await session.flush()
        await record_step(
            session,
            actor,
            legal,
            "LEGAL_CASE_OPENED",
            "legal_case.open",
            {"cases": [c.id for c in cases], "legalAid": legal_aid.id},
            caseIds=[c.id for c in cases],
        )
    return legal


async def link_case(db: Database, actor: Principal, legal_id: str, case_id: str) -> LegalCase:
    """`linkCaseToLegalCase`: one more survivor in the same prosecution."""
    now = utcnow()
    async with db.write() as session:
        legal = await load_legal_case(session, actor, legal_id)
        if legal.status in LEGAL_CASE_WORKFLOW.final:
            raise LEGAL_CASE_WORKFLOW.refusal(
                legal.status,
                roles_of(legal, actor.organization_id),
                "Cannot link a case: this legal case "
                + LEGAL_CASE_WORKFLOW.state_words(legal.status),
            )
        legal_aid = await session.get(Organization, legal.legal_aid_organization_id)
        assert legal_aid is not None
        case = await _linkable_case(session, actor, case_id, legal_aid, now)
        if await session.get(LegalCaseLink, (legal.id, case.id)) is not None:
            raise HubError(ErrorCode.CONFLICT, "the case is already linked to this legal case")
        await _link(session, legal, case, actor.organization_id or "", now)
        await session.flush()
        await record_step(
            session,
            actor,
            legal,
            "LEGAL_CASE_LINKED",
            "legal_case.link",
            {"case": case.id},
            caseId=case.id,
        )
    return legal


async def get_legal_case(
    db: Database, actor: Principal, legal_id: str, *, reading: bool = True
) -> LegalCase:
    if reading and not actor.has(READ_SCOPE):
        raise not_found("legal case")
    async with db.read() as session:
        return await load_legal_case(session, actor, legal_id)


async def list_legal_cases(
    db: Database,
    actor: Principal,
    status: LegalCaseStatus | None,
    first: int,
    after: str | None,
) -> tuple[list[LegalCase], bool]:
    check_page_size(first)
    if not actor.has(READ_SCOPE) or actor.organization_id is None:
        return [], False
    query = (
        select(LegalCase)
        .where(party_filter(actor.organization_id))
        .order_by(LegalCase.created_at.desc(), LegalCase.id.desc())
        .limit(first + 1)
    )
    if status is not None:
        query = query.where(LegalCase.status == status.value)
    if after:
        query = query.where(after_cursor(after, LegalCase.created_at, LegalCase.id))
    async with db.read() as session:
        rows = list(await session.scalars(query))
    return rows[:first], len(rows) > first
