"""Telling a database outage apart from a bug, and saying so once per outage.

A restarting or unreachable database is not the hub's fault and not the caller's: the
answer is 503 UNAVAILABLE with ``Retry-After``, and the log gets one warning when the
outage begins and one line when it ends, not a traceback per request.
"""

from __future__ import annotations

import logging
import time

import asyncpg.exceptions as pg
from sqlalchemy import exc as sa

log = logging.getLogger("referral_hub.outage")

# How long a client is asked to wait before trying again (seconds).
RETRY_AFTER = 2

_PG_OUTAGES: tuple[type[BaseException], ...] = (
    pg.PostgresConnectionError,
    pg.OperatorInterventionError,  # admin shutdown, crash shutdown, cannot connect now
    pg.InterfaceError,  # "connection is closed", "connection was closed in the middle of..."
    pg.TooManyConnectionsError,
)


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen) or len(seen) > 20:
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__, getattr(item, "orig", None)])
    return seen


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database cannot be reached right now (refused, reset,
    shutting down, starting up, connection lost), not that a statement was wrong."""
    for item in _causes(error):
        if isinstance(item, sa.DBAPIError) and item.connection_invalidated:
            return True
        if isinstance(item, (sa.DisconnectionError, sa.TimeoutError)):
            return True
        if isinstance(item, _PG_OUTAGES):
            return True
        if isinstance(item, (ConnectionError, TimeoutError)):
            return True
        if isinstance(item, OSError) and item.errno is not None:
            return True
    return False


class Outage:
    """Whether the database is down as far as this process knows: one warning when it goes,
    one line when it is back."""

    def __init__(self) -> None:
        self.since: float | None = None

    @property
    def down(self) -> bool:
        return self.since is not None

    def begin(self, error: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            # The exception's type only: its message can quote a statement.
            log.warning(
                "database unavailable (%s); answering 503 until it is back",
                type(error).__name__,
            )

    def end_after(self, reached: float | None) -> None:
        """A unit of work succeeded that got its connection at ``reached`` (None: it never
        connected). Only one that connected after the outage began says the database is
        back: a unit with no statement knows nothing, and one already under way when the
        outage began can still succeed on a connection the server has not yet closed (a
        shutdown ends its connections one by one) while the next fails; ending the outage
        on it would log the same outage twice."""
        if self.since is not None and reached is not None and reached > self.since:
            self.end()

    def end(self) -> None:
        if self.since is not None:
            lasted = time.monotonic() - self.since
            self.since = None
            log.info("database reachable again after %.1f s", lasted)
