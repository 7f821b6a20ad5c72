"""Places (ISO 3166 countries and subdivisions) in GraphQL: translation only."""

from __future__ import annotations

from typing import Self

import strawberry

from orgs.places import Place as PlaceRow
from orgs.places import place


@strawberry.type(description="A country (`KH`) or one of its ISO 3166-2 subdivisions (`KH-9`).")
class Place:
    code: str
    name: str
    khmer_name: str | None

    @classmethod
    def from_place(cls, row: PlaceRow) -> Self:
        return cls(code=row.code, name=row.name, khmer_name=row.khmer_name)


def places(codes: list[str]) -> list[Place]:
    """The known places among ``codes``; a name kept from before codes has none."""
    return [Place.from_place(p) for p in map(place, codes) if p is not None]
