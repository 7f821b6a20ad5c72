"""``/documents``: attaching and downloading files over plain HTTP. Translation only.

The file is the raw request body and the few ids that place it are query parameters
(``subjectType``, ``subjectId``, ``category``, ``caseId`` for a legal case), with an
``Idempotency-Key`` header. Not multipart: Starlette spools a multipart file over 1 MiB to
a temporary file on disk, in plain, and survivor documents must never touch a disk unsealed.
The body limit middleware caps the body at ``HUB_DOCUMENT_MAX_BYTES`` on this path.

Refusals are GraphQL-shaped error documents with the hub's codes, as on ``/graphql``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cases import documents as service
from cases.document_listing import released_documents
from cases.document_rules import DocumentCategory, SubjectType
from gateway.http_errors import TokenProblem, error_document, unauthenticated
from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.ratelimit import RateLimits
from orgs.principal import Principal
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.outage import is_unavailable
from store.sealed import FieldCipher

log = logging.getLogger(__name__)

PATH = "/documents"
STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONSENT_REQUIRED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
}
EXTENSION = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _refusal(error: HubError, headers: dict[str, str] | None = None) -> Response:
    return Response(
        error_document(error.code, error.message, error.extensions),
        status_code=STATUS.get(error.code, 400),
        media_type="application/json",
        headers=headers,
    )


def _json(body: object, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


E = TypeVar("E", SubjectType, DocumentCategory)


def _enum(kind: type[E], raw: str | None, name: str) -> E:
    try:
        return kind(raw or "")
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise HubError(ErrorCode.BAD_USER_INPUT, f"{name}: one of {allowed}") from None


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
        self.verifier = verifier
        self.cipher = cipher
        self.max_bytes = max_bytes
        self.limits = limits

    def routes(self) -> list[Route]:
        return [
            Route(PATH, _masked(self.collection), methods=["GET", "POST"]),
            Route(PATH + "/{document_id}", _masked(self.one), methods=["GET"]),
        ]

    async def _principal(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HubError(ErrorCode.UNAUTHENTICATED, TokenProblem.MISSING.value)
        try:
            principal = await self.verifier.verify(
                token.strip(), getattr(request.state, "request_id", None)
            )
        except TokenRejected:
            raise HubError(ErrorCode.UNAUTHENTICATED, TokenProblem.INVALID.value) from None
        if self.limits is not None:
            wait = await self.limits.allow(self.limits.graphql, f"client:{principal.client_id}")
            if wait is not None:
                raise HubError(ErrorCode.RATE_LIMITED, "too many requests: slow down")
        return principal

    async def collection(self, request: Request) -> Response:
        try:
            actor = await self._principal(request)
            params = request.query_params
            subject_type = _enum(SubjectType, params.get("subjectType"), "subjectType")
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
                    category=_enum(DocumentCategory, params.get("category"), "category"),
                    content=await request.body(),
                    idempotency_key=request.headers.get("idempotency-key", ""),
                    case_id=params.get("caseId"),
                ),
                self.max_bytes,
            )
            return _json(service.metadata(document), 201)
        except HubError as error:
            return _refused(error)

    async def one(self, request: Request) -> Response:
        try:
            actor = await self._principal(request)
            document, content = await service.download(
                self.db, actor, self.cipher, request.path_params["document_id"]
            )
        except HubError as error:
            return _refused(error)
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


def _refused(error: HubError) -> Response:
    if error.code == ErrorCode.UNAUTHENTICATED:
        challenge = unauthenticated(TokenProblem.INVALID).headers
        return _refusal(error, dict(challenge))
    return _refusal(error)


def _masked(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """A bug answers 500 INTERNAL with the request id, logged with its type and place only
    (never a message: it may quote what the caller sent). Outages go on to the outage
    handler (503 UNAVAILABLE)."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:
            if is_unavailable(exc):
                raise
            request_id = str(getattr(request.state, "request_id", "") or "")
            frames = traceback.extract_tb(exc.__traceback__)[-6:]
            where = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(frames))
            log.error(
                "internal error on %s (request %s): %s; %s",
                PATH,
                request_id,
                type(exc).__name__,
                where,
            )
            error = HubError(
                ErrorCode.INTERNAL,
                f"Internal error. Quote request id {request_id} to the hub operator.",
                {"requestId": request_id},
            )
            return Response(
                error_document(error.code, error.message, error.extensions),
                status_code=500,
                media_type="application/json",
            )

    return guarded
