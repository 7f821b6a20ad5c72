"""Custody transfers in GraphQL: translation only (rules in ``cases.custody_rules``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from cases import custody as service
from cases.custody_models import CaseTransfer as TransferRow
from cases.custody_rules import TransferAction, TransferOrigin, TransferStatus, answer_by
from cases.custody_views import TRANSFER_TEXTS, TransferView, transfer_views
from cases.paging import encode_cursor
from consent.rules import DataCategory
from schema.cases import Case, WithheldField, requested_survivor_fields
from schema.context import HubContext
from schema.organizations import Organization
from schema.paging import PageInfo
from schema.permissions import requires
from schema.referrals import ReferralBox
from schema.selection import fields_at

for enum, name in ((TransferStatus, "TransferStatus"), (TransferOrigin, "TransferOrigin")):
    strawberry.enum(enum, name=name)


@strawberry.type(
    description="An offer of a case's custody and its answer. Seen by both organisations, "
    "and by anyone who may see the case through `custodyHistory`. The reasons are survivor "
    "data: shown as her consent allows, otherwise null and in `withheld`."
)
class CaseTransfer:
    id: strawberry.ID
    case_id: strawberry.ID
    from_id: strawberry.ID
    to_id: strawberry.ID
    origin: TransferOrigin
    repatriation_id: strawberry.ID | None
    status: TransferStatus
    version: int
    reason: str | None
    answer_reason: str | None = strawberry.field(
        description="Why the addressee declined, or the offerer cancelled."
    )
    answered_by: strawberry.ID | None
    answered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    withheld: list[WithheldField]
    answer_by: datetime = strawberry.field(
        description="When an open offer must be answered: the addressee is reminded the day "
        "before, then it EXPIRES and the case stays with its owner."
    )

    @classmethod
    def from_view(cls, view: TransferView) -> Self:
        row = view.transfer
        return cls(
            id=strawberry.ID(row.id),
            case_id=strawberry.ID(row.case_id),
            from_id=strawberry.ID(row.from_organization_id),
            to_id=strawberry.ID(row.to_organization_id),
            origin=TransferOrigin(row.origin),
            repatriation_id=strawberry.ID(row.repatriation_id) if row.repatriation_id else None,
            status=TransferStatus(row.status),
            version=row.version,
            reason=view.text("reason"),
            answer_reason=view.text("answer"),
            answered_by=strawberry.ID(row.answered_by_organization_id)
            if row.answered_by_organization_id
            else None,
            answered_at=row.answered_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            withheld=[
                WithheldField(field=w.field, category=w.category, reason=w.reason)
                for w in view.withheld
            ],
            answer_by=answer_by(row.created_at),
        )

    @strawberry.field(description="The case as the caller may see it; null once it may not.")
    async def case(self, info: Info[HubContext, None]) -> Case | None:
        wanted = requested_survivor_fields(info)
        view = await info.context.loaders.case_views.load((str(self.case_id), wanted))
        return Case.from_view(view) if view else None

    @strawberry.field(name="from")
    async def from_organization(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.from_id))
        return Organization.from_row(row) if row else None

    @strawberry.field(name="to")
    async def to_organization(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.to_id))
        return Organization.from_row(row) if row else None


@strawberry.type
class CaseTransferEdge:
    cursor: str
    node: CaseTransfer


@strawberry.type
class CaseTransferConnection:
    edges: list[CaseTransferEdge]
    page_info: PageInfo


@strawberry.input
class TransferCaseInput:
    case_id: strawberry.ID
    to_organization_id: strawberry.ID
    reason: str
    idempotency_key: str
    reason_category: DataCategory | None = strawberry.field(
        default=None, description="What the reason speaks of; unset: HEALTH, the strictest."
    )


_READ = [requires("cases:read")]
_WRITE = [requires("cases:write")]
_REASON_CATEGORY = strawberry.argument(
    description="What the reason speaks of; unset: HEALTH, the strictest."
)


async def shown(
    info: Info[HubContext, None], rows: list[TransferRow], *path: str
) -> list[CaseTransfer]:
    """Transfers as the caller may read them, opening only the reasons it selected."""
    ctx = info.context
    wanted = fields_at(info, *path) & TRANSFER_TEXTS
    views = await transfer_views(ctx.db, ctx.actor, ctx.cipher, rows, wanted)
    return [CaseTransfer.from_view(v) for v in views]


@strawberry.type
class CustodyQueries:
    @strawberry.field(permission_classes=_READ)
    async def case_transfer(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> CaseTransfer | None:
        row = await service.get_transfer(info.context.db, info.context.actor, str(id))
        return (await shown(info, [row]))[0]

    @strawberry.field(
        permission_classes=_READ,
        description="INBOX: offers addressed to the caller; OUTBOX: its own offers. Newest "
        "first: `first` from 1 to 100.",
    )
    async def case_transfers(
        self,
        info: Info[HubContext, None],
        box: ReferralBox,
        status: TransferStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> CaseTransferConnection:
        rows, has_next = await service.list_transfers(
            info.context.db, info.context.actor, box.value, status, first, after
        )
        nodes = await shown(info, rows, "edges", "node")
        edges = [
            CaseTransferEdge(cursor=encode_cursor(r), node=node)
            for r, node in zip(rows, nodes, strict=True)
        ]
        return CaseTransferConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(
        permission_classes=_READ,
        description="Every custody transfer of a case, oldest first, for whoever may see the "
        "case: who offered it to whom, when, and the answer.",
    )
    async def custody_history(
        self, info: Info[HubContext, None], case_id: strawberry.ID
    ) -> list[CaseTransfer]:
        rows = await service.custody_history(info.context.db, info.context.actor, str(case_id))
        return await shown(info, rows)


async def _answer(
    info: Info[HubContext, None],
    id: strawberry.ID,
    action: TransferAction,
    reason: str | None,
    reason_category: DataCategory | None,
    expected_version: int | None,
) -> CaseTransfer:
    ctx = info.context
    row = await service.answer_transfer(
        ctx.db,
        ctx.actor,
        ctx.cipher,
        str(id),
        action,
        reason=reason,
        reason_category=reason_category,
        expected_version=expected_version,
    )
    return (await shown(info, [row]))[0]


@strawberry.type
class CustodyMutations:
    @strawberry.mutation(
        permission_classes=_WRITE,
        description="The owner offers its case to another organisation; one open offer per case.",
    )
    async def transfer_case(
        self, info: Info[HubContext, None], input: TransferCaseInput
    ) -> CaseTransfer:
        ctx = info.context
        row = await service.transfer_case(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            service.NewTransfer(
                case_id=str(input.case_id),
                to_organization_id=str(input.to_organization_id),
                reason=input.reason,
                idempotency_key=input.idempotency_key,
                reason_category=input.reason_category,
            ),
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(
        permission_classes=_WRITE, description="By the addressee: it owns the case from now on."
    )
    async def accept_case_transfer(
        self, info: Info[HubContext, None], id: strawberry.ID, expected_version: int | None = None
    ) -> CaseTransfer:
        return await _answer(info, id, TransferAction.ACCEPT, None, None, expected_version)

    @strawberry.mutation(permission_classes=_WRITE, description="By the addressee, with a reason.")
    async def decline_case_transfer(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _REASON_CATEGORY] = None,
    ) -> CaseTransfer:
        return await _answer(
            info, id, TransferAction.DECLINE, reason, reason_category, expected_version
        )

    @strawberry.mutation(
        permission_classes=_WRITE, description="By the offerer, before the addressee answers."
    )
    async def cancel_case_transfer(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str | None = None,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _REASON_CATEGORY] = None,
    ) -> CaseTransfer:
        return await _answer(
            info, id, TransferAction.CANCEL, reason, reason_category, expected_version
        )
