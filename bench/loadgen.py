"""What the HTTP benchmarks share: a served process pinned to one core, and a small load generator.

The server side runs in its own process (``Served``) pinned to core 0 when the machine has more
than one; the driver pins itself to the last core, so the load generator does not steal the
server's CPU. Loopback only.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx


def pin(core: int) -> None:
    """Pin this process to ``core`` (taken modulo the cores we may use), when there are two."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[core % len(cores)]})


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class Run:
    """One timed load run against one target."""

    requests: int = 0
    failures: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # server CPU seconds during the run
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.requests if self.requests else math.nan


async def load(
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    connections: int,
    seconds: float,
    check: Callable[[Any], bool],
    server_pid: int,
) -> Run:
    """``connections`` clients post ``body`` back to back for ``seconds``; count good answers."""
    run = Run()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await client.post(url, json=body, headers=headers)  # warm: connection and caches
        stop = time.monotonic() + seconds
        cpu0, t0 = cpu_seconds(server_pid), time.monotonic()

        async def worker() -> None:
            while time.monotonic() < stop:
                start = time.monotonic()
                response = await client.post(url, json=body, headers=headers)
                ok = response.status_code == 200 and check(response.json())
                run.latencies.append(time.monotonic() - start)
                run.requests += ok
                run.failures += not ok

        await asyncio.gather(*(worker() for _ in range(connections)))
        run.seconds, run.cpu = time.monotonic() - t0, cpu_seconds(server_pid) - cpu0
    return run


def call(conn: Connection, cmd: str, *args: Any) -> Any:
    conn.send((cmd, *args))
    return conn.recv()
