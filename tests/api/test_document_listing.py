"""Documents listed in GraphQL as edges of the object they hang on (`repatriationRequest.
documents`, `case.documents`, `legalCase.documents`): metadata only, each document listed to
a party only while it may open it, exactly as its download would be allowed."""

from __future__ import annotations

from typing import Any

from tests.api.justice_support import LEGAL_AID, opened, survivor_case
from tests.api.repatriation_support import a_request
from tests.api.test_documents import PDF, PNG, SECRET, code, listed, upload
from tests.network import RunningHub

NODE = "id caseId category contentType size uploadedById uploadedAt"
ON_REQUEST = (
    "query($id: ID!, $first: Int, $after: String) { repatriationRequest(id: $id) { id "
    "documents(first: $first, after: $after) { edges { cursor node { " + NODE + " } } "
    "pageInfo { hasNextPage endCursor } } } }"
)
ON_CASE = "query($id: ID!) { case(id: $id) { id documents { edges { node { id category } } } } }"
ON_LEGAL = (
    "query($id: ID!) { legalCase(id: $id) { id documents { edges { node { id caseId "
    "category } } } } }"
)


async def request_documents(
    hub: RunningHub, who: str, rid: str, token: str | None = None, **page: Any
) -> Any:
    result = await hub.gql(who, ON_REQUEST, {"id": rid, **page}, token=token)
    assert not result.errors, result.errors
    assert SECRET not in str(result.body)
    return result.data["repatriationRequest"]


def ids(request: Any) -> list[str]:
    return [e["node"]["id"] for e in request["documents"]["edges"]]


async def attached(hub: RunningHub, who: str, content: bytes, key: str, **params: str) -> str:
    sent = await upload(hub, who, content, key, **params)
    assert sent.status_code == 201, sent.text
    return str(sent.json()["id"])


async def test_the_reception_lists_what_consent_releases_and_the_owner_lists_everything(
    hub: RunningHub,
) -> None:
    case_id, rid = await a_request(hub, "doc-list-0001")
    where = {"subjectType": "REPATRIATION_REQUEST", "subjectId": rid}
    papers = await attached(
        hub, "embassy-bangkok", PDF, "doc-list-k1", category="NATIONALITY_VERIFICATION", **where
    )
    medical = await attached(hub, "adhoc", PNG, "doc-list-k2", category="MEDICAL", **where)

    # The owner sees both, oldest first, with their metadata.
    mine = await request_documents(hub, "adhoc", rid)
    assert ids(mine) == [papers, medical]
    first = mine["documents"]["edges"][0]["node"]
    assert (first["caseId"], first["category"], first["contentType"], first["size"]) == (
        case_id,
        "NATIONALITY_VERIFICATION",
        "application/pdf",
        len(PDF),
    )
    assert first["uploadedById"] == hub.members["embassy-bangkok"].organization_id

    # The Ministry's consent covers IDENTITY and LOCATION for REPATRIATION: the verification
    # is listed, the medical report is not (nor over the REST listing).
    assert ids(await request_documents(hub, "mosavy", rid)) == [papers]
    rest = await listed(hub, "mosavy", **where)
    assert [d["id"] for d in rest.json()["documents"]] == [papers]
    # The embassy uploaded the verification; the medical report is HEALTH: not its to see.
    assert ids(await request_documents(hub, "embassy-bangkok", rid)) == [papers]
    # Without `pii:read`, identity papers are not listed even to a covered party.
    narrow = await hub.token("mosavy", scope="repatriation:read")
    assert ids(await request_documents(hub, "mosavy", rid, token=narrow)) == []

    # Pages of one, with the cursor.
    one = await request_documents(hub, "adhoc", rid, first=1)
    assert ids(one) == [papers] and one["documents"]["pageInfo"]["hasNextPage"] is True
    after = one["documents"]["pageInfo"]["endCursor"]
    two = await request_documents(hub, "adhoc", rid, first=1, after=after)
    assert ids(two) == [medical] and two["documents"]["pageInfo"]["hasNextPage"] is False
    for bad in ({"first": 0}, {"first": 101}, {"after": "not-a-cursor"}):
        refused = await hub.gql("adhoc", ON_REQUEST, {"id": rid, **bad})
        assert refused.codes == ["BAD_USER_INPUT"], (bad, refused.body)

    # Not a party: no request, no documents.
    for who in ("ngo-malaysia", "embassy-beijing"):
        hidden = await hub.gql(who, ON_REQUEST, {"id": rid})
        assert hidden.data == {"repatriationRequest": None} or hidden.codes == ["NOT_FOUND"]
        assert papers not in str(hidden.body) and medical not in str(hidden.body)

    # Once the survivor withdraws her consent, the Ministry lists nothing; the owner still all.
    consents = await hub.gql(
        "adhoc", "query($id: ID!) { consents(caseId: $id) { id } }", {"id": case_id}
    )
    for grant in consents.data["consents"]:
        withdrawn = await hub.gql(
            "adhoc",
            'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "no") { id } }',
            {"id": grant["id"]},
        )
        assert not withdrawn.errors, withdrawn.errors
    after_withdrawal = await hub.gql("mosavy", ON_REQUEST, {"id": rid})
    assert papers not in str(after_withdrawal.body)
    rest_after = await listed(hub, "mosavy", **where)
    assert papers not in rest_after.text
    assert ids(await request_documents(hub, "adhoc", rid)) == [papers, medical]


