"""The coordinator's levers on a late item: remind the late organisation, and talk about the
item with its parties in notes. (The third lever, suspension, is the membership mutation
``suspendOrganization``.) Each is one transaction: the change, an outbox event without the
note's text, and an audit entry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.case_keys import case_cipher, case_ciphers
from cases.desk import DeskItem, desk_item, item_for_party_or_desk
from cases.desk_models import DeskNote, DeskNotice
from cases.desk_rules import TOPIC_OF, DeskItemKind
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher, SealError
from store.types import utcnow

NOTE_TABLE = "desk_notes"
NOTE_COLUMN = "text"
MAX_NOTE = 4000


def _item_ref(item: DeskItem) -> dict[str, str]:
    return {"itemKind": item.kind.value, "itemId": item.id}


async def remind_organization(
    db: Database, actor: Principal, kind: DeskItemKind, item_id: str
) -> DeskNotice:
    """A reminder to the organisation that owes the item's next step: a notice it can read
    (``deskNotices``) and an event addressed to it alone."""
    now = utcnow()
    async with db.write() as session:
        item = await desk_item(session, actor, kind, item_id, now)
        notice = DeskNotice(
            id=str(uuid.uuid4()),
            organization_id=item.late_organization_id,
            item_kind=item.kind.value,
            item_id=item.id,
            by_organization_id=actor.organization_id or "",
            created_at=now,
        )
        session.add(notice)
        await emit(
            session,
            topic=TOPIC_OF[item.kind],
            type="DESK_REMINDER",
            subject_id=item.id,
            actor_organization_id=actor.organization_id,
            audience=[item.late_organization_id],
            payload={**_item_ref(item), "noticeId": notice.id, "status": item.status},
            at=now,
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="desk.remind",
            subject_type=item.kind.value,
            subject_id=item.id,
            detail={"organization": item.late_organization_id},
            request_id=actor.request_id,
            at=now,
        )
    return notice


async def desk_notices(db: Database, actor: Principal, limit: int = 100) -> list[DeskNotice]:
    """The reminders sent to the caller's organisation, newest first."""
    async with db.read() as session:
        return list(
            await session.scalars(
                select(DeskNotice)
                .where(DeskNotice.organization_id == actor.organization_id)
                .order_by(DeskNotice.created_at.desc(), DeskNotice.id)
                .limit(limit)
            )
        )


async def _active_coordinators(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(
            select(Organization.id).where(
                Organization.kind == OrganizationKind.COORDINATOR.value,
                Organization.status == MembershipStatus.ACTIVE.value,
            )
        )
    )


async def add_item_note(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    kind: DeskItemKind,
    item_id: str,
    text: str,
) -> DeskNote:
    """A note on a late item from the coordinator or one of its parties. The conversation
    belongs to the desk: it opens once the item is on it. The text is sealed; the event
    tells the others a note exists, never what it says."""
    if not text.strip() or len(text) > MAX_NOTE:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"a note has 1 to {MAX_NOTE} characters")
    now = utcnow()
    async with db.write() as session:
        item = await item_for_party_or_desk(session, actor, kind, item_id, now)
        if not (item.overdue or item.escalated_at is not None):
            # A party may not start a desk conversation on an item the desk cannot see.
            raise HubError(ErrorCode.NOT_FOUND, "no such item on the coordinator's desk")
        note_id = str(uuid.uuid4())
        note = DeskNote(
            id=note_id,
            item_kind=item.kind.value,
            item_id=item.id,
            case_id=item.case_id,
            author_organization_id=actor.organization_id or "",
            # Under her case's key: erasing the case shreds the conversation's every copy.
            text_sealed=(await case_cipher(session, cipher, item.case_id)).seal(
                text, table=NOTE_TABLE, column=NOTE_COLUMN, row_id=note_id
            ),
            created_at=now,
        )
        session.add(note)
        audience = {p.organization_id for p in item.parties} | set(
            await _active_coordinators(session)
        )
        await emit(
            session,
            topic=TOPIC_OF[item.kind],
            type="DESK_NOTE_ADDED",
            subject_id=item.id,
            actor_organization_id=actor.organization_id,
            audience=sorted(audience),
            payload={**_item_ref(item), "noteId": note_id},
            at=now,
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="desk.note",
            subject_type=item.kind.value,
            subject_id=item.id,
            detail={"note": note_id},
            request_id=actor.request_id,
            at=now,
        )
    return note


@dataclass(frozen=True, slots=True)
class ReadNote:
    id: str
    author_organization_id: str
    created_at: datetime
    # None once the survivor's case was erased (the sealed text is cleared with it).
    text: str | None


async def item_notes(
    db: Database, actor: Principal, cipher: FieldCipher, kind: DeskItemKind, item_id: str
) -> list[ReadNote]:
    """The conversation on an item, oldest first: for the coordinator (once the item is on
    its desk) and the item's parties; NOT_FOUND for anyone else."""
    now = utcnow()
    async with db.read() as session:
        await item_for_party_or_desk(session, actor, kind, item_id, now)
        rows = list(
            await session.scalars(
                select(DeskNote)
                .where(DeskNote.item_kind == kind.value, DeskNote.item_id == item_id)
                .order_by(DeskNote.created_at, DeskNote.id)
            )
        )
        openers = await case_ciphers(session, cipher, [r.case_id for r in rows])
    notes = []
    for row in rows:
        text: str | None = None
        if row.text_sealed is not None:
            try:
                text = openers[row.case_id].open(
                    row.text_sealed, table=NOTE_TABLE, column=NOTE_COLUMN, row_id=row.id
                )
            except SealError:
                text = None
        notes.append(ReadNote(row.id, row.author_organization_id, row.created_at, text))
    return notes
