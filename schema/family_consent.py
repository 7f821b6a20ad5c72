"""The basis a family member's consent (grantor FAMILY) is recorded with: translation only."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from consent.family import FamilyBasis, FamilyRelationship, basis_for_owner
from schema.context import HubContext
from schema.permissions import requires

strawberry.enum(FamilyRelationship, name="FamilyRelationship")


@strawberry.input(
    description="Why a relative consents for a person who cannot be asked yet. Sealed; read "
    "by the case owner only. Required with grantor FAMILY, refused with any other grantor."
)
class FamilyBasisInput:
    reported_by: str = strawberry.field(description="Who reported: the relative's name.")
    relationship: FamilyRelationship
    why_not_self: str = strawberry.field(
        description="Why the person cannot consent herself now (held abroad, unreachable)."
    )

    def to_basis(self) -> FamilyBasis:
        return FamilyBasis(self.reported_by, self.relationship, self.why_not_self)


@strawberry.type(description="The basis of a FAMILY grant. Survivor data: the owner only.")
class FamilyConsentBasis:
    consent_id: strawberry.ID
    reported_by: str
    relationship: FamilyRelationship
    why_not_self: str


@strawberry.type
class FamilyConsentQueries:
    @strawberry.field(
        permission_classes=[requires("cases:read")],
        description="Who reported, how related, why not herself: for the case's owner (with "
        "`pii:read`); NOT_FOUND for anyone else.",
    )
    async def family_consent_basis(
        self, info: Info[HubContext, None], consent_id: strawberry.ID
    ) -> FamilyConsentBasis:
        ctx = info.context
        basis = await basis_for_owner(ctx.db, ctx.actor, ctx.cipher, str(consent_id))
        return FamilyConsentBasis(
            consent_id=consent_id,
            reported_by=basis.reported_by,
            relationship=basis.relationship,
            why_not_self=basis.why_not_self,
        )
