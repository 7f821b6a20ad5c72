"""Every sealed column says which case its values are about, so erasure can find them all.

A column added to the registry without a binding fails here by name, instead of leaving a
survivor's text behind when her case is erased.
"""

from __future__ import annotations

from cases.reseal import SEALED_COLUMNS, CaseBinding, Undeclared


def test_every_registered_sealed_column_declares_its_case_binding() -> None:
    undeclared = [
        f"{spec.table}.{spec.column.key}"
        for spec in SEALED_COLUMNS
        if isinstance(spec.case, Undeclared)
    ]
    assert undeclared == []


def test_a_binding_starts_at_the_sealed_columns_own_table() -> None:
    for spec in SEALED_COLUMNS:
        if isinstance(spec.case, CaseBinding):
            assert spec.case.key.class_ is spec.column.class_, spec.table
            if spec.case.parent_case is None:
                assert spec.case.key.key == "case_id", spec.table
            else:
                assert spec.case.parent_case.key == "case_id", spec.table


def test_survivor_columns_are_bound_and_only_secrets_and_keys_are_not() -> None:
    unbound = {spec.table for spec in SEALED_COLUMNS if spec.case is None}
    assert unbound == {
        "webhooks",
        "case_keys",
        "case_erasures",
        "legal_case_changes",
        "legal_case_hearings",
        # Staff members' second factors: people of the network, not survivors.
        "staff",
        "staff_invites",
    }
    bound = {spec.table for spec in SEALED_COLUMNS if isinstance(spec.case, CaseBinding)}
    assert {"case_fields", "referrals", "repatriation_requests", "consent_withdrawals"} <= bound
