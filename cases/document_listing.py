"""Which documents on an object a party sees listed: those it may also open.

A document's category is itself something about the survivor (that a medical report or
identity papers exist), so a listing is released like a field: the case's owner and the
uploader see every document; any other party sees a document only while the survivor's
consent covers it for the document's data category and the object's purpose, and identity
papers only with the ``pii:read`` scope, exactly as a download would be allowed
(cases/documents.py). A listing shows metadata only; the download of the content is the
disclosure that the log records.
"""

from __future__ import annotations

import base64

from sqlalchemy import select

from cases.access import load_grants, party_purposes
from cases.document_models import Document
from cases.document_rules import DATA_CATEGORY, PURPOSE, DocumentCategory, SubjectType
from cases.documents import attached, scopes
from cases.models import Case
from cases.paging import check_page_size, decode_cursor
from cases.rules import PII_CATEGORIES
from consent.rules import Purpose, Recipient, decide
from orgs.principal import Principal
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.types import utcnow


def opens(
    reader: str, owner: str, uploader: str, *, identity_allowed: bool, consented: bool
) -> bool:
    """Whether ``reader`` may open (and so see listed) one document. Pure."""
    if not identity_allowed:
        return False
    return reader in (owner, uploader) or consented


async def released_documents(
    db: Database, actor: Principal, subject_type: SubjectType, subject_id: str
) -> list[Document]:
    """The documents on an object that ``actor`` may open, oldest first (metadata rows).

    NOT_FOUND when the actor is no party to the object, FORBIDDEN without its read scope."""
    read_scope = scopes(subject_type)[0]
    if not actor.has(read_scope):
        raise HubError(ErrorCode.FORBIDDEN, f"this needs the '{read_scope}' scope")
    org = actor.organization_id or ""
    now = utcnow()
    async with db.read() as session:
        rows = await attached(session, actor, subject_type, subject_id)
        case_ids = sorted({r.case_id for r in rows})
        if not case_ids:
            return []
        found = await session.execute(
            select(Case.id, Case.owner_organization_id).where(Case.id.in_(case_ids))
        )
        owners: dict[str, str] = {case_id: owner for case_id, owner in found.all()}
        grants = await load_grants(session, case_ids)
        fixed = PURPOSE[subject_type]
        standing: dict[str, set[Purpose]] = (
            {c: {fixed} for c in case_ids}
            if fixed is not None
            else await party_purposes(session, case_ids, org, now)
        )
    recipient = Recipient(org, actor.organization_kind or "")
    shown = []
    for row in rows:
        category = DATA_CATEGORY[DocumentCategory(row.category)]
        consented = any(
            decide(grants.get(row.case_id, []), recipient, purpose, category, now).allowed
            for purpose in sorted(standing.get(row.case_id, set()))
        )
        if opens(
            org,
            owners[row.case_id],
            row.uploaded_by_organization_id,
            identity_allowed=category not in PII_CATEGORIES or actor.has("pii:read"),
            consented=consented,
        ):
            shown.append(row)
    return shown


def cursor(document: Document) -> str:
    """The position of a document in its listing (oldest first), as every list's cursor."""
    raw = f"{document.uploaded_at.isoformat()}|{document.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def page(rows: list[Document], first: int, after: str | None) -> tuple[list[Document], bool]:
    """One page of a listing already in (uploaded_at, id) order, and whether more follow."""
    check_page_size(first)
    if after is not None:
        at, row_id = decode_cursor(after)
        rows = [r for r in rows if (r.uploaded_at, r.id) > (at, row_id)]
    return rows[:first], len(rows) > first
