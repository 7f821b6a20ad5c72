"""case keys: a data key per case for crypto-shredding, and the record of erasures

Existing values stay sealed under the hub key (envelope ``v1``) and keep opening; values
written from now on for a case with a key are sealed under that key (envelope ``c1``).
Cases opened before this revision get their key when first written to under case keys.

Revision ID: 0017_case_keys
Revises: 0016_intervention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0017_case_keys"
down_revision = "0016_intervention"
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
    op.drop_table("case_erasures")
    op.drop_table("case_keys")
