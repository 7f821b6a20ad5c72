"""``/exports/htcds.csv`` and ``/exports/htcds.json``: the pseudonymised HTCDS export for
the national database (``exports:read``). ``/exports/fhir/referrals/{id}`` (a FHIR Bundle of
ServiceRequest + Task, for the referral's sender or receiver, ``referrals:read``) and
``/exports/fhir/cases/{id}/consents`` (FHIR Consent resources, ``cases:read``).
Translation only: consent, pseudonyms and the disclosure log are in cases/exports.py.
Refusals are GraphQL-shaped, as on ``/documents``.
"""

from __future__ import annotations

import csv
import io

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import exports as service
from gateway.bearer_routes import BearerDoor, guarded_route, refused
from gateway.oauth.verify import TokenVerifier
from gateway.ratelimit import RateLimits
from store.engine import Database
from store.errors import HubError
from store.sealed import FieldCipher

CSV_PATH = "/exports/htcds.csv"
JSON_PATH = "/exports/htcds.json"
FHIR_REFERRAL_PATH = "/exports/fhir/referrals/{referral_id}"
FHIR_CONSENT_PATH = "/exports/fhir/cases/{case_id}/consents"
FHIR_JSON = "application/fhir+json"
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class ExportEndpoints:
    def __init__(
        self,
        db: Database,
        verifier: TokenVerifier,
        cipher: FieldCipher,
        pseudonym_key: bytes,
        limits: RateLimits | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.pseudonym_key = pseudonym_key
        self.door = BearerDoor(verifier, limits)

    def routes(self) -> list[Route]:
        return [
            guarded_route(CSV_PATH, self.htcds_csv, ["GET"]),
            guarded_route(JSON_PATH, self.htcds_json, ["GET"]),
            guarded_route(FHIR_REFERRAL_PATH, self.fhir_referral, ["GET"]),
            guarded_route(FHIR_CONSENT_PATH, self.fhir_consents, ["GET"]),
        ]

    async def _export(self, request: Request) -> tuple[tuple[str, ...], list[dict[str, str]]]:
        actor = await self.door.principal(request)
        return await service.htcds_export(self.db, self.cipher, actor, self.pseudonym_key)

    async def htcds_csv(self, request: Request) -> Response:
        try:
            columns, rows = await self._export(request)
        except HubError as error:
            return refused(error)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={**_HEADERS, "Content-Disposition": 'attachment; filename="htcds.csv"'},
        )

    async def htcds_json(self, request: Request) -> Response:
        try:
            columns, rows = await self._export(request)
        except HubError as error:
            return refused(error)
        body = {"standard": "HTCDS", "columns": list(columns), "cases": rows}
        return Response(orjson.dumps(body), media_type="application/json", headers=_HEADERS)

    async def fhir_referral(self, request: Request) -> Response:
        try:
            actor = await self.door.principal(request)
            document = await service.fhir_referral(
                self.db, actor, request.path_params["referral_id"], self.pseudonym_key
            )
        except HubError as error:
            return refused(error)
        return Response(orjson.dumps(document), media_type=FHIR_JSON, headers=_HEADERS)

    async def fhir_consents(self, request: Request) -> Response:
        try:
            actor = await self.door.principal(request)
            document = await service.fhir_consents(
                self.db, actor, request.path_params["case_id"], self.pseudonym_key
            )
        except HubError as error:
            return refused(error)
        return Response(orjson.dumps(document), media_type=FHIR_JSON, headers=_HEADERS)
