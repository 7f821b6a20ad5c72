"""audit chain and signed checkpoints

The audit trail gets the disclosure log's hash chain (seq, prev_hash, hash); the rows
already there are chained in id order. Checkpoints (entry counts and head hashes of
both chains, signed by the hub) get a table of their own.

Revision ID: 0006_audit_chain
Revises: 0005
Create Date: 2026-11-29 04:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store.audit import entry_hash
from store.chain import GENESIS

revision = "0006_audit_chain"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_TRIGGERS_SQLITE = [
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END",
]
_TRIGGERS_POSTGRES = [
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _drop_audit_triggers() -> None:
    if _postgres():
        op.execute("DROP TRIGGER IF EXISTS audit_no_change ON audit")
        op.execute("DROP TRIGGER IF EXISTS audit_no_truncate ON audit")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")


def _create_audit_triggers() -> None:
    for statement in _TRIGGERS_POSTGRES if _postgres() else _TRIGGERS_SQLITE:
        op.execute(statement)


def _chain_existing_rows() -> None:
    audit = sa.table(
        "audit",
        sa.column("id", _BIGINT),
        sa.column("at", store.types.UTCDateTime(timezone=True)),
        sa.column("actor_organization_id", sa.String()),
        sa.column("actor_client_id", sa.String()),
        sa.column("action", sa.String()),
        sa.column("subject_type", sa.String()),
        sa.column("subject_id", sa.String()),
        sa.column("detail", sa.JSON()),
        sa.column("request_id", sa.String()),
        sa.column("seq", _BIGINT),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
    prev = GENESIS
    for seq, row in enumerate(rows, start=1):
        digest = entry_hash(
            prev,
            seq,
            row["at"],
            row["actor_organization_id"],
            row["actor_client_id"],
            row["action"],
            row["subject_type"],
            row["subject_id"],
            row["detail"],
            row["request_id"],
        )
        bind.execute(
            audit.update()
            .where(audit.c.id == row["id"])
            .values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest


def upgrade() -> None:
    _drop_audit_triggers()
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", _BIGINT, nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=_BIGINT, nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_seq"), ["seq"])
        batch_op.create_unique_constraint(batch_op.f("uq_audit_prev_hash"), ["prev_hash"])
        batch_op.create_unique_constraint(batch_op.f("uq_audit_hash"), ["hash"])
    _create_audit_triggers()

    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("audit_entries", _BIGINT, nullable=False),
        sa.Column("audit_head", sa.String(length=64), nullable=False),
        sa.Column("disclosure_entries", _BIGINT, nullable=False),
        sa.Column("disclosure_head", sa.String(length=64), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_checkpoints_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoints_at"))
    op.drop_table("audit_checkpoints")
    _drop_audit_triggers()
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_hash"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_audit_prev_hash"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_audit_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    _create_audit_triggers()
