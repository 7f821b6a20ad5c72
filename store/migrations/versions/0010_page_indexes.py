"""page indexes: inbox and outbox pages read in index order, party checks by (case, organisation)

Revision ID: 0010_page_indexes
Revises: 0009_token_cutoffs
"""

from __future__ import annotations

from alembic import op

revision = "0010_page_indexes"
down_revision = "0009_token_cutoffs"
branch_labels = None
depends_on = None

# (index, table, columns): a page is `WHERE <org column> = ? ORDER BY created_at DESC, id DESC`.
INDEXES = [
    ("ix_referrals_receiver_page", "referrals", ["receiver_organization_id", "created_at", "id"]),
    ("ix_referrals_sender_page", "referrals", ["sender_organization_id", "created_at", "id"]),
    (
        "ix_repatriation_requests_requester_page",
        "repatriation_requests",
        ["requester_organization_id", "created_at", "id"],
    ),
    (
        "ix_repatriation_requests_embassy_page",
        "repatriation_requests",
        ["embassy_organization_id", "created_at", "id"],
    ),
    (
        "ix_repatriation_requests_reception_page",
        "repatriation_requests",
        ["reception_organization_id", "created_at", "id"],
    ),
    ("ix_case_parties_case_organization", "case_parties", ["case_id", "organization_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
