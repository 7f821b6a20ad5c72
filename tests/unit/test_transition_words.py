"""Refusals of a step out of turn, in plain words, with what the caller may do now:
computed from the transition tables, no database."""

from __future__ import annotations

import pytest

from cases.referral_rules import REFERRAL_WORKFLOW, ReferralAction, ReferralStatus
from cases.repatriation_rules import (
    REPATRIATION_WORKFLOW,
    RepatriationAction,
    RepatriationStatus,
)
from cases.workflow import Role
from store.errors import ErrorCode, HubError

R = ReferralStatus
S = RepatriationStatus


def refused(workflow: object, current: str, action: str, *roles: Role) -> HubError:
    assert hasattr(workflow, "next_state")
    with pytest.raises(HubError) as caught:
        workflow.next_state(current, action, roles[0], roles)
    assert caught.value.code is ErrorCode.INVALID_TRANSITION
    return caught.value


def test_a_handed_over_request_tells_the_reception_nothing_is_left_and_the_embassy_to_close() -> (
    None
):
    error = refused(
        REPATRIATION_WORKFLOW, S.HANDED_OVER, RepatriationAction.CONFIRM_HANDOVER, Role.RECEPTION
    )
    assert error.message == (
        "Cannot confirm handover: this repatriation request has already been handed over; "
        "allowed now: none"
    )
    assert error.extensions == {"allowedActions": []}
    embassy = refused(
        REPATRIATION_WORKFLOW, S.HANDED_OVER, RepatriationAction.CONFIRM_HANDOVER, Role.RECEIVER
    )
    assert embassy.message == (
        "Cannot confirm handover: only the reception organisation of a repatriation request "
        "may do that; allowed now: close"
    )
    assert embassy.extensions == {"allowedActions": ["CLOSE"]}


def test_an_organisation_holding_two_roles_is_told_what_either_may_do() -> None:
    error = refused(
        REPATRIATION_WORKFLOW, S.SUBMITTED, RepatriationAction.RETURN, Role.SENDER, Role.RECEIVER
    )
    assert error.extensions["allowedActions"] == ["ACKNOWLEDGE", "REJECT", "CANCEL", "HOLD"]
    assert error.message.endswith("allowed now: acknowledge, reject, cancel, hold")


def test_every_final_state_allows_nothing_and_says_so() -> None:
    for workflow, roles in (
        (REFERRAL_WORKFLOW, (Role.SENDER, Role.RECEIVER)),
        (REPATRIATION_WORKFLOW, (Role.SENDER, Role.RECEIVER, Role.RECEPTION)),
    ):
        for state in workflow.final:
            assert workflow.allowed_now(state, roles) == [], state
            # Every state has its own words, not the fallback.
            assert state in workflow.states, state


def test_every_state_of_both_tables_has_words() -> None:
    assert set(REFERRAL_WORKFLOW.states) == set(ReferralStatus)
    assert set(REPATRIATION_WORKFLOW.states) == set(RepatriationStatus)


def test_the_allowed_actions_are_exactly_those_the_table_would_take() -> None:
    roles = (Role.SENDER, Role.RECEIVER)
    for state in ReferralStatus:
        allowed = REFERRAL_WORKFLOW.allowed_now(state, roles)
        for action in ReferralAction:
            takes = any(REFERRAL_WORKFLOW.allows(state, action, r) for r in roles)
            assert (action in allowed) == takes, (state, action)
