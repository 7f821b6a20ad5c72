"""The reintegration tables (plan, service, visit), checked cell by cell against tables
written out by hand, and the rule that completes a plan and closes its case."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from cases.reintegration_rules import (
    PLAN_WORKFLOW,
    SERVICE_WORKFLOW,
    VISIT_WORKFLOW,
    PlanAction,
    PlanStatus,
    ServiceAction,
    ServiceKind,
    ServiceStatus,
    VisitAction,
    VisitOutcome,
    VisitState,
    VisitStatus,
    case_status_for,
    check_grant_start,
    check_services,
    plan_complete,
)
from cases.rules import CaseStatus
from cases.workflow import Role, Workflow
from store.errors import ErrorCode, HubError

OWNER, DOER, RECEPTION, HUB = Role.SENDER, Role.RECEIVER, Role.RECEPTION, Role.SYSTEM
P, S, V = PlanStatus, ServiceStatus, VisitStatus

# (status, action, role) -> (target, needs a reason). Written by hand from the issue and the
# network's practice: the hub completes a plan (when ``plan_complete`` holds), only the case
# owner cancels one, with a reason; the provider or the owner starts, completes or ends (with
# a reason) a service; the visitor or the owner records a visit, only the owner cancels one.
PLAN_CELLS: dict[tuple[str, str, Role], tuple[str, bool]] = {
    (P.ACTIVE, PlanAction.COMPLETE, HUB): (P.COMPLETED, False),
    (P.ACTIVE, PlanAction.CANCEL, OWNER): (P.CANCELLED, True),
}
SERVICE_CELLS: dict[tuple[str, str, Role], tuple[str, bool]] = {
    (S.PLANNED, ServiceAction.START, OWNER): (S.IN_PROGRESS, False),
    (S.PLANNED, ServiceAction.START, DOER): (S.IN_PROGRESS, False),
    (S.IN_PROGRESS, ServiceAction.COMPLETE, OWNER): (S.COMPLETED, False),
    (S.IN_PROGRESS, ServiceAction.COMPLETE, DOER): (S.COMPLETED, False),
    (S.PLANNED, ServiceAction.END, OWNER): (S.ENDED, True),
    (S.PLANNED, ServiceAction.END, DOER): (S.ENDED, True),
    (S.IN_PROGRESS, ServiceAction.END, OWNER): (S.ENDED, True),
    (S.IN_PROGRESS, ServiceAction.END, DOER): (S.ENDED, True),
}
VISIT_CELLS: dict[tuple[str, str, Role], tuple[str, bool]] = {
    (V.SCHEDULED, VisitAction.RECORD, OWNER): (V.DONE, False),
    (V.SCHEDULED, VisitAction.RECORD, DOER): (V.DONE, False),
    (V.SCHEDULED, VisitAction.CANCEL, OWNER): (V.CANCELLED, True),
}
TABLES: list[tuple[Workflow, type, type, dict[tuple[str, str, Role], tuple[str, bool]]]] = [
    (PLAN_WORKFLOW, PlanStatus, PlanAction, PLAN_CELLS),
    (SERVICE_WORKFLOW, ServiceStatus, ServiceAction, SERVICE_CELLS),
    (VISIT_WORKFLOW, VisitStatus, VisitAction, VISIT_CELLS),
]
CELLS = [
    (workflow, status, action, role, expected.get((status, action, role)))
    for workflow, statuses, actions, expected in TABLES
    for status, action, role in itertools.product(statuses, actions, Role)
]


def _id(cell: tuple[Workflow, str, str, Role, object]) -> str:
    return f"{cell[0].name}-{cell[1]}-{cell[2]}-{cell[3].value}"


def test_the_hand_written_tables_cover_every_status_action_and_role() -> None:
    assert len(CELLS) == 3 * 2 * 4 + 4 * 3 * 4 + 3 * 2 * 4 == 96
    assert len([c for c in CELLS if c[4] is not None]) == 13
    assert PLAN_WORKFLOW.final == {P.COMPLETED, P.CANCELLED}
    assert SERVICE_WORKFLOW.final == {S.COMPLETED, S.ENDED}
    assert VISIT_WORKFLOW.final == {V.DONE, V.CANCELLED}


@pytest.mark.parametrize("cell", CELLS, ids=map(_id, CELLS))
def test_each_cell_is_allowed_exactly_as_the_table_says(
    cell: tuple[Workflow, str, str, Role, tuple[str, bool] | None],
) -> None:
    workflow, status, action, role, expected = cell
    assert workflow.allows(status, action, role) is (expected is not None)
    if expected is None:
        with pytest.raises(HubError) as refused:
            workflow.next_state(status, action, role)
        assert refused.value.code is ErrorCode.INVALID_TRANSITION
        return
    step = workflow.next_state(status, action, role)
    assert (step.target, step.needs_reason) == expected


def test_a_refusal_names_who_may_act_and_what_is_allowed_now() -> None:
    with pytest.raises(HubError) as refused:
        VISIT_WORKFLOW.next_state(V.SCHEDULED, VisitAction.CANCEL, DOER)
    assert "only the case owner" in refused.value.message
    assert refused.value.extensions == {"allowedActions": ["RECORD"]}


NOW = datetime(2027, 3, 1, tzinfo=UTC)


def visit(status: VisitStatus, outcome: VisitOutcome | None = None, days: int = 0) -> VisitState:
    recorded = NOW + timedelta(days=days) if status is V.DONE else None
    return VisitState(status, outcome, recorded)


DONE_SAFE = visit(V.DONE, VisitOutcome.SAFE)


@pytest.mark.parametrize(
    ("services", "visits", "complete"),
    [
        # every service finished (completed or ended), no open visit, last visit settled
        ([S.COMPLETED], [DONE_SAFE], True),
        ([S.COMPLETED, S.ENDED], [DONE_SAFE, visit(V.CANCELLED)], True),
        ([S.ENDED], [visit(V.DONE, VisitOutcome.SEEN)], True),
        ([S.COMPLETED], [visit(V.DONE, VisitOutcome.NEEDS_MET)], True),
        # a service still planned or in progress
        ([S.COMPLETED, S.IN_PROGRESS], [DONE_SAFE], False),
        ([S.PLANNED], [DONE_SAFE], False),
        # no service at all
        ([], [DONE_SAFE], False),
        # a visit still scheduled
        ([S.COMPLETED], [DONE_SAFE, visit(V.SCHEDULED)], False),
        # no visit recorded (none, or only cancelled)
        ([S.COMPLETED], [], False),
        ([S.COMPLETED], [visit(V.CANCELLED)], False),
        # the most recent visit did not find her settled
        ([S.COMPLETED], [DONE_SAFE, visit(V.DONE, VisitOutcome.AT_RISK, 1)], False),
        ([S.COMPLETED], [DONE_SAFE, visit(V.DONE, VisitOutcome.NOT_FOUND, 1)], False),
        ([S.COMPLETED], [DONE_SAFE, visit(V.DONE, VisitOutcome.RE_TRAFFICKED, 1)], False),
        # ... but a later settled visit counts, whatever the order they are listed in
        (
            [S.COMPLETED],
            [visit(V.DONE, VisitOutcome.SAFE, 2), visit(V.DONE, VisitOutcome.AT_RISK, 1)],
            True,
        ),
    ],
)
def test_a_plan_completes_only_when_everything_is_done_and_she_is_settled(
    services: list[ServiceStatus], visits: list[VisitState], complete: bool
) -> None:
    assert plan_complete(services, visits) is complete


def test_the_case_follows_the_plan() -> None:
    assert case_status_for([S.PLANNED, S.COMPLETED], False) is CaseStatus.REINTEGRATING
    assert case_status_for([S.COMPLETED, S.ENDED], False) is CaseStatus.FOLLOW_UP
    assert case_status_for([S.COMPLETED], True) is CaseStatus.CLOSED


def test_a_small_business_grant_comes_after_financial_literacy() -> None:
    K = ServiceKind
    with pytest.raises(HubError) as missing:
        check_services([K.SMALL_BUSINESS_GRANT])
    assert missing.value.code is ErrorCode.BAD_USER_INPUT
    check_services([K.SMALL_BUSINESS_GRANT, K.FINANCIAL_LITERACY_TRAINING])
    with pytest.raises(HubError):
        check_services([])
    with pytest.raises(HubError):
        check_services([K.OTHER] * 21)
    for literacy in (S.PLANNED, S.IN_PROGRESS, S.ENDED):
        with pytest.raises(HubError) as early:
            check_grant_start(K.SMALL_BUSINESS_GRANT, [(K.FINANCIAL_LITERACY_TRAINING, literacy)])
        assert early.value.code is ErrorCode.INVALID_TRANSITION
    check_grant_start(K.SMALL_BUSINESS_GRANT, [(K.FINANCIAL_LITERACY_TRAINING, S.COMPLETED)])
    check_grant_start(K.JOB_PLACEMENT, [])
