"""Alembic environment. Runs on a connection handed over by ``store.migrate``."""

from __future__ import annotations

from alembic import context

import cases.custody_models
import cases.desk_models
import cases.document_models
import cases.erasure_models
import cases.group_models
import cases.intervention_models
import cases.justice_models
import cases.link_models
import cases.models  # noqa: F401
import consent.family_models
import consent.models  # noqa: F401
import gateway.oauth.models  # noqa: F401  (registers tables)
import notifications.models  # noqa: F401
import orgs.models
import orgs.security_key_models
import orgs.staff_models  # noqa: F401
import store.audit
import store.generation
import store.lease  # noqa: F401
from cases import funding_models, reintegration_models  # noqa: F401  (registers tables)
from store.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `referral-hub db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
