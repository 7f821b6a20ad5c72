"""cases, consent and disclosures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:05:03.697573
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("consent_grant_id", sa.String(length=36), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
        sa.UniqueConstraint("hash", name=op.f("uq_disclosures_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_disclosures_prev_hash")),
    )
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosures_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disclosures_consent_grant_id"), ["consent_grant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_disclosures_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("owner_organization_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("age_band", sa.String(length=16), nullable=False),
        sa.Column("sex", sa.String(length=32), nullable=False),
        sa.Column("nationality", sa.String(length=2), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_organization_id"],
            ["organizations.id"],
            name=op.f("fk_cases_owner_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_owner_organization_id"), ["owner_organization_id"], unique=False
        )

    op.create_table(
        "case_fields",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_fields_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "field", name=op.f("pk_case_fields")),
    )
    with op.batch_alter_table("case_fields", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_fields_key_id"), ["key_id"], unique=False)

    op.create_table(
        "case_parties",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_parties_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_parties")),
    )
    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_parties_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_parties_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_parties_source_id"), ["source_id"], unique=False)

    op.create_table(
        "case_status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_status_changes_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_status_changes")),
    )
    with op.batch_alter_table("case_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_status_changes_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "consent_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("grantor", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("interpreter_language", sa.String(length=3), nullable=True),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("recipient_organization_ids", sa.JSON(), nullable=False),
        sa.Column("recipient_kinds", sa.JSON(), nullable=False),
        sa.Column("valid_from", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_consent_grants_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_grants")),
        sa.UniqueConstraint("case_id", "version", name=op.f("uq_consent_grants_case_id")),
    )
    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_grants_case_id"), ["case_id"], unique=False)

    op.create_table(
        "consent_withdrawals",
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["consent_grants.id"],
            name=op.f("fk_consent_withdrawals_grant_id_consent_grants"),
        ),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_consent_withdrawals")),
    )
    op.create_table(
        "withdrawal_notices",
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("notified_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["consent_grants.id"],
            name=op.f("fk_withdrawal_notices_grant_id_consent_grants"),
        ),
        sa.PrimaryKeyConstraint("grant_id", "organization_id", name=op.f("pk_withdrawal_notices")),
    )

    _make_disclosures_append_only()


def _make_disclosures_append_only() -> None:
    """The disclosure log refuses edits and deletions at the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER disclosures_no_change BEFORE UPDATE OR DELETE ON disclosures "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER disclosures_no_{verb.lower()} BEFORE {verb} ON disclosures "
                "BEGIN SELECT RAISE(ABORT, 'disclosures are append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS disclosures_no_change ON disclosures")
    op.drop_table("withdrawal_notices")
    op.drop_table("consent_withdrawals")
    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_grants_case_id"))

    op.drop_table("consent_grants")
    with op.batch_alter_table("case_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_status_changes_case_id"))

    op.drop_table("case_status_changes")
    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_parties_source_id"))
        batch_op.drop_index(batch_op.f("ix_case_parties_organization_id"))
        batch_op.drop_index(batch_op.f("ix_case_parties_case_id"))

    op.drop_table("case_parties")
    with op.batch_alter_table("case_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_fields_key_id"))

    op.drop_table("case_fields")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_owner_organization_id"))

    op.drop_table("cases")
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosures_organization_id"))
        batch_op.drop_index(batch_op.f("ix_disclosures_consent_grant_id"))
        batch_op.drop_index(batch_op.f("ix_disclosures_case_id"))

    op.drop_table("disclosures")
