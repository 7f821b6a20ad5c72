"""intervention requests, family consent basis, incident groups

New tables only: nothing existing changes. Survivor values in them are sealed columns.

Revision ID: 0016_intervention
Revises: 0010_page_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0016_intervention"
down_revision = "0015_justice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_groups")),
        sa.UniqueConstraint(
            "created_by_organization_id",
            "idempotency_key",
            name=op.f("uq_incident_groups_created_by_organization_id"),
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_incident_groups_reference")),
    )
    with op.batch_alter_table("incident_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_groups_created_by_organization_id"),
            ["created_by_organization_id"],
            unique=False,
        )

    op.create_table(
        "group_repatriations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("requester_organization_id", sa.String(length=36), nullable=False),
        sa.Column("embassy_organization_id", sa.String(length=36), nullable=False),
        sa.Column("reception_organization_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["incident_groups.id"],
            name=op.f("fk_group_repatriations_group_id_incident_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_repatriations")),
        sa.UniqueConstraint(
            "requester_organization_id",
            "idempotency_key",
            name=op.f("uq_group_repatriations_requester_organization_id"),
        ),
    )
    with op.batch_alter_table("group_repatriations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_repatriations_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_group_repatriations_requester_organization_id"),
            ["requester_organization_id"],
            unique=False,
        )

    op.create_table(
        "incident_group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("added_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["incident_groups.id"],
            name=op.f("fk_incident_group_members_group_id_incident_groups"),
        ),
        sa.PrimaryKeyConstraint(
            "group_id", "organization_id", name=op.f("pk_incident_group_members")
        ),
    )
    with op.batch_alter_table("incident_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_group_members_organization_id"),
            ["organization_id"],
            unique=False,
        )

    op.create_table(
        "incident_group_cases",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("added_by_organization_id", sa.String(length=36), nullable=False),
        sa.Column("added_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_incident_group_cases_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["incident_groups.id"],
            name=op.f("fk_incident_group_cases_group_id_incident_groups"),
        ),
        sa.PrimaryKeyConstraint("group_id", "case_id", name=op.f("pk_incident_group_cases")),
    )
    with op.batch_alter_table("incident_group_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_group_cases_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "intervention_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("requester_organization_id", sa.String(length=36), nullable=False),
        sa.Column("embassy_organization_id", sa.String(length=36), nullable=False),
        sa.Column("current_country", sa.String(length=2), nullable=False),
        sa.Column("reported_by", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_known_location_sealed", sa.Text(), nullable=True),
        sa.Column("repatriation_request_id", sa.String(length=36), nullable=True),
        sa.Column("acknowledge_by", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("reminded_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_intervention_requests_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_requests")),
        sa.UniqueConstraint(
            "requester_organization_id",
            "idempotency_key",
            name=op.f("uq_intervention_requests_requester_organization_id"),
        ),
    )
    with op.batch_alter_table("intervention_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_requests_acknowledge_by"), ["acknowledge_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_requests_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_requests_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_requests_embassy_organization_id"),
            ["embassy_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_intervention_requests_embassy_page",
            ["embassy_organization_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_requests_requester_organization_id"),
            ["requester_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_intervention_requests_requester_page",
            ["requester_organization_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_requests_status"), ["status"], unique=False
        )

    op.create_table(
        "family_consent_bases",
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("basis_sealed", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["consent_grants.id"],
            name=op.f("fk_family_consent_bases_grant_id_consent_grants"),
        ),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_family_consent_bases")),
    )
    op.create_table(
        "group_repatriation_members",
        sa.Column("group_repatriation_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_repatriation_id"],
            ["group_repatriations.id"],
            name=op.f("fk_group_repatriation_members_group_repatriation_id_group_repatriations"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["repatriation_requests.id"],
            name=op.f("fk_group_repatriation_members_request_id_repatriation_requests"),
        ),
        sa.PrimaryKeyConstraint(
            "group_repatriation_id", "request_id", name=op.f("pk_group_repatriation_members")
        ),
    )
    with op.batch_alter_table("group_repatriation_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_repatriation_members_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "intervention_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("by_organization_id", sa.String(length=36), nullable=True),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.Column("note_category", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["intervention_requests.id"],
            name=op.f("fk_intervention_changes_request_id_intervention_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_changes")),
    )
    with op.batch_alter_table("intervention_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_changes_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("intervention_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_changes_request_id"))

    op.drop_table("intervention_changes")
    with op.batch_alter_table("group_repatriation_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_repatriation_members_request_id"))

    op.drop_table("group_repatriation_members")
    op.drop_table("family_consent_bases")
    with op.batch_alter_table("intervention_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_requests_status"))
        batch_op.drop_index("ix_intervention_requests_requester_page")
        batch_op.drop_index(batch_op.f("ix_intervention_requests_requester_organization_id"))
        batch_op.drop_index("ix_intervention_requests_embassy_page")
        batch_op.drop_index(batch_op.f("ix_intervention_requests_embassy_organization_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_requests_created_at"))
        batch_op.drop_index(batch_op.f("ix_intervention_requests_case_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_requests_acknowledge_by"))

    op.drop_table("intervention_requests")
    with op.batch_alter_table("incident_group_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_group_cases_case_id"))

    op.drop_table("incident_group_cases")
    with op.batch_alter_table("incident_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_group_members_organization_id"))

    op.drop_table("incident_group_members")
    with op.batch_alter_table("group_repatriations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_repatriations_requester_organization_id"))
        batch_op.drop_index(batch_op.f("ix_group_repatriations_group_id"))

    op.drop_table("group_repatriations")
    with op.batch_alter_table("incident_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_groups_created_by_organization_id"))

    op.drop_table("incident_groups")
