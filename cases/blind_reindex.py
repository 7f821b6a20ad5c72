"""Re-indexing the blind index after the data keys change, or for cases opened before it.

Run with ``keys rotate-data``: every case with a date of birth and a name gets an entry under
each key now in ``HUB_DATA_KEYS`` (opening its sealed fields under its own case key), and
entries under keys no longer in the ring are dropped (nothing can match them any more).
Erased cases have no fields left and get no entries.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, select

from cases import blind_index
from cases.case_keys import load_case_keys
from cases.link_models import BlindIndexEntry
from cases.models import Case, CaseField
from store.case_keys import is_case_sealed, open_sealed
from store.engine import Database
from store.sealed import FieldCipher

_PERSON_FIELDS = ("fullName", "otherNames", "dateOfBirth")


async def reindex(db: Database, cipher: FieldCipher, batch: int = 200) -> int:
    """Index every case missing an entry under a key of the ring; returns the entries added.
    Safe to interrupt and run again: only missing entries are written."""
    keys = cipher.derive(blind_index.PURPOSE)
    async with db.write() as session:
        await session.execute(
            delete(BlindIndexEntry).where(BlindIndexEntry.key_id.not_in(list(keys)))
        )
    async with db.read() as session:
        born = list(
            await session.scalars(
                select(CaseField.case_id)
                .where(CaseField.field == "dateOfBirth")
                .order_by(CaseField.case_id)
            )
        )
        indexed: dict[str, set[str]] = {}
        for case_id, key_id in await session.execute(
            select(BlindIndexEntry.case_id, BlindIndexEntry.key_id)
        ):
            indexed.setdefault(case_id, set()).add(key_id)
    todo = [c for c in born if indexed.get(c, set()) != set(keys)]
    added = 0
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        async with db.write() as session:
            case_keys = await load_case_keys(session, cipher, chunk)
            sexes = dict(
                (await session.execute(select(Case.id, Case.sex).where(Case.id.in_(chunk)))).all()
            )
            people: dict[str, dict[str, Any]] = {}
            for case_id, name, sealed in await session.execute(
                select(CaseField.case_id, CaseField.field, CaseField.sealed).where(
                    CaseField.case_id.in_(chunk), CaseField.field.in_(_PERSON_FIELDS)
                )
            ):
                if case_id not in case_keys and is_case_sealed(sealed):
                    continue  # erased: her key is gone (a backup from before, restored)
                plain = open_sealed(
                    cipher,
                    case_keys.get(case_id),
                    sealed,
                    table="case_fields",
                    column=name,
                    row_id=case_id,
                )
                people.setdefault(case_id, {})[name] = orjson.loads(plain)
            for case_id, survivor in people.items():
                have = indexed.get(case_id, set())
                missing = {kid: key for kid, key in keys.items() if kid not in have}
                rows = blind_index.entries(missing, survivor, sexes[case_id])
                session.add_all(
                    BlindIndexEntry(case_id=case_id, key_id=kid, digest=value)
                    for kid, value in rows
                )
                added += len(rows)
    return added
