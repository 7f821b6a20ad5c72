"""justice: legal cases linked to survivor cases, their history and hearings; documents

Revision ID: 0015_justice
Revises: 0010_page_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0015_justice"
down_revision = "0013_custody"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "legal_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("opened_by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("legal_aid_organization_id", sa.String(length=36), nullable=False),
        sa.Column("court", sa.String(length=200), nullable=False),
        sa.Column("complaint_filed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("judgment_on", sa.Date(), nullable=True),
        sa.Column("compensation_awarded", sa.String(length=32), nullable=True),
        sa.Column("compensation_awarded_currency", sa.String(length=3), nullable=True),
        sa.Column("compensation_paid", sa.String(length=32), nullable=True),
        sa.Column("compensation_paid_currency", sa.String(length=3), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_cases")),
        sa.UniqueConstraint(
            "opened_by_organization_id",
            "idempotency_key",
            name=op.f("uq_legal_cases_opened_by_organization_id"),
        ),
    )
    for column in (
        "opened_by_organization_id",
        "legal_aid_organization_id",
        "status",
        "created_at",
    ):
        op.create_index(op.f(f"ix_legal_cases_{column}"), "legal_cases", [column])

    op.create_table(
        "legal_case_links",
        sa.Column("legal_case_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("linked_by_organization_id", sa.String(length=36), nullable=False),
        _at("linked_at"),
        sa.ForeignKeyConstraint(
            ["legal_case_id"],
            ["legal_cases.id"],
            name=op.f("fk_legal_case_links_legal_case_id_legal_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_legal_case_links_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("legal_case_id", "case_id", name=op.f("pk_legal_case_links")),
    )
    op.create_index(op.f("ix_legal_case_links_case_id"), "legal_case_links", ["case_id"])

    op.create_table(
        "legal_case_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("legal_case_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=True),
        _at("at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["legal_case_id"],
            ["legal_cases.id"],
            name=op.f("fk_legal_case_changes_legal_case_id_legal_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_case_changes")),
    )
    op.create_index(
        op.f("ix_legal_case_changes_legal_case_id"), "legal_case_changes", ["legal_case_id"]
    )

    op.create_table(
        "legal_case_hearings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("legal_case_id", sa.String(length=36), nullable=False),
        _at("held_at"),
        sa.Column("court", sa.String(length=200), nullable=False),
        sa.Column("transport_provided", sa.Boolean(), nullable=False),
        sa.Column("accommodation_provided", sa.Boolean(), nullable=False),
        sa.Column("outcome_note_sealed", sa.Text(), nullable=True),
        sa.Column("recorded_by_organization_id", sa.String(length=36), nullable=False),
        _at("recorded_at"),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["legal_case_id"],
            ["legal_cases.id"],
            name=op.f("fk_legal_case_hearings_legal_case_id_legal_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_case_hearings")),
        sa.UniqueConstraint(
            "legal_case_id",
            "idempotency_key",
            name=op.f("uq_legal_case_hearings_legal_case_id"),
        ),
    )
    op.create_index(
        op.f("ix_legal_case_hearings_legal_case_id"), "legal_case_hearings", ["legal_case_id"]
    )

    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_type", sa.String(length=24), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("content_sealed", sa.Text(), nullable=False),
        sa.Column("uploaded_by_organization_id", sa.String(length=36), nullable=False),
        _at("uploaded_at"),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_documents_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint(
            "uploaded_by_organization_id",
            "idempotency_key",
            name=op.f("uq_documents_uploaded_by_organization_id"),
        ),
    )
    op.create_index("ix_documents_subject", "documents", ["subject_type", "subject_id"])
    op.create_index(op.f("ix_documents_case_id"), "documents", ["case_id"])
    op.create_index(op.f("ix_documents_key_id"), "documents", ["key_id"])


def downgrade() -> None:
    # Standing that came through a legal case ends with the legal cases themselves.
    op.execute(
        sa.text(
            "UPDATE case_parties SET ended_at = CURRENT_TIMESTAMP "
            "WHERE source_type = 'LEGAL_CASE' AND ended_at IS NULL"
        )
    )
    op.drop_index(op.f("ix_documents_key_id"), table_name="documents")
    op.drop_index(op.f("ix_documents_case_id"), table_name="documents")
    op.drop_index("ix_documents_subject", table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_legal_case_hearings_legal_case_id"), table_name="legal_case_hearings")
    op.drop_table("legal_case_hearings")
    op.drop_index(op.f("ix_legal_case_changes_legal_case_id"), table_name="legal_case_changes")
    op.drop_table("legal_case_changes")
    op.drop_index(op.f("ix_legal_case_links_case_id"), table_name="legal_case_links")
    op.drop_table("legal_case_links")
    for column in reversed(
        ("opened_by_organization_id", "legal_aid_organization_id", "status", "created_at")
    ):
        op.drop_index(op.f(f"ix_legal_cases_{column}"), table_name="legal_cases")
    op.drop_table("legal_cases")
