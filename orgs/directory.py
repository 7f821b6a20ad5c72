"""The service directory: what each member offers, to whom, and whether it has room."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.outbox import emit
from orgs.models import Organization, ServiceOffer
from orgs.places import Place, best_coverage, find_place
from orgs.principal import Principal
from orgs.rules import MembershipStatus, ServiceCategory
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.types import utcnow


class CapacityStatus(StrEnum):
    ACCEPTING = "ACCEPTING"
    WAITLIST = "WAITLIST"
    NOT_ACCEPTING = "NOT_ACCEPTING"


@dataclass(frozen=True, slots=True)
class OfferInput:
    category: ServiceCategory
    areas_served: Sequence[str]
    capacity_status: CapacityStatus = CapacityStatus.ACCEPTING
    description: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    sexes: Sequence[str] = ()
    languages: Sequence[str] = ()
    available: int | None = None
    maximum: int | None = None


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def _check(offer: OfferInput) -> None:
    if not offer.areas_served:
        raise _bad("areasServed: name at least one province or country")
    if len(offer.areas_served) > 100 or any(len(a) > 100 for a in offer.areas_served):
        raise _bad("areasServed: at most 100 areas of up to 100 characters")
    area_codes(offer.areas_served)
    for age in (offer.min_age, offer.max_age):
        if age is not None and not 0 <= age <= 120:
            raise _bad("ages must be from 0 to 120")
    if offer.min_age is not None and offer.max_age is not None and offer.min_age > offer.max_age:
        raise _bad("minAge is above maxAge")
    for count in (offer.available, offer.maximum):
        if count is not None and count < 0:
            raise _bad("capacity cannot be negative")
    if (
        offer.available is not None
        and offer.maximum is not None
        and offer.available > offer.maximum
    ):
        raise _bad("available is above maximum")
    if offer.description is not None and len(offer.description) > 2000:
        raise _bad("description is longer than 2000 characters")


def area_codes(areas: Sequence[str]) -> list[str]:
    """The ISO codes of ``areas`` written as codes or names, in order, without repeats;
    BAD_USER_INPUT naming the first one that is no known place (a place is not survivor data)."""
    codes: list[str] = []
    for area in areas:
        if not area.strip():
            continue
        found = find_place(area)
        if found is None:
            raise _bad(f"areasServed: unknown place {area.strip()!r}: use an ISO 3166 code or name")
        if found.code not in codes:
            codes.append(found.code)
    if not codes:
        raise _bad("areasServed: name at least one province or country")
    return codes


def wanted_place(area: str) -> Place:
    """The place a search asks for; BAD_USER_INPUT when it is no known place."""
    found = find_place(area)
    if found is None:
        raise _bad(f"area: unknown place {area.strip()[:100]!r}: use an ISO 3166 code or name")
    return found


# Capacity order for ranking: who can take someone now comes first.
_CAPACITY_RANK = {CapacityStatus.ACCEPTING.value: 0, CapacityStatus.WAITLIST.value: 1}


def _rank(row: ServiceOffer, closeness: int) -> tuple[int, int, int]:
    room = row.available if row.available is not None else -1
    return (closeness, _CAPACITY_RANK.get(row.capacity_status, 2), -room)


def _may_manage(actor: Principal, organization_id: str) -> None:
    if actor.organization_id is None or actor.has("network:admin"):
        return
    if actor.organization_id != organization_id:
        raise HubError(ErrorCode.FORBIDDEN, "an organisation publishes only its own services")


async def publish_service(
    db: Database, actor: Principal, organization_id: str, offer: OfferInput
) -> ServiceOffer:
    """Publish or update (by category) one of an organisation's services."""
    _may_manage(actor, organization_id)
    _check(offer)
    now = utcnow()
    async with db.write() as session:
        org = await session.get(Organization, organization_id)
        if org is None:
            raise not_found("organization")
        row = await session.scalar(
            select(ServiceOffer).where(
                ServiceOffer.organization_id == organization_id,
                ServiceOffer.category == offer.category.value,
            )
        )
        if row is None:
            row = ServiceOffer(
                id=str(uuid.uuid4()),
                organization_id=organization_id,
                category=offer.category.value,
                created_at=now,
            )
            session.add(row)
        row.description = offer.description
        row.areas_served = area_codes(offer.areas_served)
        row.min_age, row.max_age = offer.min_age, offer.max_age
        row.sexes = sorted(set(offer.sexes))
        row.languages = sorted({lang.lower() for lang in offer.languages})
        row.capacity_status = offer.capacity_status.value
        row.available, row.maximum = offer.available, offer.maximum
        row.capacity_updated_at = now
        await session.flush()
        await _record(session, actor, row, "SERVICE_PUBLISHED")
    return row


async def _record(session: AsyncSession, actor: Principal, row: ServiceOffer, kind: str) -> None:
    detail = {
        "category": row.category,
        "capacityStatus": row.capacity_status,
        "available": row.available,
    }
    await emit(
        session,
        topic="ORGANIZATION",
        type=kind,
        subject_id=row.id,
        actor_organization_id=actor.organization_id,
        audience=[row.organization_id],
        payload={"organizationId": row.organization_id, **detail},
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action="service.publish",
        subject_type="ServiceOffer",
        subject_id=row.id,
        detail=detail,
        request_id=actor.request_id,
    )


async def find_services(
    db: Database,
    category: ServiceCategory | None = None,
    area: str | None = None,
    accepting_referrals: bool | None = None,
) -> list[ServiceOffer]:
    """Services of active members, by category, area served and whether they take referrals.

    With an area (a code or a name in any spelling), only services covering it, closest
    coverage first (the province itself, then its whole country, then part of a wanted
    country), then those with room before a waiting list, then the most places free."""
    place = wanted_place(area) if area and area.strip() else None
    query = (
        select(ServiceOffer)
        .join(Organization, Organization.id == ServiceOffer.organization_id)
        .where(Organization.status == MembershipStatus.ACTIVE.value)
        .order_by(ServiceOffer.category, Organization.name)
    )
    if category is not None:
        query = query.where(ServiceOffer.category == category.value)
    if accepting_referrals is True:
        query = query.where(ServiceOffer.capacity_status != CapacityStatus.NOT_ACCEPTING.value)
    elif accepting_referrals is False:
        query = query.where(ServiceOffer.capacity_status == CapacityStatus.NOT_ACCEPTING.value)
    async with db.read() as session:
        rows = list(await session.scalars(query))
    if place is None:
        return rows
    ranked = [(best_coverage(list(r.areas_served), place), r) for r in rows]
    found = [(closeness, r) for closeness, r in ranked if closeness is not None]
    found.sort(key=lambda pair: _rank(pair[1], pair[0]))  # stable: name order within a rank
    return [r for _, r in found]


async def offered(
    session: AsyncSession, organization_id: str, categories: Sequence[ServiceCategory]
) -> dict[str, ServiceOffer]:
    """The receiver's offers for ``categories``, by category (inside a caller's transaction)."""
    rows = await session.scalars(
        select(ServiceOffer).where(
            ServiceOffer.organization_id == organization_id,
            ServiceOffer.category.in_([c.value for c in categories]),
        )
    )
    return {row.category: row for row in rows}
