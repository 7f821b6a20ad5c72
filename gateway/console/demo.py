"""Staff sign-ins for the demo network: one invitation link each for a few demo members,
so a newcomer can open the console at once (``referral-hub demo`` prints them)."""

from __future__ import annotations

from dataclasses import dataclass

from orgs.demo import DemoMember
from orgs.staff import Inviter, issue_invite
from orgs.staff_rules import StaffRole
from store.engine import Database

# (demo member, role): a caseworker at each end of a referral, an embassy officer, and the
# secretariat's coordinator; plus the shelter's admin, who invites colleagues.
DEMO_STAFF: tuple[tuple[str, StaffRole], ...] = (
    ("ccpcr-koh-kong", StaffRole.CASEWORKER),
    ("adhoc", StaffRole.CASEWORKER),
    ("embassy-bangkok", StaffRole.OFFICER),
    ("secretariat", StaffRole.COORDINATOR),
    ("ccpcr-shelter", StaffRole.ORG_ADMIN),
)


@dataclass(frozen=True, slots=True)
class DemoSignIn:
    member: str
    role: StaffRole
    email: str
    invite_url: str


def invite_url(public_url: str, token: str) -> str:
    return f"{public_url}/console/invite/{token}"


async def invite_demo_staff(
    db: Database, members: dict[str, DemoMember], public_url: str
) -> list[DemoSignIn]:
    made = []
    for key, role in DEMO_STAFF:
        email = f"{role.value.lower().replace('_', '-')}@{key}.demo.invalid"
        issued = await issue_invite(db, Inviter(), members[key].organization_id, role, email)
        made.append(DemoSignIn(key, role, email, invite_url(public_url, issued.token)))
    return made
