"""reintegration plans, services and follow-up visits; funders and costs on any subject

Revision ID: 0014_reintegration
Revises: 0010_page_indexes

Costs recorded on repatriation requests move to ``funded_costs`` (copied, ids kept); the
old table stays, unwritten, so a downgrade finds its rows again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0014_reintegration"
down_revision = "0016_intervention"
branch_labels = None
depends_on = None

UTC = store.types.UTCDateTime(timezone=True)
# Every cost recorded on a request so far, under its own id; the day it was recorded is
# the best account of when it was incurred. (DAY_OF: the UTC date, per dialect.)
COPY_COSTS = (
    "INSERT INTO funded_costs (id, subject_kind, subject_id, funder_organization_id, item, "
    "amount, currency, incurred_on, recorded_at, request_fingerprint) "
    "SELECT id, 'REPATRIATION_REQUEST', request_id, paid_by_organization_id, item, amount, "
    "currency, DAY_OF(recorded_at), recorded_at, '' FROM repatriation_costs"
)


def upgrade() -> None:
    op.create_table(
        "reintegration_plans",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_organization_id", sa.String(36), nullable=False),
        sa.Column("cancel_reason_sealed", sa.Text(), nullable=True),
        sa.Column("cancel_reason_category", sa.String(32), nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("completed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_reintegration_plans_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reintegration_plans")),
        sa.UniqueConstraint(
            "created_by_organization_id",
            "idempotency_key",
            name=op.f("uq_reintegration_plans_created_by_organization_id"),
        ),
    )
    op.create_index("ix_reintegration_plans_case_id", "reintegration_plans", ["case_id"])
    op.create_index("ix_reintegration_plans_status", "reintegration_plans", ["status"])
    op.create_table(
        "reintegration_services",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("provider_organization_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("end_reason_sealed", sa.Text(), nullable=True),
        sa.Column("end_reason_category", sa.String(32), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["reintegration_plans.id"],
            name=op.f("fk_reintegration_services_plan_id_reintegration_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reintegration_services")),
    )
    op.create_index("ix_reintegration_services_plan_id", "reintegration_services", ["plan_id"])
    op.create_index(
        "ix_reintegration_services_provider_organization_id",
        "reintegration_services",
        ["provider_organization_id"],
    )
    op.create_table(
        "follow_up_visits",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("visitor_organization_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.Column("note_category", sa.String(32), nullable=True),
        sa.Column("next_visit_id", sa.String(36), nullable=True),
        sa.Column("recorded_at", UTC, nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("reminded_at", UTC, nullable=True),
        sa.Column("escalated_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["reintegration_plans.id"],
            name=op.f("fk_follow_up_visits_plan_id_reintegration_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_visits")),
    )
    for column in ("plan_id", "visitor_organization_id", "status", "due_at"):
        op.create_index(f"ix_follow_up_visits_{column}", "follow_up_visits", [column])
    op.create_table(
        "subject_funders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("named_by_organization_id", sa.String(36), nullable=False),
        sa.Column("named_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_funders")),
        sa.UniqueConstraint(
            "subject_kind",
            "subject_id",
            "organization_id",
            name=op.f("uq_subject_funders_subject_kind"),
        ),
    )
    op.create_index("ix_subject_funders_subject_id", "subject_funders", ["subject_id"])
    op.create_index("ix_subject_funders_organization_id", "subject_funders", ["organization_id"])
    op.create_table(
        "funded_costs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("funder_organization_id", sa.String(36), nullable=False),
        sa.Column("item", sa.String(20), nullable=False),
        sa.Column("amount", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funded_costs")),
        sa.UniqueConstraint(
            "funder_organization_id",
            "idempotency_key",
            name=op.f("uq_funded_costs_funder_organization_id"),
        ),
    )
    op.create_index("ix_funded_costs_subject_id", "funded_costs", ["subject_id"])
    op.create_index(
        "ix_funded_costs_funder_organization_id", "funded_costs", ["funder_organization_id"]
    )
    op.create_index("ix_funded_costs_incurred_on", "funded_costs", ["incurred_on"])
    day = "CAST(recorded_at AT TIME ZONE 'UTC' AS DATE)" if _postgres() else "date(recorded_at)"
    op.execute(COPY_COSTS.replace("DAY_OF(recorded_at)", day))


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    # Costs recorded on requests since the upgrade go back where the old code reads them.
    op.execute(
        "INSERT INTO repatriation_costs (id, request_id, item, amount, currency, "
        "paid_by_organization_id, recorded_at) "
        "SELECT id, subject_id, CASE WHEN item IN ('AIR_TICKET', 'ACCOMMODATION') THEN item "
        "ELSE 'OTHER' END, amount, currency, funder_organization_id, recorded_at "
        "FROM funded_costs WHERE subject_kind = 'REPATRIATION_REQUEST' "
        "AND id NOT IN (SELECT id FROM repatriation_costs)"
    )
    for table in (
        "funded_costs",
        "subject_funders",
        "follow_up_visits",
        "reintegration_services",
        "reintegration_plans",
    ):
        op.drop_table(table)
