"""Cases, consent and disclosures in GraphQL: translation only.

Access and consent are decided in ``cases.access`` when cases load; these types read the
prepared values, so a withheld field is simply None and listed in ``withheld``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Self, cast

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from cases import service as cases
from cases.access import CaseView
from cases.document_rules import SubjectType
from cases.models import CaseStatusChange
from cases.paging import encode_cursor
from cases.rules import (
    SENSITIVE_FIELDS,
    AgeBand,
    CaseStatus,
    DocumentType,
    ExploitationType,
    RecruiterRelationship,
    Sex,
)
from consent import service as consents
from consent.models import ConsentGrant as GrantRow
from consent.models import Disclosure as DisclosureRow
from consent.models import WithdrawalNotice as NoticeRow
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from orgs.places import find_place, place
from orgs.rules import OrganizationKind
from schema.context import HubContext
from schema.disclosures import collector
from schema.documents import DESCRIPTION as DOCUMENTS_DESCRIPTION
from schema.documents import AttachedDocumentConnection, documents_of
from schema.family_consent import FamilyBasisInput
from schema.lazy_fields import build, lazy_type, member
from schema.paging import PageInfo
from schema.permissions import requires
from schema.places import Place
from schema.selection import fields_at
from store.errors import not_found
from store.sealed import Sealing

for enum, name in (
    (CaseStatus, "CaseStatus"),
    (AgeBand, "AgeBand"),
    (Sex, "Sex"),
    (DocumentType, "DocumentType"),
    (ExploitationType, "ExploitationType"),
    (RecruiterRelationship, "RecruiterRelationship"),
    (DataCategory, "DataCategory"),
    (Purpose, "ConsentPurpose"),
    (Grantor, "ConsentGrantor"),
    (ConsentMethod, "ConsentMethod"),
):
    strawberry.enum(enum, name=name)


@strawberry.type
class IdentityDocument:
    type: DocumentType
    number: str


@strawberry.type(description="A survivor field the caller may not see, and why.")
class WithheldField:
    field: str
    category: DataCategory
    reason: str = strawberry.field(
        description="A consent reason (RECIPIENT_NOT_COVERED, PURPOSE_NOT_COVERED, "
        "CATEGORY_NOT_COVERED, NOT_YET_VALID, EXPIRED, WITHDRAWN), NO_PURPOSE, "
        "PII_SCOPE_REQUIRED, or SCOPE_REQUIRED (the token lacks the object's read scope)."
    )


@strawberry.type
class StatusChange:
    status: CaseStatus
    at: datetime
    by: strawberry.ID
    note: str | None = strawberry.field(description="Seen by the owner only.")


_SENSITIVE_NAMES = frozenset(f.name for f in SENSITIVE_FIELDS)
SURVIVOR_FIELDS = _SENSITIVE_NAMES


def _selected_names(selections: list[Selection]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:
            names |= _selected_names(selection.selections)
    return names


def requested_survivor_fields(info: Info[HubContext, None]) -> frozenset[str]:
    """The survivor fields this case selection asks for: only these are opened and logged."""
    names: set[str] = set()
    for selected in info.selected_fields:
        names |= _selected_names(selected.selections)
    return frozenset(names & _SENSITIVE_NAMES)


def requested_node_fields(info: Info[HubContext, None]) -> frozenset[str]:
    """The survivor fields a connection asks for under ``edges { node { … } }``."""
    names: set[str] = set()
    for selected in info.selected_fields:
        for edges in _fields_named(selected.selections, "edges"):
            for node in _fields_named(edges.selections, "node"):
                names |= _selected_names(node.selections)
    return frozenset(names & _SENSITIVE_NAMES)


def _fields_named(selections: list[Selection], name: str) -> list[SelectedField]:
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                found.append(selection)
        else:
            found += _fields_named(selection.selections, name)
    return found


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _as_place(value: object) -> Place | None:
    """A recorded place with its names: a code, or text written before codes that still
    names a known place (it is shown as written, never rewritten)."""
    if not isinstance(value, str):
        return None
    found = place(value) or find_place(value)
    return Place.from_place(found) if found is not None else None


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


# Each survivor field's attribute name, worked out once: converting names per field per row
# was the hottest spot of a page. Interned: passed as keywords to ``Case(...)``, a name built
# at run time is matched to the parameter by comparing strings instead of by identity.
_ATTRIBUTE = {f.name: sys.intern(_snake(f.name)) for f in SENSITIVE_FIELDS}
_NOTHING_SHOWN: dict[str, Any] = dict.fromkeys(_ATTRIBUTE.values())


@strawberry.type(description="A survivor's case, as the caller may see it.")
class Case:
    id: strawberry.ID
    reference: str
    owner_id: strawberry.ID
    status: CaseStatus
    version: int
    age_band: AgeBand
    sex: Sex
    nationality: str | None
    languages: list[str]
    needs: list[str]
    created_at: datetime
    updated_at: datetime
    withheld: list[WithheldField]
    # IDENTITY
    full_name: str | None
    other_names: list[str] | None
    date_of_birth: date | None
    estimated_age: int | None
    identity_documents: list[IdentityDocument] | None
    # CONTACT
    phone: str | None
    family_contact: str | None
    # LOCATION
    current_location: str | None
    home_province: str | None
    home_commune: str | None
    # HEALTH, LEGAL
    health_notes: str | None
    legal_notes: str | None
    # TRAFFICKING_EXPERIENCE
    exploitation_types: list[ExploitationType] | None
    recruiter_relationship: RecruiterRelationship | None
    recruitment_notes: str | None
    destination_country: str | None
    exploitation_start_date: date | None
    exploitation_end_date: date | None
    viewer_is_owner: strawberry.Private[bool]
    home_province_place: Place | None = strawberry.field(
        default=None,
        description="`homeProvince` as a place (ISO 3166-2 code, English and Khmer names); "
        "null when `homeProvince` is not shown or is text kept from before codes that names "
        "no known province.",
    )
    destination_country_place: Place | None = strawberry.field(
        default=None,
        description="`destinationCountry` as a place with its names; null when not shown.",
    )
    possible_duplicate: bool = strawberry.field(
        default=False,
        description="On the answer to `createCase`: the person may already be known at "
        "another organisation (by name, date of birth and sex). Says neither where nor what; "
        "false on every other read.",
    )
    duplicate_hint: strawberry.ID | None = strawberry.field(
        default=None,
        description="With `possibleDuplicate`: an opaque id usable only to `requestCaseLink`.",
    )

    @classmethod
    def from_view(cls, view: CaseView) -> Self:
        """The case as answered, lazily (``schema.lazy_fields``): its id and status now, every
        other field converted from the decided view when the operation first reads one."""
        row = view.case
        return build(
            cast(type[Self], _LazyCase),
            {"_view": view, "id": strawberry.ID(row.id), "status": member(CaseStatus, row.status)},
        )

    @strawberry.field(description="Every status the case has had, oldest first.")
    async def status_history(self, info: Info[HubContext, None]) -> list[StatusChange]:
        rows: list[CaseStatusChange] = await info.context.loaders.status_history.load(str(self.id))
        openers = info.context.loaders.case_openers
        opener: Sealing = info.context.cipher
        if self.viewer_is_owner and openers is not None and any(r.note for r in rows):
            opener = await openers.load(str(self.id))
        return [
            StatusChange(
                status=CaseStatus(r.status),
                at=r.at,
                by=strawberry.ID(r.by_organization_id),
                note=cases.open_note(opener, r.note, r.case_id) if self.viewer_is_owner else None,
            )
            for r in rows
        ]

    @strawberry.field(description=DOCUMENTS_DESCRIPTION)
    async def documents(
        self, info: Info[HubContext, None], first: int | None = 20, after: str | None = None
    ) -> AttachedDocumentConnection | None:
        return await documents_of(
            info, SubjectType.CASE, str(self.id), 20 if first is None else first, after
        )


def _case_fields(view: CaseView) -> dict[str, Any]:
    """Every field of the case's answer, converted from the decided view."""
    row, v = view.case, view.values
    fields = dict(_NOTHING_SHOWN)
    for name, value in v.items():
        fields[_ATTRIBUTE[name]] = value
    for key in ("date_of_birth", "exploitation_start_date", "exploitation_end_date"):
        fields[key] = _date(fields[key])
    if fields["identity_documents"] is not None:
        fields["identity_documents"] = [
            IdentityDocument(type=DocumentType(d["type"]), number=d["number"])
            for d in fields["identity_documents"]
        ]
    if fields["exploitation_types"] is not None:
        fields["exploitation_types"] = [ExploitationType(t) for t in fields["exploitation_types"]]
    if fields["recruiter_relationship"] is not None:
        fields["recruiter_relationship"] = RecruiterRelationship(fields["recruiter_relationship"])
    return dict(
        id=strawberry.ID(row.id),
        reference=row.reference,
        owner_id=strawberry.ID(row.owner_organization_id),
        status=CaseStatus(row.status),
        version=row.version,
        age_band=AgeBand(row.age_band),
        sex=Sex(row.sex),
        nationality=row.nationality,
        languages=list(row.languages),
        needs=list(row.needs),
        created_at=row.created_at,
        updated_at=row.updated_at,
        withheld=[
            WithheldField(field=w.field, category=w.category, reason=w.reason)
            for w in view.withheld
        ],
        viewer_is_owner=view.viewer_is_owner,
        home_province_place=_as_place(fields["home_province"]),
        destination_country_place=_as_place(fields["destination_country"]),
        possible_duplicate=view.duplicate_hint is not None,
        duplicate_hint=strawberry.ID(view.duplicate_hint) if view.duplicate_hint else None,
        **fields,
    )


