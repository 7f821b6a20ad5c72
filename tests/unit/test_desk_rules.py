"""The desk's rules: what is on the desk, how late, acknowledgement summaries, and which
API clients need the coordinator's attention. Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cases.desk_rules import (
    AcknowledgementRecord,
    ClientConcern,
    ClientPolicy,
    DeskItemKind,
    client_concerns,
    coordinator_may_read,
    key_expires_at,
    late_by,
    on_the_desk,
    percentile,
    summarise_acknowledgements,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_an_item_reaches_the_desk_when_overdue_or_escalated_and_stays_there() -> None:
    assert not on_the_desk(False, None)
    assert on_the_desk(True, None)
    assert on_the_desk(False, NOW)  # acknowledged late: settled, still in the history


def test_lateness_counts_from_the_deadline_and_is_never_negative() -> None:
    assert late_by(NOW - timedelta(hours=3), NOW) == timedelta(hours=3)
    assert late_by(NOW + timedelta(hours=3), NOW) == timedelta(0)


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    assert percentile([float(i) for i in range(1, 11)], 1.0) == 10.0


def test_only_organisations_with_something_late_are_summarised_worst_first() -> None:
    records = [
        AcknowledgementRecord("embassy", 7200.0, True),
        AcknowledgementRecord("embassy", 600.0, False),
        AcknowledgementRecord("embassy", 3600.0, True),
        AcknowledgementRecord("shelter", 60.0, False),
        AcknowledgementRecord("ministry", 90000.0, True),
    ]
    summary = summarise_acknowledgements(records, {"ministry": 2, "quiet": 0})
    assert [s.organization_id for s in summary] == ["ministry", "embassy"]
    ministry, embassy = summary
    assert (ministry.acknowledged, ministry.late, ministry.median_seconds) == (1, 3, 90000.0)
    assert (embassy.acknowledged, embassy.late) == (3, 2)
    assert (embassy.median_seconds, embassy.p90_seconds) == (3600.0, 7200.0)


def test_a_waiting_organisation_with_no_acknowledgement_yet_is_listed() -> None:
    (only,) = summarise_acknowledgements([], {"embassy": 1})
    assert (only.acknowledged, only.late, only.median_seconds) == (0, 1, None)


def test_client_concerns() -> None:
    policy = ClientPolicy()

    def concerns(created: int, rotated: int | None, token: int | None) -> set[ClientConcern]:
        return set(
            client_concerns(
                created_at=NOW - created * DAY,
                rotated_at=None if rotated is None else NOW - rotated * DAY,
                last_token_at=None if token is None else NOW - token * DAY,
                now=NOW,
                policy=policy,
            )
        )

    assert concerns(1, None, None) == set()
    assert concerns(1, None, 0) == set()
    assert concerns(40, None, None) == {ClientConcern.NEVER_USED}
    assert concerns(40, None, 31) == {ClientConcern.UNUSED}
    assert concerns(40, None, 29) == set()
    assert concerns(170, None, 1) == {ClientConcern.NEVER_ROTATED, ClientConcern.KEY_NEAR_EXPIRY}
    assert concerns(200, None, 1) == {ClientConcern.NEVER_ROTATED, ClientConcern.KEY_EXPIRED}
    assert concerns(400, 10, 1) == set()
    assert concerns(400, 190, 1) == {ClientConcern.KEY_EXPIRED}
    assert key_expires_at(NOW, None, policy) == NOW + 180 * DAY
    assert key_expires_at(NOW - DAY, NOW, policy) == NOW + 180 * DAY


def test_an_escalation_names_the_item_the_coordinator_may_read() -> None:
    assert coordinator_may_read(DeskItemKind.FOLLOW_UP_VISIT, "v-1") == {
        "kind": "FOLLOW_UP_VISIT",
        "id": "v-1",
        "query": "deskItem",
    }
