"""Documents over HTTP: an embassy attaches a nationality verification to a repatriation
request, the reception organisation downloads it under the survivor's consent (a
disclosure), and what is refused is refused with nothing written."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from consent.disclosure import verify as verify_chain
from tests.api.justice_support import LEGAL_AID, opened, survivor_case
from tests.api.repatriation_support import a_request, fetch
from tests.conftest import Template
from tests.marker_watch import planted
from tests.network import RunningHub, backend, serve_hub

SECRET = planted("Passport N0 KH-7731-Zephyrine, born Prey Veng")
PDF = b"%PDF-1.4\n1 0 obj << /Title (" + SECRET.encode() + b") >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + SECRET.encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + SECRET.encode()


async def upload(
    hub: RunningHub,
    who: str,
    content: bytes,
    key: str,
    *,
    token: str | None = None,
    **params: str,
) -> httpx.Response:
    bearer = token or await hub.token(who)
    return await hub.http.post(
        "/documents",
        params=params,
        content=content,
        headers={
            "Authorization": f"Bearer {bearer}",
            "Idempotency-Key": key,
            "Content-Type": "application/octet-stream",
        },
    )


async def download(
    hub: RunningHub, who: str, document_id: str, token: str | None = None
) -> httpx.Response:
    bearer = token or await hub.token(who)
    return await hub.http.get(
        f"/documents/{document_id}", headers={"Authorization": f"Bearer {bearer}"}
    )


async def listed(hub: RunningHub, who: str, **params: str) -> httpx.Response:
    return await hub.http.get(
        "/documents", params=params, headers={"Authorization": f"Bearer {await hub.token(who)}"}
    )


def code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["errors"][0]["extensions"]["code"])


async def disclosures(hub: RunningHub) -> list[tuple[Any, ...]]:
    return await fetch(
        hub, "SELECT organization_id, case_id, categories, channel FROM disclosures ORDER BY id"
    )


async def test_an_embassy_attaches_papers_and_the_reception_downloads_them_with_consent(
    hub: RunningHub,
) -> None:
    case_id, rid = await a_request(hub, "doc-flow-0001")
    where = {"subjectType": "REPATRIATION_REQUEST", "subjectId": rid}
    sent = await upload(
        hub, "embassy-bangkok", PDF, "doc-key-0001", category="NATIONALITY_VERIFICATION", **where
    )
    assert sent.status_code == 201, sent.text
    document = sent.json()
    assert document["contentType"] == "application/pdf" and document["size"] == len(PDF)
    assert (document["caseId"], document["category"]) == (case_id, "NATIONALITY_VERIFICATION")
    assert SECRET not in sent.text

    # The event names the document, never its content.
    (kind, audience, payload) = (
        await fetch(
            hub,
            "SELECT type, audience, payload FROM events WHERE subject_id = :r ORDER BY id DESC",
            r=rid,
        )
    )[0]
    assert kind == "DOCUMENT_ATTACHED"
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload["id"] == document["id"] and payload["category"] == "NATIONALITY_VERIFICATION"
    assert hub.members["mosavy"].organization_id in str(audience)

    # The Ministry, the reception organisation, lists and downloads it (the survivor's consent
    # covers it for IDENTITY, for REPATRIATION): one disclosure entry, channel DOWNLOAD.
    found = await listed(hub, "mosavy", **where)
    assert [d["id"] for d in found.json()["documents"]] == [document["id"]]
    before = await disclosures(hub)
    got = await download(hub, "mosavy", document["id"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    logged = (await disclosures(hub))[len(before) :]
    assert len(logged) == 1
    org, logged_case, categories, channel = logged[0]
    assert (org, logged_case, channel) == (
        hub.members["mosavy"].organization_id,
        case_id,
        "DOWNLOAD",
    )
    assert "IDENTITY" in str(categories)

    # The case's owner and the uploader read it without a disclosure.
    for who in ("adhoc", "embassy-bangkok"):
        mine = await download(hub, who, document["id"])
        assert mine.status_code == 200 and mine.content == PDF
    assert len(await disclosures(hub)) == len(before) + 1

    # A medical report the consent does not cover: the Ministry may neither list nor open it.
    medical = await upload(hub, "adhoc", PNG, "doc-key-0002", category="MEDICAL", **where)
    assert medical.status_code == 201, medical.text
    assert medical.json()["contentType"] == "image/png"
    refused = await download(hub, "mosavy", medical.json()["id"])
    assert (refused.status_code, code(refused)) == (403, "CONSENT_REQUIRED")
    assert SECRET not in refused.text
    # Without `pii:read`, identity papers stay closed even to a covered party.
    narrow = await hub.token("mosavy", scope="repatriation:read")
    no_pii = await download(hub, "mosavy", document["id"], token=narrow)
    assert (no_pii.status_code, code(no_pii)) == (403, "FORBIDDEN")
    assert len(await disclosures(hub)) == len(before) + 1

    # Not a party: as if the document did not exist.
    for who in ("ngo-malaysia", "embassy-beijing"):
        hidden = await download(hub, who, document["id"])
        assert (hidden.status_code, code(hidden)) == (404, "NOT_FOUND")
        unlisted = await listed(hub, who, **where)
        assert (unlisted.status_code, code(unlisted)) == (404, "NOT_FOUND")

    # A retry with the same key is the same document; the key reused for other content is not.
    again = await upload(
        hub, "embassy-bangkok", PDF, "doc-key-0001", category="NATIONALITY_VERIFICATION", **where
    )
    assert again.status_code == 201 and again.json()["id"] == document["id"]
    other = await upload(
        hub,
        "embassy-bangkok",
        PDF + b" ",
        "doc-key-0001",
        category="NATIONALITY_VERIFICATION",
        **where,
    )
    assert (other.status_code, code(other)) == (409, "CONFLICT")
    assert await hub.scalar("SELECT count(*) FROM documents") == 2


async def test_legal_aid_attaches_evidence_to_a_legal_case_for_one_linked_survivor(
    hub: RunningHub,
) -> None:
    case_id = await survivor_case(hub, "ccpcr-shelter", planted("Sok Dara"))
    lid = (await opened(hub, "ccpcr-shelter", [case_id], "doc-legal-0001"))["id"]
    where = {"subjectType": "LEGAL_CASE", "subjectId": lid}
    missing_case = await upload(hub, LEGAL_AID, PDF, "doc-key-0101", category="EVIDENCE", **where)
    assert (missing_case.status_code, code(missing_case)) == (400, "BAD_USER_INPUT")
    sent = await upload(
        hub, LEGAL_AID, PDF, "doc-key-0102", category="EVIDENCE", caseId=case_id, **where
    )
    assert sent.status_code == 201, sent.text
    # The shelter owns the survivor's case: it reads the evidence, no disclosure needed.
    got = await download(hub, "ccpcr-shelter", sent.json()["id"])
    assert got.status_code == 200 and got.content == PDF
    events = await fetch(hub, "SELECT type FROM events WHERE subject_id = :l ORDER BY id", l=lid)
    assert events[-1][0] == "DOCUMENT_ATTACHED"


async def test_refused_uploads_write_nothing(hub: RunningHub) -> None:
    case_id, rid = await a_request(hub, "doc-refuse-0001")
    on_case = {"subjectType": "CASE", "subjectId": case_id}
    refusals: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("adhoc", EXE, {"category": "OTHER", **on_case}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("adhoc", SECRET.encode(), {"category": "OTHER", **on_case}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("adhoc", b"", {"category": "OTHER", **on_case}, 400, "BAD_USER_INPUT"),
        ("adhoc", PDF, {"category": "PASSPORT", **on_case}, 400, "BAD_USER_INPUT"),
        ("adhoc", PDF, {"category": "OTHER", "subjectType": "FILE"}, 400, "BAD_USER_INPUT"),
        # the embassy is a party to the request, not the case's owner
        ("embassy-bangkok", PDF, {"category": "OTHER", **on_case}, 403, "FORBIDDEN"),
        ("ngo-malaysia", PDF, {"category": "OTHER", **on_case}, 404, "NOT_FOUND"),
        (
            "ngo-malaysia",
            PDF,
            {"category": "OTHER", "subjectType": "REPATRIATION_REQUEST", "subjectId": rid},
            404,
            "NOT_FOUND",
        ),
    ]
    for n, (who, content, params, status, expected) in enumerate(refusals):
        response = await upload(hub, who, content, f"doc-refused-{n:04d}", **params)
        assert (response.status_code, code(response)) == (status, expected), (who, params)
        assert SECRET not in response.text
    read_only = await hub.token("adhoc", scope="cases:read")
    scoped = await upload(
        hub, "adhoc", PDF, "doc-refused-9999", token=read_only, category="OTHER", **on_case
    )
    assert (scoped.status_code, code(scoped)) == (403, "FORBIDDEN")
    anonymous = await hub.http.post("/documents", params=on_case, content=PDF)
    assert (anonymous.status_code, code(anonymous)) == (401, "UNAUTHENTICATED")
    assert "invalid_token" in anonymous.headers["www-authenticate"]
    forged = await upload(hub, "adhoc", PDF, "doc-refused-9998", token="not-a-token", **on_case)
    assert (forged.status_code, code(forged)) == (401, "UNAUTHENTICATED")
    assert await hub.scalar("SELECT count(*) FROM documents") == 0


async def test_a_document_over_the_cap_is_refused_before_it_is_read(template: Template) -> None:
    async with serve_hub(template, document_max_bytes=2_048) as hub:
        case_id, _ = await a_request(hub, "doc-size-0001")
        on_case = {"subjectType": "CASE", "subjectId": case_id, "category": "OTHER"}
        big = PDF + b"0" * 2_048
        response = await upload(hub, "adhoc", big, "doc-size-key-1", **on_case)
        assert (response.status_code, code(response)) == (413, "PAYLOAD_TOO_LARGE")
        fits = await upload(hub, "adhoc", PDF + b"0" * 1_000, "doc-size-key-2", **on_case)
        assert fits.status_code == 201, fits.text
        # The ordinary GraphQL limit does not shrink to the document's, nor grow to it.
        assert hub.settings.max_body_bytes > 2_048
        assert await hub.scalar("SELECT count(*) FROM documents") == 1


async def test_the_file_is_sealed_at_rest(hub: RunningHub) -> None:
    case_id, _ = await a_request(hub, "doc-rest-0001")
    sent = await upload(
        hub,
        "adhoc",
        PDF,
        "doc-rest-key-1",
        subjectType="CASE",
        subjectId=case_id,
        category="IDENTITY_PAPERS",
    )
    assert sent.status_code == 201, sent.text
    stored = await hub.scalar(
        "SELECT content_sealed FROM documents WHERE id = :id", id=sent.json()["id"]
    )
    # Sealed under the case's own key, which erasing the case destroys.
    assert stored.startswith("c1.")
    marker = SECRET.encode()
    for form in (marker, base64.b64encode(PDF), base64.b64encode(marker)[:24], PDF[:40]):
        assert form.decode(errors="ignore") not in stored
    if backend() == "sqlite":
        database = make_url(hub.settings.database_url).database
        assert database is not None
        raw = b"".join(
            p.read_bytes() for p in (Path(database), Path(f"{database}-wal")) if p.exists()
        )
        assert hub.members["adhoc"].name.encode() in raw  # plain text would be found
        assert marker not in raw and PDF[:40] not in raw
        assert base64.b64encode(PDF)[:40] not in raw
    else:
        dumped = await fetch(hub, "SELECT CAST(d.* AS text) FROM documents d")
        assert all(SECRET not in row[0] for row in dumped)


async def test_a_party_to_the_case_downloads_what_its_consent_covers_and_the_log_verifies(
    hub: RunningHub,
) -> None:
    """A document on the case itself serves whatever the reader is a party for: the shelter,
    named in the survivor's consent for SERVICE_REFERRAL with HEALTH, opens her medical
    report; the disclosure log still verifies afterwards."""
    case_id = await survivor_case(hub, "ccpcr-koh-kong", planted("Pich Rithy"), consent=False)
    consent = await hub.gql(
        "ccpcr-koh-kong",
        "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }",
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["SERVICE_REFERRAL"],
                "categories": ["HEALTH"],
                "recipientOrganizationIds": [hub.members["ccpcr-shelter"].organization_id],
            }
        },
    )
    assert not consent.errors, consent.errors
    on_case = {"subjectType": "CASE", "subjectId": case_id}
    medical = await upload(
        hub, "ccpcr-koh-kong", PNG, "doc-case-0001", category="MEDICAL", **on_case
    )
    papers = await upload(
        hub, "ccpcr-koh-kong", PDF, "doc-case-0002", category="IDENTITY_PAPERS", **on_case
    )
    assert medical.status_code == papers.status_code == 201
    got = await download(hub, "ccpcr-shelter", medical.json()["id"])
    assert got.status_code == 200 and got.content == PNG
    refused = await download(hub, "ccpcr-shelter", papers.json()["id"])
    assert (refused.status_code, code(refused)) == (403, "CONSENT_REQUIRED")
    logged = await fetch(
        hub, "SELECT channel, categories FROM disclosures WHERE case_id = :c", c=case_id
    )
    assert [(c, "HEALTH" in str(cats)) for c, cats in logged] == [("DOWNLOAD", True)]
    async with hub.db.read() as session:
        report = await verify_chain(session)
    assert report.first_broken is None and report.entries >= 1


async def test_a_suspended_member_downloads_nothing(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "doc-suspend-0001")
    where = {"subjectType": "REPATRIATION_REQUEST", "subjectId": rid}
    sent = await upload(
        hub, "adhoc", PDF, "doc-suspend-key", category="NATIONALITY_VERIFICATION", **where
    )
    assert sent.status_code == 201
    token = await hub.token("mosavy")  # issued while a member in good standing
    suspended = await hub.gql(
        "secretariat",
        'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }',
        {"id": hub.members["mosavy"].organization_id},
    )
    assert not suspended.errors, suspended.errors
    got = await download(hub, "mosavy", sent.json()["id"], token=token)
    assert (got.status_code, code(got)) == (401, "UNAUTHENTICATED")
    listing = await hub.http.get(
        "/documents", params=where, headers={"Authorization": f"Bearer {token}"}
    )
    assert listing.status_code == 401
    assert SECRET not in got.text + listing.text


@pytest.mark.parametrize("category", ["IDENTITY_PAPERS", "EVIDENCE", "MEDICAL", "OTHER"])
async def test_each_category_is_released_by_its_own_data_category(
    hub: RunningHub, category: str
) -> None:
    """The reception organisation's consent covers IDENTITY and LOCATION only: identity
    papers open for it, evidence (LEGAL), medical and unlabelled documents (HEALTH) do not."""
    _, rid = await a_request(hub, f"doc-cat-{category}")
    where = {"subjectType": "REPATRIATION_REQUEST", "subjectId": rid, "category": category}
    sent = await upload(hub, "adhoc", PDF, f"doc-cat-key-{category}", **where)
    assert sent.status_code == 201, sent.text
    got = await download(hub, "mosavy", sent.json()["id"])
    if category == "IDENTITY_PAPERS":
        assert got.status_code == 200 and got.content == PDF
    else:
        assert (got.status_code, code(got)) == (403, "CONSENT_REQUIRED")


async def test_a_bug_behind_documents_is_a_masked_internal_error(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cases import documents as service

    async def broken(*args: Any) -> Any:
        raise RuntimeError(f"a bug that quotes {SECRET}")

    monkeypatch.setattr(service, "download", broken)
    response = await download(hub, "adhoc", "00000000-0000-0000-0000-000000000000")
    assert (response.status_code, code(response)) == (500, "INTERNAL")
    assert (
        response.json()["errors"][0]["extensions"]["requestId"]
        == (response.headers["x-request-id"])
    )
    assert SECRET not in response.text
