"""Documents: attaching a file to a case, a repatriation request or a legal case, listing
what is attached, and releasing a file's content by consent.

Who may attach: the case's owner (to the case); any party to a repatriation request (an
embassy's nationality verification) or to a legal case (ADHOC's evidence). Who may
download: the case's owner and the organisation that uploaded the file; anyone else who
is a party to the object only when the survivor's consent covers them for the document's
data category and the object's purpose, now. Each such download is a disclosure.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases import justice
from cases.access import load_grants, party_purposes
from cases.case_keys import case_cipher, case_ciphers
from cases.document_models import Document
from cases.document_rules import DATA_CATEGORY, PURPOSE, DocumentCategory, SubjectType, content_type
from cases.justice_models import LegalCaseLink
from cases.models import Case
from cases.paging import check_idempotency_key, fingerprint, once
from cases.repatriation import load_request
from cases.rules import PII_CATEGORIES
from cases.service import case_audience, load_owned_case, load_visible_case
from consent import disclosure
from consent.disclosure import DisclosureRecord
from consent.rules import Decision, Recipient, decide
from notifications.outbox import emit
from orgs.principal import Principal
from store.audit import record_audit
from store.case_keys import CASE_PREFIX
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

# Each download of a document by another organisation, in the disclosure log.
DOWNLOAD_CHANNEL = "DOWNLOAD"
TABLE = "documents"


@dataclass(frozen=True, slots=True)
class NewDocument:
    subject_type: SubjectType
    subject_id: str
    category: DocumentCategory
    content: bytes
    idempotency_key: str
    case_id: str | None = None  # which linked survivor, for a legal case


@dataclass(frozen=True, slots=True)
class Subject:
    """What a document hangs on, as one organisation stands to it."""

    case: Case
    topic: str
    event_subject: str
    audience: list[str]
    read_scope: str
    write_scope: str


def scopes(subject_type: SubjectType) -> tuple[str, str]:
    if subject_type == SubjectType.REPATRIATION_REQUEST:
        return "repatriation:read", "repatriation:write"
    return "cases:read", "cases:write"


async def _subject(
    session: AsyncSession,
    actor: Principal,
    subject_type: SubjectType,
    subject_id: str,
    case_id: str | None,
    *,
    writing: bool,
) -> Subject:
    """The object and its survivor case if ``actor`` is a party to it; NOT_FOUND otherwise."""
    read_scope, write_scope = scopes(subject_type)
    if subject_type == SubjectType.CASE:
        load = load_owned_case if writing else load_visible_case
        case = await load(session, actor, subject_id)
        return Subject(
            case, "CASE", case.id, await case_audience(session, case), read_scope, write_scope
        )
    if subject_type == SubjectType.REPATRIATION_REQUEST:
        request = await load_request(session, actor, subject_id)
        found = await session.get(Case, request.case_id)
        assert found is not None
        audience = sorted(
            {
                request.requester_organization_id,
                request.embassy_organization_id,
                request.reception_organization_id,
            }
        )
        return Subject(found, "REPATRIATION", request.id, audience, read_scope, write_scope)
    legal = await justice.load_legal_case(session, actor, subject_id)
    if case_id is None:
        raise HubError(ErrorCode.BAD_USER_INPUT, "caseId: which linked survivor it is about")
    if await session.get(LegalCaseLink, (legal.id, case_id)) is None:
        raise HubError(ErrorCode.BAD_USER_INPUT, "caseId: not a case linked to this legal case")
    found = await session.get(Case, case_id)
    assert found is not None
    audience = await justice.audience(session, legal)
    return Subject(found, justice.TOPIC, legal.id, audience, read_scope, write_scope)


def metadata(document: Document) -> dict[str, object]:
    """What anyone who may list a document learns about it: never its content."""
    return {
        "id": document.id,
        "subjectType": document.subject_type,
        "subjectId": document.subject_id,
        "caseId": document.case_id,
        "category": document.category,
        "contentType": document.content_type,
        "size": document.size,
        "uploadedBy": document.uploaded_by_organization_id,
        "uploadedAt": document.uploaded_at.isoformat(),
    }


async def attach(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewDocument, max_bytes: int
) -> Document:
    """Seal and store one file; idempotent by the uploader's key."""
    uploader = actor.organization_id
    if uploader is None:
        raise HubError(ErrorCode.FORBIDDEN, "documents are attached by member organisations")
    if not actor.has(scopes(new.subject_type)[1]):
        raise HubError(ErrorCode.FORBIDDEN, f"this needs the '{scopes(new.subject_type)[1]}' scope")
    if len(new.content) > max_bytes:
        raise HubError(ErrorCode.PAYLOAD_TOO_LARGE, f"the file is over {max_bytes} bytes")
    media_type = content_type(new.content)
    key = check_idempotency_key(new.idempotency_key)
    digest = fingerprint(
        [
            new.subject_type.value,
            new.subject_id,
            new.case_id,
            new.category.value,
            hashlib.sha256(new.content).hexdigest(),
        ]
    )

    async def existing(session: AsyncSession) -> Document | None:
        found: Document | None = await session.scalar(
            select(Document).where(
                Document.uploaded_by_organization_id == uploader, Document.idempotency_key == key
            )
        )
        return found

    async def create() -> Document:
        async with db.write() as session:
            subject = await _subject(
                session, actor, new.subject_type, new.subject_id, new.case_id, writing=True
            )
            document_id = str(uuid.uuid4())
            document = Document(
                id=document_id,
                subject_type=new.subject_type.value,
                subject_id=new.subject_id,
                case_id=subject.case.id,
                category=new.category.value,
                content_type=media_type,
                size=len(new.content),
                key_id=CASE_PREFIX,
                content_sealed=(await case_cipher(session, cipher, subject.case.id)).seal(
                    base64.b64encode(new.content).decode(),
                    table=TABLE,
                    column="content",
                    row_id=document_id,
                ),
                uploaded_by_organization_id=uploader,
                uploaded_at=utcnow(),
                idempotency_key=key,
                request_fingerprint=digest,
            )
            session.add(document)
            await session.flush()
            await emit(
                session,
                topic=subject.topic,
                type="DOCUMENT_ATTACHED",
                subject_id=subject.event_subject,
                actor_organization_id=uploader,
                audience=subject.audience,
                payload={k: v for k, v in metadata(document).items() if k != "uploadedAt"},
            )
            await record_audit(
                session,
                actor_organization_id=uploader,
                actor_client_id=actor.client_id,
                action="document.attach",
                subject_type="Document",
                subject_id=document_id,
                detail={
                    "subjectType": document.subject_type,
                    "subjectId": document.subject_id,
                    "category": document.category,
                    "size": document.size,
                },
                request_id=actor.request_id,
            )
        return document

    return await once(db, existing, create, digest, "document")


