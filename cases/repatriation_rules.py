"""The repatriation lifecycle: who may move a request from which state to which. Pure."""

from __future__ import annotations

from enum import StrEnum

from cases.workflow import Role, Transition, Workflow
from store.errors import ErrorCode, HubError


class RepatriationStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    VERIFYING = "VERIFYING"
    DOCUMENTS_ISSUED = "DOCUMENTS_ISSUED"
    TRAVEL_ARRANGED = "TRAVEL_ARRANGED"
    RETURNED = "RETURNED"
    HANDED_OVER = "HANDED_OVER"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    ON_HOLD = "ON_HOLD"


class RepatriationAction(StrEnum):
    ACKNOWLEDGE = "ACKNOWLEDGE"
    VERIFY = "VERIFY"
    ISSUE_DOCUMENTS = "ISSUE_DOCUMENTS"
    ARRANGE_TRAVEL = "ARRANGE_TRAVEL"
    RETURN = "RETURN"
    CONFIRM_HANDOVER = "CONFIRM_HANDOVER"
    CLOSE = "CLOSE"
    REJECT = "REJECT"
    CANCEL = "CANCEL"
    HOLD = "HOLD"
    RESUME = "RESUME"
    # The hub's own hold while the survivor's consent does not cover the request, and its end.
    CONSENT_HOLD = "CONSENT_HOLD"
    CONSENT_RESUME = "CONSENT_RESUME"


class Situation(StrEnum):
    IMMIGRATION_DETENTION = "IMMIGRATION_DETENTION"
    SHELTER = "SHELTER"
    HOSPITAL = "HOSPITAL"
    WITH_EMPLOYER = "WITH_EMPLOYER"
    PRISON = "PRISON"
    OTHER = "OTHER"


class DocumentHeld(StrEnum):
    PASSPORT = "PASSPORT"
    NATIONAL_ID = "NATIONAL_ID"
    NONE = "NONE"


class Assistance(StrEnum):
    NATIONALITY_VERIFICATION = "NATIONALITY_VERIFICATION"
    TRAVEL_DOCUMENT = "TRAVEL_DOCUMENT"
    AIR_TICKET = "AIR_TICKET"
    ACCOMMODATION = "ACCOMMODATION"
    ESCORT = "ESCORT"
    MEDICAL = "MEDICAL"


class CostItem(StrEnum):
    """What a cost paid for, on any funded subject (see ``cases.funding``)."""

    AIR_TICKET = "AIR_TICKET"
    ACCOMMODATION = "ACCOMMODATION"
    OTHER = "OTHER"
    LAND_TICKET = "LAND_TICKET"
    FOOD = "FOOD"
    ESCORT = "ESCORT"
    DOCUMENTS = "DOCUMENTS"
    MEDICAL = "MEDICAL"
    LEGAL_FEES = "LEGAL_FEES"
    LIVING_ALLOWANCE = "LIVING_ALLOWANCE"
    GRANT = "GRANT"


S = RepatriationStatus
A = RepatriationAction
EMBASSY = frozenset({Role.RECEIVER})
REQUESTER = frozenset({Role.SENDER})
RECEPTION = frozenset({Role.RECEPTION})
EMBASSY_OR_REQUESTER = frozenset({Role.RECEIVER, Role.SENDER})
SYSTEM = frozenset({Role.SYSTEM})

# Holding returns to the state it came from: RESUME's target is resolved from the request.
HELD_FROM = "HELD_FROM"
ACTIVE = frozenset(
    {S.SUBMITTED, S.ACKNOWLEDGED, S.VERIFYING, S.DOCUMENTS_ISSUED, S.TRAVEL_ARRANGED}
)