async def test_a_case_and_a_legal_case_list_their_documents_by_data_category(
    hub: RunningHub,
) -> None:
    """The legal aid organisation, consented for LEGAL only, lists the evidence on the legal
    case; on the case itself it lists neither the medical report nor identity papers."""
    case_id = await survivor_case(hub, "ccpcr-shelter", "Sok Dara")
    lid = (await opened(hub, "ccpcr-shelter", [case_id], "doc-list-legal"))["id"]
    evidence = await attached(
        hub,
        "ccpcr-shelter",
        PDF,
        "doc-list-k3",
        category="EVIDENCE",
        subjectType="LEGAL_CASE",
        subjectId=lid,
        caseId=case_id,
    )
    on_case = {"subjectType": "CASE", "subjectId": case_id}
    medical = await attached(
        hub, "ccpcr-shelter", PNG, "doc-list-k4", category="MEDICAL", **on_case
    )

    legal = await hub.gql(LEGAL_AID, ON_LEGAL, {"id": lid})
    assert not legal.errors, legal.errors
    (node,) = [e["node"] for e in legal.data["legalCase"]["documents"]["edges"]]
    assert (node["id"], node["caseId"], node["category"]) == (evidence, case_id, "EVIDENCE")

    owner = await hub.gql("ccpcr-shelter", ON_CASE, {"id": case_id})
    assert [e["node"]["id"] for e in owner.data["case"]["documents"]["edges"]] == [medical]
    seen = await hub.gql(LEGAL_AID, ON_CASE, {"id": case_id})
    assert medical not in str(seen.body)
    assert seen.data["case"] is None or seen.data["case"]["documents"]["edges"] == []

    # Without `cases:read` the legal case is not there, and its documents with it.
    no_scope = await hub.gql(
        LEGAL_AID, ON_LEGAL, {"id": lid}, token=await hub.token(LEGAL_AID, scope="orgs:read")
    )
    assert evidence not in str(no_scope.body)
    assert set(no_scope.codes) <= {"FORBIDDEN", "NOT_FOUND"}


async def test_a_rest_listing_of_a_foreign_object_is_not_found(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "doc-list-0002")
    hidden = await listed(hub, "ngo-malaysia", subjectType="REPATRIATION_REQUEST", subjectId=rid)
    assert (hidden.status_code, code(hidden)) == (404, "NOT_FOUND")
