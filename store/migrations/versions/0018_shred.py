"""shred: the case keys move out of the data into the key store

The wrapped case keys leave the main database for the key store (store/key_store.py): a
file beside the database on SQLite, the schema ``keystore`` on PostgreSQL, which data
backups never copy. Rows are copied, then the old table is dropped (on SQLite with
``secure_delete`` on, its pages are zeroed; run ``VACUUM`` afterwards to drop them).
Values stay as they are; ``referral-hub data-keys reseal`` moves values written under the
hub key before case keys existed under their case's key.

Revision ID: 0018_shred
Revises: 0017_case_keys
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0018_shred"
down_revision = "0018_overview"
branch_labels = None
depends_on = None

SCHEMA = "keystore"  # store.key_store.SCHEMA, fixed here as this revision knew it


def _key_table_exists() -> bool:
    return sa.inspect(op.get_bind()).has_table("case_keys", schema=SCHEMA)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    if not _key_table_exists():
        op.create_table(
            "case_keys",
            sa.Column("case_id", sa.String(36), primary_key=True),
            sa.Column("wrapped", sa.Text(), nullable=False),
            sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
            schema=SCHEMA,
        )
    op.execute(
        "INSERT INTO keystore.case_keys (case_id, wrapped, created_at) "
        "SELECT case_id, wrapped, created_at FROM case_keys "
        "WHERE case_id NOT IN (SELECT case_id FROM keystore.case_keys)"
    )
    op.drop_table("case_keys")


def _reseal_under_hub_key() -> None:
    """Every value sealed under a case's or a legal case's key, except survivor fields
    (0017's downgrade re-seals those), back under the hub key: the key store is going,
    and nothing sealed may be stranded."""
    from types import SimpleNamespace

    from cases.reseal import SEALED_COLUMNS, CaseBinding
    from gateway.settings import DEVELOPMENT_DATA_KEYS, parse_data_keys
    from store.case_keys import unwrap
    from store.sealed import FieldCipher

    current, ring = parse_data_keys(os.environ.get("HUB_DATA_KEYS", DEVELOPMENT_DATA_KEYS).strip())
    cipher = FieldCipher(ring, current)
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    keys = {
        owner: unwrap(cipher, wrapped, owner)
        for owner, wrapped in bind.execute(
            sa.text("SELECT case_id, wrapped FROM keystore.case_keys")
        ).all()
    }
    for spec in SEALED_COLUMNS:
        table = spec.column.class_.__table__
        if table.name in ("case_fields", "case_keys") or not inspector.has_table(table.name):
            continue
        column = spec.column.property.columns[0].name
        # Only the columns this revision's table has: a later model may carry columns that a
        # later migration (already downgraded) added.
        present = {c["name"] for c in inspector.get_columns(table.name)}
        here = [c for c in table.c if c.name in present]
        found = bind.execute(sa.select(*here).where(table.c[column].like("c1.%"))).all()
        for row in found:
            values = SimpleNamespace(**row._mapping)
            owner = _owner(bind, spec.case, values) if isinstance(spec.case, CaseBinding) else None
            owner = owner or getattr(values, "legal_case_id", None)
            key = keys.get(owner or "")
            if key is None:
                continue  # erased: nothing left to open
            place = {
                "table": spec.table,
                "column": spec.label(values),
                "row_id": spec.row_id(values),
            }
            plain = key.open(getattr(values, column), **place)
            changes: dict[str, object] = {column: cipher.seal(plain, **place)}
            if "key_id" in present:
                changes["key_id"] = cipher.current
            match = [pk == getattr(values, pk.name) for pk in table.primary_key.columns]
            bind.execute(sa.update(table).where(*match).values(**changes))


def _owner(bind: sa.Connection, binding: Any, values: Any) -> str | None:
    key = getattr(values, binding.key.property.columns[0].name)
    if binding.parent_case is None:
        return str(key)
    parent = binding.parent_case.class_.__table__
    (parent_id,) = parent.primary_key.columns
    case_column = parent.c[binding.parent_case.property.columns[0].name]
    found = bind.execute(sa.select(case_column).where(parent_id == key)).scalar()
    return None if found is None else str(found)


def downgrade() -> None:
    _reseal_under_hub_key()
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
    )
    # Only the cases' keys: the legal cases' are not needed once their notes are re-sealed.
    op.execute(
        "INSERT INTO case_keys (case_id, wrapped, created_at) "
        "SELECT case_id, wrapped, created_at FROM keystore.case_keys "
        "WHERE case_id IN (SELECT id FROM cases)"
    )
    op.drop_table("case_keys", schema=SCHEMA)
