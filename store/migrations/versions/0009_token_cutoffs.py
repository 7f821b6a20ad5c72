"""token cut-offs: tokens issued before a suspension or a client disable stay dead

Revision ID: 0009_token_cutoffs
Revises: 0006_registration
Create Date: 2026-11-29 04:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0009_token_cutoffs"
down_revision = "0006_registration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tokens_valid_after", store.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tokens_valid_after", store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_column("tokens_valid_after")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("tokens_valid_after")
