"""Possible duplicates and case links in GraphQL: translation only (rules in cases.links)."""

from __future__ import annotations

from typing import Self

import strawberry
from strawberry.types import Info

from cases import links
from cases.links import LinkStatus, LinkView
from schema.context import HubContext
from schema.permissions import requires

strawberry.enum(
    LinkStatus,
    name="CaseLinkStatus",
    description="POSSIBLE: found when a case was opened; REQUESTED: its owner asked to link; "
    "LINKED or DECLINED: the other owner answered.",
)


@strawberry.type(
    description="A possible duplicate of one of your cases at another organisation, as you "
    "may see it: the other case and organisation only once LINKED; the asking organisation "
    "(not its case) to the asked side once REQUESTED. A link moves no data: consent does."
)
class CaseLink:
    id: strawberry.ID
    your_case_id: strawberry.ID
    status: LinkStatus
    asked_of_you: bool
    hint: strawberry.ID | None = strawberry.field(
        description="The hint `createCase` gave (asking side only)."
    )
    other_organization_id: strawberry.ID | None
    other_case_id: strawberry.ID | None

    @classmethod
    def from_view(cls, view: LinkView) -> Self:
        def opt(value: str | None) -> strawberry.ID | None:
            return strawberry.ID(value) if value is not None else None

        return cls(
            id=strawberry.ID(view.id),
            your_case_id=strawberry.ID(view.your_case_id),
            status=view.status,
            asked_of_you=view.asked_of_you,
            hint=opt(view.hint),
            other_organization_id=opt(view.other_organization_id),
            other_case_id=opt(view.other_case_id),
        )


@strawberry.type
class CaseLinkQueries:
    @strawberry.field(
        permission_classes=[requires("cases:read")],
        description="Possible duplicates and links of your organisation's cases.",
    )
    async def case_links(self, info: Info[HubContext, None]) -> list[CaseLink]:
        ctx = info.context
        return [CaseLink.from_view(v) for v in await links.links_of(ctx.db, ctx.actor)]


@strawberry.type
class CaseLinkMutations:
    @strawberry.mutation(
        permission_classes=[requires("cases:write")],
        description="Ask the owners of the possible duplicates behind `hint` to link cases.",
    )
    async def request_case_link(
        self, info: Info[HubContext, None], hint: strawberry.ID
    ) -> list[CaseLink]:
        ctx = info.context
        views = await links.request_link(ctx.db, ctx.actor, str(hint))
        return [CaseLink.from_view(v) for v in views]

    @strawberry.mutation(
        permission_classes=[requires("cases:write")],
        description="Accept (LINKED) or decline (DECLINED) a link another organisation asked.",
    )
    async def answer_case_link(
        self, info: Info[HubContext, None], id: strawberry.ID, accept: bool
    ) -> CaseLink:
        ctx = info.context
        return CaseLink.from_view(await links.answer_link(ctx.db, ctx.actor, str(id), accept))
