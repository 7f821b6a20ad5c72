"""Possible duplicates across organisations, and the links their owners agree.

When a case is opened, its person is looked up in the blind index (``cases.blind_index``).
A match at another organisation gives the opening caseworker a yes and an opaque hint,
never where or what. With the hint the owner may ask to link; the other owner then sees a
request naming only the asking organisation and its own case; it accepts or declines. Only
a LINKED pair shows each side the other's case and organisation. Data still moves only by
consent: a link opens nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cases import blind_index
from cases.link_models import BlindIndexEntry, CaseLink
from cases.models import Case
from notifications.outbox import emit
from orgs.principal import Principal
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow


class LinkStatus(StrEnum):
    POSSIBLE = "POSSIBLE"
    REQUESTED = "REQUESTED"
    LINKED = "LINKED"
    DECLINED = "DECLINED"


@dataclass(frozen=True, slots=True)
class LinkView:
    """One link as one organisation sees it: the other side only once linked, the asking
    organisation (not its case) to the asked side once requested."""

    id: str
    your_case_id: str
    status: LinkStatus
    asked_of_you: bool
    hint: str | None
    other_organization_id: str | None
    other_case_id: str | None


async def index_case(
    session: AsyncSession,
    cipher: FieldCipher,
    case: Case,
    survivor: Mapping[str, Any],
) -> str | None:
    """Index a new case's person and record its possible duplicates at other organisations,
    inside the caller's transaction. Returns the hint, or None when nobody matches."""
    pairs = blind_index.entries(cipher.derive(blind_index.PURPOSE), survivor, case.sex)
    if not pairs:
        return None
    found = set(
        await session.scalars(
            select(BlindIndexEntry.case_id)
            .join(Case, Case.id == BlindIndexEntry.case_id)
            .where(
                tuple_(BlindIndexEntry.key_id, BlindIndexEntry.digest).in_(pairs),
                Case.owner_organization_id != case.owner_organization_id,
            )
        )
    )
    session.add_all(
        BlindIndexEntry(case_id=case.id, key_id=kid, digest=value) for kid, value in pairs
    )
    if not found:
        return None
    hint, now = str(uuid.uuid4()), utcnow()
    session.add_all(
        CaseLink(
            id=str(uuid.uuid4()),
            hint=hint,
            asking_case_id=case.id,
            asked_case_id=other,
            status=LinkStatus.POSSIBLE.value,
            created_at=now,
        )
        for other in sorted(found)
    )
    return hint


async def forget_case(session: AsyncSession, case_id: str) -> None:
    """Erasure: the case's blind index entries go with its other survivor data."""
    await session.execute(delete(BlindIndexEntry).where(BlindIndexEntry.case_id == case_id))


def _org(actor: Principal) -> str:
    if actor.organization_id is None:
        raise HubError(ErrorCode.FORBIDDEN, "links are between member organisations")
    return actor.organization_id


_ASKING, _ASKED = aliased(Case), aliased(Case)


def _with_owners() -> Any:
    return (
        select(CaseLink, _ASKING.owner_organization_id, _ASKED.owner_organization_id)
        .join(_ASKING, _ASKING.id == CaseLink.asking_case_id)
        .join(_ASKED, _ASKED.id == CaseLink.asked_case_id)
    )


def _view(link: CaseLink, asking_org: str, asked_org: str, me: str) -> LinkView:
    status = LinkStatus(link.status)
    linked = status is LinkStatus.LINKED
    asked = asked_org == me and asking_org != me
    if asked:
        return LinkView(
            id=link.id,
            your_case_id=link.asked_case_id,
            status=status,
            asked_of_you=True,
            hint=None,
            other_organization_id=link.requested_by_organization_id,
            other_case_id=link.asking_case_id if linked else None,
        )
    return LinkView(
        id=link.id,
        your_case_id=link.asking_case_id,
        status=status,
        asked_of_you=False,
        hint=link.hint,
        other_organization_id=asked_org if linked else None,
        other_case_id=link.asked_case_id if linked else None,
    )


async def links_of(db: Database, actor: Principal) -> list[LinkView]:
    """Every link of the actor's organisation's cases, as it may see them: the asked side
    sees nothing before a link is requested."""
    me = _org(actor)
    query = _with_owners().where(
        or_(
            _ASKING.owner_organization_id == me,
            and_(
                _ASKED.owner_organization_id == me,
                CaseLink.status != LinkStatus.POSSIBLE.value,
            ),
        )
    )
    async with db.read() as session:
        rows = (await session.execute(query.order_by(CaseLink.created_at, CaseLink.id))).all()
    return [_view(link, asking, asked, me) for link, asking, asked in rows]


async def request_link(db: Database, actor: Principal, hint: str) -> list[LinkView]:
    """The owner of a newly opened case asks the owners of its possible duplicates to link.
    Asking again changes nothing. An unknown hint, or another organisation's, is NOT_FOUND."""
    me, now = _org(actor), utcnow()
    async with db.write() as session:
        rows = (
            await session.execute(
                _with_owners().where(CaseLink.hint == hint, _ASKING.owner_organization_id == me)
            )
        ).all()
        if not rows:
            raise not_found("duplicate hint")
        for link, _, asked_org in rows:
            if link.status != LinkStatus.POSSIBLE.value:
                continue
            link.status = LinkStatus.REQUESTED.value
            link.requested_by_organization_id, link.requested_at = me, now
            await emit(
                session,
                topic="CASE",
                type="CASE_LINK_REQUESTED",
                subject_id=link.asked_case_id,
                actor_organization_id=me,
                audience=[asked_org],
                payload={"linkId": link.id, "caseId": link.asked_case_id},
            )
            await _audit(session, actor, link, "case.link.request")
        views = [_view(link, asking, asked, me) for link, asking, asked in rows]
    return views


async def answer_link(db: Database, actor: Principal, link_id: str, accept: bool) -> LinkView:
    """The asked owner accepts or declines a requested link; either way both owners hear."""
    me, now = _org(actor), utcnow()
    async with db.write() as session:
        row = (
            await session.execute(
                _with_owners().where(
                    CaseLink.id == link_id,
                    _ASKED.owner_organization_id == me,
                    CaseLink.status != LinkStatus.POSSIBLE.value,
                )
            )
        ).first()
        if row is None:
            raise not_found("case link")
        link, asking_org, asked_org = row
        if link.status != LinkStatus.REQUESTED.value:
            raise HubError(ErrorCode.INVALID_TRANSITION, "the link request was already answered")
        link.status = (LinkStatus.LINKED if accept else LinkStatus.DECLINED).value
        link.answered_at = now
        for org, case_id in ((asking_org, link.asking_case_id), (asked_org, link.asked_case_id)):
            await emit(
                session,
                topic="CASE",
                type="CASE_LINK_ANSWERED",
                subject_id=case_id,
                actor_organization_id=me,
                audience=[org],
                payload={"linkId": link.id, "caseId": case_id, "status": link.status},
            )
        await _audit(session, actor, link, "case.link.accept" if accept else "case.link.decline")
        view = _view(link, asking_org, asked_org, me)
    return view


async def _audit(session: AsyncSession, actor: Principal, link: CaseLink, action: str) -> None:
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=action,
        subject_type="CaseLink",
        subject_id=link.id,
        detail={"status": link.status},
        request_id=actor.request_id,
    )
