"""The intervention lifecycle: an embassy asked to locate and assist a person still abroad.

Pure: no I/O. The embassy acknowledges, then records what it found (located, assisted,
rescued, or not found); the requesting member turns a found person into a repatriation
request, or lets the intervention go. The outcome states are the issue's words.
"""

from __future__ import annotations

from enum import StrEnum

from cases.workflow import Role, Transition, Workflow


class InterventionStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    LOCATED = "LOCATED"
    ASSISTED = "ASSISTED"
    RESCUED = "RESCUED"
    NOT_FOUND = "NOT_FOUND"
    REPATRIATION_REQUESTED = "REPATRIATION_REQUESTED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class InterventionOutcome(StrEnum):
    """What the embassy found: the outcome states of the table, by the issue's names."""

    LOCATED = "LOCATED"
    ASSISTED = "ASSISTED"
    RESCUED = "RESCUED"
    NOT_FOUND = "NOT_FOUND"


class InterventionAction(StrEnum):
    ACKNOWLEDGE = "ACKNOWLEDGE"
    LOCATE = "LOCATE"
    ASSIST = "ASSIST"
    RESCUE = "RESCUE"
    REPORT_NOT_FOUND = "REPORT_NOT_FOUND"
    RESUME_SEARCH = "RESUME_SEARCH"
    REQUEST_REPATRIATION = "REQUEST_REPATRIATION"
    CLOSE = "CLOSE"
    CANCEL = "CANCEL"


class Reporter(StrEnum):
    """Who told the member about the person abroad."""

    FAMILY = "FAMILY"
    SELF = "SELF"


S = InterventionStatus
A = InterventionAction
EMBASSY = frozenset({Role.RECEIVER})
REQUESTER = frozenset({Role.SENDER})
EITHER = frozenset({Role.RECEIVER, Role.SENDER})

# A person found (and perhaps helped or rescued) can be brought home.
FOUND = frozenset({S.LOCATED, S.ASSISTED, S.RESCUED})
OPEN = frozenset({S.SUBMITTED, S.ACKNOWLEDGED, *FOUND, S.NOT_FOUND})

INTERVENTION_WORKFLOW = Workflow(
    "intervention request",
    [
        Transition(A.ACKNOWLEDGE, EMBASSY, frozenset({S.SUBMITTED}), S.ACKNOWLEDGED),
        Transition(A.LOCATE, EMBASSY, frozenset({S.ACKNOWLEDGED}), S.LOCATED),
        Transition(A.ASSIST, EMBASSY, frozenset({S.ACKNOWLEDGED, S.LOCATED}), S.ASSISTED),
        Transition(
            A.RESCUE, EMBASSY, frozenset({S.ACKNOWLEDGED, S.LOCATED, S.ASSISTED}), S.RESCUED
        ),
        Transition(A.REPORT_NOT_FOUND, EMBASSY, frozenset({S.ACKNOWLEDGED}), S.NOT_FOUND, True),
        # New word from the family: the embassy looks again.
        Transition(A.RESUME_SEARCH, EITHER, frozenset({S.NOT_FOUND}), S.ACKNOWLEDGED, True),
        Transition(A.REQUEST_REPATRIATION, REQUESTER, FOUND, S.REPATRIATION_REQUESTED),
        Transition(A.CLOSE, EITHER, FOUND | {S.NOT_FOUND}, S.CLOSED),
        Transition(
            A.CANCEL, REQUESTER, frozenset({S.SUBMITTED, S.ACKNOWLEDGED}), S.CANCELLED, True
        ),
    ],
    final={S.REPATRIATION_REQUESTED, S.CLOSED, S.CANCELLED},
    states={
        S.SUBMITTED: "has been submitted and not yet acknowledged",
        S.ACKNOWLEDGED: "is acknowledged and the person not yet found",
        S.LOCATED: "has found the person",
        S.ASSISTED: "has found and assisted the person",
        S.RESCUED: "has rescued the person",
        S.NOT_FOUND: "has not found the person",
        S.REPATRIATION_REQUESTED: "has already led to a repatriation request",
        S.CLOSED: "has already been closed",
        S.CANCELLED: "has already been cancelled",
    },
    role_names={Role.SENDER: "requesting organisation", Role.RECEIVER: "embassy"},
)

# `updateIntervention(status: …)` names the state to reach; this is the action it means.
ACTION_FOR_STATUS: dict[InterventionStatus, InterventionAction] = {
    S.ACKNOWLEDGED: A.ACKNOWLEDGE,
    S.LOCATED: A.LOCATE,
    S.ASSISTED: A.ASSIST,
    S.RESCUED: A.RESCUE,
    S.NOT_FOUND: A.REPORT_NOT_FOUND,
    S.CLOSED: A.CLOSE,
    S.CANCELLED: A.CANCEL,
}


def action_for_update(current: str, target: InterventionStatus) -> str:
    """The action an update to ``target`` means; back to ACKNOWLEDGED from NOT_FOUND resumes
    the search. REPATRIATION_REQUESTED is reached only by opening the repatriation request."""
    if current == S.NOT_FOUND and target == S.ACKNOWLEDGED:
        return A.RESUME_SEARCH
    return ACTION_FOR_STATUS.get(target, "SET_" + target.value)


def outcome_of(status: str) -> InterventionOutcome | None:
    """The outcome a status records (None: not an outcome state)."""
    try:
        return InterventionOutcome(status)
    except ValueError:
        return None
