"""eraseCaseData in GraphQL: translation only (the rules are in ``cases.erasure``)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from cases import erasure
from cases.erasure import ErasureKind
from schema.context import HubContext
from schema.permissions import requires

strawberry.enum(ErasureKind, name="ErasureKind")


@strawberry.input
class EraseCaseDataInput:
    case_id: strawberry.ID
    reason: str = strawberry.field(
        description="Why (e.g. the survivor asked): free text, sealed, never shown in events."
    )
    idempotency_key: str


@strawberry.type(description="A case whose survivor data was destroyed; ids and statuses stay.")
class CaseDataErasure:
    case_id: strawberry.ID
    kind: ErasureKind
    erased_at: datetime


@strawberry.type
class ErasureMutations:
    @strawberry.mutation(
        permission_classes=[requires("cases:write")],
        description="The owner destroys the case's survivor data at the survivor's request.",
    )
    async def erase_case_data(
        self, info: Info[HubContext, None], input: EraseCaseDataInput
    ) -> CaseDataErasure:
        ctx = info.context
        done = await erasure.erase_case_data(
            ctx.db, ctx.actor, ctx.cipher, str(input.case_id), input.reason, input.idempotency_key
        )
        return CaseDataErasure(
            case_id=strawberry.ID(done.case_id), kind=done.kind, erased_at=done.at
        )
