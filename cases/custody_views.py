"""Read models of custody transfers: the row and the reasons the reader may see.

The reasons are free text about the survivor, released like any other (``cases.text_access``)
for the purpose the transfer serves: the case's owner reads them, anyone else only as her
consent allows; each release to another organisation goes to the disclosure log first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cases.access import Withheld
from cases.custody_models import CaseTransfer
from cases.free_text import TextField, category_of
from cases.text_access import SealedText, TextSubject, TextView, open_texts
from cases.text_views import _log
from consent.disclosure import Channel
from consent.rules import Purpose
from orgs.principal import Principal
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

TRANSFER_TEXTS = frozenset({"reason", "answerReason"})


@dataclass
class TransferView:
    transfer: CaseTransfer
    texts: TextView = field(default_factory=TextView)

    @property
    def withheld(self) -> list[Withheld]:
        return self.texts.withheld

    def text(self, slot: str) -> str | None:
        return self.texts.values.get(slot)


def _texts(row: CaseTransfer, wanted: frozenset[str]) -> list[SealedText]:
    texts = []
    if "reason" in wanted and row.reason_sealed is not None:
        field_ = TextField.CASE_TRANSFER_REASON
        category = category_of(field_, row.reason_category)
        texts.append(
            SealedText(
                field_, "reason", row.reason_sealed, category, "case_transfers", "reason", row.id
            )
        )
    if "answerReason" in wanted and row.answer_sealed is not None:
        field_ = TextField.CASE_TRANSFER_ANSWER
        category = category_of(field_, row.answer_category)
        texts.append(
            SealedText(
                field_, "answer", row.answer_sealed, category, "case_transfers", "answer", row.id
            )
        )
    return texts


async def transfer_views(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[CaseTransfer],
    wanted: frozenset[str] = TRANSFER_TEXTS,
) -> list[TransferView]:
    """Transfers as ``actor`` may read them; ``wanted`` names the text fields asked for."""
    now = utcnow()
    async with db.read() as session:
        subjects = [TextSubject(r.case_id, Purpose(r.purpose), _texts(r, wanted)) for r in rows]
        texts = await open_texts(session, actor, cipher, subjects, now, "cases:read", Channel.QUERY)
    await _log(db, texts)
    return [TransferView(r, t) for r, t in zip(rows, texts, strict=True)]
