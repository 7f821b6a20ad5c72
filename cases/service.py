"""Case operations: open a case, change its status, read cases as one organisation may.

Each write is one transaction with its event and audit entry. Reads that show survivor
data to another organisation write their disclosure entries before anything is returned.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import READ_SCOPE, CaseView, build_views, parties_in_force, visible_to
from cases.case_keys import case_cipher, new_case_key
from cases.links import index_case
from cases.models import Case, CaseField, CaseParty, CaseStatusChange
from cases.paging import after_cursor, check_page_size
from cases.rules import (
    FIELDS_BY_NAME,
    AgeBand,
    CaseStatus,
    Sex,
    check_languages,
    check_needs,
    check_note,
    check_sensitive_value,
    check_status_change,
)
from consent import disclosure
from consent.disclosure import Channel, DisclosureSink
from notifications.outbox import emit
from orgs.principal import Principal
from orgs.rules import check_country
from store.audit import record_audit
from store.case_keys import CASE_PREFIX, CaseCipher, CaseKey
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.reads import RequestReads, reads_of
from store.sealed import FieldCipher, Sealing
from store.types import utcnow

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    """A pseudonymous reference: random, so it says nothing about the person or place."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"RH-{body[:4]}-{body[4:]}"


@dataclass(frozen=True, slots=True)
class NewCase:
    age_band: AgeBand
    sex: Sex
    nationality: str | None = None
    languages: Sequence[str] = ()
    needs: Sequence[str] = ()
    survivor: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None


def _owner_of(actor: Principal) -> str:
    if actor.organization_id is None:
        raise HubError(ErrorCode.FORBIDDEN, "cases belong to a member organisation")
    return actor.organization_id


async def case_audience(session: AsyncSession, case: Case) -> list[str]:
    """The owner and every organisation party to the case right now."""
    rows = await session.scalars(
        select(CaseParty.organization_id).where(
            CaseParty.case_id == case.id, parties_in_force(utcnow())
        )
    )
    return sorted({case.owner_organization_id, *rows})


async def load_visible_case(session: AsyncSession, actor: Principal, case_id: str) -> Case:
    """The case if the actor may see it; NOT_FOUND otherwise, exactly as if it did not exist."""
    org = _owner_of(actor)
    query = select(Case).where(Case.id == case_id, visible_to(org, utcnow()))
    case = await session.scalar(query)
    if case is None:
        raise not_found("case")
    return case


async def load_owned_case(session: AsyncSession, actor: Principal, case_id: str) -> Case:
    case = await load_visible_case(session, actor, case_id)
    if case.owner_organization_id != actor.organization_id:
        raise HubError(ErrorCode.FORBIDDEN, "only the organisation that owns the case may do this")
    return case


def seal_fields(
    cipher: FieldCipher,
    case_id: str,
    survivor: Mapping[str, Any],
    case_key: CaseKey | None = None,
) -> list[CaseField]:
    """Survivor fields sealed under the case's own key (the hub key only without one)."""
    sealer: FieldCipher | CaseKey = cipher if case_key is None else case_key
    rows = []
    for name, raw in survivor.items():
        if raw is None:
            continue
        value = check_sensitive_value(name, raw)
        plain = orjson.dumps(value).decode()
        rows.append(
            CaseField(
                case_id=case_id,
                field=name,
                category=FIELDS_BY_NAME[name].category.value,
                key_id=cipher.current if case_key is None else CASE_PREFIX,
                sealed=sealer.seal(plain, table="case_fields", column=name, row_id=case_id),
            )
        )
    return rows


