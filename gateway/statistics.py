"""``/statistics.csv`` and ``/statistics.svg``: the published statistics table as a file
for donors and the national committee, and as a chart the console can embed. Translation
only; the same token, scope (``statistics:read``) and suppression as the GraphQL field.

Query parameters: ``measure``, ``rows`` and optionally ``columns``, with the GraphQL enum
values. Refusals are GraphQL-shaped error documents, as on ``/documents``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import statistics as service
from cases.statistics_output import to_csv, to_svg
from cases.statistics_tables import Dimension, Measure, Table
from gateway.bearer_routes import BearerDoor, guarded_route, parse_enum, refused
from gateway.oauth.verify import TokenVerifier
from gateway.ratelimit import RateLimits
from store.engine import Database
from store.errors import HubError
from store.sealed import FieldCipher

CSV_PATH = "/statistics.csv"
SVG_PATH = "/statistics.svg"


class StatisticsEndpoints:
    def __init__(
        self,
        db: Database,
        verifier: TokenVerifier,
        cipher: FieldCipher,
        k: int,
        limits: RateLimits | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.k = k
        # The same bearer check (and rate limit) as every plain-HTTP route.
        self.door = BearerDoor(verifier, limits)

    def routes(self) -> list[Route]:
        return [
            guarded_route(CSV_PATH, self.csv, ["GET"]),
            guarded_route(SVG_PATH, self.svg, ["GET"]),
        ]

    async def _table(self, request: Request) -> Table:
        actor = await self.door.principal(request)
        params = request.query_params
        measure = parse_enum(Measure, params.get("measure"), "measure")
        rows = parse_enum(Dimension, params.get("rows"), "rows")
        raw_columns = params.get("columns")
        columns = parse_enum(Dimension, raw_columns, "columns") if raw_columns else None
        return await service.statistics_table(
            self.db, self.cipher, actor, measure, rows, columns, self.k
        )

    async def csv(self, request: Request) -> Response:
        try:
            table = await self._table(request)
        except HubError as error:
            return refused(error)
        name = f"statistics-{table.measure.value.lower()}-{table.rows.value.lower()}.csv"
        return Response(
            to_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def svg(self, request: Request) -> Response:
        try:
            table = await self._table(request)
        except HubError as error:
            return refused(error)
        return Response(
            to_svg(table),
            media_type="image/svg+xml",
            headers={
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                # Drawn here, from numbers and escaped labels: nothing in it may run.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            },
        )
