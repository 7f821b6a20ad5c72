"""Read models of legal cases: the row, its links, hearings and history, with each note
released once per object when a page loads (``cases.justice_rules.release_note``).

Only the notes an operation selects are opened; each opened for an organisation that does
not own every linked case is written to the disclosure log, citing the consents that
allowed it, before anything is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from cases.access import Withheld, load_grants
from cases.case_keys import case_ciphers
from cases.free_text import SCOPE_REQUIRED
from cases.justice import READ_SCOPE
from cases.justice_models import Hearing, LegalCase, LegalCaseChange, LegalCaseLink
from cases.justice_rules import NOTE_CATEGORY, WRITER_ONLY, LinkedConsent, release_note
from cases.models import Case
from consent import disclosure
from consent.disclosure import Channel, DisclosureRecord
from consent.rules import Decision, Grant, Recipient
from orgs.principal import Principal
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

# The GraphQL fields that carry notes: only these make a view open anything.
NOTE_FIELDS = frozenset({"hearings", "history"})


@dataclass
class LegalCaseView:
    legal: LegalCase
    links: list[LegalCaseLink] = field(default_factory=list)
    hearings: list[Hearing] = field(default_factory=list)
    history: list[LegalCaseChange] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    withheld: list[Withheld] = field(default_factory=list)

    def note(self, slot: str) -> str | None:
        return self.notes.get(slot)


@dataclass(frozen=True, slots=True)
class _Note:
    slot: str
    label: str
    sealed: str
    writer: str | None
    table: str
    column: str
    row_id: str
    # The reason a survivor left the legal case: no remaining survivor's consent covers it.
    writer_only: bool = False


def _notes(view: LegalCaseView) -> list[_Note]:
    found = [
        _Note(
            f"hearing:{h.id}",
            "hearings.outcomeNote",
            h.outcome_note_sealed,
            h.recorded_by_organization_id,
            "legal_case_hearings",
            "outcome_note",
            h.id,
        )
        for h in view.hearings
        if h.outcome_note_sealed
    ]
    found += [
        _Note(
            f"history:{c.id}",
            "history.note",
            c.note_sealed,
            c.by_organization_id,
            "legal_case_changes",
            "note",
            c.id,
            c.action == "UNLINK",
        )
        for c in view.history
        if c.note_sealed
    ]
    return found


async def legal_case_views(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[LegalCase],
    wanted: frozenset[str] = NOTE_FIELDS,
) -> list[LegalCaseView]:
    """Legal cases as ``actor`` may read them (rows already filtered to its parties)."""
    now = utcnow()
    org = actor.organization_id or ""
    views = {r.id: LegalCaseView(r) for r in rows}
    ids = list(views)
    records: list[DisclosureRecord] = []
    async with db.read() as session:
        if ids:
            for link in await session.scalars(
                select(LegalCaseLink)
                .where(LegalCaseLink.legal_case_id.in_(ids))
                .order_by(LegalCaseLink.linked_at, LegalCaseLink.case_id)
            ):
                views[link.legal_case_id].links.append(link)
        if ids and "hearings" in wanted:
            for hearing in await session.scalars(
                select(Hearing)
                .where(Hearing.legal_case_id.in_(ids))
                .order_by(Hearing.held_at, Hearing.id)
            ):
                views[hearing.legal_case_id].hearings.append(hearing)
        if ids and "history" in wanted:
            for change in await session.scalars(
                select(LegalCaseChange)
                .where(LegalCaseChange.legal_case_id.in_(ids))
                .order_by(LegalCaseChange.version, LegalCaseChange.at)
            ):
                views[change.legal_case_id].history.append(change)
        pending = {v.legal.id: _notes(v) for v in views.values()}
        # Notes are sealed under their legal case's own key: one statement for the page.
        openers = await case_ciphers(session, cipher, ids) if any(pending.values()) else {}
        case_ids = sorted({link.case_id for v in views.values() for link in v.links})
        owners: dict[str, str] = {}
        grants: dict[str, list[Grant]] = {}
        if any(pending.values()) and case_ids:
            found = await session.execute(
                select(Case.id, Case.owner_organization_id).where(Case.id.in_(case_ids))
            )
            owners = {case_id: owner for case_id, owner in found}
            foreign = [c for c in case_ids if owners.get(c) != org]
            grants = await load_grants(session, foreign) if foreign else {}
    recipient = Recipient(org, actor.organization_kind or "")
    for view in views.values():
        linked = [
            LinkedConsent(
                link.case_id, owners.get(link.case_id) == org, grants.get(link.case_id, [])
            )
            for link in view.links
        ]
        cited: dict[tuple[str, str, int], None] = {}
        labels: set[str] = set()
        for note in pending[view.legal.id]:
            if not actor.has(READ_SCOPE):
                reason: str | None = SCOPE_REQUIRED
                decisions: list[tuple[str, Decision]] = []
            elif note.writer_only and note.writer != org:
                reason, decisions = WRITER_ONLY, []
            else:
                decisions, reason = release_note(recipient, note.writer == org, linked, now)
            if reason is not None:
                if note.label not in labels:
                    labels.add(note.label)
                    view.withheld.append(Withheld(note.label, NOTE_CATEGORY, reason))
                continue
            view.notes[note.slot] = openers[view.legal.id].open(
                note.sealed, table=note.table, column=note.column, row_id=note.row_id
            )
            for case_id, decision in decisions:
                assert decision.grant_id is not None
                cited[(case_id, decision.grant_id, decision.grant_version or 0)] = None
        records += [
            DisclosureRecord(
                organization_id=org,
                case_id=case_id,
                categories=(NOTE_CATEGORY.value,),
                consent_grant_id=grant_id,
                consent_version=version,
                channel=Channel.QUERY,
                request_id=actor.request_id,
            )
            for case_id, grant_id, version in sorted(cited)
        ]
    if records:
        async with db.write() as session:
            await disclosure.append(session, records)
    return [views[r.id] for r in rows]
