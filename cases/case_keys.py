"""Loading and creating case keys inside a transaction (the crypto is in store/case_keys.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Select,
    bindparam,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from cases.erasure_models import CaseErasure, CaseKeyRow
from cases.models import Case, CaseField
from store.case_keys import CASE_PREFIX, CaseCipher, CaseKey, unwrap, wrap
from store.errors import ErrorCode, HubError
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


Shape = Callable[[str, Any, Any], Sequence[Any]]
"""The columns of one key or erasure row: (kind, case id column, wrapped key column)."""


def _plain_shape(kind: str, case_id: Any, wrapped: Any) -> Sequence[Any]:
    return (case_id, wrapped.label("wrapped"), literal(kind).label("kind"))


def key_and_erasure_selects(
    ids: BindParameter[str], with_keys: bool, shape: Shape = _plain_shape
) -> list[Select[Any]]:
    """The selects of ``keys_and_erasures``, each row shaped by ``shape`` (so that a read
    can fold them into a larger union of its own): kind "E" for an erased case, "K" with
    the wrapped key."""
    erased = select(*shape("E", CaseErasure.case_id, null())).where(CaseErasure.case_id.in_(ids))
    shredded = (
        select(*shape("E", CaseField.case_id, null()))
        .where(
            CaseField.case_id.in_(ids),
            CaseField.sealed.like(f"{CASE_PREFIX}.%"),
            ~select(CaseKeyRow.case_id).where(CaseKeyRow.case_id == CaseField.case_id).exists(),
        )
        .distinct()
    )
    if not with_keys:
        return [erased, shredded]
    keyed = select(*shape("K", CaseKeyRow.case_id, CaseKeyRow.wrapped)).where(
        CaseKeyRow.case_id.in_(ids)
    )
    return [erased, shredded, keyed]


def _keys_and_erasures_query(with_keys: bool) -> CompoundSelect[Any]:
    """Built once per shape at import: each read only binds its ids (building and caching
    this union per call cost a survivor page about a millisecond)."""
    ids: BindParameter[str] = bindparam("ids", expanding=True)
    return union_all(*key_and_erasure_selects(ids, with_keys))


def take_key_row(
    cipher: FieldCipher,
    kind: str,
    case_id: str,
    wrapped: str | None,
    keys: dict[str, CaseKey],
    gone: set[str],
) -> None:
    """One row of those selects into ``keys`` or ``gone``."""
    if kind == "E":
        gone.add(case_id)
    else:
        keys[case_id] = unwrap(cipher, str(wrapped), case_id)


_KEYS_AND_ERASURES = _keys_and_erasures_query(with_keys=True)
_ERASURES = _keys_and_erasures_query(with_keys=False)


async def keys_and_erasures(
    session: AsyncSession, cipher: FieldCipher, case_ids: Sequence[str], with_keys: bool
) -> tuple[dict[str, CaseKey], set[str]]:
    """The cases' keys (when their sealed values will be opened) and which were erased, in
    one statement: a page of cases costs one query more, not two.

    A case is erased when it has an erasure record, and also when its fields are sealed under
    a case key that is gone: a data backup taken before her erasure and restored after it
    has her values and no erasure record, and the key store never gives her key back."""
    if not case_ids:
        return {}, set()
    query = _KEYS_AND_ERASURES if with_keys else _ERASURES
    keys: dict[str, CaseKey] = {}
    gone: set[str] = set()
    for case_id, wrapped, kind in await session.execute(query, {"ids": list(case_ids)}):
        take_key_row(cipher, kind, case_id, wrapped, keys, gone)
    return keys, gone


async def case_cipher(session: AsyncSession, cipher: FieldCipher, case_id: str) -> CaseCipher:
    """The cipher that seals new values about ``case_id`` under the case's own key.

    A case opened before case keys gets a fresh one in this transaction: whatever is written
    about her from now on can be shredded. An erased case gets none: the write is refused
    (CONFLICT), since a value under a new key would outlive her erasure (erasing twice is
    refused too). The key and the erasure (recorded, or a restored backup's: see
    ``keys_and_erasures``) come in one statement. The key is kept on the session so one
    transaction unwraps it once."""
    cache: dict[str, CaseCipher] = session.info.setdefault("case_ciphers", {})
    found = cache.get(case_id)
    if found is None:
        keys, erased = await keys_and_erasures(session, cipher, [case_id], with_keys=True)
        key = keys.get(case_id)
        if key is None:
            if case_id in erased:
                raise HubError(ErrorCode.CONFLICT, ERASED_CASE)
            key = new_case_key(session, cipher, case_id)
            await session.flush()
        found = cache[case_id] = CaseCipher(cipher, key)
    return found


async def case_erased(session: AsyncSession, cipher: FieldCipher, case_id: str) -> bool:
    """Whether the case was erased (recorded, or a restored backup's: see above)."""
    _keys, erased = await keys_and_erasures(session, cipher, [case_id], with_keys=False)
    return case_id in erased


ERASED_CASE = "her data was erased: nothing more is written about her case"


_OWNERS_AND_KEYS = (
    select(Case.id, Case.owner_organization_id, CaseKeyRow.wrapped)
    .outerjoin(CaseKeyRow, CaseKeyRow.case_id == Case.id)
    .where(Case.id.in_(bindparam("ids", expanding=True)))
)


async def owners_and_ciphers(
    session: AsyncSession, cipher: FieldCipher, case_ids: Sequence[str], with_keys: bool
) -> tuple[dict[str, str], dict[str, CaseCipher]]:
    """Each case's owner and, ``with_keys``, its read-side cipher, in one statement: a
    read of free texts (a referral's reason, a send's answer) needs both, and a second
    trip for the keys cost it about as much as the first."""
    if not case_ids:
        return {}, {}
    owners: dict[str, str] = {}
    openers: dict[str, CaseCipher] = {}
    for case_id, owner, wrapped in await session.execute(
        _OWNERS_AND_KEYS, {"ids": sorted(set(case_ids))}
    ):
        owners[case_id] = owner
        if with_keys:
            key = unwrap(cipher, wrapped, case_id) if wrapped is not None else None
            openers[case_id] = CaseCipher(cipher, key)
    if with_keys:  # as ``case_ciphers``: every id gets one, keyless when nothing was found
        for case_id in case_ids:
            openers.setdefault(case_id, CaseCipher(cipher, None))
    return owners, openers


async def case_ciphers(
    session: AsyncSession, cipher: FieldCipher, case_ids: Sequence[str]
) -> dict[str, CaseCipher]:
    """Read-side ciphers for many cases in one statement (a page costs one query more).
    Every id gets one; a case without a key opens only its hub-key values."""
    ids = sorted(set(case_ids))
    keys = await load_case_keys(session, cipher, ids)
    return {case_id: CaseCipher(cipher, keys.get(case_id)) for case_id in ids}
