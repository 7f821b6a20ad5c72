"""repatriation requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:14:02.635095
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repatriation_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("requester_organization_id", sa.String(length=36), nullable=False),
        sa.Column("embassy_organization_id", sa.String(length=36), nullable=False),
        sa.Column("reception_organization_id", sa.String(length=36), nullable=False),
        sa.Column("current_country", sa.String(length=2), nullable=False),
        sa.Column("situation", sa.String(length=32), nullable=False),
        sa.Column("documents_held", sa.JSON(), nullable=False),
        sa.Column("assistance_needed", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("held_from", sa.String(length=20), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("notes_sealed", sa.Text(), nullable=True),
        sa.Column("travel_plan", sa.JSON(), nullable=True),
        sa.Column("acknowledge_by", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("reminded_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_repatriation_requests_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repatriation_requests")),
        sa.UniqueConstraint(
            "requester_organization_id",
            "idempotency_key",
            name=op.f("uq_repatriation_requests_requester_organization_id"),
        ),
    )
    with op.batch_alter_table("repatriation_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repatriation_requests_acknowledge_by"), ["acknowledge_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repatriation_requests_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repatriation_requests_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repatriation_requests_embassy_organization_id"),
            ["embassy_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_repatriation_requests_reception_organization_id"),
            ["reception_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_repatriation_requests_requester_organization_id"),
            ["requester_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_repatriation_requests_status"), ["status"], unique=False
        )

    op.create_table(
        "repatriation_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=True),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["repatriation_requests.id"],
            name=op.f("fk_repatriation_changes_request_id_repatriation_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repatriation_changes")),
    )
    with op.batch_alter_table("repatriation_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repatriation_changes_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "repatriation_costs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("item", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["repatriation_requests.id"],
            name=op.f("fk_repatriation_costs_request_id_repatriation_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repatriation_costs")),
    )
    with op.batch_alter_table("repatriation_costs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repatriation_costs_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("repatriation_costs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repatriation_costs_request_id"))

    op.drop_table("repatriation_costs")
    with op.batch_alter_table("repatriation_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repatriation_changes_request_id"))

    op.drop_table("repatriation_changes")
    with op.batch_alter_table("repatriation_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repatriation_requests_status"))
        batch_op.drop_index(batch_op.f("ix_repatriation_requests_requester_organization_id"))
        batch_op.drop_index(batch_op.f("ix_repatriation_requests_reception_organization_id"))
        batch_op.drop_index(batch_op.f("ix_repatriation_requests_embassy_organization_id"))
        batch_op.drop_index(batch_op.f("ix_repatriation_requests_created_at"))
        batch_op.drop_index(batch_op.f("ix_repatriation_requests_case_id"))
        batch_op.drop_index(batch_op.f("ix_repatriation_requests_acknowledge_by"))

    op.drop_table("repatriation_requests")
