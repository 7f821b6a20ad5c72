"""The basis a family member's consent (grantor FAMILY) is recorded with: translation only."""

from __future__ import annotations

import strawberry

from consent.family import FamilyBasis, FamilyRelationship

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
