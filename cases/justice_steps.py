"""The steps of a legal case after it is opened: a stage from the table, the judgment, the
compensation awarded and paid. Each is one transaction: the change, its history entry, an
event without survivor data and an audit entry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import pycountry
from sqlalchemy import update

from cases.case_keys import case_cipher
from cases.justice import (
    MAX_NOTE,
    bad,
    history_entry,
    load_legal_case,
    record_step,
    roles_of,
)
from cases.justice_models import LegalCase
from cases.justice_rules import (
    LEGAL_CASE_WORKFLOW,
    LegalCaseAction,
    LegalCaseStatus,
    Verdict,
    action_for_update,
)
from cases.models import CaseParty
from cases.workflow import Role, check_reason_text
from orgs.principal import Principal
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher
from store.types import utcnow

A = LegalCaseAction


def check_money(amount: str, currency: str) -> tuple[str, str]:
    """A positive decimal amount with two places and an ISO 4217 currency."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise bad("amount must be a decimal number such as 2500.00") from exc
    if not value.is_finite() or value <= 0 or value > Decimal("1000000000"):
        raise bad("amount must be positive")
    code = currency.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise bad("currency must be an ISO 4217 code such as USD, THB, KHR")
    return str(value.quantize(Decimal("0.01"))), code


async def act(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    legal_id: str,
    action: LegalCaseAction | str,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    values: dict[str, object] | None = None,
) -> LegalCase:
    """Apply one action from the legal case table, with the data it records (``values``)."""
    async with db.write() as session:
        legal = await load_legal_case(session, actor, legal_id)
        if expected_version is not None and expected_version != legal.version:
            raise HubError(ErrorCode.CONFLICT, "the legal case was changed by someone else")
        roles = roles_of(legal, actor.organization_id)
        allowed = [r for r in roles if LEGAL_CASE_WORKFLOW.allows(legal.status, str(action), r)]
        # A linked case's owner holds no role: the table refuses it with its reasons.
        role = allowed[0] if allowed else (sorted(roles)[0] if roles else Role.SYSTEM)
        step = LEGAL_CASE_WORKFLOW.next_state(legal.status, str(action), role, roles)
        why = check_reason_text(reason, step.needs_reason, MAX_NOTE)
        previous = legal.status
        now = utcnow()
        result = await session.execute(
            update(LegalCase)
            .where(LegalCase.id == legal.id, LegalCase.version == legal.version)
            .values(status=step.target, version=legal.version + 1, updated_at=now, **(values or {}))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise HubError(ErrorCode.CONFLICT, "the legal case was changed by someone else")
        await session.refresh(legal)
        session.add(
            history_entry(
                # The legal case's own key (cases/erasure.py shreds it with any survivor's).
                await case_cipher(session, cipher, legal.id),
                legal,
                str(action),
                previous,
                actor.organization_id,
                now,
                why,
            )
        )
        if legal.status in LEGAL_CASE_WORKFLOW.final:
            # The legal aid organisation's standing on the linked cases ends with the case.
            await session.execute(
                update(CaseParty)
                .where(CaseParty.source_type == "LEGAL_CASE", CaseParty.source_id == legal.id)
                .values(ended_at=now)
                .execution_options(synchronize_session=False)
            )
        await session.flush()
        await record_step(
            session,
            actor,
            legal,
            f"LEGAL_CASE_{legal.status}",
            f"legal_case.{str(action).lower()}",
            {"from": previous, "to": legal.status},
        )
    return legal


async def update_status(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    legal_id: str,
    status: LegalCaseStatus,
    reason: str | None,
    expected_version: int | None,
) -> LegalCase:
    """`updateLegalCase`: move to ``status`` if the table allows it from here."""
    async with db.read() as session:
        legal = await load_legal_case(session, actor, legal_id)
    action = action_for_update(legal.status, status)
    if action.startswith("SET_"):
        raise bad(
            f"{status.value} is reached with recordJudgment or recordCompensation, "
            "not updateLegalCase"
        )
    return await act(
        db, actor, cipher, legal_id, action, reason=reason, expected_version=expected_version
    )


async def record_judgment(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    legal_id: str,
    verdict: Verdict,
    judgment_on: date,
    expected_version: int | None,
) -> LegalCase:
    if judgment_on > utcnow().date():
        raise bad("date cannot be in the future")
    return await act(
        db,
        actor,
        cipher,
        legal_id,
        A.RECORD_JUDGMENT,
        expected_version=expected_version,
        values={"verdict": verdict.value, "judgment_on": judgment_on},
    )


async def record_compensation(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    legal_id: str,
    paid: bool,
    amount: str,
    currency: str,
    expected_version: int | None,
) -> LegalCase:
    """Compensation awarded by the court, then paid (amount + currency each)."""
    value, code = check_money(amount, currency)
    stage = "paid" if paid else "awarded"
    action = A.PAY_COMPENSATION if paid else A.AWARD_COMPENSATION
    values: dict[str, object] = {
        f"compensation_{stage}": value,
        f"compensation_{stage}_currency": code,
    }
    return await act(
        db, actor, cipher, legal_id, action, expected_version=expected_version, values=values
    )
