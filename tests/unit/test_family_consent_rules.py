"""When a family member may consent for a person abroad: every grantor, with and without a
basis, before and after her own consent. Written out by hand."""

from __future__ import annotations

import itertools

import pytest

from consent.rules import OWN_GRANTORS, Grantor, family_consent_refusal

# (grantor, has a basis, her own consent already in force) -> may it be recorded?
EXPECTED: dict[tuple[Grantor, bool, bool], bool] = {
    (Grantor.FAMILY, True, False): True,
    (Grantor.FAMILY, False, False): False,  # a relative speaks for her only with a basis
    (Grantor.FAMILY, True, True): False,  # and only until her own consent exists
    (Grantor.FAMILY, False, True): False,
    (Grantor.SURVIVOR, False, False): True,
    (Grantor.SURVIVOR, False, True): True,
    (Grantor.SURVIVOR, True, False): False,  # a basis belongs to a FAMILY grant only
    (Grantor.SURVIVOR, True, True): False,
    (Grantor.GUARDIAN, False, False): True,
    (Grantor.GUARDIAN, False, True): True,
    (Grantor.GUARDIAN, True, False): False,
    (Grantor.GUARDIAN, True, True): False,
}


def test_the_table_covers_every_grantor() -> None:
    assert set(EXPECTED) == set(itertools.product(Grantor, (True, False), (True, False)))


@pytest.mark.parametrize(("grantor", "basis", "own"), list(EXPECTED))
def test_a_grant_may_be_recorded_exactly_when_the_table_says(
    grantor: Grantor, basis: bool, own: bool
) -> None:
    refusal = family_consent_refusal(grantor, basis, own)
    assert (refusal is None) is EXPECTED[(grantor, basis, own)]
    if refusal is not None:
        assert "familyBasis" in refusal or "own consent" in refusal


def test_her_own_consent_or_her_guardians_replaces_her_familys() -> None:
    assert OWN_GRANTORS == {Grantor.SURVIVOR, Grantor.GUARDIAN}
    assert Grantor.FAMILY not in OWN_GRANTORS
