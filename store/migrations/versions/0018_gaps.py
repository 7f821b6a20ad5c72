"""gaps: when an unanswered custody offer was reminded (it expires after its window)

Revision ID: 0018_gaps
Revises: 0017_case_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0018_gaps"
down_revision = "0017_case_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_transfers") as batch:
        batch.add_column(
            sa.Column("reminded_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("case_transfers") as batch:
        batch.drop_column("reminded_at")
