"""Documents attached to a case, a repatriation request or a legal case, as edges of those
objects: metadata only, the file itself through ``GET /documents/{id}``. Translation only
(who sees which document: cases/document_listing.py)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from cases.document_listing import cursor, page, released_documents
from cases.document_models import Document
from cases.document_rules import DocumentCategory, SubjectType
from schema.context import HubContext
from schema.paging import PageInfo
from store.errors import ErrorCode, HubError

strawberry.enum(DocumentCategory, name="DocumentCategory")


@strawberry.type(
    description="A file attached to a case, a repatriation request or a legal case: its "
    "metadata. The content is downloaded from `GET /documents/{id}` (a disclosure)."
)
class AttachedDocument:
    id: strawberry.ID
    case_id: strawberry.ID = strawberry.field(description="The survivor's case it is about.")
    category: DocumentCategory
    content_type: str = strawberry.field(description="Checked by content: PDF, JPEG or PNG.")
    size: int = strawberry.field(description="Bytes.")
    uploaded_by_id: strawberry.ID
    uploaded_at: datetime

    @classmethod
    def from_row(cls, row: Document) -> AttachedDocument:
        return cls(
            id=strawberry.ID(row.id),
            case_id=strawberry.ID(row.case_id),
            category=DocumentCategory(row.category),
            content_type=row.content_type,
            size=row.size,
            uploaded_by_id=strawberry.ID(row.uploaded_by_organization_id),
            uploaded_at=row.uploaded_at,
        )


@strawberry.type
class AttachedDocumentEdge:
    cursor: str
    node: AttachedDocument


@strawberry.type
class AttachedDocumentConnection:
    edges: list[AttachedDocumentEdge]
    page_info: PageInfo


DESCRIPTION = (
    "Documents attached here that the caller may open, oldest first: every one for the "
    "case's owner and the uploader, others as the survivor's consent covers their data "
    "category (identity papers also need `pii:read`). Null when the caller may not list "
    "them. `first` from 1 to 100."
)


async def documents_of(
    info: Info[HubContext, None],
    subject_type: SubjectType,
    subject_id: str,
    first: int,
    after: str | None,
) -> AttachedDocumentConnection | None:
    """The edge: null where the caller is no party or lacks the scope, like any edge."""
    ctx = info.context
    try:
        rows = await released_documents(ctx.db, ctx.actor, subject_type, subject_id)
    except HubError as refusal:
        if refusal.code in (ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN):
            return None
        raise
    shown, has_next = page(rows, first, after)
    edges = [
        AttachedDocumentEdge(cursor=cursor(r), node=AttachedDocument.from_row(r)) for r in shown
    ]
    return AttachedDocumentConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
    )
