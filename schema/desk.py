"""The coordinator's desk in GraphQL: translation only (rules in cases/desk_rules.py, reads
and levers in cases/desk*.py). Every type here is metadata: ids, organisations, statuses,
timestamps. The one free text, a note's, is sealed at rest and shown to the coordinator and
the item's parties only."""

from __future__ import annotations

from datetime import datetime, timedelta

import strawberry
from strawberry.types import Info

from cases import desk, desk_levers, desk_network, desk_paging
from cases.desk_models import DeskNotice as NoticeRow
from cases.desk_rules import AcknowledgementSummary, ClientConcern, ClientPolicy, DeskItemKind
from schema.context import HubContext
from schema.paging import PageInfo
from schema.permissions import requires, requires_any
from store.errors import ErrorCode, HubError
from store.types import utcnow

strawberry.enum(DeskItemKind, name="DeskItemKind", description="The kinds of item with a deadline.")
strawberry.enum(
    ClientConcern,
    name="ClientConcern",
    description="Why an API client needs attention: no token for 30 days (UNUSED, NEVER_USED), "
    "secret or key never rotated, or within 14 days of (or past) its 180-day rotation.",
)


@strawberry.type(description="An organisation's part in an item (SENDER, RECEIVER, EMBASSY, ...).")
class DeskItemParty:
    organization_id: strawberry.ID
    role: str


@strawberry.type(
    description="A late item as the coordinator sees it: workflow metadata, never the "
    "survivor's fields or the item's free texts."
)
class DeskItem:
    kind: DeskItemKind
    id: strawberry.ID
    status: str
    parties: list[DeskItemParty]
    late_organization_id: strawberry.ID = strawberry.field(
        description="The organisation that owes the next step."
    )
    due_at: datetime
    late_by_seconds: int = strawberry.field(description="0 once it is no longer overdue.")
    overdue: bool
    reminded_at: datetime | None = strawberry.field(description="The hub's automatic reminder.")
    escalated_at: datetime | None
    coordinator_reminders: list[datetime] = strawberry.field(
        description="When the coordinator reminded the late organisation, oldest first."
    )
    created_at: datetime

    @classmethod
    def of(cls, item: desk.DeskItem) -> DeskItem:
        return cls(
            kind=item.kind,
            id=strawberry.ID(item.id),
            status=item.status,
            parties=[
                DeskItemParty(organization_id=strawberry.ID(p.organization_id), role=p.role)
                for p in item.parties
            ],
            late_organization_id=strawberry.ID(item.late_organization_id),
            due_at=item.due_at,
            late_by_seconds=int(item.late_by.total_seconds()),
            overdue=item.overdue,
            reminded_at=item.reminded_at,
            escalated_at=item.escalated_at,
            coordinator_reminders=list(item.coordinator_reminders),
            created_at=item.created_at,
        )


@strawberry.type(description="An organisation with late acknowledgements in the window.")
class LateAcknowledger:
    organization_id: strawberry.ID
    acknowledged: int
    late: int = strawberry.field(
        description="Acknowledged after the deadline, plus those still owed past it."
    )
    median_seconds_to_acknowledge: int | None
    p90_seconds_to_acknowledge: int | None


@strawberry.type(description="A webhook with failing deliveries. Not its address or secret.")
class FailingWebhook:
    webhook_id: strawberry.ID
    organization_id: strawberry.ID
    enabled: bool
    failed_deliveries: int
    retrying_deliveries: int
    last_attempt_at: datetime | None
    last_status_code: int | None


@strawberry.type(description="An enabled API client that needs attention.")
class ClientNeedingAttention:
    client_id: str
    organization_id: strawberry.ID
    name: str
    created_at: datetime
    last_token_at: datetime | None = strawberry.field(
        description="When a token was last issued (noted to the hour)."
    )
    key_rotated_at: datetime | None
    key_expires_at: datetime = strawberry.field(description="When its rotation falls due.")
    concerns: list[ClientConcern]


def _acknowledger(a: AcknowledgementSummary) -> LateAcknowledger:
    return LateAcknowledger(
        organization_id=strawberry.ID(a.organization_id),
        acknowledged=a.acknowledged,
        late=a.late,
        median_seconds_to_acknowledge=_seconds(a.median_seconds),
        p90_seconds_to_acknowledge=_seconds(a.p90_seconds),
    )


def _webhook(h: desk_network.FailingWebhook) -> FailingWebhook:
    return FailingWebhook(
        webhook_id=strawberry.ID(h.webhook_id),
        organization_id=strawberry.ID(h.organization_id),
        enabled=h.enabled,
        failed_deliveries=h.failed_deliveries,
        retrying_deliveries=h.retrying_deliveries,
        last_attempt_at=h.last_attempt_at,
        last_status_code=h.last_status_code,
    )


