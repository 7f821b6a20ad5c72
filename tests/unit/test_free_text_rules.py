"""The rules for free text about a survivor, and for holding work while consent is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.free_text import STRICTEST, TEXT_RULES, TextField, category_of, stored_category
from cases.referral_rules import ReferralAction
from cases.referral_rules import check_not_held_for_consent as referral_check
from cases.repatriation_rules import RepatriationAction
from cases.repatriation_rules import check_not_held_for_consent as repatriation_check
from consent.rules import DataCategory, Grant, Purpose, Recipient, covers
from store.errors import ErrorCode, HubError

NOW = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)


def test_every_text_field_has_a_rule_and_unlabelled_text_is_health() -> None:
    assert set(TEXT_RULES) == set(TextField)
    assert STRICTEST is DataCategory.HEALTH
    assert category_of(TextField.REFERRAL_NOTES, None) is DataCategory.HEALTH
    assert category_of(TextField.REFERRAL_NOTES, "LEGAL") is DataCategory.LEGAL
    assert stored_category(TextField.REFERRAL_REASON, None) == "HEALTH"
    assert stored_category(TextField.REFERRAL_REASON, DataCategory.LOCATION) == "LOCATION"


def test_the_travel_plan_is_always_location_whatever_the_writer_says() -> None:
    plan = TextField.REPATRIATION_TRAVEL_PLAN
    assert category_of(plan, None) is DataCategory.LOCATION
    assert stored_category(plan, DataCategory.LEGAL) == "LOCATION"


def test_withheld_labels_are_the_graphql_paths() -> None:
    assert TextField.REFERRAL_OUTCOME_NOTE.label == "outcome.note"
    assert TextField.REPATRIATION_CHANGE_NOTE.label == "history.note"
    assert TextField.REPATRIATION_TRAVEL_PLAN.label == "travelPlan"


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError):
        category_of(TextField.REFERRAL_NOTES, "GOSSIP")


def _grant(**changes: object) -> Grant:
    values: dict[str, object] = {
        "id": "g1",
        "version": 1,
        "purposes": frozenset({Purpose.LEGAL_AID}),
        "categories": frozenset({DataCategory.LEGAL}),
        "valid_from": NOW - timedelta(days=1),
        "recipient_organizations": frozenset({"adhoc"}),
    }
    values.update(changes)
    return Grant(**values)  # type: ignore[arg-type]


def test_covers_needs_one_category_for_the_purpose_in_force_now() -> None:
    adhoc = Recipient("adhoc", "LEGAL_AID")
    assert covers([_grant()], adhoc, Purpose.LEGAL_AID, NOW)
    assert not covers([_grant()], adhoc, Purpose.REPATRIATION, NOW)
    assert not covers([_grant()], Recipient("other", "LEGAL_AID"), Purpose.LEGAL_AID, NOW)
    assert not covers([_grant(withdrawn_at=NOW)], adhoc, Purpose.LEGAL_AID, NOW)
    assert covers([_grant(withdrawn_at=NOW), _grant(id="g2")], adhoc, Purpose.LEGAL_AID, NOW)
    assert not covers([], adhoc, Purpose.LEGAL_AID, NOW)


@pytest.mark.parametrize("action", list(ReferralAction))
def test_a_referral_held_for_consent_can_only_be_let_go(action: ReferralAction) -> None:
    referral_check(False, action)  # not held: the table decides
    if action in (ReferralAction.DECLINE, ReferralAction.CANCEL, ReferralAction.CONSENT_RESUME):
        referral_check(True, action)
    else:
        with pytest.raises(HubError) as refused:
            referral_check(True, action)
        assert refused.value.code is ErrorCode.INVALID_TRANSITION


@pytest.mark.parametrize("action", list(RepatriationAction))
def test_a_request_held_for_consent_can_only_be_let_go(action: RepatriationAction) -> None:
    repatriation_check(False, action)
    allowed = (
        RepatriationAction.REJECT,
        RepatriationAction.CANCEL,
        RepatriationAction.CONSENT_RESUME,
    )
    if action in allowed:
        repatriation_check(True, action)
    else:
        with pytest.raises(HubError) as refused:
            repatriation_check(True, action)
        assert refused.value.code is ErrorCode.INVALID_TRANSITION
