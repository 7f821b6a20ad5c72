"""Reintegration after return: a plan of services and follow-up visits, and when it is done.

Pure: no I/O, no ORM, no GraphQL. Three small transition tables (plan, service, visit) on
the shared ``Workflow`` mechanism, and the one rule that closes a case: ``plan_complete``.

Roles: the case owner runs the plan (``Role.SENDER``); a provider runs its own service and a
visiting organisation records its own visit (``Role.RECEIVER``); the hub completes a plan
(``Role.SYSTEM``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cases.rules import CaseStatus
from cases.workflow import Role, Transition, Workflow
from store.errors import ErrorCode, HubError


class ServiceKind(StrEnum):
    """What reintegration assistance the network gives after return (CCPCR, ADHOC)."""

    VOCATIONAL_TRAINING = "VOCATIONAL_TRAINING"
    SCHOOL_ENROLMENT = "SCHOOL_ENROLMENT"
    NON_FORMAL_EDUCATION = "NON_FORMAL_EDUCATION"
    LIFE_SKILLS_TRAINING = "LIFE_SKILLS_TRAINING"
    FINANCIAL_LITERACY_TRAINING = "FINANCIAL_LITERACY_TRAINING"
    SMALL_BUSINESS_GRANT = "SMALL_BUSINESS_GRANT"
    JOB_PLACEMENT = "JOB_PLACEMENT"
    INTERNSHIP = "INTERNSHIP"
    FAMILY_LIVELIHOOD_COURSE = "FAMILY_LIVELIHOOD_COURSE"
    PSYCHOSOCIAL_COUNSELLING = "PSYCHOSOCIAL_COUNSELLING"
    MEDICAL_CARE = "MEDICAL_CARE"
    LEGAL_ASSISTANCE = "LEGAL_ASSISTANCE"
    COMMUNITY_BASED_REHABILITATION = "COMMUNITY_BASED_REHABILITATION"
    OTHER = "OTHER"


class PlanStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class PlanAction(StrEnum):
    COMPLETE = "COMPLETE"
    CANCEL = "CANCEL"


class ServiceStatus(StrEnum):
    PLANNED = "PLANNED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    ENDED = "ENDED"  # stopped before completion (dropped out, moved away): with a reason


class ServiceAction(StrEnum):
    START = "START"
    COMPLETE = "COMPLETE"
    END = "END"


class VisitStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class VisitAction(StrEnum):
    RECORD = "RECORD"
    CANCEL = "CANCEL"


class VisitOutcome(StrEnum):
    SEEN = "SEEN"
    SAFE = "SAFE"
    NEEDS_MET = "NEEDS_MET"
    AT_RISK = "AT_RISK"
    NOT_FOUND = "NOT_FOUND"
    RE_TRAFFICKED = "RE_TRAFFICKED"


# Outcomes the owner must hear about at once (an event of their own).
CONCERNS = frozenset({VisitOutcome.AT_RISK, VisitOutcome.RE_TRAFFICKED})
# Outcomes after which the survivor is known to be settled: only these let a plan complete.
SETTLED = frozenset({VisitOutcome.SEEN, VisitOutcome.SAFE, VisitOutcome.NEEDS_MET})

OWNER = frozenset({Role.SENDER})
OWNER_OR_DOER = frozenset({Role.SENDER, Role.RECEIVER})
SYSTEM = frozenset({Role.SYSTEM})

PLAN_WORKFLOW = Workflow(
    "reintegration plan",
    [
        Transition(
            PlanAction.COMPLETE, SYSTEM, frozenset({PlanStatus.ACTIVE}), PlanStatus.COMPLETED
        ),
        Transition(
            PlanAction.CANCEL, OWNER, frozenset({PlanStatus.ACTIVE}), PlanStatus.CANCELLED, True
        ),
    ],
    final={PlanStatus.COMPLETED, PlanStatus.CANCELLED},
    states={
        PlanStatus.ACTIVE: "is active",
        PlanStatus.COMPLETED: "has already been completed",
        PlanStatus.CANCELLED: "has already been cancelled",
    },
    role_names={Role.SENDER: "case owner"},
)

_S = ServiceStatus
SERVICE_WORKFLOW = Workflow(
    "reintegration service",
    [
        Transition(ServiceAction.START, OWNER_OR_DOER, frozenset({_S.PLANNED}), _S.IN_PROGRESS),
        Transition(
            ServiceAction.COMPLETE, OWNER_OR_DOER, frozenset({_S.IN_PROGRESS}), _S.COMPLETED
        ),
        Transition(
            ServiceAction.END,
            OWNER_OR_DOER,
            frozenset({_S.PLANNED, _S.IN_PROGRESS}),
            _S.ENDED,
            True,
        ),
    ],
    final={_S.COMPLETED, _S.ENDED},
    states={
        _S.PLANNED: "has not started yet",
        _S.IN_PROGRESS: "is in progress",
        _S.COMPLETED: "has already been completed",
        _S.ENDED: "has already ended",
    },
    role_names={Role.SENDER: "case owner", Role.RECEIVER: "provider"},
)

VISIT_WORKFLOW = Workflow(
    "follow-up visit",
    [
        Transition(
            VisitAction.RECORD, OWNER_OR_DOER, frozenset({VisitStatus.SCHEDULED}), VisitStatus.DONE
        ),
        Transition(
            VisitAction.CANCEL,
            OWNER,
            frozenset({VisitStatus.SCHEDULED}),
            VisitStatus.CANCELLED,
            True,
        ),
    ],
    final={VisitStatus.DONE, VisitStatus.CANCELLED},
    states={
        VisitStatus.SCHEDULED: "is scheduled",
        VisitStatus.DONE: "has already been recorded",
        VisitStatus.CANCELLED: "has already been cancelled",
    },
    role_names={Role.SENDER: "case owner", Role.RECEIVER: "visiting organisation"},
)

MAX_SERVICES = 20


def check_services(kinds: Sequence[ServiceKind]) -> None:
    """A plan names 1 to 20 services; a small-business grant comes with financial-literacy
    training in the same plan (grants are given only after that training, to the survivor
    and her family)."""
    if not kinds:
        raise HubError(ErrorCode.BAD_USER_INPUT, "services: name at least one service")
    if len(kinds) > MAX_SERVICES:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"services: at most {MAX_SERVICES}")
    if (
        ServiceKind.SMALL_BUSINESS_GRANT in kinds
        and ServiceKind.FINANCIAL_LITERACY_TRAINING not in kinds
    ):
        raise HubError(
            ErrorCode.BAD_USER_INPUT,
            "services: a SMALL_BUSINESS_GRANT needs FINANCIAL_LITERACY_TRAINING in the same plan",
        )


def check_grant_start(
    kind: ServiceKind, others: Iterable[tuple[ServiceKind, ServiceStatus]]
) -> None:
    """A grant starts only once financial-literacy training in the plan is completed."""
    if kind is not ServiceKind.SMALL_BUSINESS_GRANT:
        return
    if not any(
        k is ServiceKind.FINANCIAL_LITERACY_TRAINING and s is ServiceStatus.COMPLETED
        for k, s in others
    ):
        raise HubError(
            ErrorCode.INVALID_TRANSITION,
            "Cannot start a small-business grant before the financial-literacy training "
            "of the plan is completed",
        )


@dataclass(frozen=True, slots=True)
class VisitState:
    status: VisitStatus
    outcome: VisitOutcome | None
    recorded_at: datetime | None


def plan_complete(services: Iterable[ServiceStatus], visits: Iterable[VisitState]) -> bool:
    """The one rule that closes a case: its active plan is complete when

    - it has at least one service and every service is COMPLETED or ENDED;
    - no follow-up visit is still SCHEDULED;
    - at least one visit was recorded, and the most recently recorded one found the
      survivor settled (SEEN, SAFE or NEEDS_MET): a plan never completes on AT_RISK,
      NOT_FOUND or RE_TRAFFICKED, whatever else is done.
    """
    states = list(services)
    if not states or any(s not in SERVICE_WORKFLOW.final for s in states):
        return False
    held = list(visits)
    if any(v.status is VisitStatus.SCHEDULED for v in held):
        return False
    recorded = [v for v in held if v.status is VisitStatus.DONE and v.recorded_at is not None]
    if not recorded:
        return False
    last = max(recorded, key=lambda v: v.recorded_at or datetime.min)
    return last.outcome in SETTLED


def case_status_for(services: Iterable[ServiceStatus], complete: bool) -> CaseStatus:
    """Where an active plan puts its case: REINTEGRATING while a service is open, FOLLOW_UP
    once only visits remain, CLOSED when the plan is complete."""
    if complete:
        return CaseStatus.CLOSED
    if all(s in SERVICE_WORKFLOW.final for s in services):
        return CaseStatus.FOLLOW_UP
    return CaseStatus.REINTEGRATING
