"""Pure rules of the journey's gaps: who sees a document listed, when a funder may go."""

from __future__ import annotations

import pytest

from cases.document_listing import opens
from cases.funding_rules import check_removable
from store.errors import ErrorCode, HubError


@pytest.mark.parametrize(
    ("reader", "identity_allowed", "consented", "expected"),
    [
        ("owner", True, False, True),
        ("uploader", True, False, True),
        ("other", True, True, True),
        ("other", True, False, False),
        # identity papers without `pii:read`: nobody, the owner included
        ("owner", False, True, False),
        ("other", False, True, False),
    ],
)
def test_a_document_is_listed_exactly_when_it_may_be_opened(
    reader: str, identity_allowed: bool, consented: bool, expected: bool
) -> None:
    assert (
        opens(reader, "owner", "uploader", identity_allowed=identity_allowed, consented=consented)
        is expected
    )


def test_a_funder_goes_only_while_it_has_recorded_no_cost() -> None:
    check_removable(0)
    with pytest.raises(HubError) as kept:
        check_removable(2)
    assert kept.value.code is ErrorCode.CONFLICT and "stay on record" in kept.value.message