REPATRIATION_WORKFLOW = Workflow(
    "repatriation request",
    [
        Transition(A.ACKNOWLEDGE, EMBASSY, frozenset({S.SUBMITTED}), S.ACKNOWLEDGED),
        Transition(A.VERIFY, EMBASSY, frozenset({S.ACKNOWLEDGED}), S.VERIFYING),
        Transition(A.ISSUE_DOCUMENTS, EMBASSY, frozenset({S.VERIFYING}), S.DOCUMENTS_ISSUED),
        Transition(A.ARRANGE_TRAVEL, EMBASSY, frozenset({S.DOCUMENTS_ISSUED}), S.TRAVEL_ARRANGED),
        Transition(A.RETURN, EMBASSY, frozenset({S.TRAVEL_ARRANGED}), S.RETURNED),
        Transition(A.CONFIRM_HANDOVER, RECEPTION, frozenset({S.RETURNED}), S.HANDED_OVER),
        Transition(A.CLOSE, EMBASSY_OR_REQUESTER, frozenset({S.HANDED_OVER}), S.CLOSED),
        Transition(
            A.REJECT,
            EMBASSY,
            frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.VERIFYING}),
            S.REJECTED,
            True,
        ),
        Transition(A.CANCEL, REQUESTER, ACTIVE | {S.ON_HOLD}, S.CANCELLED, True),
        Transition(A.HOLD, EMBASSY_OR_REQUESTER, ACTIVE, S.ON_HOLD, True),
        Transition(A.RESUME, EMBASSY_OR_REQUESTER, frozenset({S.ON_HOLD}), HELD_FROM),
        Transition(A.CONSENT_HOLD, SYSTEM, ACTIVE | {S.ON_HOLD}, S.ON_HOLD),
        Transition(A.CONSENT_RESUME, SYSTEM, frozenset({S.ON_HOLD}), HELD_FROM),
    ],
    final={S.CLOSED, S.REJECTED, S.CANCELLED},
    states={
        S.SUBMITTED: "has been submitted and not yet acknowledged",
        S.ACKNOWLEDGED: "has been acknowledged and nationality is not yet being verified",
        S.VERIFYING: "is being verified",
        S.DOCUMENTS_ISSUED: "has its travel documents issued and no travel arranged yet",
        S.TRAVEL_ARRANGED: "has its travel arranged",
        S.RETURNED: "is back home and awaits hand-over",
        S.HANDED_OVER: "has already been handed over",
        S.CLOSED: "has already been closed",
        S.REJECTED: "has already been rejected",
        S.CANCELLED: "has already been cancelled",
        S.ON_HOLD: "is on hold",
    },
    role_names={
        Role.SENDER: "requesting organisation",
        Role.RECEIVER: "embassy",
        Role.RECEPTION: "reception organisation",
    },
)

# `updateRepatriation(status: …)` names the state to reach; this is the action it means.
ACTION_FOR_STATUS: dict[RepatriationStatus, RepatriationAction] = {
    S.ACKNOWLEDGED: A.ACKNOWLEDGE,
    S.VERIFYING: A.VERIFY,
    S.DOCUMENTS_ISSUED: A.ISSUE_DOCUMENTS,
    S.TRAVEL_ARRANGED: A.ARRANGE_TRAVEL,
    S.RETURNED: A.RETURN,
    S.HANDED_OVER: A.CONFIRM_HANDOVER,
    S.CLOSED: A.CLOSE,
    S.REJECTED: A.REJECT,
    S.CANCELLED: A.CANCEL,
    S.ON_HOLD: A.HOLD,
}


# While held for consent the parties may only let the request go.
ALLOWED_WHILE_HELD_FOR_CONSENT = frozenset({A.REJECT, A.CANCEL, A.CONSENT_RESUME})


def check_not_held_for_consent(held_for_consent: bool, action: str) -> None:
    """INVALID_TRANSITION for a step forward while the survivor's consent does not cover it."""
    if held_for_consent and action not in ALLOWED_WHILE_HELD_FOR_CONSENT:
        raise HubError(
            ErrorCode.INVALID_TRANSITION,
            "the request is on hold until the survivor's consent covers it again",
        )


def action_for_update(current: str, held_from: str | None, target: RepatriationStatus) -> str:
    """The action an update to ``target`` means; going back to the held-from state resumes."""
    if current == S.ON_HOLD and held_from is not None and target == held_from:
        return A.RESUME
    return ACTION_FOR_STATUS.get(target, "SET_" + target.value)


# The history entry of a change that is not a transition (status stays): a travel plan.
TRAVEL_PLAN_ACTION = "RECORD_TRAVEL_PLAN"
