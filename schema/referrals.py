"""Referrals and the service directory in GraphQL: translation only."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self, cast

import strawberry
from strawberry.types import Info

from cases import referrals as service
from cases.deadlines import referral_overdue
from cases.models import Referral as ReferralRow
from cases.paging import encode_cursor
from cases.referral_reads import (
    CaseWants,
    ReferralRead,
    ReferralReads,
    ReferralWants,
    read_referrals,
    referral_page,
)
from cases.referral_rules import ReferralAction, ReferralStatus, Urgency
from cases.text_views import REFERRAL_TEXTS
from consent import disclosure
from consent.rules import DataCategory
from orgs import directory
from orgs.directory import CapacityStatus
from orgs.models import Organization as OrganizationRow
from orgs.models import ServiceOffer as OfferRow
from orgs.rules import ServiceCategory
from schema.cases import SURVIVOR_FIELDS, Case, WithheldField
from schema.context import HubContext
from schema.disclosures import collector
from schema.lazy_fields import build, lazy_type, member
from schema.organizations import Organization
from schema.paging import PageInfo
from schema.permissions import requires, requires_any
from schema.places import Place, places
from schema.selection import fields_at
from store.errors import not_found
from store.types import utcnow

strawberry.enum(ReferralStatus, name="ReferralStatus")
strawberry.enum(Urgency, name="Urgency")
strawberry.enum(ServiceCategory, name="ServiceCategory")
strawberry.enum(CapacityStatus, name="CapacityStatus")


@strawberry.enum
class ReferralBox(StrEnum):
    INBOX = "INBOX"
    OUTBOX = "OUTBOX"


@strawberry.type(description="A service a member offers, with eligibility and capacity.")
class ServiceOffer:
    id: strawberry.ID
    organization_id: strawberry.ID
    category: ServiceCategory
    description: str | None
    areas_served: list[str] = strawberry.field(
        description="ISO 3166 codes; a name kept from before codes stays until the next update."
    )
    min_age: int | None
    max_age: int | None
    sexes: list[str]
    languages: list[str]
    capacity_status: CapacityStatus
    available: int | None
    maximum: int | None
    capacity_updated_at: datetime
    places: list[Place] = strawberry.field(description="The areas served that are known places.")

    @classmethod
    def from_row(cls, row: OfferRow) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            organization_id=strawberry.ID(row.organization_id),
            category=ServiceCategory(row.category),
            description=row.description,
            areas_served=list(row.areas_served),
            min_age=row.min_age,
            max_age=row.max_age,
            sexes=list(row.sexes),
            languages=list(row.languages),
            capacity_status=CapacityStatus(row.capacity_status),
            places=places(list(row.areas_served)),
            available=row.available,
            maximum=row.maximum,
            capacity_updated_at=row.capacity_updated_at,
        )

    @strawberry.field
    async def organization(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.organization_id))
        return Organization.from_row(row) if row else None


@strawberry.type
class ReferralChange:
    action: str
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    by: strawberry.ID | None = strawberry.field(description="None when the hub acted (deadlines).")
    at: datetime
    version: int
    reason: str | None


@strawberry.type
class ReferralOutcome:
    services_delivered: list[ServiceCategory]
    note: str | None


@strawberry.type(
    description="A referral, seen by its sender and its receiver only. Its free text is "
    "survivor data: shown as the survivor's consent allows, otherwise null and in `withheld`."
)
class Referral:
    id: strawberry.ID
    case_id: strawberry.ID
    sender_id: strawberry.ID
    receiver_id: strawberry.ID
    services: list[ServiceCategory]
    urgency: Urgency
    purpose: str
    status: ReferralStatus
    version: int
    reason: str | None
    notes: str | None
    acknowledge_by: datetime
    respond_by: datetime
    overdue: bool
    outcome: ReferralOutcome | None
    created_at: datetime
    updated_at: datetime
    held_for_consent: bool = strawberry.field(
        description="On hold until the survivor's consent covers this referral again."
    )
    withheld: list[WithheldField]
    history: list[ReferralChange] = strawberry.field(
        description="Every transition: who, when, why, and the version it made."
    )

    case: Case | None = strawberry.field(
        description="The case as the caller may see it; null once it may not."
    )
    sender: Organization | None
    receiver: Organization | None

    @classmethod
    def from_read(
        cls,
        read: ReferralRead,
        organizations: dict[int, Organization] | None = None,
        now: datetime | None = None,
    ) -> Self:
        """``organizations``: the page's organisations already converted, by the identity of
        their row; a page names the same two or three organisations on every row, and
        converting each again per row was a tenth of the page's CPU. ``now``: the page's
        one clock reading, so every row of a page is judged overdue at the same moment.

        The answer is lazy (``schema.lazy_fields``): the fields nearly every list reads are
        set now, every other field is converted from the decided view when first read."""
        row = read.view.referral
        return build(
            cast(type[Self], _LazyReferral),
            {
                "_read": read,
                "_organizations": {} if organizations is None else organizations,
                "_now": utcnow() if now is None else now,
                "id": strawberry.ID(row.id),
                "status": member(ReferralStatus, row.status),
                "urgency": member(Urgency, row.urgency),
            },
        )


def _texts(answer: Any) -> dict[str, str | None]:
    texts: dict[str, str | None] = answer._read.view.texts.values
    return texts


def _row(answer: Any) -> ReferralRow:
    row: ReferralRow = answer._read.view.referral
    return row


def _outcome(answer: Any) -> ReferralOutcome | None:
    row = _row(answer)
    if row.outcome_services is None:
        return None
    return ReferralOutcome(
        services_delivered=[member(ServiceCategory, s) for s in row.outcome_services],
        note=_texts(answer).get("outcome_note"),
    )


def _history(answer: Any) -> list[ReferralChange]:
    texts = _texts(answer)
    return [
        ReferralChange(
            action=r.action,
            from_status=ReferralStatus(r.from_status) if r.from_status else None,
            to_status=ReferralStatus(r.to_status),
            by=strawberry.ID(r.by_organization_id) if r.by_organization_id else None,
            at=r.at,
            version=r.version,
            reason=texts.get(f"history:{r.id}"),
        )
        for r in answer._read.view.history
    ]


# Every field of a referral but those ``from_read`` sets, each from the decided read.
_LazyReferral = lazy_type(
    Referral,
    {
        "case_id": lambda a: strawberry.ID(_row(a).case_id),
        "sender_id": lambda a: strawberry.ID(_row(a).sender_organization_id),
        "receiver_id": lambda a: strawberry.ID(_row(a).receiver_organization_id),
        "services": lambda a: [member(ServiceCategory, s) for s in _row(a).services],
        "purpose": lambda a: _row(a).purpose,
        "version": lambda a: _row(a).version,
        "reason": lambda a: _texts(a).get("reason"),
        "notes": lambda a: _texts(a).get("notes"),
        "acknowledge_by": lambda a: _row(a).acknowledge_by,
        "respond_by": lambda a: _row(a).respond_by,
        "overdue": lambda a: referral_overdue(_row(a), a._now),
        "outcome": _outcome,
        "created_at": lambda a: _row(a).created_at,
        "updated_at": lambda a: _row(a).updated_at,
        "held_for_consent": lambda a: _row(a).held_for_consent,
        "withheld": lambda a: [
            WithheldField(field=w.field, category=w.category, reason=w.reason)
            for w in a._read.view.withheld
        ],
        "history": _history,
        "case": lambda a: Case.from_view(a._read.case) if a._read.case is not None else None,
        "sender": lambda a: _organization(a._read.sender, a._organizations),
        "receiver": lambda a: _organization(a._read.receiver, a._organizations),
    },
)


def _organization(
    row: OrganizationRow | None, converted: dict[int, Organization]
) -> Organization | None:
    """The row as a GraphQL object, converted once per row object (rows of one session are
    one object per organisation; the object is kept alive by the read while in the map)."""
    if row is None:
        return None
    found = converted.get(id(row))
    if found is None:
        found = converted[id(row)] = Organization.from_row(row)
    return found


@strawberry.type
class ReferralEdge:
    cursor: str
    node: Referral


# An edge's cursor is encoded only if read: by the operation, or as the page's end cursor.
_LazyReferralEdge = lazy_type(ReferralEdge, {"cursor": lambda edge: encode_cursor(edge._row)})


@strawberry.type
class ReferralConnection:
    edges: list[ReferralEdge]
    page_info: PageInfo


@strawberry.input
class SendReferralInput:
    case_id: strawberry.ID
    receiving_organization_id: strawberry.ID
    services: list[ServiceCategory]
    urgency: Urgency
    reason: str
    idempotency_key: str = strawberry.field(
        description="Unique per sender; a retried send with the same key returns the same referral."
    )
    notes: str | None = None
    acknowledge_by: datetime | None = None
    respond_by: datetime | None = None
    reason_category: DataCategory | None = strawberry.field(
        default=None, description="What the reason speaks of; unset: HEALTH, the strictest."
    )
    notes_category: DataCategory | None = strawberry.field(
        default=None, description="What the notes speak of; unset: HEALTH, the strictest."
    )


@strawberry.input
class OutcomeInput:
    services_delivered: list[ServiceCategory]
    note: str | None = None
    note_category: DataCategory | None = strawberry.field(
        default=None, description="What the note speaks of; unset: HEALTH, the strictest."
    )


@strawberry.input
class PublishServiceInput:
    organization_id: strawberry.ID
    category: ServiceCategory
    areas_served: list[str]
    capacity_status: CapacityStatus = CapacityStatus.ACCEPTING
    description: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    sexes: list[str] = strawberry.field(default_factory=list)
    languages: list[str] = strawberry.field(default_factory=list)
    available: int | None = None
    maximum: int | None = None


_READ = [requires("referrals:read")]
_WRITE = [requires("referrals:write")]
_REASON_CATEGORY = strawberry.argument(
    description="What the reason speaks of; unset: HEALTH, the strictest."
)


def wanted(info: Info[HubContext, None], *path: str) -> ReferralWants:
    """What the operation asks of each referral under ``path``: read once per list."""
    names = fields_at(info, *path)
    case = None
    if "case" in names:
        below = fields_at(info, *path, "case")
        case = CaseWants(fields=below & SURVIVOR_FIELDS, withheld="withheld" in below)
    return ReferralWants(
        texts=names & REFERRAL_TEXTS,
        organizations="sender" in names or "receiver" in names,
        case=case,
    )


def _answer(info: Info[HubContext, None], found: ReferralReads) -> list[Referral]:
    """Plain objects; the disclosures go to the operation's one write (or are written now
    when there is no operation to collect them)."""
    disclose = collector()
    if disclose is not None:
        disclose(found.disclosures)
    organizations: dict[int, Organization] = {}
    now = utcnow()
    return [Referral.from_read(read, organizations, now) for read in found.reads]


async def shown(
    info: Info[HubContext, None], rows: list[ReferralRow], *path: str
) -> list[Referral]:
    """Referrals as the caller may read them: one batch of decisions per list, opening
    only what the operation selected under ``path``."""
    ctx = info.context
    found = await read_referrals(ctx.reader, ctx.actor, ctx.cipher, rows, wanted(info, *path))
    if collector() is None:
        await disclosure.record(ctx.db, found.disclosures)
    return _answer(info, found)


@strawberry.type
class ReferralQueries:
    @strawberry.field(permission_classes=[requires("orgs:read")])
    async def services(
        self,
        info: Info[HubContext, None],
        category: ServiceCategory | None = None,
        area: Annotated[
            str | None,
            strawberry.argument(
                description="A place by ISO code or name in any spelling (`KH-9`, `Koh Kong`, "
                "`កោះកុង`): closest coverage first (the province, then its country), then room."
            ),
        ] = None,
        accepting_referrals: bool | None = None,
    ) -> list[ServiceOffer]:
        rows = await directory.find_services(info.context.db, category, area, accepting_referrals)
        return [ServiceOffer.from_row(r) for r in rows]

    @strawberry.field(permission_classes=_READ)
    async def referral(self, info: Info[HubContext, None], id: strawberry.ID) -> Referral | None:
        row = await service.get_referral(info.context.db, info.context.actor, str(id))
        if row is None:
            raise not_found("referral")
        return (await shown(info, [row]))[0]

    @strawberry.field(permission_classes=_READ, description="Newest first: `first` from 1 to 100.")
    async def referrals(
        self,
        info: Info[HubContext, None],
        box: ReferralBox,
        status: ReferralStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ReferralConnection:
        ctx = info.context
        page = await referral_page(
            ctx.reader,
            ctx.actor,
            ctx.cipher,
            box.value,
            status,
            first,
            after,
            wanted(info, "edges", "node"),
        )
        if collector() is None:
            await disclosure.record(ctx.db, page.disclosures)
        nodes = _answer(info, page)
        edges = [
            build(_LazyReferralEdge, {"_row": r.view.referral, "node": node})
            for r, node in zip(page.reads, nodes, strict=True)
        ]
        return ReferralConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )


async def _act(
    info: Info[HubContext, None],
    id: strawberry.ID,
    action: ReferralAction,
    reason: str | None = None,
    expected_version: int | None = None,
    outcome: service.Outcome | None = None,
    reason_category: DataCategory | None = None,
) -> Referral:
    ctx = info.context
    row = await service.transition_referral(
        ctx.db,
        ctx.actor,
        ctx.cipher,
        str(id),
        action,
        reason=reason,
        expected_version=expected_version,
        outcome=outcome,
        reason_category=reason_category,
    )
    return (await shown(info, [row]))[0]


@strawberry.type
class ReferralMutations:
    @strawberry.mutation(
        permission_classes=[requires_any("referrals:write", "repatriation:write", "network:admin")]
    )
    async def publish_service(
        self, info: Info[HubContext, None], input: PublishServiceInput
    ) -> ServiceOffer:
        row = await directory.publish_service(
            info.context.db,
            info.context.actor,
            str(input.organization_id),
            directory.OfferInput(
                category=input.category,
                areas_served=input.areas_served,
                capacity_status=input.capacity_status,
                description=input.description,
                min_age=input.min_age,
                max_age=input.max_age,
                sexes=input.sexes,
                languages=input.languages,
                available=input.available,
                maximum=input.maximum,
            ),
        )
        return ServiceOffer.from_row(row)

    @strawberry.mutation(permission_classes=_WRITE)
    async def send_referral(
        self, info: Info[HubContext, None], input: SendReferralInput
    ) -> Referral:
        ctx = info.context
        row = await service.send_referral(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            service.NewReferral(
                case_id=str(input.case_id),
                receiver_organization_id=str(input.receiving_organization_id),
                services=input.services,
                urgency=input.urgency,
                reason=input.reason,
                idempotency_key=input.idempotency_key,
                notes=input.notes,
                acknowledge_by=input.acknowledge_by,
                respond_by=input.respond_by,
                reason_category=input.reason_category,
                notes_category=input.notes_category,
            ),
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(permission_classes=_WRITE)
    async def acknowledge_referral(
        self, info: Info[HubContext, None], id: strawberry.ID, expected_version: int | None = None
    ) -> Referral:
        return await _act(info, id, ReferralAction.ACKNOWLEDGE, None, expected_version)

    @strawberry.mutation(permission_classes=_WRITE)
    async def accept_referral(
        self, info: Info[HubContext, None], id: strawberry.ID, expected_version: int | None = None
    ) -> Referral:
        return await _act(info, id, ReferralAction.ACCEPT, None, expected_version)

    @strawberry.mutation(permission_classes=_WRITE)
    async def decline_referral(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _REASON_CATEGORY] = None,
    ) -> Referral:
        return await _act(
            info,
            id,
            ReferralAction.DECLINE,
            reason,
            expected_version,
            reason_category=reason_category,
        )

    @strawberry.mutation(permission_classes=_WRITE, description="Put on hold (waitlist).")
    async def hold_referral(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _REASON_CATEGORY] = None,
    ) -> Referral:
        return await _act(
            info, id, ReferralAction.HOLD, reason, expected_version, reason_category=reason_category
        )

    @strawberry.mutation(permission_classes=_WRITE)
    async def start_referral(
        self, info: Info[HubContext, None], id: strawberry.ID, expected_version: int | None = None
    ) -> Referral:
        return await _act(info, id, ReferralAction.START, None, expected_version)

    @strawberry.mutation(permission_classes=_WRITE)
    async def complete_referral(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        outcome: OutcomeInput,
        expected_version: int | None = None,
    ) -> Referral:
        result = service.Outcome(
            services_delivered=outcome.services_delivered,
            note=outcome.note,
            note_category=outcome.note_category,
        )
        return await _act(info, id, ReferralAction.COMPLETE, None, expected_version, result)

    @strawberry.mutation(permission_classes=_WRITE)
    async def fail_referral(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _REASON_CATEGORY] = None,
    ) -> Referral:
        return await _act(
            info, id, ReferralAction.FAIL, reason, expected_version, reason_category=reason_category
        )

    @strawberry.mutation(permission_classes=_WRITE)
    async def cancel_referral(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _REASON_CATEGORY] = None,
    ) -> Referral:
        return await _act(
            info,
            id,
            ReferralAction.CANCEL,
            reason,
            expected_version,
            reason_category=reason_category,
        )
