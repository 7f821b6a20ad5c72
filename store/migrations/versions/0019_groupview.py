"""groupview: survivors held back from a group repatriation (ids and codes only)

Revision ID: 0019_groupview
Revises: 0018_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0019_groupview"
down_revision = "0018_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_repatriation_held",
        sa.Column("group_repatriation_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=48), nullable=False),
        sa.Column("held_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_repatriation_id"],
            ["group_repatriations.id"],
            name=op.f("fk_group_repatriation_held_group_repatriation_id_group_repatriations"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_group_repatriation_held_case_id_cases")
        ),
        sa.PrimaryKeyConstraint(
            "group_repatriation_id", "case_id", name=op.f("pk_group_repatriation_held")
        ),
    )
    with op.batch_alter_table("group_repatriation_held", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_repatriation_held_case_id"), ["case_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("group_repatriation_held", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_repatriation_held_case_id"))
    op.drop_table("group_repatriation_held")
