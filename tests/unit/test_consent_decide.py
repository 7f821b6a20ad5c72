"""The consent policy on its own: no database, no GraphQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consent.rules import DataCategory, DenyReason, Grant, Purpose, Recipient, decide

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ADHOC = Recipient("org-adhoc", "LEGAL_AID")
SHELTER = Recipient("org-shelter", "SERVICE_PROVIDER")
EMBASSY = Recipient("org-embassy-bkk", "EMBASSY")


def grant(
    *,
    id: str = "g1",
    version: int = 1,
    purposes: set[Purpose] | None = None,
    categories: set[DataCategory] | None = None,
    orgs: set[str] | None = None,
    kinds: set[str] | None = None,
    valid_from: datetime = NOW - timedelta(days=1),
    valid_until: datetime | None = None,
    withdrawn_at: datetime | None = None,
) -> Grant:
    return Grant(
        id=id,
        version=version,
        purposes=frozenset(purposes or {Purpose.LEGAL_AID}),
        categories=frozenset(categories or {DataCategory.IDENTITY, DataCategory.LEGAL}),
        valid_from=valid_from,
        valid_until=valid_until,
        recipient_organizations=frozenset(orgs if orgs is not None else {"org-adhoc"}),
        recipient_kinds=frozenset(kinds or set()),
        withdrawn_at=withdrawn_at,
    )


def test_a_named_recipient_is_allowed_what_the_survivor_agreed_to() -> None:
    decision = decide([grant()], ADHOC, Purpose.LEGAL_AID, DataCategory.IDENTITY, NOW)
    assert decision.allowed and decision.grant_id == "g1" and decision.grant_version == 1


def test_without_any_grant_nothing_is_allowed() -> None:
    decision = decide([], ADHOC, Purpose.LEGAL_AID, DataCategory.IDENTITY, NOW)
    assert decision == decide([], ADHOC, Purpose.LEGAL_AID, DataCategory.IDENTITY, NOW)
    assert not decision.allowed and decision.reason is DenyReason.RECIPIENT_NOT_COVERED


def test_another_organisation_is_not_covered_by_a_named_grant() -> None:
    decision = decide([grant()], SHELTER, Purpose.LEGAL_AID, DataCategory.IDENTITY, NOW)
    assert decision.reason is DenyReason.RECIPIENT_NOT_COVERED


def test_a_kind_covers_every_organisation_of_that_kind() -> None:
    by_kind = grant(orgs=set(), kinds={"EMBASSY"}, purposes={Purpose.REPATRIATION})
    assert decide([by_kind], EMBASSY, Purpose.REPATRIATION, DataCategory.IDENTITY, NOW).allowed
    assert not decide([by_kind], ADHOC, Purpose.REPATRIATION, DataCategory.IDENTITY, NOW).allowed


def test_purpose_and_category_must_both_be_covered() -> None:
    g = grant()
    purpose = decide([g], ADHOC, Purpose.STATISTICS, DataCategory.IDENTITY, NOW)
    category = decide([g], ADHOC, Purpose.LEGAL_AID, DataCategory.HEALTH, NOW)
    assert purpose.reason is DenyReason.PURPOSE_NOT_COVERED
    assert category.reason is DenyReason.CATEGORY_NOT_COVERED


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (NOW - timedelta(days=2), DenyReason.NOT_YET_VALID),
        (NOW - timedelta(days=1), None),
        (NOW + timedelta(days=29, hours=23), None),
        (NOW + timedelta(days=30), DenyReason.EXPIRED),
    ],
)
def test_a_grant_holds_from_its_start_until_its_end(at: datetime, expected: DenyReason) -> None:
    g = grant(valid_until=NOW + timedelta(days=30))
    decision = decide([g], ADHOC, Purpose.LEGAL_AID, DataCategory.LEGAL, at)
    assert decision.allowed is (expected is None)
    assert decision.reason is expected


def test_withdrawal_takes_effect_from_its_moment_not_before() -> None:
    g = grant(withdrawn_at=NOW)
    before = decide([g], ADHOC, Purpose.LEGAL_AID, DataCategory.LEGAL, NOW - timedelta(seconds=1))
    after = decide([g], ADHOC, Purpose.LEGAL_AID, DataCategory.LEGAL, NOW)
    assert before.allowed
    assert not after.allowed and after.reason is DenyReason.WITHDRAWN


def test_withdrawal_is_reported_before_a_mere_miss_of_another_grant() -> None:
    withdrawn = grant(id="g1", withdrawn_at=NOW - timedelta(hours=1))
    other_purpose = grant(id="g2", purposes={Purpose.FOLLOW_UP})
    decision = decide([other_purpose, withdrawn], ADHOC, Purpose.LEGAL_AID, DataCategory.LEGAL, NOW)
    assert decision.reason is DenyReason.WITHDRAWN


def test_an_overlapping_grant_still_in_force_keeps_allowing() -> None:
    withdrawn = grant(id="g1", version=1, withdrawn_at=NOW - timedelta(hours=1))
    renewed = grant(id="g2", version=2, valid_from=NOW - timedelta(minutes=30))
    decision = decide([withdrawn, renewed], ADHOC, Purpose.LEGAL_AID, DataCategory.LEGAL, NOW)
    assert decision.allowed and decision.grant_id == "g2"


def test_the_newest_grant_in_force_is_the_one_cited() -> None:
    older = grant(id="g1", version=1, valid_from=NOW - timedelta(days=10))
    newer = grant(id="g2", version=2, valid_from=NOW - timedelta(days=2))
    for order in ([older, newer], [newer, older]):
        decision = decide(order, ADHOC, Purpose.LEGAL_AID, DataCategory.IDENTITY, NOW)
        assert (decision.grant_id, decision.grant_version) == ("g2", 2)
