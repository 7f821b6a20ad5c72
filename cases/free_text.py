"""Free text written about a survivor is survivor data. Pure: no I/O, no ORM, no GraphQL.

A referral's reason, a repatriation request's notes, a decline reason: caseworkers write
"HIV+", phone numbers, where she was exploited. Each such text belongs to one data category,
fixed per field or chosen by the writer, and is released by ``consent.decide`` like a case
field. A writer who does not say gets the strictest category, so that an unlabelled remark
is never shown more widely than a health record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from consent.rules import DataCategory

# HEALTH: the category whose leak harms most (HIV status, pregnancy, injuries) and the one
# consent grants least often, so an unlabelled remark reaches the fewest organisations.
STRICTEST = DataCategory.HEALTH

# Withheld reasons that are not consent's: the token lacks the read scope of the object.
SCOPE_REQUIRED = "SCOPE_REQUIRED"


class TextField(StrEnum):
    """Every free text about a survivor: GraphQL type, then the field's path in it."""

    REFERRAL_REASON = "Referral.reason"
    REFERRAL_NOTES = "Referral.notes"
    REFERRAL_OUTCOME_NOTE = "Referral.outcome.note"
    REFERRAL_CHANGE_REASON = "Referral.history.reason"
    REPATRIATION_NOTES = "RepatriationRequest.notes"
    REPATRIATION_TRAVEL_PLAN = "RepatriationRequest.travelPlan"
    REPATRIATION_CHANGE_NOTE = "RepatriationRequest.history.note"
    CASE_TRANSFER_REASON = "CaseTransfer.reason"
    CASE_TRANSFER_ANSWER = "CaseTransfer.answerReason"
    ASSESSMENT_NEEDS = "CaseAssessment.needs"
    ASSESSMENT_RISKS = "CaseAssessment.risks"
    ASSESSMENT_IDENTIFICATION = "CaseAssessment.identification"
    FAMILY_TRACING = "FamilyAssessment.family"
    FAMILY_SAFETY = "FamilyAssessment.safety"
    INTERVENTION_LAST_KNOWN_LOCATION = "InterventionRequest.lastKnownLocation"
    INTERVENTION_CHANGE_NOTE = "InterventionRequest.history.note"
    FOLLOW_UP_VISIT_NOTE = "ReintegrationPlan.visits.note"
    REINTEGRATION_SERVICE_END_REASON = "ReintegrationPlan.services.endReason"
    REINTEGRATION_CANCEL_REASON = "ReintegrationPlan.cancelReason"

    @property
    def label(self) -> str:
        """The name shown in the object's ``withheld`` list."""
        return self.value.split(".", 1)[1]


@dataclass(frozen=True, slots=True)
class TextRule:
    """How a free text gets its category: fixed, or chosen by its writer."""

    fixed: DataCategory | None = None

    def category(self, chosen: DataCategory | str | None) -> DataCategory:
        if self.fixed is not None:
            return self.fixed
        return DataCategory(chosen) if chosen is not None else STRICTEST


WRITER_CHOOSES = TextRule()

# The travel plan is route, date and escort: where the survivor will be, and when.
TEXT_RULES: dict[TextField, TextRule] = {
    TextField.REFERRAL_REASON: WRITER_CHOOSES,
    TextField.REFERRAL_NOTES: WRITER_CHOOSES,
    TextField.REFERRAL_OUTCOME_NOTE: WRITER_CHOOSES,
    TextField.REFERRAL_CHANGE_REASON: WRITER_CHOOSES,
    TextField.REPATRIATION_NOTES: WRITER_CHOOSES,
    TextField.REPATRIATION_TRAVEL_PLAN: TextRule(fixed=DataCategory.LOCATION),
    TextField.REPATRIATION_CHANGE_NOTE: WRITER_CHOOSES,
    TextField.CASE_TRANSFER_REASON: WRITER_CHOOSES,
    TextField.CASE_TRANSFER_ANSWER: WRITER_CHOOSES,
    # What care she needs says what condition she is in: HEALTH, the strictest.
    TextField.ASSESSMENT_NEEDS: TextRule(fixed=DataCategory.HEALTH),
    # Who exploited her, whether they threaten her, whether she was trafficked at all.
    TextField.ASSESSMENT_RISKS: TextRule(fixed=DataCategory.TRAFFICKING_EXPERIENCE),
    TextField.ASSESSMENT_IDENTIFICATION: TextRule(fixed=DataCategory.TRAFFICKING_EXPERIENCE),
    # Whether her family was found, and who they are: IDENTITY (also needs `pii:read`).
    TextField.FAMILY_TRACING: TextRule(fixed=DataCategory.IDENTITY),
    # Whether home is safe, and why not: where she will live and what waits there.
    TextField.FAMILY_SAFETY: TextRule(fixed=DataCategory.LOCATION),
    # Where a person still abroad was last known to be: where to find her, or her captors.
    TextField.INTERVENTION_LAST_KNOWN_LOCATION: TextRule(fixed=DataCategory.LOCATION),
    TextField.INTERVENTION_CHANGE_NOTE: WRITER_CHOOSES,
    TextField.FOLLOW_UP_VISIT_NOTE: WRITER_CHOOSES,
    TextField.REINTEGRATION_SERVICE_END_REASON: WRITER_CHOOSES,
    TextField.REINTEGRATION_CANCEL_REASON: WRITER_CHOOSES,
}


def category_of(field: TextField, stored: str | None) -> DataCategory:
    """The category a stored text is released under (NULL in the table: the strictest)."""
    return TEXT_RULES[field].category(stored)


def stored_category(field: TextField, chosen: DataCategory | None) -> str:
    """What to store beside a new text: the writer's choice, the fixed one, or the strictest."""
    return TEXT_RULES[field].category(chosen).value