def _filled(answer: Any) -> dict[str, Any]:
    """Every field not yet on a lazy case, converted at once on the first read of one (a
    query asking one survivor field usually asks several)."""
    values = answer.__dict__
    for name, value in _case_fields(values["_view"]).items():
        values.setdefault(name, value)
    return values  # type: ignore[no-any-return]


_EAGER = frozenset({"id", "status"})


def _deferred(name: str) -> Callable[[Any], Any]:
    return lambda answer: _filled(answer)[name]


# Every field of a case but those ``from_view`` sets (fields with a resolver are methods:
# they stay as they are).
_LazyCase = lazy_type(
    Case,
    {
        f.name: _deferred(f.name)
        for f in dataclasses.fields(Case)
        if f.init and f.name not in _EAGER
    },
)


@strawberry.type
class HolderNotice:
    organization_id: strawberry.ID
    notified_at: datetime
    acknowledged_at: datetime | None


@strawberry.type
class Withdrawal:
    at: datetime
    reason: str


@strawberry.type(description="One version of a survivor's consent. Never edited.")
class ConsentGrant:
    id: strawberry.ID
    case_id: strawberry.ID
    version: int
    grantor: Grantor
    method: ConsentMethod
    interpreter_language: str | None
    purposes: list[Purpose]
    categories: list[DataCategory]
    recipient_organization_ids: list[strawberry.ID]
    recipient_kinds: list[OrganizationKind]
    valid_from: datetime
    valid_until: datetime | None
    recorded_at: datetime
    withdrawal: Withdrawal | None
    holders: list[HolderNotice] = strawberry.field(
        description="Organisations that received data under this grant, once it is withdrawn, "
        "and whether they acknowledged."
    )

    @classmethod
    def from_rows(
        cls,
        row: GrantRow,
        withdrawal: Withdrawal | None = None,
        notices: list[NoticeRow] | None = None,
    ) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            case_id=strawberry.ID(row.case_id),
            version=row.version,
            grantor=Grantor(row.grantor),
            method=ConsentMethod(row.method),
            interpreter_language=row.interpreter_language,
            purposes=[Purpose(p) for p in row.purposes],
            categories=[DataCategory(c) for c in row.categories],
            recipient_organization_ids=[strawberry.ID(o) for o in row.recipient_organization_ids],
            recipient_kinds=[OrganizationKind(k) for k in row.recipient_kinds],
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            recorded_at=row.recorded_at,
            withdrawal=withdrawal,
            holders=[
                HolderNotice(
                    organization_id=strawberry.ID(n.organization_id),
                    notified_at=n.notified_at,
                    acknowledged_at=n.acknowledged_at,
                )
                for n in notices or []
            ],
        )


