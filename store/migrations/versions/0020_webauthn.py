"""webauthn: staff security keys and their pending challenges

Revision ID: 0020_webauthn
Revises: 0019_groupview
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0020_webauthn"
down_revision = "0019_groupview"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_security_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_security_keys_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_security_keys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_staff_security_keys_credential_id")),
    )
    with op.batch_alter_table("staff_security_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_security_keys_staff_id"), ["staff_id"], unique=False
        )
    op.create_table(
        "webauthn_challenges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("binding_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("expires_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_webauthn_challenges_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webauthn_challenges")),
    )
    with op.batch_alter_table("webauthn_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webauthn_challenges_binding_hash"), ["binding_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webauthn_challenges_staff_id"), ["staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webauthn_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webauthn_challenges_staff_id"))
        batch_op.drop_index(batch_op.f("ix_webauthn_challenges_binding_hash"))
    op.drop_table("webauthn_challenges")
    with op.batch_alter_table("staff_security_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_security_keys_staff_id"))
    op.drop_table("staff_security_keys")
