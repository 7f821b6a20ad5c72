"""console: staff accounts, their invitations and sessions; the person in audit entries
and disclosures

Revision ID: 0018_console
Revises: 0017_case_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0018_console"
down_revision = "0018_places"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("totp_sealed", sa.String(200), nullable=False),
        sa.Column("recovery_hashes", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _at("locked_until", nullable=True),
        sa.Column("last_totp_step", sa.Integer(), nullable=True),
        _at("created_at"),
    )
    op.create_index("ix_staff_organization_id", "staff", ["organization_id"])
    op.create_table(
        "staff_invites",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("invited_by_staff_id", sa.String(36), nullable=True),
        sa.Column("invited_by_organization_id", sa.String(36), nullable=True),
        sa.Column("totp_sealed", sa.String(200), nullable=True),
        _at("created_at"),
        _at("expires_at"),
        _at("used_at", nullable=True),
    )
    op.create_index("ix_staff_invites_organization_id", "staff_invites", ["organization_id"])
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(36), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _at("created_at"),
        _at("last_seen_at"),
        _at("ended_at", nullable=True),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    # The person, beside the organisation and client, in both chains (hashed only when set,
    # so every existing entry keeps its hash).
    # Plain ADD COLUMN, not a batch copy: the append-only triggers on both tables stay.
    op.add_column("audit", sa.Column("actor_staff_id", sa.String(36), nullable=True))
    op.add_column("disclosures", sa.Column("staff_id", sa.String(36), nullable=True))


def downgrade() -> None:
    """Refused once a person is named in either chain: dropping the column would break the
    hashes of those entries, and the chains must stay verifiable."""
    bind = op.get_bind()
    for table, column in (("audit", "actor_staff_id"), ("disclosures", "staff_id")):
        named = bind.execute(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE {column} IS NOT NULL")  # noqa: S608
        ).scalar()
        if named:
            raise RuntimeError(
                f"{named} {table} entries name a person: downgrading past 0018 would break "
                "the chain; restore a backup taken before 0018 instead"
            )
    op.drop_column("disclosures", "staff_id")
    op.drop_column("audit", "actor_staff_id")
    op.drop_table("staff_sessions")
    op.drop_table("staff_invites")
    op.drop_table("staff")
