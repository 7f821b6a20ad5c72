"""service directory, referrals, leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:09:14.757408
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "service_offers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("areas_served", sa.JSON(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("sexes", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("capacity_status", sa.String(length=16), nullable=False),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("maximum", sa.Integer(), nullable=True),
        sa.Column("capacity_updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_service_offers_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_offers")),
        sa.UniqueConstraint(
            "organization_id", "category", name=op.f("uq_service_offers_organization_id")
        ),
    )
    with op.batch_alter_table("service_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_offers_category"), ["category"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_offers_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("sender_organization_id", sa.String(length=36), nullable=False),
        sa.Column("receiver_organization_id", sa.String(length=36), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason_sealed", sa.Text(), nullable=False),
        sa.Column("notes_sealed", sa.Text(), nullable=True),
        sa.Column("outcome_services", sa.JSON(), nullable=True),
        sa.Column("outcome_note_sealed", sa.Text(), nullable=True),
        sa.Column("acknowledge_by", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("respond_by", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("reminded_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint(
            "sender_organization_id",
            "idempotency_key",
            name=op.f("uq_referrals_sender_organization_id"),
        ),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referrals_acknowledge_by"), ["acknowledge_by"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referrals_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referrals_receiver_organization_id"),
            ["receiver_organization_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_referrals_respond_by"), ["respond_by"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referrals_sender_organization_id"),
            ["sender_organization_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_referrals_status"), ["status"], unique=False)

    op.create_table(
        "referral_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=True),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason_sealed", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_changes_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_changes")),
    )
    with op.batch_alter_table("referral_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_changes_referral_id"), ["referral_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_changes_referral_id"))

    op.drop_table("referral_changes")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_status"))
        batch_op.drop_index(batch_op.f("ix_referrals_sender_organization_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_respond_by"))
        batch_op.drop_index(batch_op.f("ix_referrals_receiver_organization_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_created_at"))
        batch_op.drop_index(batch_op.f("ix_referrals_case_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_acknowledge_by"))

    op.drop_table("referrals")
    with op.batch_alter_table("service_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_offers_organization_id"))
        batch_op.drop_index(batch_op.f("ix_service_offers_category"))

    op.drop_table("service_offers")
    op.drop_table("leases")
