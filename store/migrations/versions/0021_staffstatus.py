"""staffstatus: the history of disabling and re-enabling staff accounts, with reasons

Revision ID: 0021_staffstatus
Revises: 0020_webauthn
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0021_staffstatus"
down_revision = "0020_webauthn"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_status_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("staff_id", sa.String(36), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_staff_id", sa.String(36), nullable=False),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("staff_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_status_changes_staff_id"), ["staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_status_changes_staff_id"))
    op.drop_table("staff_status_changes")
