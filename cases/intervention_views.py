"""Read models of intervention requests: the row, its history, and the texts the reader may
see (last known location, history notes), decided once per request when a page loads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from cases.access import Withheld
from cases.free_text import TextField, category_of
from cases.intervention_models import InterventionChange, InterventionRequest
from cases.text_access import SealedText, TextSubject, TextView, open_texts
from consent import disclosure
from consent.disclosure import Channel
from consent.rules import Purpose
from orgs.principal import Principal
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

INTERVENTION_TEXTS = frozenset({"lastKnownLocation", "history"})


@dataclass
class InterventionView:
    request: InterventionRequest
    history: list[InterventionChange] = field(default_factory=list)
    texts: TextView = field(default_factory=TextView)

    @property
    def withheld(self) -> list[Withheld]:
        return self.texts.withheld

    def text(self, slot: str) -> str | None:
        return self.texts.values.get(slot)


def _texts(
    row: InterventionRequest, history: Sequence[InterventionChange], wanted: frozenset[str]
) -> list[SealedText]:
    texts = []
    if "lastKnownLocation" in wanted:
        field_ = TextField.INTERVENTION_LAST_KNOWN_LOCATION
        texts.append(
            SealedText(
                field_,
                "last_known_location",
                row.last_known_location_sealed,
                category_of(field_, None),
                "intervention_requests",
                "last_known_location",
                row.id,
            )
        )
    for change in history:
        if change.note_sealed is not None:
            texts.append(
                SealedText(
                    TextField.INTERVENTION_CHANGE_NOTE,
                    f"history:{change.id}",
                    change.note_sealed,
                    category_of(TextField.INTERVENTION_CHANGE_NOTE, change.note_category),
                    "intervention_changes",
                    "note",
                    change.id,
                )
            )
    return texts


async def intervention_views(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[InterventionRequest],
    wanted: frozenset[str] = INTERVENTION_TEXTS,
) -> list[InterventionView]:
    """Requests as ``actor`` may read them; what another organisation is shown is logged."""
    now = utcnow()
    history: dict[str, list[InterventionChange]] = {r.id: [] for r in rows}
    async with db.read() as session:
        if "history" in wanted and rows:
            for change in await session.scalars(
                select(InterventionChange)
                .where(InterventionChange.request_id.in_(list(history)))
                .order_by(InterventionChange.version)
            ):
                history[change.request_id].append(change)
        subjects = [
            TextSubject(r.case_id, Purpose.REPATRIATION, _texts(r, history[r.id], wanted))
            for r in rows
        ]
        texts = await open_texts(
            session, actor, cipher, subjects, now, "repatriation:read", Channel.QUERY
        )
    records = [record for view in texts for record in view.disclosures]
    await disclosure.record(db, records)
    return [InterventionView(r, history[r.id], t) for r, t in zip(rows, texts, strict=True)]
