"""The checked-in schema.graphql is the schema the code serves, and every breaking or
dangerous change since the released schema is on purpose, with a reason."""

from __future__ import annotations

import pytest

from schema.sdl import (
    ALLOWED,
    CHECKED_IN,
    RELEASED,
    Change,
    allowed_changes,
    changes,
    current_sdl,
    since_release,
)

REGENERATE = ".venv/bin/python -m schema.sdl > schema.graphql"

OLD = """
type Query { cases(first: Int! = 50): [Case!]! referral(id: ID!): Referral }
type Case { id: ID! fullName: String }
type Referral { id: ID! status: Status! }
enum Status { SENT ACKNOWLEDGED }
"""


def test_schema_graphql_is_the_schema_the_code_serves() -> None:
    checked_in = CHECKED_IN.read_text(encoding="utf-8")
    assert checked_in == current_sdl(), f"schema.graphql is out of date: run `{REGENERATE}`"


def test_every_breaking_or_dangerous_change_since_the_release_is_allowed_with_a_reason() -> None:
    found, allowed = since_release()
    for change in found:  # shown with -s or on failure
        print(f"{change.severity} {change.kind}: {change.description}")
    unlisted = [c for c in found if not allowed.get(c.description)]
    assert not unlisted, (
        f"changes since {RELEASED.name} that may break partners' clients; revert them or list "
        f"each in {ALLOWED.name} with its reason: {[c.description for c in unlisted]}"
    )
    stale = sorted(set(allowed) - {c.description for c in found})
    assert not stale, f"{ALLOWED.name} lists changes that are no longer made: {stale}"


def test_the_check_sees_a_removed_field_a_changed_type_and_an_added_enum_value() -> None:
    new = (
        OLD.replace("fullName: String", "")
        .replace("[Case!]!", "String")
        .replace("ACKNOWLEDGED", "ACKNOWLEDGED ACCEPTED")
    )
    assert changes(OLD, OLD) == []
    assert set(changes(OLD, new)) == {
        Change("BREAKING", "FIELD_REMOVED", "Field Case.fullName was removed."),
        Change(
            "BREAKING",
            "FIELD_CHANGED_KIND",
            "Field Query.cases changed type from [Case!]! to String.",
        ),
        Change(
            "DANGEROUS",
            "VALUE_ADDED_TO_ENUM",
            "Enum value Status.ACCEPTED was added.",
        ),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# only a comment\n\n", {}),
        ("A was removed.  # gone on purpose\n", {"A was removed.": "gone on purpose"}),
        ("B was removed.\n", {"B was removed.": ""}),  # no reason: not allowed
    ],
)
def test_the_allow_list_reads_a_description_and_its_reason(
    text: str, expected: dict[str, str]
) -> None:
    assert allowed_changes(text) == expected
