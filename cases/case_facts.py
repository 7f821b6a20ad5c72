"""Everything a page of cases needs to decide and open its survivor fields, in one statement.

Deciding a page's survivor fields needs four kinds of row: the consent grants and the
viewer's party purposes (for the cases the viewer does not own), the case keys and
erasures, and the sealed values asked for. Read as four statements they cost a survivor
page about as much CPU again as its decisions: each statement has its own round through
SQLAlchemy and the driver. Here they are one ``UNION ALL`` whose rows say their kind, in
the same read transaction, whatever the page's length: one statement per page, never per
case. What each kind selects, and how each is filtered, is exactly what the separate
statements did (``cases.access`` and ``cases.case_keys``).

Every column slot has one type in every branch (a typed NULL where a kind has nothing):
PostgreSQL resolves a union's column types branch by branch, so an untyped NULL in the
first branch would not match a timestamp in a later one.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Dialect,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from cases.case_keys import key_and_erasure_selects, take_key_row
from cases.models import CaseField, CaseParty
from consent.models import ConsentGrant, ConsentWithdrawal
from consent.rules import DataCategory, Grant, Purpose
from store.case_keys import CaseKey
from store.sealed import FieldCipher
from store.sqlite_json import load_json
from store.types import UTCDateTime


def parties_in_force(at: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    return and_(
        CaseParty.ended_at.is_(None),
        CaseParty.valid_from <= at,
        or_(CaseParty.valid_until.is_(None), CaseParty.valid_until > at),
    )


@functools.lru_cache(maxsize=1024)
def _texts_of(stored: str) -> frozenset[str]:
    return frozenset(load_json(stored))


@functools.lru_cache(maxsize=256)
def _purposes_of(stored: str) -> frozenset[Purpose]:
    return frozenset(Purpose(p) for p in load_json(stored))


@functools.lru_cache(maxsize=256)
def _categories_of(stored: str) -> frozenset[DataCategory]:
    return frozenset(DataCategory(c) for c in load_json(stored))


def grant_of_text_row(
    grant_id: str,
    version: int,
    purposes: str,
    categories: str,
    valid_from: datetime,
    valid_until: datetime | None,
    recipient_organization_ids: str,
    recipient_kinds: str,
    withdrawn_at: datetime | None,
) -> Grant:
    """The policy's view of a grant read with its four lists as stored JSON text: a page's
    grants mostly repeat the same few texts, so each distinct text is parsed into its
    frozenset once per process instead of decoded and converted per row."""
    return Grant(
        id=grant_id,
        version=version,
        purposes=_purposes_of(purposes),
        categories=_categories_of(categories),
        valid_from=valid_from,
        valid_until=valid_until,
        recipient_organizations=_texts_of(recipient_organization_ids),
        recipient_kinds=_texts_of(recipient_kinds),
        withdrawn_at=withdrawn_at,
    )


def _none(kind: Any) -> Any:
    return cast(null(), kind)


def _text(column: Any) -> Any:
    return cast(column, Text)


# (kind, case id, then nine slots: text, integer, text, text, time, time, text, text, time)
_TYPES = (Text, Integer, Text, Text, UTCDateTime, UTCDateTime, Text, Text, UTCDateTime)


def _row(kind: str, case_id: Any, *slots: Any) -> list[Any]:
    filled = [*slots, *[None] * (len(_TYPES) - len(slots))]
    return [
        literal(kind).label("kind"),
        case_id.label("case_id"),
        *[
            _untimed(t, _none(t()) if value is None else value).label(f"s{n}")
            for n, (t, value) in enumerate(zip(_TYPES, filled, strict=True))
        ],
    ]


def _untimed(kind: Any, expression: Any) -> Any:
    """A time slot reaches Python as the driver gives it: the SQL is unchanged (the typed
    NULLs keep PostgreSQL's union types matched), but SQLAlchemy no longer converts it on
    every row. Only grant rows carry times, so only they are converted (``_times``): on a
    survivor page that is one row in nine instead of all of them."""
    return type_coerce(expression, NullType()) if kind is UTCDateTime else expression


@functools.lru_cache(maxsize=8)
def _time_of(dialect: Dialect) -> Any:
    """The conversion a UTCDateTime column applies to a value read on ``dialect``."""
    return UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)


def _times(dialect: Dialect, row: Sequence[Any]) -> list[Any]:
    """A grant row's nine slots with its three times converted as their column would."""
    convert = _time_of(dialect)
    out = list(row[2:])
    for slot in (4, 5, 8):
        out[slot] = convert(out[slot])
    return out


def _key_shape(kind: str, case_id: Any, wrapped: Any) -> list[Any]:
    return _row(kind, case_id, None if kind == "E" else _text(wrapped))


@functools.cache
def facts_statement(grants: bool, with_keys: bool, sealed: str | None) -> CompoundSelect[Any]:
    """The union for one shape, built once: ``grants`` when some case is foreign (grants
    and party purposes of ``foreign``), keys (or only erasures) of ``ids``, and the sealed
    values of ``ids``: ``"all"``, ``"named"`` (only ``names``) or None (none)."""
    ids: BindParameter[str] = bindparam("ids", expanding=True)
    selects: list[Select[Any]] = []
    if grants:
        foreign: BindParameter[str] = bindparam("foreign", expanding=True)
        selects.append(
            select(
                *_row(
                    "G",
                    ConsentGrant.case_id,
                    ConsentGrant.id,
                    ConsentGrant.version,
                    _text(ConsentGrant.purposes),
                    _text(ConsentGrant.categories),
                    ConsentGrant.valid_from,
                    ConsentGrant.valid_until,
                    _text(ConsentGrant.recipient_organization_ids),
                    _text(ConsentGrant.recipient_kinds),
                    ConsentWithdrawal.at,
                )
            )
            .outerjoin(ConsentWithdrawal, ConsentWithdrawal.grant_id == ConsentGrant.id)
            .where(ConsentGrant.case_id.in_(foreign))
        )
        selects.append(
            select(*_row("P", CaseParty.case_id, CaseParty.purpose)).where(
                CaseParty.case_id.in_(foreign),
                CaseParty.organization_id == bindparam("org"),
                parties_in_force(bindparam("at", type_=UTCDateTime())),
            )
        )
    selects.extend(key_and_erasure_selects(ids, with_keys, _key_shape))
    if sealed is not None:
        values = select(
            *_row(
                "S", CaseField.case_id, CaseField.field, None, CaseField.category, CaseField.sealed
            )
        ).where(CaseField.case_id.in_(ids))
        if sealed == "named":
            values = values.where(CaseField.field.in_(bindparam("names", expanding=True)))
        selects.append(values)
    return union_all(*selects)


@dataclass
class CaseFacts:
    grants: dict[str, list[Grant]] = field(default_factory=lambda: defaultdict(list))
    purposes: dict[str, set[Purpose]] = field(default_factory=lambda: defaultdict(set))
    keys: dict[str, CaseKey] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    # case id -> field -> (category, sealed value)
    sealed: dict[str, dict[str, tuple[str, str]]] = field(default_factory=lambda: defaultdict(dict))


async def load_case_facts(
    session: AsyncSession,
    cipher: FieldCipher,
    ids: Sequence[str],
    foreign: Sequence[str],
    organization_id: str,
    at: datetime,
    with_keys: bool,
    wanted: list[str] | None,
) -> CaseFacts:
    """Grants and party purposes of ``foreign``, keys (``with_keys``) and erasures of
    ``ids``, and their sealed values (``wanted`` names; None for all; [] for none)."""
    facts = CaseFacts()
    if not ids:
        return facts
    sealed = None if wanted == [] else ("all" if wanted is None else "named")
    params: dict[str, object] = {"ids": list(ids)}
    if foreign:
        params.update(foreign=list(foreign), org=organization_id, at=at)
    if sealed == "named":
        params["names"] = wanted
    statement = facts_statement(bool(foreign), with_keys, sealed)
    dialect = session.get_bind().dialect
    for row in await session.execute(statement, params):
        kind, case_id = row[0], row[1]
        if kind == "G":
            facts.grants[case_id].append(grant_of_text_row(*_times(dialect, row)))
        elif kind == "P":
            facts.purposes[case_id].add(Purpose(row[2]))
        elif kind == "S":
            facts.sealed[case_id][row[2]] = (row[4], row[5])
        else:
            take_key_row(cipher, kind, case_id, row[2], facts.keys, facts.erased)
    return facts