async def create_case(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewCase
) -> CaseView:
    """Open a case owned by the actor's organisation, its survivor data sealed."""
    owner = _owner_of(actor)
    now = utcnow()
    case_id = str(uuid.uuid4())
    case = Case(
        id=case_id,
        reference=new_reference(),
        owner_organization_id=owner,
        status=CaseStatus.OPEN.value,
        version=1,
        age_band=new.age_band.value,
        sex=new.sex.value,
        nationality=check_country(new.nationality) if new.nationality else None,
        languages=check_languages(list(new.languages)),
        needs=check_needs(list(new.needs)),
        created_at=now,
        updated_at=now,
    )
    note = check_note(new.note)
    async with db.write() as session:
        session.add(case)
        await session.flush()
        key = new_case_key(session, cipher, case_id)
        fields = seal_fields(cipher, case_id, new.survivor, key)
        session.add_all(fields)
        hint = await index_case(session, cipher, case, new.survivor)
        session.add(
            CaseStatusChange(
                case_id=case_id,
                status=case.status,
                at=now,
                by_organization_id=owner,
                note=seal_note(CaseCipher(cipher, key), note, case_id),
            )
        )
        await emit(
            session,
            topic="CASE",
            type="CASE_CREATED",
            subject_id=case_id,
            actor_organization_id=owner,
            audience=[owner],
            payload={"caseId": case_id, "reference": case.reference, "status": case.status},
        )
        await record_audit(
            session,
            actor_organization_id=owner,
            actor_client_id=actor.client_id,
            action="case.create",
            subject_type="Case",
            subject_id=case_id,
            detail={"fields": sorted(f.field for f in fields), "possibleDuplicate": bool(hint)},
            request_id=actor.request_id,
        )
        views = await build_views(session, actor, [case], cipher, now, Channel.QUERY)
    views[0].duplicate_hint = hint
    return views[0]


