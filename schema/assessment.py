"""Initial and family assessments in GraphQL: translation only (``cases.assessment``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from cases import assessment as service
from cases.assessment_rules import AssessorRole, IdentificationDecision, RiskFactor
from orgs.rules import ServiceCategory
from schema.cases import WithheldField
from schema.context import HubContext
from schema.permissions import requires

for enum, name in (
    (IdentificationDecision, "IdentificationDecision"),
    (AssessorRole, "AssessorRole"),
    (RiskFactor, "RiskFactor"),
):
    strawberry.enum(enum, name=name)


def _withheld(view: service.PartsView) -> list[WithheldField]:
    return [
        WithheldField(field=w.field, category=w.category, reason=w.reason) for w in view.withheld
    ]


@strawberry.type(
    description="The initial assessment of a case: needs (HEALTH), risks and identification "
    "as a victim (TRAFFICKING_EXPERIENCE), each shown as the survivor's consent allows, "
    "otherwise null and in `withheld`. Who decided: the organisation and the assessor's role."
)
class CaseAssessment:
    id: strawberry.ID
    case_id: strawberry.ID
    by: strawberry.ID
    assessor_role: AssessorRole
    version: int
    assessed_at: datetime
    updated_at: datetime
    needs: list[ServiceCategory] | None
    needs_note: str | None
    risks: list[RiskFactor] | None
    risks_note: str | None
    identification: IdentificationDecision | None
    identification_note: str | None
    withheld: list[WithheldField]

    @classmethod
    def from_view(cls, view: service.PartsView) -> CaseAssessment:
        row = view.row
        needs: dict[str, Any] = view.parts.get("needs") or {}
        risks: dict[str, Any] = view.parts.get("risks") or {}
        ident: dict[str, Any] = view.parts.get("identification") or {}
        return cls(
            id=strawberry.ID(row.id),
            case_id=strawberry.ID(row.case_id),
            by=strawberry.ID(row.by_organization_id),
            assessor_role=AssessorRole(row.assessor_role),
            version=row.version,
            assessed_at=row.assessed_at,
            updated_at=row.updated_at,
            needs=[ServiceCategory(n) for n in needs["needs"]] if needs else None,
            needs_note=needs.get("note"),
            risks=[RiskFactor(r) for r in risks["risks"]] if risks else None,
            risks_note=risks.get("note"),
            identification=IdentificationDecision(ident["decision"]) if ident else None,
            identification_note=ident.get("note"),
            withheld=_withheld(view),
        )


@strawberry.type(
    description="The reception organisation's assessment of the family before a return: "
    "family traced (IDENTITY) and safe to return with reasons (LOCATION), shown as the "
    "survivor's consent allows, otherwise null and in `withheld`."
)
class FamilyAssessment:
    id: strawberry.ID
    repatriation_id: strawberry.ID
    case_id: strawberry.ID
    by: strawberry.ID
    version: int
    assessed_at: datetime
    updated_at: datetime
    family_traced: bool | None
    family_note: str | None
    safe_to_return: bool | None
    safety_reasons: str | None
    withheld: list[WithheldField]

    @classmethod
    def from_view(cls, view: service.PartsView) -> FamilyAssessment:
        row = view.row
        family: dict[str, Any] = view.parts.get("family") or {}
        safety: dict[str, Any] = view.parts.get("safety") or {}
        return cls(
            id=strawberry.ID(row.id),
            repatriation_id=strawberry.ID(row.request_id),
            case_id=strawberry.ID(row.case_id),
            by=strawberry.ID(row.by_organization_id),
            version=row.version,
            assessed_at=row.assessed_at,
            updated_at=row.updated_at,
            family_traced=family.get("traced"),
            family_note=family.get("note"),
            safe_to_return=safety.get("safe"),
            safety_reasons=safety.get("reasons"),
            withheld=_withheld(view),
        )


@strawberry.input
class AssessmentInput:
    case_id: strawberry.ID
    needs: list[ServiceCategory]
    risks: list[RiskFactor]
    identification: IdentificationDecision
    assessor_role: AssessorRole
    needs_note: str | None = None
    risks_note: str | None = None
    identification_note: str | None = strawberry.field(
        default=None, description="The basis of the decision under the national guidelines."
    )


@strawberry.input
class FamilyAssessmentInput:
    family_traced: bool
    safe_to_return: bool
    safety_reasons: str
    family_note: str | None = None


@strawberry.type
class AssessmentQueries:
    @strawberry.field(
        permission_classes=[requires("cases:read")],
        description="Null when no assessment was recorded; NOT_FOUND for a case the caller "
        "may not see.",
    )
    async def case_assessment(
        self, info: Info[HubContext, None], case_id: strawberry.ID
    ) -> CaseAssessment | None:
        ctx = info.context
        view = await service.read_assessment(ctx.db, ctx.actor, ctx.cipher, str(case_id))
        return CaseAssessment.from_view(view) if view else None

    @strawberry.field(
        permission_classes=[requires("repatriation:read")],
        description="For the parties to the request. Null when none was recorded.",
    )
    async def family_assessment(
        self, info: Info[HubContext, None], repatriation_id: strawberry.ID
    ) -> FamilyAssessment | None:
        ctx = info.context
        view = await service.read_family_assessment(
            ctx.db, ctx.actor, ctx.cipher, str(repatriation_id)
        )
        return FamilyAssessment.from_view(view) if view else None


@strawberry.type
class AssessmentMutations:
    @strawberry.mutation(
        permission_classes=[requires("cases:write")],
        description="By the case's owner; again with `expectedVersion` to revise it.",
    )
    async def record_assessment(
        self,
        info: Info[HubContext, None],
        input: AssessmentInput,
        expected_version: int | None = None,
    ) -> CaseAssessment:
        ctx = info.context
        await service.record_assessment(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            service.NewAssessment(
                case_id=str(input.case_id),
                needs=input.needs,
                risks=input.risks,
                identification=input.identification,
                assessor_role=input.assessor_role,
                needs_note=input.needs_note,
                risks_note=input.risks_note,
                identification_note=input.identification_note,
            ),
            expected_version,
        )
        view = await service.read_assessment(
            ctx.db, ctx.actor, ctx.cipher, str(input.case_id), reading=False
        )
        assert view is not None
        return CaseAssessment.from_view(view)

    @strawberry.mutation(
        permission_classes=[requires("cases:write")],
        description="By the reception organisation of the request, before the return; a "
        "child's request reaches TRAVEL_ARRANGED only with the family traced and the return "
        "safe.",
    )
    async def record_family_assessment(
        self,
        info: Info[HubContext, None],
        repatriation_id: strawberry.ID,
        input: FamilyAssessmentInput,
        expected_version: int | None = None,
    ) -> FamilyAssessment:
        ctx = info.context
        await service.record_family_assessment(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(repatriation_id),
            service.NewFamilyAssessment(
                family_traced=input.family_traced,
                safe_to_return=input.safe_to_return,
                safety_reasons=input.safety_reasons,
                family_note=input.family_note,
            ),
            expected_version,
        )
        view = await service.read_family_assessment(
            ctx.db, ctx.actor, ctx.cipher, str(repatriation_id), reading=False
        )
        assert view is not None
        return FamilyAssessment.from_view(view)
