"""The page info every cursor connection shares (referrals, cases, repatriation requests)."""

from __future__ import annotations

import strawberry


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
