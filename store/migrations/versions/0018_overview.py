"""overview: the coordinator's desk (reminder notices, notes on late items) and when each
API client last got a token

Revision ID: 0018_overview
Revises: 0017_case_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0018_overview"
down_revision = "0017_case_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_notices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("item_kind", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("by_organization_id", sa.String(36), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_desk_notices_item", "desk_notices", ["item_kind", "item_id"])
    op.create_index("ix_desk_notices_organization_id", "desk_notices", ["organization_id"])
    op.create_table(
        "desk_notes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("item_kind", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("author_organization_id", sa.String(36), nullable=False),
        sa.Column("text_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_desk_notes_item", "desk_notes", ["item_kind", "item_id"])
    op.create_index("ix_desk_notes_case_id", "desk_notes", ["case_id"])
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(
            sa.Column("last_token_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("last_token_at")
    op.drop_index("ix_desk_notes_case_id", "desk_notes")
    op.drop_index("ix_desk_notes_item", "desk_notes")
    op.drop_table("desk_notes")
    op.drop_index("ix_desk_notices_organization_id", "desk_notices")
    op.drop_index("ix_desk_notices_item", "desk_notices")
    op.drop_table("desk_notices")
