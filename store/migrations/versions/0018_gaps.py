"""gaps: when an unanswered custody offer was reminded (it expires after its window), and
compensation per survivor of a legal case (sealed amounts)

Revision ID: 0018_gaps
Revises: 0017_case_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0018_gaps"
down_revision = "0018_shred"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_transfers") as batch:
        batch.add_column(
            sa.Column("reminded_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "legal_case_survivor_compensations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("legal_case_id", sa.String(36), sa.ForeignKey("legal_cases.id"), nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("amount_sealed", sa.Text(), nullable=False),
        sa.Column("recorded_by_organization_id", sa.String(36), nullable=False),
        sa.Column("recorded_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("legal_case_id", "case_id", "stage"),
    )
    op.create_index(
        "ix_legal_case_survivor_compensations_legal_case_id",
        "legal_case_survivor_compensations",
        ["legal_case_id"],
    )
    op.create_index(
        "ix_legal_case_survivor_compensations_case_id",
        "legal_case_survivor_compensations",
        ["case_id"],
    )


def downgrade() -> None:
    op.drop_table("legal_case_survivor_compensations")
    with op.batch_alter_table("case_transfers") as batch:
        batch.drop_column("reminded_at")
