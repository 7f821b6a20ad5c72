"""datageneration: SQLite's data generation counter and its triggers on every table

Revision ID: 0022_datageneration
Revises: 0021_staffstatus

The answer cache (gateway/answers.py) serves a repeated query again only while this
counter is unchanged; see store/generation.py. PostgreSQL gets the table too (one row,
never written), so the schema is the same on both, and no triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.generation import TABLE, counted_tables, drop_trigger_ddl, trigger_ddl

revision = "0022_datageneration"
down_revision = "0021_staffstatus"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for name in counted_tables(sa.inspect(bind).get_table_names()):
        for statement in trigger_ddl(name):
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in counted_tables(sa.inspect(bind).get_table_names()):
            for statement in drop_trigger_ddl(name):
                op.execute(statement)
    op.drop_table(TABLE)