def _client(c: desk_network.ClientAttention) -> ClientNeedingAttention:
    return ClientNeedingAttention(
        client_id=c.client_id,
        organization_id=strawberry.ID(c.organization_id),
        name=c.name,
        created_at=c.created_at,
        last_token_at=c.last_token_at,
        key_rotated_at=c.key_rotated_at,
        key_expires_at=c.key_expires_at,
        concerns=list(c.concerns),
    )


@strawberry.type
class DeskItemEdge:
    cursor: str
    node: DeskItem


@strawberry.type(description="Late items, most overdue first (the earliest deadline first).")
class DeskItemConnection:
    edges: list[DeskItemEdge]
    page_info: PageInfo


@strawberry.type
class LateAcknowledgerEdge:
    cursor: str
    node: LateAcknowledger


@strawberry.type(description="Late acknowledgers, the most late acknowledgements first.")
class LateAcknowledgerConnection:
    edges: list[LateAcknowledgerEdge]
    page_info: PageInfo


@strawberry.type
class FailingWebhookEdge:
    cursor: str
    node: FailingWebhook


@strawberry.type(description="Failing webhooks, the most failed deliveries first.")
class FailingWebhookConnection:
    edges: list[FailingWebhookEdge]
    page_info: PageInfo


@strawberry.type
class ClientNeedingAttentionEdge:
    cursor: str
    node: ClientNeedingAttention


@strawberry.type(description="Clients needing attention, the first rotation due first.")
class ClientNeedingAttentionConnection:
    edges: list[ClientNeedingAttentionEdge]
    page_info: PageInfo


_PAGED = (
    "The same rows as `{name}`, a page at a time: `first` from 1 to 100, `after` a cursor "
    "from this list (it names the last row's rank, so rows settling between pages shift nothing)."
)


