"""free text under consent: categories, consent holds, sealed travel plans and withdrawal reasons

Every free text written about a survivor gets a data category (NULL: the strictest), open
referrals and repatriation requests can wait for consent, and the two texts still stored in
plain (travel plans, consent withdrawal reasons) are sealed in place. Sealing needs the data
key ring: the migration reads HUB_DATA_KEYS like the hub does (the development ring when
unset), so run it with the same environment as the hub.

Revision ID: 0006_free_text
Revises: 0006_audit_chain
Create Date: 2026-11-29 04:45:00
"""

from __future__ import annotations

import json
import os

import sqlalchemy as sa
from alembic import op

from gateway.settings import DEVELOPMENT_DATA_KEYS, parse_data_keys
from store.sealed import FieldCipher

revision = "0006_free_text"
down_revision = "0006_audit_chain"
branch_labels = None
depends_on = None


def _cipher() -> FieldCipher:
    current, keys = parse_data_keys(os.environ.get("HUB_DATA_KEYS", DEVELOPMENT_DATA_KEYS).strip())
    return FieldCipher(keys, current)


def _category(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=32), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(_category("reason_category"))
        batch.add_column(_category("notes_category"))
        batch.add_column(_category("outcome_note_category"))
        batch.add_column(sa.Column("held_from", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("held_for_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("referral_changes") as batch:
        batch.add_column(_category("reason_category"))
    with op.batch_alter_table("repatriation_changes") as batch:
        batch.add_column(_category("note_category"))
    with op.batch_alter_table("repatriation_requests") as batch:
        batch.add_column(_category("notes_category"))
        batch.add_column(
            sa.Column("held_for_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("travel_plan_sealed", sa.Text(), nullable=True))
    with op.batch_alter_table("consent_withdrawals") as batch:
        batch.add_column(sa.Column("reason_sealed", sa.Text(), nullable=True))

    bind = op.get_bind()
    cipher = _cipher()
    plans = bind.execute(
        sa.text("SELECT id, travel_plan FROM repatriation_requests WHERE travel_plan IS NOT NULL")
    ).all()
    for row_id, plan in plans:
        value = plan if isinstance(plan, str) else json.dumps(plan)
        bind.execute(
            sa.text("UPDATE repatriation_requests SET travel_plan_sealed = :s WHERE id = :id"),
            {
                "s": cipher.seal(
                    value, table="repatriation_requests", column="travel_plan", row_id=row_id
                ),
                "id": row_id,
            },
        )
    reasons = bind.execute(sa.text("SELECT grant_id, reason FROM consent_withdrawals")).all()
    for grant_id, reason in reasons:
        bind.execute(
            sa.text("UPDATE consent_withdrawals SET reason_sealed = :s WHERE grant_id = :id"),
            {
                "s": cipher.seal(
                    reason, table="consent_withdrawals", column="reason", row_id=grant_id
                ),
                "id": grant_id,
            },
        )
    # The plain copies go: a sealed column beside its plaintext would protect nothing.
    with op.batch_alter_table("repatriation_requests") as batch:
        batch.drop_column("travel_plan")
    with op.batch_alter_table("consent_withdrawals") as batch:
        batch.alter_column("reason_sealed", existing_type=sa.Text(), nullable=False)
        batch.drop_column("reason")


def downgrade() -> None:
    cipher = _cipher()
    with op.batch_alter_table("repatriation_requests") as batch:
        batch.add_column(sa.Column("travel_plan", sa.JSON(), nullable=True))
    with op.batch_alter_table("consent_withdrawals") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    bind = op.get_bind()
    for row_id, sealed in bind.execute(
        sa.text(
            "SELECT id, travel_plan_sealed FROM repatriation_requests "
            "WHERE travel_plan_sealed IS NOT NULL"
        )
    ).all():
        plain = cipher.open(
            sealed, table="repatriation_requests", column="travel_plan", row_id=row_id
        )
        bind.execute(
            sa.text("UPDATE repatriation_requests SET travel_plan = :p WHERE id = :id").bindparams(
                sa.bindparam("p", type_=sa.JSON())
            ),
            {"p": json.loads(plain), "id": row_id},
        )
    for grant_id, sealed in bind.execute(
        sa.text("SELECT grant_id, reason_sealed FROM consent_withdrawals")
    ).all():
        plain = cipher.open(sealed, table="consent_withdrawals", column="reason", row_id=grant_id)
        bind.execute(
            sa.text("UPDATE consent_withdrawals SET reason = :p WHERE grant_id = :id"),
            {"p": plain, "id": grant_id},
        )
    with op.batch_alter_table("consent_withdrawals") as batch:
        batch.alter_column("reason", existing_type=sa.Text(), nullable=False)
        batch.drop_column("reason_sealed")
    with op.batch_alter_table("repatriation_requests") as batch:
        batch.drop_column("travel_plan_sealed")
        batch.drop_column("held_for_consent")
        batch.drop_column("notes_category")
    with op.batch_alter_table("repatriation_changes") as batch:
        batch.drop_column("note_category")
    with op.batch_alter_table("referral_changes") as batch:
        batch.drop_column("reason_category")
    with op.batch_alter_table("referrals") as batch:
        for name in (
            "held_for_consent",
            "held_from",
            "outcome_note_category",
            "notes_category",
            "reason_category",
        ):
            batch.drop_column(name)