@strawberry.type(description="One disclosure of survivor data to another organisation.")
class Disclosure:
    id: strawberry.ID
    at: datetime
    organization_id: strawberry.ID
    case_id: strawberry.ID
    categories: list[DataCategory]
    consent_id: strawberry.ID
    consent_version: int
    channel: str
    request_id: str | None

    @classmethod
    def from_row(cls, row: DisclosureRow) -> Self:
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            organization_id=strawberry.ID(row.organization_id),
            case_id=strawberry.ID(row.case_id),
            categories=[DataCategory(c) for c in row.categories],
            consent_id=strawberry.ID(row.consent_grant_id),
            consent_version=row.consent_version,
            channel=row.channel,
            request_id=row.request_id,
        )


@strawberry.type(description="A withdrawal the caller's organisation must act on.")
class WithdrawalNotice:
    consent_id: strawberry.ID
    case_id: strawberry.ID
    notified_at: datetime
    acknowledged_at: datetime | None


@strawberry.input
class IdentityDocumentInput:
    type: DocumentType
    number: str


@strawberry.input(
    description="Survivor data. Every field is sealed at rest and shown only as consent allows."
)
class SurvivorDataInput:
    full_name: str | None = None
    other_names: list[str] | None = None
    date_of_birth: date | None = None
    estimated_age: int | None = None
    identity_documents: list[IdentityDocumentInput] | None = None
    phone: str | None = None
    family_contact: str | None = None
    current_location: str | None = None
    home_province: str | None = None
    home_commune: str | None = None
    health_notes: str | None = None
    legal_notes: str | None = None
    exploitation_types: list[ExploitationType] | None = None
    recruiter_relationship: RecruiterRelationship | None = None
    recruitment_notes: str | None = None
    destination_country: str | None = None
    exploitation_start_date: date | None = None
    exploitation_end_date: date | None = None

    def as_fields(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in SENSITIVE_FIELDS:
            value = getattr(self, _ATTRIBUTE[spec.name])
            if value is None:
                continue
            if isinstance(value, date):
                value = value.isoformat()
            elif spec.name == "identityDocuments":
                value = [{"type": d.type.value, "number": d.number} for d in value]
            elif spec.name == "exploitationTypes":
                value = [t.value for t in value]
            elif spec.name == "recruiterRelationship":
                value = value.value
            values[spec.name] = value
        return values


@strawberry.input
class CreateCaseInput:
    age_band: AgeBand
    sex: Sex
    nationality: str | None = None
    languages: list[str] = strawberry.field(default_factory=list)
    needs: list[str] = strawberry.field(default_factory=list)
    survivor: SurvivorDataInput | None = None
    note: str | None = None


@strawberry.input
class RecordConsentInput:
    case_id: strawberry.ID
    grantor: Grantor
    method: ConsentMethod
    purposes: list[Purpose]
    categories: list[DataCategory]
    recipient_organization_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    recipient_kinds: list[OrganizationKind] = strawberry.field(default_factory=list)
    interpreter_language: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    family_basis: FamilyBasisInput | None = None


@strawberry.type
class CaseEdge:
    cursor: str
    node: Case


# An edge's cursor is encoded only if read: by the operation, or as the page's end cursor.
_LazyCaseEdge = lazy_type(CaseEdge, {"cursor": lambda edge: encode_cursor(edge._row)})


@strawberry.type
class CaseConnection:
    edges: list[CaseEdge]
    page_info: PageInfo


_READ = [requires("cases:read")]
_WRITE = [requires("cases:write")]
_CONSENT = [requires("consent:write")]


@strawberry.type
class CaseQueries:
    @strawberry.field(permission_classes=_READ)
    async def case(self, info: Info[HubContext, None], id: strawberry.ID) -> Case | None:
        ctx = info.context
        views = await cases.read_cases(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            case_ids=[str(id)],
            fields=requested_survivor_fields(info),
            disclose=collector(),
            reads=ctx.reader,
            withheld="withheld" in fields_at(info),
        )
        if not views:
            raise not_found("case")
        return Case.from_view(views[0])

    @strawberry.field(
        permission_classes=_READ,
        description="Cases the caller may see, newest first: `first` from 1 to 100.",
    )
    async def cases(
        self,
        info: Info[HubContext, None],
        status: CaseStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> CaseConnection:
        ctx = info.context
        page = await cases.page_of_cases(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            status=status,
            first=first,
            after=after,
            fields=requested_node_fields(info),
            disclose=collector(),
            reads=ctx.reader,
            withheld="withheld" in fields_at(info, "edges", "node"),
        )
        edges = [
            build(_LazyCaseEdge, {"_row": v.case, "node": Case.from_view(v)}) for v in page.views
        ]
        return CaseConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(
        permission_classes=_READ, description="The case's consent grants (owner only)."
    )
    async def consents(
        self, info: Info[HubContext, None], case_id: strawberry.ID
    ) -> list[ConsentGrant]:
        ctx = info.context
        records = await consents.consents_of_case(ctx.db, ctx.actor, ctx.cipher, str(case_id))
        return [
            ConsentGrant.from_rows(
                r.grant,
                Withdrawal(at=r.withdrawal.at, reason=r.withdrawal.reason)
                if r.withdrawal
                else None,
                r.notices,
            )
            for r in records
        ]

    @strawberry.field(
        permission_classes=_READ, description="Who has seen what of a case (owner only)."
    )
    async def disclosures(
        self, info: Info[HubContext, None], case_id: strawberry.ID
    ) -> list[Disclosure]:
        rows = await consents.disclosures_of_case(info.context.db, info.context.actor, str(case_id))
        return [Disclosure.from_row(r) for r in rows]

    @strawberry.field(permission_classes=_READ, description="Withdrawals the caller must act on.")
    async def consent_withdrawal_notices(
        self, info: Info[HubContext, None], pending_only: bool = True
    ) -> list[WithdrawalNotice]:
        found = await consents.notices_for(info.context.db, info.context.actor, pending_only)
        return [
            WithdrawalNotice(
                consent_id=strawberry.ID(n.grant_id),
                case_id=strawberry.ID(g.case_id),
                notified_at=n.notified_at,
                acknowledged_at=n.acknowledged_at,
            )
            for n, g in found
        ]


@strawberry.type
class CaseMutations:
    @strawberry.mutation(permission_classes=_WRITE)
    async def create_case(self, info: Info[HubContext, None], input: CreateCaseInput) -> Case:
        ctx = info.context
        view = await cases.create_case(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            cases.NewCase(
                age_band=input.age_band,
                sex=input.sex,
                nationality=input.nationality,
                languages=input.languages,
                needs=input.needs,
                survivor=input.survivor.as_fields() if input.survivor else {},
                note=input.note,
            ),
        )
        return Case.from_view(view)

    @strawberry.mutation(permission_classes=_WRITE)
    async def update_case_status(
        self,
        info: Info[HubContext, None],
        case_id: strawberry.ID,
        status: CaseStatus,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        ctx = info.context
        view = await cases.update_case_status(
            ctx.db, ctx.actor, ctx.cipher, str(case_id), status, note, expected_version
        )
        return Case.from_view(view)

    @strawberry.mutation(permission_classes=_CONSENT)
    async def record_consent(
        self, info: Info[HubContext, None], input: RecordConsentInput
    ) -> ConsentGrant:
        row = await consents.record_consent(
            info.context.db,
            info.context.actor,
            consents.NewConsent(
                case_id=str(input.case_id),
                grantor=input.grantor,
                method=input.method,
                purposes=input.purposes,
                categories=input.categories,
                recipient_organization_ids=[str(o) for o in input.recipient_organization_ids],
                recipient_kinds=input.recipient_kinds,
                interpreter_language=input.interpreter_language,
                valid_from=input.valid_from,
                valid_until=input.valid_until,
                family_basis=input.family_basis.to_basis() if input.family_basis else None,
            ),
            info.context.cipher,
        )
        return ConsentGrant.from_rows(row)

    @strawberry.mutation(permission_classes=_CONSENT)
    async def withdraw_consent(
        self, info: Info[HubContext, None], consent_id: strawberry.ID, reason: str
    ) -> ConsentGrant:
        ctx = info.context
        await consents.withdraw_consent(ctx.db, ctx.actor, ctx.cipher, str(consent_id), reason)
        records = await consents.consents_of_case(
            ctx.db, ctx.actor, ctx.cipher, (await consents.grant_case(ctx.db, str(consent_id)))
        )
        record = next(r for r in records if r.grant.id == str(consent_id))
        assert record.withdrawal is not None
        return ConsentGrant.from_rows(
            record.grant,
            Withdrawal(at=record.withdrawal.at, reason=record.withdrawal.reason),
            record.notices,
        )

    @strawberry.mutation(permission_classes=_READ)
    async def acknowledge_consent_withdrawal(
        self, info: Info[HubContext, None], consent_id: strawberry.ID
    ) -> WithdrawalNotice:
        notice = await consents.acknowledge_withdrawal(
            info.context.db, info.context.actor, str(consent_id)
        )
        case_id = await consents.grant_case(info.context.db, str(consent_id))
        return WithdrawalNotice(
            consent_id=strawberry.ID(notice.grant_id),
            case_id=strawberry.ID(case_id),
            notified_at=notice.notified_at,
            acknowledged_at=notice.acknowledged_at,
        )
