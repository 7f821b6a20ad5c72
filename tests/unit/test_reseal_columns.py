"""Key rotation re-seals every sealed column: a column of envelopes left out of
``SEALED_COLUMNS`` would stay under an old key and stop opening once that key is retired."""

from __future__ import annotations

import cases.funding_models
import cases.models
import cases.reintegration_models
import consent.models
import gateway.oauth.models
import notifications.models
import orgs.models
from cases.reseal import SEALED_COLUMNS
from store.base import Base

# Imported for their tables: every model module registers on the one metadata.
MODELS = (
    cases.funding_models,
    cases.models,
    cases.reintegration_models,
    consent.models,
    gateway.oauth.models,
    notifications.models,
    orgs.models,
)

# Sealed under the hub's secret key, not the data keys: rotated with the signing keys.
OWN_KEYS = {("signing_keys", "private_jwk_sealed")}


def test_every_sealed_column_is_resealed_on_rotation() -> None:
    sealed = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("_sealed")
    }
    resealed = {(s.column.class_.__tablename__, s.column.key) for s in SEALED_COLUMNS}
    assert ("follow_up_visits", "note_sealed") in sealed
    assert sealed - OWN_KEYS <= resealed, sorted(sealed - OWN_KEYS - resealed)
