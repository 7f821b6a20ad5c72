"""Every enum value the service and repatriation pages show has words in every language
(the template check sees only literal ``_("...")``; these come from the rules' enums)."""

from __future__ import annotations

from cases.referral_rules import Urgency
from cases.repatriation_rules import (
    Assistance,
    CostItem,
    DocumentHeld,
    RepatriationStatus,
    Situation,
)
from gateway.console.catalogs import po_files, read_catalog
from gateway.console.sendpages import REPATRIATION_ACTIONS
from orgs.directory import CapacityStatus
from orgs.rules import ServiceCategory


def test_every_value_shown_has_a_translation() -> None:
    shown = {
        str(v)
        for enum in (
            Urgency,
            Assistance,
            CostItem,
            DocumentHeld,
            RepatriationStatus,
            Situation,
            CapacityStatus,
            ServiceCategory,
        )
        for v in enum
    } | {str(a) for a in REPATRIATION_ACTIONS}
    for po in po_files():
        words = {str(m.id): str(m.string) for m in read_catalog(po) if m.id}
        missing = sorted(v for v in shown if not words.get(v, "").strip())
        assert missing == [], (po.parent.parent.name, missing)


def test_the_hub_own_consent_steps_are_never_offered() -> None:
    assert "CONSENT_HOLD" not in REPATRIATION_ACTIONS
    assert "CONSENT_RESUME" not in REPATRIATION_ACTIONS
    assert "CONFIRM_HANDOVER" in REPATRIATION_ACTIONS
