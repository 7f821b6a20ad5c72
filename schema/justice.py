"""Legal cases in GraphQL: translation only."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Self

import strawberry
from strawberry.types import Info

from cases import hearings, justice_steps
from cases import justice as service
from cases.document_rules import SubjectType
from cases.justice_models import LegalCase as LegalCaseRow
from cases.justice_rules import LegalCaseStatus, Verdict
from cases.justice_unlink import unlink_case
from cases.justice_views import NOTE_FIELDS, LegalCaseView, legal_case_views
from cases.paging import encode_cursor
from cases.survivor_compensation import Stage, record_survivor_compensation, survivor_amounts
from schema.cases import Case, WithheldField, requested_survivor_fields
from schema.context import HubContext
from schema.documents import DESCRIPTION as DOCUMENTS_DESCRIPTION
from schema.documents import AttachedDocumentConnection, documents_of
from schema.organizations import Organization
from schema.paging import PageInfo
from schema.permissions import requires
from schema.selection import fields_at

strawberry.enum(LegalCaseStatus, name="LegalCaseStatus")
strawberry.enum(Verdict, name="Verdict")


@strawberry.enum
class CompensationStage(StrEnum):
    AWARDED = "AWARDED"
    PAID = "PAID"


@strawberry.type
class CompensationAmount:
    amount: str = strawberry.field(description='Decimal, two places, e.g. "2500.00".')
    currency: str


@strawberry.type(
    description="What one survivor was awarded and paid. Null amounts with `withheldReason` "
    "when her consent does not cover the caller for LEGAL data."
)
class SurvivorCompensation:
    awarded: CompensationAmount | None
    paid: CompensationAmount | None
    withheld_reason: str | None


@strawberry.type(description="One survivor case joined to the legal case.")
class LegalCaseSurvivor:
    case_id: strawberry.ID
    linked_by: strawberry.ID
    linked_at: datetime
    legal_case_id: strawberry.Private[str]

    @strawberry.field(
        description="Her own compensation: shown to the legal aid organisation that recorded "
        "it and her case's owner, to other parties under her consent for LEGAL (a disclosure)."
    )
    async def compensation(self, info: Info[HubContext, None]) -> SurvivorCompensation:
        ctx = info.context
        seen = await survivor_amounts(
            ctx.db, ctx.actor, ctx.cipher, self.legal_case_id, str(self.case_id)
        )
        return SurvivorCompensation(
            awarded=_money(seen.awarded.amount, seen.awarded.currency) if seen.awarded else None,
            paid=_money(seen.paid.amount, seen.paid.currency) if seen.paid else None,
            withheld_reason=seen.withheld,
        )

    @strawberry.field(description="The case as the caller may see it; null when it may not.")
    async def case(self, info: Info[HubContext, None]) -> Case | None:
        wanted = requested_survivor_fields(info)
        view = await info.context.loaders.case_views.load((str(self.case_id), wanted))
        return Case.from_view(view) if view else None


@strawberry.type
class Hearing:
    id: strawberry.ID
    date: datetime
    court: str
    transport_provided: bool
    accommodation_provided: bool
    outcome_note: str | None = strawberry.field(
        description="LEGAL: shown to its writer, and to others only where every linked "
        "survivor's consent covers them for LEGAL_AID; otherwise null and in `withheld`."
    )
    recorded_by: strawberry.ID


@strawberry.type
class LegalCaseChange:
    action: str
    from_status: LegalCaseStatus | None
    to_status: LegalCaseStatus
    by: strawberry.ID | None
    at: datetime
    version: int
    note: str | None


@strawberry.type(
    description="A prosecution followed by a legal aid organisation for one or many "
    "survivors. Seen by the organisation that opened it, the legal aid organisation and the "
    "owners of the linked cases; each survivor's data only through `survivors.case`, as "
    "consent allows."
)
class LegalCase:
    id: strawberry.ID
    opened_by_id: strawberry.ID
    legal_aid_id: strawberry.ID
    court: str
    complaint_filed_on: date
    status: LegalCaseStatus
    version: int
    verdict: Verdict | None
    judgment_on: date | None
    compensation_awarded: CompensationAmount | None
    compensation_paid: CompensationAmount | None
    created_at: datetime
    updated_at: datetime
    survivors: list[LegalCaseSurvivor]
    hearings: list[Hearing]
    history: list[LegalCaseChange]
    withheld: list[WithheldField]

    @classmethod
    def from_view(cls, view: LegalCaseView) -> Self:
        row = view.legal
        return cls(
            id=strawberry.ID(row.id),
            opened_by_id=strawberry.ID(row.opened_by_organization_id),
            legal_aid_id=strawberry.ID(row.legal_aid_organization_id),
            court=row.court,
            complaint_filed_on=row.complaint_filed_on,
            status=LegalCaseStatus(row.status),
            version=row.version,
            verdict=Verdict(row.verdict) if row.verdict else None,
            judgment_on=row.judgment_on,
            compensation_awarded=_money(
                row.compensation_awarded, row.compensation_awarded_currency
            ),
            compensation_paid=_money(row.compensation_paid, row.compensation_paid_currency),
            created_at=row.created_at,
            updated_at=row.updated_at,
            survivors=[
                LegalCaseSurvivor(
                    case_id=strawberry.ID(link.case_id),
                    linked_by=strawberry.ID(link.linked_by_organization_id),
                    linked_at=link.linked_at,
                    legal_case_id=row.id,
                )
                for link in view.links
            ],
            hearings=[
                Hearing(
                    id=strawberry.ID(h.id),
                    date=h.held_at,
                    court=h.court,
                    transport_provided=h.transport_provided,
                    accommodation_provided=h.accommodation_provided,
                    outcome_note=view.note(f"hearing:{h.id}"),
                    recorded_by=strawberry.ID(h.recorded_by_organization_id),
                )
                for h in view.hearings
            ],
            history=[
                LegalCaseChange(
                    action=c.action,
                    from_status=LegalCaseStatus(c.from_status) if c.from_status else None,
                    to_status=LegalCaseStatus(c.to_status),
                    by=strawberry.ID(c.by_organization_id) if c.by_organization_id else None,
                    at=c.at,
                    version=c.version,
                    note=view.note(f"history:{c.id}"),
                )
                for c in view.history
            ],
            withheld=[
                WithheldField(field=w.field, category=w.category, reason=w.reason)
                for w in view.withheld
            ],
        )

    @strawberry.field
    async def opened_by(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.opened_by_id))
        return Organization.from_row(row) if row else None

    @strawberry.field
    async def legal_aid(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.legal_aid_id))
        return Organization.from_row(row) if row else None

    @strawberry.field(description=DOCUMENTS_DESCRIPTION)
    async def documents(
        self, info: Info[HubContext, None], first: int | None = 20, after: str | None = None
    ) -> AttachedDocumentConnection | None:
        return await documents_of(
            info, SubjectType.LEGAL_CASE, str(self.id), 20 if first is None else first, after
        )


def _money(amount: str | None, currency: str | None) -> CompensationAmount | None:
    if amount is None or currency is None:
        return None
    return CompensationAmount(amount=amount, currency=currency)


@strawberry.type
class LegalCaseEdge:
    cursor: str
    node: LegalCase


@strawberry.type
class LegalCaseConnection:
    edges: list[LegalCaseEdge]
    page_info: PageInfo


@strawberry.input
class OpenLegalCaseInput:
    case_ids: list[strawberry.ID] = strawberry.field(
        description="The survivor cases of this prosecution (one, or many for a group case)."
    )
    legal_aid_organization_id: strawberry.ID
    court: str
    complaint_filed_on: date
    idempotency_key: str


@strawberry.input
class HearingInput:
    date: datetime
    court: str
    transport_provided: bool
    accommodation_provided: bool
    idempotency_key: str
    outcome_note: str | None = None


@strawberry.input
class JudgmentInput:
    verdict: Verdict
    date: date


@strawberry.input
class CompensationInput:
    stage: CompensationStage
    amount: str
    currency: str


_READ = [requires("cases:read")]
_WRITE = [requires("cases:write")]


async def shown(
    info: Info[HubContext, None], rows: list[LegalCaseRow], *path: str
) -> list[LegalCase]:
    """Legal cases as the caller may read them, opening only the notes it selected."""
    ctx = info.context
    wanted = fields_at(info, *path) & NOTE_FIELDS
    views = await legal_case_views(ctx.db, ctx.actor, ctx.cipher, rows, wanted)
    return [LegalCase.from_view(v) for v in views]


async def _reloaded(info: Info[HubContext, None], legal_id: str) -> LegalCase:
    ctx = info.context
    row = await service.get_legal_case(ctx.db, ctx.actor, legal_id, reading=False)
    return (await shown(info, [row]))[0]


@strawberry.type
class JusticeQueries:
    @strawberry.field(permission_classes=_READ)
    async def legal_case(self, info: Info[HubContext, None], id: strawberry.ID) -> LegalCase | None:
        row = await service.get_legal_case(info.context.db, info.context.actor, str(id))
        return (await shown(info, [row]))[0]

    @strawberry.field(
        permission_classes=_READ,
        description="Legal cases the caller is a party to. Newest first: `first` from 1 to 100.",
    )
    async def legal_cases(
        self,
        info: Info[HubContext, None],
        status: LegalCaseStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> LegalCaseConnection:
        rows, has_next = await service.list_legal_cases(
            info.context.db, info.context.actor, status, first, after
        )
        nodes = await shown(info, rows, "edges", "node")
        edges = [
            LegalCaseEdge(cursor=encode_cursor(r), node=node)
            for r, node in zip(rows, nodes, strict=True)
        ]
        return LegalCaseConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )


@strawberry.type
class JusticeMutations:
    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the owner of every case linked, or by the legal aid organisation for "
        "cases it sees; the survivors' consent must cover it for LEGAL data for LEGAL_AID.",
    )
    async def open_legal_case(
        self, info: Info[HubContext, None], input: OpenLegalCaseInput
    ) -> LegalCase:
        ctx = info.context
        row = await service.open_legal_case(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            service.NewLegalCase(
                case_ids=[str(c) for c in input.case_ids],
                legal_aid_organization_id=str(input.legal_aid_organization_id),
                court=input.court,
                complaint_filed_on=input.complaint_filed_on,
                idempotency_key=input.idempotency_key,
            ),
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the case's owner, or by the legal aid organisation with consent.",
    )
    async def link_case_to_legal_case(
        self, info: Info[HubContext, None], legal_case_id: strawberry.ID, case_id: strawberry.ID
    ) -> LegalCase:
        ctx = info.context
        await service.link_case(ctx.db, ctx.actor, str(legal_case_id), str(case_id))
        return await _reloaded(info, str(legal_case_id))

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the legal aid organisation, for one linked survivor: what she was "
        "awarded, then paid (each once), from the judgment until the legal case closes.",
    )
    async def record_survivor_compensation(
        self,
        info: Info[HubContext, None],
        legal_case_id: strawberry.ID,
        case_id: strawberry.ID,
        input: CompensationInput,
    ) -> LegalCase:
        ctx = info.context
        await record_survivor_compensation(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(legal_case_id),
            str(case_id),
            Stage(input.stage.value),
            input.amount,
            input.currency,
        )
        return await _reloaded(info, str(legal_case_id))

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the case's owner or the legal aid organisation, with a reason (sealed "
        "in the history, read back by its writer only). Not the last survivor: close the "
        "legal case instead.",
    )
    async def unlink_case_from_legal_case(
        self,
        info: Info[HubContext, None],
        legal_case_id: strawberry.ID,
        case_id: strawberry.ID,
        reason: str,
    ) -> LegalCase:
        ctx = info.context
        await unlink_case(ctx.db, ctx.actor, ctx.cipher, str(legal_case_id), str(case_id), reason)
        return await _reloaded(info, str(legal_case_id))

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="INVESTIGATION, COURT or CLOSED (CLOSED before the judgment or before "
        "compensation is paid needs a reason).",
    )
    async def update_legal_case(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        status: LegalCaseStatus,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> LegalCase:
        ctx = info.context
        row = await justice_steps.update_status(
            ctx.db, ctx.actor, ctx.cipher, str(id), status, reason, expected_version
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(permission_classes=_WRITE, description="COURT -> JUDGMENT.")
    async def record_judgment(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        input: JudgmentInput,
        expected_version: int | None = None,
    ) -> LegalCase:
        ctx = info.context
        row = await justice_steps.record_judgment(
            ctx.db, ctx.actor, ctx.cipher, str(id), input.verdict, input.date, expected_version
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="AWARDED: JUDGMENT -> COMPENSATION_AWARDED; PAID: -> COMPENSATION_PAID.",
    )
    async def record_compensation(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        input: CompensationInput,
        expected_version: int | None = None,
    ) -> LegalCase:
        ctx = info.context
        row = await justice_steps.record_compensation(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(id),
            input.stage == CompensationStage.PAID,
            input.amount,
            input.currency,
            expected_version,
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(
        permission_classes=_WRITE, description="By the legal aid organisation, while in COURT."
    )
    async def record_hearing(
        self, info: Info[HubContext, None], legal_case_id: strawberry.ID, input: HearingInput
    ) -> LegalCase:
        ctx = info.context
        await hearings.record_hearing(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(legal_case_id),
            hearings.NewHearing(
                held_at=input.date,
                court=input.court,
                transport_provided=input.transport_provided,
                accommodation_provided=input.accommodation_provided,
                idempotency_key=input.idempotency_key,
                outcome_note=input.outcome_note,
            ),
        )
        return await _reloaded(info, str(legal_case_id))

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="A hearing recorded ahead of its date gets its outcome, once, from the "
        "legal aid organisation.",
    )
    async def record_hearing_outcome(
        self, info: Info[HubContext, None], hearing_id: strawberry.ID, outcome_note: str
    ) -> LegalCase:
        ctx = info.context
        row = await hearings.record_hearing_outcome(
            ctx.db, ctx.actor, ctx.cipher, str(hearing_id), outcome_note
        )
        return (await shown(info, [row]))[0]
