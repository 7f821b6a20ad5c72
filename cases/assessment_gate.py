"""The rule a repatriation request meets before a child travels: a positive family assessment.

Kept apart from the assessment services so the repatriation workflow can apply it inside its
own transaction without importing them (they import the repatriation module)."""

from __future__ import annotations

from datetime import date

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.assessment_rules import child_return_refused, family_allows_return, is_child
from cases.case_keys import case_ciphers, keys_and_erasures
from cases.custody_models import FamilyAssessment
from cases.models import Case, CaseField
from store.case_keys import open_sealed
from store.sealed import FieldCipher, Sealing

AGE_FIELDS = ("dateOfBirth", "estimatedAge")


async def _age_values(
    session: AsyncSession, cipher: FieldCipher, case_id: str
) -> dict[str, object]:
    rows = await session.scalars(
        select(CaseField).where(CaseField.case_id == case_id, CaseField.field.in_(AGE_FIELDS))
    )
    found = list(rows)
    if not found:
        return {}
    # Values sealed under the case's own key (or erased with it) open only through it.
    keys, erased = await keys_and_erasures(session, cipher, [case_id], with_keys=True)
    if case_id in erased:  # her values are gone, as after an erasure
        return {}
    return {
        row.field: orjson.loads(
            open_sealed(
                cipher,
                keys.get(case_id),
                row.sealed,
                table="case_fields",
                column=row.field,
                row_id=case_id,
            )
        )
        for row in found
    }


def opened_family(
    cipher: Sealing, row: FamilyAssessment
) -> tuple[dict[str, object], dict[str, object]]:
    """The two sealed parts of a family assessment: (family, safety)."""
    family = orjson.loads(
        cipher.open(row.family_sealed, table="family_assessments", column="family", row_id=row.id)
    )
    safety = orjson.loads(
        cipher.open(row.safety_sealed, table="family_assessments", column="safety", row_id=row.id)
    )
    return family, safety


async def check_child_may_travel(
    session: AsyncSession, cipher: FieldCipher, case: Case, request_id: str, today: date
) -> None:
    """INVALID_TRANSITION when the survivor is a child and the request has no family
    assessment with the family traced and the return safe. The hub opens the sealed values
    to decide; nothing of them is shown or logged."""
    ages = await _age_values(session, cipher, case.id)
    if not is_child(case.age_band, ages.get("dateOfBirth"), ages.get("estimatedAge"), today):
        return
    row = await session.scalar(
        select(FamilyAssessment).where(FamilyAssessment.request_id == request_id)
    )
    if row is None:
        raise child_return_refused()
    opener = (await case_ciphers(session, cipher, [case.id]))[case.id]
    family, safety = opened_family(opener, row)
    if not family_allows_return(family.get("traced") is True, safety.get("safe") is True):
        raise child_return_refused()