@strawberry.type(description="What is late in the network, and who needs a nudge.")
class NetworkOverview:
    generated_at: datetime
    late_items: list[DeskItem]
    late_acknowledgers: list[LateAcknowledger]
    failing_webhooks: list[FailingWebhook]
    clients_needing_attention: list[ClientNeedingAttention]
    items: strawberry.Private[list[desk.DeskItem]]
    acknowledgers: strawberry.Private[list[AcknowledgementSummary]]
    hooks: strawberry.Private[list[desk_network.FailingWebhook]]
    clients: strawberry.Private[list[desk_network.ClientAttention]]

    @strawberry.field(description=_PAGED.format(name="lateItems"))
    def late_items_connection(
        self, first: int = 20, after: str | None = None
    ) -> DeskItemConnection:
        page = desk_paging.page_of(self.items, desk_paging.late_item_rank, first, after)
        return DeskItemConnection(
            edges=[DeskItemEdge(cursor=c, node=DeskItem.of(i)) for c, i in page.rows],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @strawberry.field(description=_PAGED.format(name="lateAcknowledgers"))
    def late_acknowledgers_connection(
        self, first: int = 20, after: str | None = None
    ) -> LateAcknowledgerConnection:
        page = desk_paging.page_of(self.acknowledgers, desk_paging.acknowledger_rank, first, after)
        return LateAcknowledgerConnection(
            edges=[LateAcknowledgerEdge(cursor=c, node=_acknowledger(a)) for c, a in page.rows],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @strawberry.field(description=_PAGED.format(name="failingWebhooks"))
    def failing_webhooks_connection(
        self, first: int = 20, after: str | None = None
    ) -> FailingWebhookConnection:
        page = desk_paging.page_of(self.hooks, desk_paging.webhook_rank, first, after)
        return FailingWebhookConnection(
            edges=[FailingWebhookEdge(cursor=c, node=_webhook(h)) for c, h in page.rows],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @strawberry.field(description=_PAGED.format(name="clientsNeedingAttention"))
    def clients_needing_attention_connection(
        self, first: int = 20, after: str | None = None
    ) -> ClientNeedingAttentionConnection:
        page = desk_paging.page_of(self.clients, desk_paging.client_rank, first, after)
        return ClientNeedingAttentionConnection(
            edges=[ClientNeedingAttentionEdge(cursor=c, node=_client(a)) for c, a in page.rows],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


@strawberry.type(description="A reminder from the coordinator about a late item.")
class DeskNotice:
    id: strawberry.ID
    organization_id: strawberry.ID
    item_kind: DeskItemKind
    item_id: strawberry.ID
    by_organization_id: strawberry.ID
    created_at: datetime


@strawberry.type(description="One note in the conversation on a late item.")
class DeskNote:
    id: strawberry.ID
    author_organization_id: strawberry.ID
    created_at: datetime
    text: str | None = strawberry.field(description="null once the survivor's case was erased.")


def _notice(row: NoticeRow) -> DeskNotice:
    return DeskNotice(
        id=strawberry.ID(row.id),
        organization_id=strawberry.ID(row.organization_id),
        item_kind=DeskItemKind(row.item_kind),
        item_id=strawberry.ID(row.item_id),
        by_organization_id=strawberry.ID(row.by_organization_id),
        created_at=row.created_at,
    )


_ADMIN = [requires("network:admin")]
# The coordinator, or a party to the item (whose read or write scope for its kind of work).
_DESK_READ = [requires_any("network:admin", "referrals:read", "repatriation:read", "cases:read")]
_DESK_WRITE = [
    requires_any("network:admin", "referrals:write", "repatriation:write", "cases:write")
]


def _seconds(value: float | None) -> int | None:
    return None if value is None else int(value)


@strawberry.type
class DeskQueries:
    @strawberry.field(
        permission_classes=_ADMIN,
        description="Coordinators only: late items, late acknowledgers, failing webhooks "
        "and clients needing attention. No survivor data.",
    )
    async def network_overview(
        self,
        info: Info[HubContext, None],
        window_days: int = 30,
        include_settled: bool = False,
    ) -> NetworkOverview:
        if not 1 <= window_days <= 366:
            raise HubError(ErrorCode.BAD_USER_INPUT, "windowDays is 1 to 366")
        ctx = info.context
        now = utcnow()
        window = timedelta(days=window_days)
        items = await desk.late_items(ctx.db, ctx.actor, now, include_settled=include_settled)
        acknowledgers = await desk_network.late_acknowledgers(ctx.db, now, window)
        hooks = await desk_network.failing_webhooks(ctx.db, now, window)
        clients = await desk_network.clients_needing_attention(ctx.db, now, ClientPolicy())
        return NetworkOverview(
            generated_at=now,
            late_items=[DeskItem.of(i) for i in items],
            late_acknowledgers=[_acknowledger(a) for a in acknowledgers],
            failing_webhooks=[_webhook(h) for h in hooks],
            clients_needing_attention=[_client(c) for c in clients],
            items=items,
            acknowledgers=acknowledgers,
            hooks=hooks,
            clients=clients,
        )

    @strawberry.field(
        permission_classes=_ADMIN,
        description="Coordinators only: one item's metadata once it is overdue or escalated "
        "(NOT_FOUND before that). Never its survivor or free texts.",
    )
    async def desk_item(
        self, info: Info[HubContext, None], kind: DeskItemKind, id: strawberry.ID
    ) -> DeskItem:
        ctx = info.context
        async with ctx.db.read() as session:
            item = await desk.desk_item(session, ctx.actor, kind, str(id), utcnow())
        return DeskItem.of(item)

    @strawberry.field(
        permission_classes=_DESK_READ,
        description="The conversation on a late item: the coordinator and the item's parties.",
    )
    async def desk_notes(
        self, info: Info[HubContext, None], kind: DeskItemKind, id: strawberry.ID
    ) -> list[DeskNote]:
        ctx = info.context
        notes = await desk_levers.item_notes(ctx.db, ctx.actor, ctx.cipher, kind, str(id))
        return [
            DeskNote(
                id=strawberry.ID(n.id),
                author_organization_id=strawberry.ID(n.author_organization_id),
                created_at=n.created_at,
                text=n.text,
            )
            for n in notes
        ]

    @strawberry.field(
        permission_classes=[requires("orgs:read")],
        description="Reminders the coordinator sent to the caller's organisation, newest first.",
    )
    async def desk_notices(self, info: Info[HubContext, None]) -> list[DeskNotice]:
        rows = await desk_levers.desk_notices(info.context.db, info.context.actor)
        return [_notice(r) for r in rows]


@strawberry.type
class DeskMutations:
    @strawberry.mutation(
        permission_classes=_ADMIN,
        description="Coordinators only: remind the organisation that owes a late item's next "
        "step (a notice it can read and an event to it alone).",
    )
    async def remind_organization(
        self, info: Info[HubContext, None], kind: DeskItemKind, id: strawberry.ID
    ) -> DeskNotice:
        row = await desk_levers.remind_organization(
            info.context.db, info.context.actor, kind, str(id)
        )
        return _notice(row)

    @strawberry.mutation(
        permission_classes=_DESK_WRITE,
        description="Add a note to the conversation on a late item (the coordinator or one of "
        "the item's parties). The text is sealed; events say only that a note exists.",
    )
    async def add_desk_note(
        self,
        info: Info[HubContext, None],
        kind: DeskItemKind,
        id: strawberry.ID,
        text: str,
    ) -> DeskNote:
        ctx = info.context
        row = await desk_levers.add_item_note(ctx.db, ctx.actor, ctx.cipher, kind, str(id), text)
        return DeskNote(
            id=strawberry.ID(row.id),
            author_organization_id=strawberry.ID(row.author_organization_id),
            created_at=row.created_at,
            text=text,
        )
