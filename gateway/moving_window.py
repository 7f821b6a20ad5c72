"""A moving-window hit counter kept in this process's memory, with no thread and no task.

The `limits` library's in-memory storage schedules an expiry task on every hit that crosses
to a worker thread once per key it holds: on /graphql that was three thread hand-overs per
request (more with more clients), each a scheduler wake-up on a busy machine. The rule here is
the same moving window (at most ``amount`` hits in any ``seconds``), decided inline.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

# Keys whose newest hit has left their window are forgotten at most this often (seconds of
# the clock) or once this many keys are held, whichever comes first.
SWEEP_EVERY = 60.0
SWEEP_AT_KEYS = 4096


class MovingWindow:
    """Hits per key: allowed while fewer than ``amount`` fell in the last ``seconds``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[Hashable, tuple[deque[float], float]] = {}
        self._swept = clock()

    def hit(self, key: Hashable, amount: int, seconds: float) -> float | None:
        """Count one hit. None when allowed; otherwise the seconds until the oldest hit in the
        window leaves it (the refused hit is not counted)."""
        now = self._clock()
        if now - self._swept >= SWEEP_EVERY or len(self._hits) >= SWEEP_AT_KEYS:
            self._sweep(now)
        entry = self._hits.get(key)
        if entry is None:
            entry = (deque(), seconds)
            self._hits[key] = entry
        hits = entry[0]
        cutoff = now - seconds
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if len(hits) >= amount:
            return hits[0] + seconds - now
        hits.append(now)
        return None

    def __len__(self) -> int:
        """Keys held (for tests: idle keys are forgotten)."""
        return len(self._hits)

    def _sweep(self, now: float) -> None:
        self._swept = now
        idle = [
            key
            for key, (hits, seconds) in self._hits.items()
            if not hits or hits[-1] <= now - seconds
        ]
        for key in idle:
            del self._hits[key]
