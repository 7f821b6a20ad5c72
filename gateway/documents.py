"""``/documents``: attaching and downloading files over plain HTTP. Translation only.

The file is the raw request body and the few ids that place it are query parameters
(``subjectType``, ``subjectId``, ``category``, ``caseId`` for a legal case), with an
``Idempotency-Key`` header. Not multipart: Starlette spools a multipart file over 1 MiB to
a temporary file on disk, in plain, and survivor documents must never touch a disk unsealed.
The body limit middleware caps the body at ``HUB_DOCUMENT_MAX_BYTES`` on this path.

Refusals are GraphQL-shaped error documents with the hub's codes, as on ``/graphql``.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import documents as service
from cases.document_listing import released_documents
from cases.document_rules import DocumentCategory, SubjectType
from gateway.bearer_routes import BearerDoor, guarded_route, parse_enum, refused
from gateway.oauth.verify import TokenVerifier
from gateway.ratelimit import RateLimits
from store.engine import Database
from store.errors import HubError
from store.sealed import FieldCipher

PATH = "/documents"
EXTENSION = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _json(body: object, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


class DocumentEndpoints:
    def __init__(
        self,
        db: Database,
        verifier: TokenVerifier,
        cipher: FieldCipher,
        max_bytes: int,
        limits: RateLimits | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.max_bytes = max_bytes
        self.door = BearerDoor(verifier, limits)

    def routes(self) -> list[Route]:
        return [
            guarded_route(PATH, self.collection, ["GET", "POST"]),
            guarded_route(PATH + "/{document_id}", self.one, ["GET"]),
        ]

    async def collection(self, request: Request) -> Response:
        try:
            actor = await self.door.principal(request)
            params = request.query_params
            subject_type = parse_enum(SubjectType, params.get("subjectType"), "subjectType")
            subject_id = params.get("subjectId") or ""
            if request.method == "GET":
                rows = await released_documents(self.db, actor, subject_type, subject_id)
                return _json({"documents": [service.metadata(r) for r in rows]})
            document = await service.attach(
                self.db,
                actor,
                self.cipher,
                service.NewDocument(
                    subject_type=subject_type,
                    subject_id=subject_id,
                    category=parse_enum(DocumentCategory, params.get("category"), "category"),
                    content=await request.body(),
                    idempotency_key=request.headers.get("idempotency-key", ""),
                    case_id=params.get("caseId"),
                ),
                self.max_bytes,
            )
            return _json(service.metadata(document), 201)
        except HubError as error:
            return refused(error)

    async def one(self, request: Request) -> Response:
        try:
            actor = await self.door.principal(request)
            document, content = await service.download(
                self.db, actor, self.cipher, request.path_params["document_id"]
            )
        except HubError as error:
            return refused(error)
        name = f"{document.id}.{EXTENSION.get(document.content_type, 'bin')}"
        return Response(
            content,
            media_type=document.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
