"""Loading and creating case keys inside a transaction (the crypto is in store/case_keys.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from cases.erasure_models import CaseErasure, CaseKeyRow
from store.case_keys import CaseKey, unwrap, wrap
from store.sealed import FieldCipher
from store.types import utcnow


def new_case_key(session: AsyncSession, cipher: FieldCipher, case_id: str) -> CaseKey:
    """A fresh key for a new case, its wrapped form added to the session (flushed with it)."""
    key, raw = CaseKey.generate()
    session.add(
        CaseKeyRow(case_id=case_id, wrapped=wrap(cipher, raw, case_id), created_at=utcnow())
    )
    return key


async def load_case_keys(
    session: AsyncSession, cipher: FieldCipher, case_ids: Sequence[str]
) -> dict[str, CaseKey]:
    """The keys of those cases that still have one (erased and pre-key cases have none)."""
    if not case_ids:
        return {}
    rows = await session.execute(
        select(CaseKeyRow.case_id, CaseKeyRow.wrapped).where(CaseKeyRow.case_id.in_(list(case_ids)))
    )
    return {case_id: unwrap(cipher, wrapped, case_id) for case_id, wrapped in rows}


async def erased_among(session: AsyncSession, case_ids: Sequence[str]) -> set[str]:
    if not case_ids:
        return set()
    rows = await session.scalars(
        select(CaseErasure.case_id).where(CaseErasure.case_id.in_(list(case_ids)))
    )
    return set(rows)


async def keys_and_erasures(
    session: AsyncSession, cipher: FieldCipher, case_ids: Sequence[str], with_keys: bool
) -> tuple[dict[str, CaseKey], set[str]]:
    """The cases' keys (when their sealed values will be opened) and which were erased, in
    one statement: a page of cases costs one query more, not two."""
    if not case_ids:
        return {}, set()
    ids = list(case_ids)
    erased = select(CaseErasure.case_id, null().label("wrapped"), literal("E").label("kind")).where(
        CaseErasure.case_id.in_(ids)
    )
    query = erased
    if with_keys:
        keyed = select(CaseKeyRow.case_id, CaseKeyRow.wrapped, literal("K")).where(
            CaseKeyRow.case_id.in_(ids)
        )
        query = union_all(erased, keyed)  # type: ignore[assignment]
    keys: dict[str, CaseKey] = {}
    gone: set[str] = set()
    for case_id, wrapped, kind in await session.execute(query):
        if kind == "E":
            gone.add(case_id)
        else:
            keys[case_id] = unwrap(cipher, str(wrapped), case_id)
    return keys, gone
