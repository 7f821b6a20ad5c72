"""case keys: a data key per case for crypto-shredding, and the record of erasures

Existing values stay sealed under the hub key (envelope ``v1``) and keep opening; values
written from now on for a case with a key are sealed under that key (envelope ``c1``).
Cases opened before this revision get their key when first written to under case keys.

Revision ID: 0017_case_keys
Revises: 0014_reintegration
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

import store.types
from gateway.settings import DEVELOPMENT_DATA_KEYS, parse_data_keys
from store.case_keys import is_case_sealed, unwrap
from store.sealed import FieldCipher

revision = "0017_case_keys"
down_revision = "0014_reintegration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_erasures",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        sa.Column("reason_sealed", sa.Text(), nullable=True),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "idempotency_key", name="uq_case_erasures_key"),
    )


def downgrade() -> None:
    """Back under the hub key before the case keys go: nothing sealed may be stranded."""
    current, keys = parse_data_keys(os.environ.get("HUB_DATA_KEYS", DEVELOPMENT_DATA_KEYS).strip())
    cipher = FieldCipher(keys, current)
    bind = op.get_bind()
    for case_id, wrapped in bind.execute(sa.text("SELECT case_id, wrapped FROM case_keys")).all():
        key = unwrap(cipher, wrapped, case_id)
        fields = bind.execute(
            sa.text("SELECT field, sealed FROM case_fields WHERE case_id = :id"), {"id": case_id}
        ).all()
        for name, sealed in fields:
            if not is_case_sealed(sealed):
                continue
            place = {"table": "case_fields", "column": name, "row_id": case_id}
            bind.execute(
                sa.text(
                    "UPDATE case_fields SET sealed = :s, key_id = :k "
                    "WHERE case_id = :id AND field = :f"
                ),
                {
                    "s": cipher.seal(key.open(sealed, **place), **place),
                    "k": cipher.current,
                    "id": case_id,
                    "f": name,
                },
            )
    op.drop_table("case_erasures")
    op.drop_table("case_keys")
