"""Liveness and readiness.

``/healthz`` says the process is alive and nothing more: restarting a hub because its
database restarts would only add a second outage. ``/readyz`` says whether it can serve:
database reachable, migrations at head, event pump running; 503 until all three hold.
"""

from __future__ import annotations

import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifications.pump import EventPump
from store.engine import Database
from store.migrate import current_revision, head_revision
from store.outage import RETRY_AFTER


def health_routes(db: Database, pump: EventPump) -> list[Route]:
    head = head_revision()

    async def alive(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> Response:
        checks = {"database": False, "migrations": False, "events": pump.running}
        # Any failure to answer is "not ready"; an outage is logged once, by the store.
        with contextlib.suppress(Exception):
            revision = await current_revision(db)
            checks["database"] = True
            checks["migrations"] = revision == head
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
            headers=None if ok else {"Retry-After": str(RETRY_AFTER)},
        )

    return [
        Route("/healthz", alive, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
    ]
