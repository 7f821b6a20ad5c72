"""Read models of referrals and repatriation requests: the row, its history, and the free
text the reader may see, decided once per object when a page loads (``cases.text_access``).

Only the texts the operation asked for are opened, so the disclosure log records exactly
what was shown; the log is written before anything is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import Withheld
from cases.free_text import TextField, category_of
from cases.models import Referral, ReferralChange, RepatriationChange, RepatriationRequest
from cases.text_access import SealedText, TextSubject, TextView, open_texts
from consent import disclosure
from consent.disclosure import Channel
from consent.rules import Purpose
from orgs.principal import Principal
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

# What an operation may ask of the texts: the GraphQL field names that carry them.
REFERRAL_TEXTS = frozenset({"reason", "notes", "outcome", "history"})
REPATRIATION_TEXTS = frozenset({"notes", "travelPlan", "history"})


@dataclass
class ReferralView:
    referral: Referral
    history: list[ReferralChange] = field(default_factory=list)
    texts: TextView = field(default_factory=TextView)

    @property
    def withheld(self) -> list[Withheld]:
        return self.texts.withheld

    def text(self, slot: str) -> str | None:
        return self.texts.values.get(slot)


@dataclass
class RepatriationView:
    request: RepatriationRequest
    history: list[RepatriationChange] = field(default_factory=list)
    texts: TextView = field(default_factory=TextView)

    @property
    def withheld(self) -> list[Withheld]:
        return self.texts.withheld

    def text(self, slot: str) -> str | None:
        return self.texts.values.get(slot)


def _referral_texts(
    row: Referral, history: Sequence[ReferralChange], wanted: frozenset[str]
) -> list[SealedText]:
    def own(field_: TextField, slot: str, sealed: str | None, stored: str | None) -> SealedText:
        return SealedText(
            field_, slot, sealed, category_of(field_, stored), "referrals", slot, row.id
        )

    texts = []
    if "reason" in wanted:
        texts.append(
            own(TextField.REFERRAL_REASON, "reason", row.reason_sealed, row.reason_category)
        )
    if "notes" in wanted:
        texts.append(own(TextField.REFERRAL_NOTES, "notes", row.notes_sealed, row.notes_category))
    if "outcome" in wanted:
        texts.append(
            own(
                TextField.REFERRAL_OUTCOME_NOTE,
                "outcome_note",
                row.outcome_note_sealed,
                row.outcome_note_category,
            )
        )
    for change in history:
        if change.reason_sealed is not None:
            texts.append(
                SealedText(
                    TextField.REFERRAL_CHANGE_REASON,
                    f"history:{change.id}",
                    change.reason_sealed,
                    category_of(TextField.REFERRAL_CHANGE_REASON, change.reason_category),
                    "referral_changes",
                    "reason",
                    change.id,
                )
            )
    return texts


def _repatriation_texts(
    row: RepatriationRequest, history: Sequence[RepatriationChange], wanted: frozenset[str]
) -> list[SealedText]:
    table = "repatriation_requests"
    texts = []
    if "notes" in wanted:
        field_ = TextField.REPATRIATION_NOTES
        category = category_of(field_, row.notes_category)
        texts.append(
            SealedText(field_, "notes", row.notes_sealed, category, table, "notes", row.id)
        )
    if "travelPlan" in wanted:
        field_ = TextField.REPATRIATION_TRAVEL_PLAN
        texts.append(
            SealedText(
                field_,
                "travel_plan",
                row.travel_plan_sealed,
                category_of(field_, None),
                table,
                "travel_plan",
                row.id,
            )
        )
    for change in history:
        if change.note_sealed is not None:
            texts.append(
                SealedText(
                    TextField.REPATRIATION_CHANGE_NOTE,
                    f"history:{change.id}",
                    change.note_sealed,
                    category_of(TextField.REPATRIATION_CHANGE_NOTE, change.note_category),
                    "repatriation_changes",
                    "note",
                    change.id,
                )
            )
    return texts


async def _log(db: Database, views: Sequence[TextView]) -> None:
    records = [record for view in views for record in view.disclosures]
    if records:
        async with db.write() as session:
            await disclosure.append(session, records)


async def referral_views(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[Referral],
    wanted: frozenset[str] = REFERRAL_TEXTS,
) -> list[ReferralView]:
    """Referrals as ``actor`` may read them; ``wanted`` names the text fields asked for."""
    async with db.read() as session:
        views = await referral_texts(session, actor, cipher, rows, wanted, utcnow())
    await _log(db, [v.texts for v in views])
    return views


async def referral_texts(
    session: AsyncSession,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[Referral],
    wanted: frozenset[str],
    now: datetime,
) -> list[ReferralView]:
    """The views in the caller's read transaction; their disclosures are the caller's to
    write. Nothing is read when no text (nor the history) is asked for."""
    history: dict[str, list[ReferralChange]] = {r.id: [] for r in rows}
    if not wanted or not rows:
        return [ReferralView(r, history[r.id]) for r in rows]
    if "history" in wanted:
        for change in await session.scalars(
            select(ReferralChange)
            .where(ReferralChange.referral_id.in_(list(history)))
            .order_by(ReferralChange.version)
        ):
            history[change.referral_id].append(change)
    subjects = [
        TextSubject(r.case_id, Purpose(r.purpose), _referral_texts(r, history[r.id], wanted))
        for r in rows
    ]
    texts = await open_texts(session, actor, cipher, subjects, now, "referrals:read", Channel.QUERY)
    return [ReferralView(r, history[r.id], t) for r, t in zip(rows, texts, strict=True)]


async def repatriation_views(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[RepatriationRequest],
    wanted: frozenset[str] = REPATRIATION_TEXTS,
) -> list[RepatriationView]:
    """Requests as ``actor`` may read them; ``wanted`` names the text fields asked for."""
    now = utcnow()
    history: dict[str, list[RepatriationChange]] = {r.id: [] for r in rows}
    async with db.read() as session:
        if "history" in wanted and rows:
            for change in await session.scalars(
                select(RepatriationChange)
                .where(RepatriationChange.request_id.in_(list(history)))
                .order_by(RepatriationChange.version)
            ):
                history[change.request_id].append(change)
        subjects = [
            TextSubject(
                r.case_id, Purpose.REPATRIATION, _repatriation_texts(r, history[r.id], wanted)
            )
            for r in rows
        ]
        texts = await open_texts(
            session, actor, cipher, subjects, now, "repatriation:read", Channel.QUERY
        )
    await _log(db, texts)
    return [RepatriationView(r, history[r.id], t) for r, t in zip(rows, texts, strict=True)]