async def update_case_status(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    case_id: str,
    status: CaseStatus,
    note: str | None,
    expected_version: int | None = None,
) -> CaseView:
    """The owner moves its case to another status; the change is kept in its history."""
    clean_note = check_note(note)
    async with db.write() as session:
        case = await load_owned_case(session, actor, case_id)
        if expected_version is not None and expected_version != case.version:
            raise HubError(ErrorCode.CONFLICT, "the case was changed by someone else")
        current = CaseStatus(case.status)
        check_status_change(current, status)
        now = utcnow()
        result = await session.execute(
            update(Case)
            .where(Case.id == case.id, Case.version == case.version)
            .values(status=status.value, version=case.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise HubError(ErrorCode.CONFLICT, "the case was changed by someone else")
        session.add(
            CaseStatusChange(
                case_id=case.id,
                status=status.value,
                at=now,
                by_organization_id=case.owner_organization_id,
                note=seal_note(await case_cipher(session, cipher, case.id), clean_note, case.id),
            )
        )
        await session.refresh(case)
        await emit(
            session,
            topic="CASE",
            type="CASE_STATUS_CHANGED",
            subject_id=case.id,
            actor_organization_id=case.owner_organization_id,
            audience=await case_audience(session, case),
            payload={"caseId": case.id, "from": current.value, "to": status.value},
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="case.update_status",
            subject_type="Case",
            subject_id=case.id,
            detail={"from": current.value, "to": status.value},
            request_id=actor.request_id,
        )
        views = await build_views(session, actor, [case], cipher, now, Channel.QUERY)
    return views[0]


async def read_cases(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    *,
    case_ids: Sequence[str] | None = None,
    status: CaseStatus | None = None,
    limit: int = 100,
    fields: frozenset[str] | None = None,
    disclose: DisclosureSink | None = None,
    reads: RequestReads | None = None,
    withheld: bool = True,
) -> list[CaseView]:
    """Cases the actor may see, as it may see them, newest first; ``fields`` limits what
    is opened (and so disclosed) to the survivor fields the caller asked for (None: all),
    ``withheld=False`` says the caller does not ask for the withheld list. With ``reads``
    the cases are read in the request's read transaction.

    Reading takes a read transaction only. The disclosures the views amount to go to
    ``disclose`` when given (a GraphQL request collects them and writes them once, after
    execution and before it answers: a field task that graphql-core may cancel never holds
    a write transaction); without it they are written here, before anything is returned."""
    views, _ = await _read_page(
        reads_of(db, reads),
        actor,
        cipher,
        case_ids,
        status,
        max(1, min(limit, 500)),
        None,
        CaseFilter(fields, withheld),
        disclose,
    )
    return views


@dataclass(frozen=True, slots=True)
class CasePage:
    views: list[CaseView]
    has_next: bool


async def page_of_cases(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    *,
    status: CaseStatus | None = None,
    first: int = 20,
    after: str | None = None,
    fields: frozenset[str] | None = None,
    disclose: DisclosureSink | None = None,
    reads: RequestReads | None = None,
    withheld: bool = True,
) -> CasePage:
    """One page of the cases the actor may see, newest first, like every other list. Only
    the cases on the page are opened and disclosed, not the one read to see if more follow."""
    check_page_size(first)
    views, more = await _read_page(
        reads_of(db, reads),
        actor,
        cipher,
        None,
        status,
        first,
        after,
        CaseFilter(fields, withheld),
        disclose,
    )
    return CasePage(views, more)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What a read opens: the survivor fields asked for (None: all) and whether the caller
    asks for the withheld list."""

    fields: frozenset[str] | None
    withheld: bool


async def _read_page(
    reads: RequestReads,
    actor: Principal,
    cipher: FieldCipher,
    case_ids: Sequence[str] | None,
    status: CaseStatus | None,
    limit: int,
    after: str | None,
    wants: CaseFilter,
    disclose: DisclosureSink | None,
) -> tuple[list[CaseView], bool]:
    org = _owner_of(actor)
    if not actor.has(READ_SCOPE):
        # The scope is part of the one filter: no root, edge or event reads a case without it.
        return [], False
    now = utcnow()
    query = (
        select(Case)
        .where(visible_to(org, now))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(limit + 1)
    )
    if case_ids is not None:
        query = query.where(Case.id.in_(list(case_ids)))
    if status is not None:
        query = query.where(Case.status == status.value)
    if after:
        query = query.where(after_cursor(after, Case.created_at, Case.id))
    async with reads.session() as session:
        found = list(await session.scalars(query))
        cases = found[:limit]
        views = await build_views(
            session, actor, cases, cipher, now, Channel.QUERY, wants.fields, wants.withheld
        )
    records = [record for view in views for record in view.disclosures]
    if disclose is not None:
        disclose(records)
    else:
        await disclosure.record(reads.db, records)
    return views, len(found) > limit


async def status_history(
    db: Database, case_ids: Sequence[str], reads: RequestReads | None = None
) -> dict[str, list[CaseStatusChange]]:
    """Status history of each case, oldest first, in one query (callers filter access)."""
    found: dict[str, list[CaseStatusChange]] = {cid: [] for cid in case_ids}
    async with reads_of(db, reads).session() as session:
        rows = await session.scalars(
            select(CaseStatusChange)
            .where(CaseStatusChange.case_id.in_(list(case_ids)))
            .order_by(CaseStatusChange.id)
        )
        for row in rows:
            found[row.case_id].append(row)
    return found


async def reseal_data(db: Database, cipher: FieldCipher, batch: int = 200) -> int:
    """Re-seal every survivor field, note and secret under the newest key, a batch per
    transaction. Safe to interrupt and run again: only values under an older key are picked."""
    from cases.reseal import reseal_all

    return await reseal_all(db, cipher, batch)


def seal_note(cipher: Sealing, note: str | None, case_id: str) -> str | None:
    """Status notes are free text a caseworker may fill with anything: sealed like survivor
    data, bound to the case (the row id is not known before the insert)."""
    if note is None:
        return None
    return cipher.seal(note, table="case_status_changes", column="note", row_id=case_id)


def open_note(cipher: Sealing, sealed: str | None, case_id: str) -> str | None:
    if sealed is None or (isinstance(cipher, CaseCipher) and cipher.shredded(sealed)):
        return None
    return cipher.open(sealed, table="case_status_changes", column="note", row_id=case_id)


async def set_case_status(
    session: AsyncSession,
    cipher: FieldCipher,
    case: Case,
    status: CaseStatus,
    note: str,
    now: datetime,
) -> None:
    """Move a case because of a hand-over (referral, repatriation), kept in its history."""
    if case.status == status.value:
        return
    await session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(status=status.value, version=Case.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.add(
        CaseStatusChange(
            case_id=case.id,
            status=status.value,
            at=now,
            by_organization_id=case.owner_organization_id,
            note=seal_note(await case_cipher(session, cipher, case.id), note, case.id),
        )
    )
    await emit(
        session,
        topic="CASE",
        type="CASE_STATUS_CHANGED",
        subject_id=case.id,
        actor_organization_id=case.owner_organization_id,
        audience=await case_audience(session, case),
        payload={"caseId": case.id, "from": case.status, "to": status.value},
    )


async def require_visible(db: Database, actor: Principal, case_id: str) -> None:
    """NOT_FOUND unless the actor may see the case now (and holds `cases:read`)."""
    if not actor.has(READ_SCOPE):
        raise not_found("case")
    async with db.read() as session:
        await load_visible_case(session, actor, case_id)
