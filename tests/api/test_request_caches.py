"""What an identical request may reuse: its validation, and the parsed signing keys.

Both were redone on every request before (the limiters made new rule classes each time, so
the validation cache never hit; the JWKS was parsed for every token check).
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from strawberry.extensions.validation_cache import _get_validate_cache

from tests.network import RunningHub, Template, serve_hub

PAGE = "query { referrals(box: INBOX, first: 5) { edges { node { id status } } } }"


# Counts validations over repeated identical queries: each must execute.
@pytest.mark.no_answer_cache
async def test_the_same_operation_is_validated_once(hub: RunningHub) -> None:
    cache = _get_validate_cache(256)
    first = await hub.gql("adhoc", PAGE)
    assert not first.errors, first.errors
    before = cache.cache_info()
    for _ in range(3):
        again = await hub.gql("adhoc", PAGE)
        assert not again.errors, again.errors
    after = cache.cache_info()
    assert after.hits - before.hits == 3
    assert after.misses == before.misses


async def test_limits_still_refuse_after_a_cached_validation(template: Template) -> None:
    """The cached answer to an over-deep query is its refusal: refused every time."""
    async with serve_hub(template, max_query_depth=2) as hub:
        for _ in range(3):
            deep = await hub.gql(
                "secretariat", "{ viewer { organization { history { reason } } } }"
            )
            assert deep.data is None and deep.codes == ["BAD_USER_INPUT"], deep.errors
            assert "depth" in deep.errors[0]["message"]


async def test_the_signing_keys_are_parsed_once_per_key_set(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    original = jwt.PyJWKSet.from_dict

    def counting(data: dict[str, Any]) -> jwt.PyJWKSet:
        parsed.append(1)
        return original(data)

    monkeypatch.setattr(jwt.PyJWKSet, "from_dict", staticmethod(counting))
    for _ in range(4):
        result = await hub.gql("adhoc", PAGE)
        assert not result.errors, result.errors
    assert len(parsed) <= 1
    bad = await hub.gql(None, PAGE, token=(await hub.token("adhoc"))[:-4] + "AAAA")
    assert bad.status == 401