async def attached(
    session: AsyncSession, actor: Principal, subject_type: SubjectType, subject_id: str
) -> list[Document]:
    """Every document on an object ``actor`` is a party to, oldest first; NOT_FOUND if not."""
    if subject_type == SubjectType.CASE:
        await load_visible_case(session, actor, subject_id)
    elif subject_type == SubjectType.REPATRIATION_REQUEST:
        await load_request(session, actor, subject_id)
    else:
        await justice.load_legal_case(session, actor, subject_id)
    rows = await session.scalars(
        select(Document)
        .where(Document.subject_type == subject_type.value, Document.subject_id == subject_id)
        .order_by(Document.uploaded_at, Document.id)
    )
    return list(rows)


def release(
    actor: Principal,
    document: Document,
    owner: str,
    grants_decide: list[Decision],
) -> Decision | None:
    """None: the owner or the uploader reads it. A Decision: consent allows it (cite it).
    Otherwise CONSENT_REQUIRED."""
    org = actor.organization_id
    if org in (owner, document.uploaded_by_organization_id):
        return None
    granted = [d for d in grants_decide if d.allowed]
    if not granted:
        raise HubError(
            ErrorCode.CONSENT_REQUIRED,
            "the survivor's consent does not cover this organisation for this document",
        )
    return granted[0]


async def download(
    db: Database, actor: Principal, cipher: FieldCipher, document_id: str
) -> tuple[Document, bytes]:
    """The content of a document for a party the survivor's consent covers, logged as a
    disclosure before it is returned."""
    now = utcnow()
    async with db.read() as session:
        document = await session.get(Document, document_id)
        if document is None:
            raise not_found("document")
        subject_type = SubjectType(document.subject_type)
        try:
            subject = await _subject(
                session,
                actor,
                subject_type,
                document.subject_id,
                document.case_id,
                writing=False,
            )
        except HubError as refusal:
            if refusal.code == ErrorCode.NOT_FOUND:
                raise not_found("document") from None
            raise
        if not actor.has(subject.read_scope):
            raise HubError(ErrorCode.FORBIDDEN, f"this needs the '{subject.read_scope}' scope")
        category = DATA_CATEGORY[DocumentCategory(document.category)]
        if category in PII_CATEGORIES and not actor.has("pii:read"):
            raise HubError(ErrorCode.FORBIDDEN, "identity papers need the 'pii:read' scope")
        org = actor.organization_id or ""
        purpose = PURPOSE[subject_type]
        purposes = (
            {purpose}
            if purpose is not None
            else (await party_purposes(session, [subject.case.id], org, now)).get(
                subject.case.id, set()
            )
        )
        grants = (await load_grants(session, [subject.case.id])).get(subject.case.id, [])
        recipient = Recipient(org, actor.organization_kind or "")
        decisions = [decide(grants, recipient, p, category, now) for p in sorted(purposes)]
        cited = release(actor, document, subject.case.owner_organization_id, decisions)
        opener = (await case_ciphers(session, cipher, [document.case_id]))[document.case_id]
    content = base64.b64decode(
        opener.open(document.content_sealed, table=TABLE, column="content", row_id=document.id)
    )
    if cited is not None:
        assert cited.grant_id is not None
        await disclosure.record(
            db,
            [
                DisclosureRecord(
                    organization_id=org,
                    case_id=document.case_id,
                    categories=(category.value,),
                    consent_grant_id=cited.grant_id,
                    consent_version=cited.grant_version or 0,
                    channel=DOWNLOAD_CHANNEL,
                    request_id=actor.request_id,
                )
            ],
        )
    return document, content
