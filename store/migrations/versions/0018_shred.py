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

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0018_shred"
down_revision = "0017_case_keys"
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


def downgrade() -> None:
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO case_keys (case_id, wrapped, created_at) "
        "SELECT case_id, wrapped, created_at FROM keystore.case_keys"
    )
    op.drop_table("case_keys", schema=SCHEMA)
