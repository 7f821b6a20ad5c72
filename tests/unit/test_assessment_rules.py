"""Who counts as a child for the family-assessment rule, and what a positive assessment is."""

from __future__ import annotations

from datetime import date

import pytest

from cases.assessment_rules import (
    age_on,
    check_items,
    check_note,
    child_return_refused,
    family_allows_return,
    is_child,
)
from cases.free_text import TextField, category_of
from cases.rules import AgeBand
from consent.rules import DataCategory
from orgs.rules import ServiceCategory
from store.errors import ErrorCode, HubError

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("band", "born", "estimated", "child"),
    [
        (AgeBand.AGE_0_8, None, None, True),
        (AgeBand.AGE_9_17, None, None, True),
        (AgeBand.AGE_18_20, None, None, False),
        (AgeBand.UNKNOWN, None, None, False),
        # Any record saying under 18 is enough, whatever the band says.
        (AgeBand.AGE_18_20, "2010-05-01", None, True),
        (AgeBand.UNKNOWN, None, 15, True),
        (AgeBand.AGE_9_17, "1990-01-01", 30, True),
        # 18 today is an adult; 18 tomorrow is still a child.
        (AgeBand.AGE_18_20, "2008-11-29", None, False),
        (AgeBand.AGE_18_20, "2008-11-30", None, True),
        (AgeBand.AGE_18_20, None, 18, False),
        (AgeBand.AGE_18_20, "not a date", None, False),
    ],
)
def test_a_child_by_any_record_of_the_case(
    band: AgeBand, born: str | None, estimated: int | None, child: bool
) -> None:
    assert is_child(band.value, born, estimated, TODAY) is child


def test_age_counts_whole_years() -> None:
    assert age_on(date(2010, 11, 29), TODAY) == 16
    assert age_on(date(2010, 11, 30), TODAY) == 15


@pytest.mark.parametrize(
    ("traced", "safe", "allowed"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_only_a_traced_family_and_a_safe_home_let_a_child_travel(
    traced: bool, safe: bool, allowed: bool
) -> None:
    assert family_allows_return(traced, safe) is allowed


def test_the_refusal_is_an_invalid_transition_with_its_reason() -> None:
    refused = child_return_refused()
    assert refused.code is ErrorCode.INVALID_TRANSITION
    assert refused.extensions == {"reason": "FAMILY_ASSESSMENT_REQUIRED"}


def test_each_part_is_released_under_its_fixed_category() -> None:
    expected = {
        TextField.ASSESSMENT_NEEDS: DataCategory.HEALTH,
        TextField.ASSESSMENT_RISKS: DataCategory.TRAFFICKING_EXPERIENCE,
        TextField.ASSESSMENT_IDENTIFICATION: DataCategory.TRAFFICKING_EXPERIENCE,
        TextField.FAMILY_TRACING: DataCategory.IDENTITY,
        TextField.FAMILY_SAFETY: DataCategory.LOCATION,
    }
    for text_field, category in expected.items():
        # A stored category cannot move a fixed one.
        assert category_of(text_field, "LEGAL") is category


def test_notes_and_lists_are_bounded_and_never_echoed() -> None:
    with pytest.raises(HubError) as long:
        check_note("needsNote", "x" * 2001)
    assert long.value.code is ErrorCode.BAD_USER_INPUT and "xxx" not in long.value.message
    with pytest.raises(HubError):
        check_note("safetyReasons", "  ", required=True)
    assert check_note("needsNote", "  ") is None
    assert check_items("needs", [ServiceCategory.SHELTER, ServiceCategory.MEDICAL] * 3) == [
        "MEDICAL",
        "SHELTER",
    ]
