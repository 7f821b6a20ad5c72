"""Scalars the hub defines in place of Strawberry's defaults (``scalar_overrides``)."""

from __future__ import annotations

from datetime import datetime

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

from schema.input_checks import aware_datetime


def _parse_datetime(value: object) -> datetime:
    try:
        return aware_datetime(value)
    except ValueError as exc:
        # graphql-core turns this into a path-less error: BAD_USER_INPUT, value not quoted.
        raise StrawberryInputCoercionError(str(exc)) from None


def _serialize_datetime(value: datetime) -> str:
    return value.isoformat()


AwareDateTime = ScalarDefinition(
    name="DateTime",
    # Strawberry's own description, so the published SDL does not change; the offset rule
    # is documented in the README.
    description="Date with time (isoformat)",
    specified_by_url=None,
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
    parse_literal=None,
    origin=datetime,
)

SCALAR_OVERRIDES: dict[object, type | ScalarWrapper | ScalarDefinition] = {datetime: AwareDateTime}
