"""The demo network carries a group of one incident: three fishermen linked as one group, two
brought home together, the third held back by his own consent; each organisation sees only
what consent gives it."""

from __future__ import annotations

from cases.demo_group import FICTIONAL_FISHERMEN, FICTIONAL_ROUTE, seed_demo_group
from gateway.app import data_cipher
from tests.api.repatriation_support import VIEW, do, orgs
from tests.api.test_group_story import CASE, GROUP, OUTING
from tests.network import RunningHub


async def test_the_demo_carries_a_group_brought_home_together(hub: RunningHub) -> None:
    org = orgs(hub)
    demo = await seed_demo_group(hub.db, data_cipher(hub.settings), hub.members)
    first, second, third = demo.case_ids
    assert demo.refused_case_ids == (third,) and len(demo.request_ids) == 2

    # The NGO that found them sees its group of three, each fisherman in full.
    owned = await do(hub, "ngo-thailand", GROUP, {"id": demo.group_id}, "incidentGroup")
    assert owned["size"] == 3
    assert [(c["id"], c["fullName"]) for c in owned["cases"]] == list(
        zip(demo.case_ids, FICTIONAL_FISHERMEN, strict=True)
    )

    # The embassy: the two it brought home on one plan, by their names; not the third.
    outing = await do(
        hub, "embassy-bangkok", OUTING, {"id": demo.group_repatriation_id}, "groupRepatriation"
    )
    assert [(r["caseId"], r["status"], r["travelPlan"]["route"]) for r in outing["requests"]] == [
        (first, "HANDED_OVER", FICTIONAL_ROUTE),
        (second, "HANDED_OVER", FICTIONAL_ROUTE),
    ]
    assert [c["fullName"] for c in outing["group"]["cases"]] == list(FICTIONAL_FISHERMEN[:2])
    assert FICTIONAL_FISHERMEN[2] not in str(outing)
    assert (await hub.gql("embassy-bangkok", CASE, {"id": third})).codes == ["NOT_FOUND"]
    for rid in demo.request_ids:
        request = await do(hub, "embassy-bangkok", VIEW, {"id": rid}, "repatriationRequest")
        steps = [(h["toStatus"], h["by"]) for h in request["history"]]
        assert steps[0] == ("SUBMITTED", org["ngo-thailand"])
        assert steps[1] == ("ACKNOWLEDGED", org["embassy-bangkok"])
        assert steps[-1] == ("HANDED_OVER", org["mosavy"])

    # The Ministry, consented for all three, received two of them; outsiders see nothing.
    received = await do(hub, "mosavy", GROUP, {"id": demo.group_id}, "incidentGroup")
    assert [c["fullName"] for c in received["cases"]] == list(FICTIONAL_FISHERMEN)
    hidden = await hub.gql("ngo-malaysia", GROUP, {"id": demo.group_id})
    assert hidden.codes == ["NOT_FOUND"]
