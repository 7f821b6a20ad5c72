"""custody transfers, initial assessments and family assessments

New tables only: existing rows are untouched. At most one open transfer offer per case is
kept by a partial unique index (SQLite and PostgreSQL both have them).

Revision ID: 0013_custody
Revises: 0010_page_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0013_custody"
down_revision = "0010_page_indexes"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "case_transfers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("from_organization_id", sa.String(length=36), nullable=False),
        sa.Column("to_organization_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("repatriation_id", sa.String(length=36), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason_sealed", sa.Text(), nullable=True),
        sa.Column("reason_category", sa.String(length=32), nullable=True),
        sa.Column("answer_sealed", sa.Text(), nullable=True),
        sa.Column("answer_category", sa.String(length=32), nullable=True),
        sa.Column("answered_by_organization_id", sa.String(length=36), nullable=True),
        _at("answered_at", nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_transfers_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfers")),
        sa.UniqueConstraint(
            "from_organization_id",
            "idempotency_key",
            name=op.f("uq_case_transfers_from_organization_id"),
        ),
    )
    op.create_index("ix_case_transfers_case_id", "case_transfers", ["case_id"])
    op.create_index("ix_case_transfers_status", "case_transfers", ["status"])
    op.create_index(
        "ix_case_transfers_to_page", "case_transfers", ["to_organization_id", "created_at", "id"]
    )
    op.create_index(
        "ix_case_transfers_from_page",
        "case_transfers",
        ["from_organization_id", "created_at", "id"],
    )
    op.create_index(
        "uq_case_transfers_open_offer",
        "case_transfers",
        ["case_id"],
        unique=True,
        sqlite_where=sa.text("status = 'OFFERED'"),
        postgresql_where=sa.text("status = 'OFFERED'"),
    )
    op.create_table(
        "case_assessments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("assessor_role", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("needs_sealed", sa.Text(), nullable=False),
        sa.Column("risks_sealed", sa.Text(), nullable=False),
        sa.Column("identification_sealed", sa.Text(), nullable=False),
        _at("assessed_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_assessments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assessments")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_assessments_case_id")),
    )
    op.create_table(
        "family_assessments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("family_sealed", sa.Text(), nullable=False),
        sa.Column("safety_sealed", sa.Text(), nullable=False),
        _at("assessed_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["repatriation_requests.id"],
            name=op.f("fk_family_assessments_request_id_repatriation_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_family_assessments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_assessments")),
        sa.UniqueConstraint("request_id", name=op.f("uq_family_assessments_request_id")),
    )
    op.create_index("ix_family_assessments_case_id", "family_assessments", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_family_assessments_case_id", table_name="family_assessments")
    op.drop_table("family_assessments")
    op.drop_table("case_assessments")
    for name in (
        "uq_case_transfers_open_offer",
        "ix_case_transfers_from_page",
        "ix_case_transfers_to_page",
        "ix_case_transfers_status",
        "ix_case_transfers_case_id",
    ):
        op.drop_index(name, table_name="case_transfers")
    op.drop_table("case_transfers")
