"""Lazy answers (schema.lazy_fields): every field of a referral and of a case reads what the
decided view holds, computed on first read, once; nothing but the eager fields is converted
while nothing is read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

import pytest

from cases.access import CaseView, Withheld
from cases.referral_reads import CaseRecord, ReferralRead
from cases.referral_rules import ReferralStatus, Urgency
from cases.rules import CaseStatus
from cases.text_access import TextView
from cases.text_views import ReferralView
from consent.rules import DataCategory
from orgs.rules import ServiceCategory
from schema import cases as case_schema
from schema.cases import Case
from schema.lazy_fields import Deferred, build, lazy_type, member
from schema.referrals import Referral

NOW = datetime(2026, 11, 30, 2, 40, tzinfo=UTC)


def _referral_row(**changes: Any) -> Any:
    row = {
        "id": "ref-1",
        "case_id": "case-1",
        "sender_organization_id": "org-s",
        "receiver_organization_id": "org-r",
        "services": ["LEGAL_AID", "SHELTER"],
        "urgency": "URGENT",
        "purpose": "LEGAL_AID",
        "status": "SENT",
        "version": 3,
        "outcome_services": None,
        "held_for_consent": False,
        "acknowledge_by": NOW - timedelta(hours=1),
        "respond_by": NOW + timedelta(days=2),
        "overdue": False,
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW - timedelta(hours=2),
    }
    return SimpleNamespace(**(row | changes))


def _case_view() -> CaseView:
    record = CaseRecord(
        id="case-1",
        reference="RH-2026-0001",
        owner_organization_id="org-s",
        status="OPEN",
        version=2,
        age_band="AGE_9_17",
        sex="FEMALE",
        nationality="KH",
        languages=["km"],
        needs=["LEGAL_AID"],
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=2),
    )
    return CaseView(
        case=record,  # type: ignore[arg-type]
        viewer_is_owner=False,
        withheld=[Withheld("phone", DataCategory.CONTACT, "no consent")],
    )


def test_every_referral_field_reads_the_view_once() -> None:
    row = _referral_row()
    texts = TextView(values={"reason": "r", "notes": "n"})
    read = ReferralRead(ReferralView(row, [], texts), case=_case_view())
    answer = Referral.from_read(read, {}, NOW)
    eager = {"id", "status", "urgency"}
    names = {f.name for f in dataclasses.fields(Referral) if f.init}
    assert eager < names and eager <= set(vars(answer))
    assert not (names - eager) & set(vars(answer)), "nothing else converted before a read"
    # Every other field has a maker: a field without one would read as missing.
    assert {n for n in names if isinstance(type(answer).__dict__.get(n), Deferred)} == (
        names - eager
    )
    expected = {
        "id": "ref-1",
        "case_id": "case-1",
        "sender_id": "org-s",
        "receiver_id": "org-r",
        "services": [ServiceCategory.LEGAL_AID, ServiceCategory.SHELTER],
        "urgency": Urgency.URGENT,
        "purpose": "LEGAL_AID",
        "status": ReferralStatus.SENT,
        "version": 3,
        "reason": "r",
        "notes": "n",
        "acknowledge_by": row.acknowledge_by,
        "respond_by": row.respond_by,
        "overdue": True,  # still SENT past its acknowledgement deadline at NOW
        "outcome": None,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "held_for_consent": False,
        "withheld": [],
        "history": [],
        "sender": None,
        "receiver": None,
    }
    for name, value in expected.items():
        assert getattr(answer, name) == value, name
    assert isinstance(answer, Referral)
    case = answer.case
    assert isinstance(case, Case) and case.id == "case-1"
    assert answer.case is case, "a field is computed once, then read as stored"
    services = answer.services
    assert answer.services is services


def test_a_case_converts_nothing_but_id_and_status_until_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    converted: list[str] = []
    original = case_schema._case_fields

    def counting(view: CaseView) -> dict[str, Any]:
        converted.append(view.case.id)
        return original(view)

    monkeypatch.setattr(case_schema, "_case_fields", counting)
    case = Case.from_view(_case_view())
    assert (case.id, case.status) == ("case-1", CaseStatus.OPEN)
    assert converted == []
    assert case.reference == "RH-2026-0001" and case.languages == ["km"]
    assert case.phone is None and case.home_province_place is None
    assert [(w.field, w.category, w.reason) for w in case.withheld] == [
        ("phone", DataCategory.CONTACT, "no consent")
    ]
    assert case.possible_duplicate is False and case.duplicate_hint is None
    assert converted == ["case-1"], "every other field converted at once, once"
    names = {f.name for f in dataclasses.fields(Case) if f.init}
    assert names <= set(vars(case))
    # Fields with a resolver stay the type's own methods.
    assert type(case).status_history is Case.status_history
    assert type(case).documents is Case.documents


class Colour(StrEnum):
    RED = "RED"


def test_member_is_the_enum_call() -> None:
    assert member(Colour, "RED") is Colour("RED")
    assert member(Colour, Colour.RED) is Colour.RED
    with pytest.raises(ValueError, match="'BLUE' is not a valid Colour"):
        member(Colour, "BLUE")


def test_a_deferred_field_runs_its_maker_once_per_object() -> None:
    @dataclasses.dataclass
    class Box:
        size: int
        label: str

    calls: list[int] = []

    def label(box: Any) -> str:
        calls.append(box.size)
        return f"box of {box.size}"

    lazy = lazy_type(Box, {"label": label})
    first, second = build(lazy, {"size": 1}), build(lazy, {"size": 2})
    assert isinstance(first, Box)
    assert (first.label, first.label, second.label) == ("box of 1", "box of 1", "box of 2")
    assert calls == [1, 2]
