"""Staff accounts: invitations, enrolment, sign-in with a second factor, sessions.

Each operation is one transaction. Failures of sign-in all read the same to the caller
(unknown email, wrong password, wrong code, paused after failures), so the form cannot be
used to learn who has an account.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind
from orgs.staff_models import StaffInvite, StaffMember, StaffSession
from orgs.staff_rules import (
    INVITE_LIFETIME,
    RECOVERY_CODES,
    StaffRole,
    check_password,
    check_role_fits,
    lockout_delay,
    may_invite,
    role_scopes,
    session_expired,
)
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher
from store.types import utcnow

_HASHER = PasswordHasher()  # argon2id with the library's current recommended costs


@cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown, so an unknown account costs the same
    time. Made on first use, not at import: hashing is slow on purpose."""
    return _HASHER.hash(secrets.token_urlsafe(16))


SIGN_IN_REFUSED = "sign-in refused: check email, password and code, or try again later"
ISSUER = "Referral Hub"


def digest(secret: str) -> str:
    """Tokens, session ids and recovery codes are long random strings: SHA-256 suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Person:
    """A signed-in staff member, as the console sees them on one request."""

    staff_id: str
    organization_id: str
    organization_name: str
    organization_kind: OrganizationKind
    role: StaffRole
    display_name: str
    email: str
    locale: str
    time_zone: str
    csrf_token: str

    @property
    def scopes(self) -> frozenset[str]:
        return role_scopes(self.role, self.organization_kind)

    def principal(self, request_id: str | None = None) -> Principal:
        """The same principal an API client of the organisation would be, with the role's
        scopes: every service applies the same filter to both."""
        return Principal(
            organization_id=self.organization_id,
            client_id=None,
            scopes=self.scopes,
            organization_kind=self.organization_kind.value,
            request_id=request_id,
            staff_id=self.staff_id,
        )


@dataclass(frozen=True, slots=True)
class Inviter:
    """Who issues an invitation: a signed-in person, or the operator (both None)."""

    staff_id: str | None = None
    organization_id: str | None = None
    role: StaffRole | None = None


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    token: str
    invite_id: str
    organization_id: str
    role: StaffRole
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class InviteOffer:
    """What the invitation page shows: who is invited, and the secret to enrol."""

    email: str
    role: StaffRole
    organization_name: str
    totp_secret: str
    otpauth_uri: str


def _place(row_id: str, table: str) -> dict[str, str]:
    return {"table": table, "column": "totp_sealed", "row_id": row_id}


async def issue_invite(
    db: Database, by: Inviter, organization_id: str, role: StaffRole, email: str
) -> IssuedInvite:
    """A single-use invitation link for one person to one role in one organisation."""
    email = _normal_email(email)
    now = utcnow()
    async with db.write() as session:
        org = await session.get(Organization, organization_id)
        if org is None:
            raise HubError(ErrorCode.NOT_FOUND, "no such organisation")
        if not may_invite(by.role, by.organization_id, role, organization_id):
            raise HubError(ErrorCode.FORBIDDEN, "you may not invite this person")
        if org.status != MembershipStatus.ACTIVE:
            raise HubError(ErrorCode.INVALID_TRANSITION, "the organisation is not active")
        check_role_fits(role, OrganizationKind(org.kind))
        token = secrets.token_urlsafe(32)
        row = StaffInvite(
            id=str(uuid.uuid4()),
            token_hash=digest(token),
            organization_id=organization_id,
            email=email,
            role=role.value,
            invited_by_staff_id=by.staff_id,
            invited_by_organization_id=by.organization_id,
            created_at=now,
            expires_at=now + INVITE_LIFETIME,
        )
        session.add(row)
        await record_audit(
            session,
            actor_organization_id=by.organization_id,
            actor_client_id=None if by.staff_id else "cli",
            action="staff.invite",
            subject_type="StaffInvite",
            subject_id=row.id,
            detail={"organization_id": organization_id, "role": role.value},
        )
    return IssuedInvite(token, row.id, organization_id, role, row.expires_at)


async def _open_invite_row(session: AsyncSession, token: str) -> StaffInvite:
    row = (
        await session.execute(select(StaffInvite).where(StaffInvite.token_hash == digest(token)))
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise HubError(ErrorCode.NOT_FOUND, "this invitation is unknown, used or expired")
    return row


async def offer_invite(db: Database, cipher: FieldCipher, token: str) -> InviteOffer:
    """The invitation as its page shows it; the TOTP secret is made once and kept sealed on
    the invitation until the person proves they hold it."""
    async with db.write() as session:
        row = await _open_invite_row(session, token)
        org = await session.get(Organization, row.organization_id)
        assert org is not None
        if row.totp_sealed is None:
            secret = pyotp.random_base32()
            row.totp_sealed = cipher.seal(secret, **_place(row.id, "staff_invites"))
        else:
            secret = cipher.open(row.totp_sealed, **_place(row.id, "staff_invites"))
        uri = pyotp.TOTP(secret).provisioning_uri(name=row.email, issuer_name=ISSUER)
        return InviteOffer(row.email, StaffRole(row.role), org.name, secret, uri)


def _totp_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step ``code`` belongs to (one step of clock drift either way), or None.
    A step at or before the last one accepted is refused: a code works once."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for offset in (0, -1, 1):
        step = current + offset
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_codes() -> list[str]:
    return [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]


async def accept_invite(
    db: Database,
    cipher: FieldCipher,
    token: str,
    *,
    display_name: str,
    password: str,
    code: str,
    locale: str,
    time_zone: str,
) -> list[str]:
    """Create the account: password set, TOTP proven. Returns the recovery codes, shown
    once and stored only as digests."""
    check_password(password)
    display_name = display_name.strip()
    if not 0 < len(display_name) <= 200:
        raise HubError(ErrorCode.BAD_USER_INPUT, "a name of 1 to 200 characters is needed")
    now = utcnow()
    password_hash = _HASHER.hash(password)  # slow on purpose: outside the transaction
    async with db.write() as session:
        row = await _open_invite_row(session, token)
        if row.totp_sealed is None:
            raise HubError(ErrorCode.BAD_USER_INPUT, "open the invitation page first")
        secret = cipher.open(row.totp_sealed, **_place(row.id, "staff_invites"))
        step = _totp_step(secret, code, None, now)
        if step is None:
            raise HubError(ErrorCode.BAD_USER_INPUT, "the code from the authenticator is wrong")
        taken = (
            await session.execute(select(StaffMember.id).where(StaffMember.email == row.email))
        ).first()
        if taken is not None:
            raise HubError(ErrorCode.CONFLICT, "an account with this email exists")
        codes = _recovery_codes()
        staff_id = str(uuid.uuid4())
        session.add(
            StaffMember(
                id=staff_id,
                organization_id=row.organization_id,
                email=row.email,
                display_name=display_name,
                role=row.role,
                locale=locale,
                time_zone=time_zone,
                password_hash=password_hash,
                totp_sealed=cipher.seal(secret, **_place(staff_id, "staff")),
                recovery_hashes=[digest(c) for c in codes],
                disabled=False,
                failed_attempts=0,
                last_totp_step=step,
                created_at=now,
            )
        )
        row.used_at = now
        row.totp_sealed = None
        await session.flush()
        await record_audit(
            session,
            actor_organization_id=row.organization_id,
            actor_client_id=None,
            action="staff.enrol",
            subject_type="Staff",
            subject_id=staff_id,
            detail={"invite_id": row.id, "role": row.role},
        )
    return codes


async def sign_in(
    db: Database,
    cipher: FieldCipher,
    *,
    email: str,
    password: str,
    code: str,
    previous_session: str | None = None,
) -> tuple[str, Person]:
    """Check password and second factor (TOTP or an unused recovery code), then open a new
    session. Any session id the browser brought is ended, never promoted: no fixation."""
    now = utcnow()
    async with db.write() as session:
        await end_brought_session(session, previous_session, now)
        staff = (
            await session.execute(
                select(StaffMember).where(StaffMember.email == _normal_email(email))
            )
        ).scalar_one_or_none()
        if staff is None:
            _password_matches(_dummy_hash(), password)
            raise HubError(ErrorCode.UNAUTHENTICATED, SIGN_IN_REFUSED)
        if staff.locked_until is not None and staff.locked_until > now:
            raise HubError(ErrorCode.UNAUTHENTICATED, SIGN_IN_REFUSED)
        ok = _password_matches(staff.password_hash, password) and _second_factor(
            staff, cipher, code, now
        )
        if not ok or staff.disabled:
            staff.failed_attempts += 1
            delay = lockout_delay(staff.failed_attempts)
            staff.locked_until = now + delay if delay else None
            # The failure is kept even though the caller is refused.
            await session.commit()
            raise HubError(ErrorCode.UNAUTHENTICATED, SIGN_IN_REFUSED)
        staff.failed_attempts = 0
        staff.locked_until = None
        org = await session.get(Organization, staff.organization_id)
        assert org is not None
        if org.status != MembershipStatus.ACTIVE:
            raise HubError(ErrorCode.UNAUTHENTICATED, SIGN_IN_REFUSED)
        return open_session(session, staff, org, now)


async def end_brought_session(session: AsyncSession, brought: str | None, now: datetime) -> None:
    """End the session id a browser brings to a sign-in, of whatever kind: it is never
    promoted to the new session, so a planted id gives its planter nothing."""
    if brought:
        await session.execute(
            update(StaffSession).where(StaffSession.id_hash == digest(brought)).values(ended_at=now)
        )


def open_session(
    session: AsyncSession, staff: StaffMember, org: Organization, now: datetime
) -> tuple[str, Person]:
    """A new session for staff who just proved who they are (password and second factor,
    or a security key). Only the id's digest is stored; the id goes to the cookie."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id_hash=digest(session_id),
            staff_id=staff.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
        )
    )
    return session_id, _person(staff, org, csrf)


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _second_factor(staff: StaffMember, cipher: FieldCipher, code: str, now: datetime) -> bool:
    code = code.strip().lower()
    if digest(code) in staff.recovery_hashes:
        staff.recovery_hashes = [h for h in staff.recovery_hashes if h != digest(code)]
        return True
    secret = cipher.open(staff.totp_sealed, **_place(staff.id, "staff"))
    step = _totp_step(secret, code, staff.last_totp_step, now)
    if step is None:
        return False
    staff.last_totp_step = step
    return True


def _person(staff: StaffMember, org: Organization, csrf: str) -> Person:
    return Person(
        staff_id=staff.id,
        organization_id=org.id,
        organization_name=org.name,
        organization_kind=OrganizationKind(org.kind),
        role=StaffRole(staff.role),
        display_name=staff.display_name,
        email=staff.email,
        locale=staff.locale,
        time_zone=staff.time_zone,
        csrf_token=csrf,
    )


async def session_person(db: Database, session_id: str, touch: bool = True) -> Person | None:
    """The person behind a session cookie, or None: unknown, ended, idle for 30 minutes,
    older than 12 hours, account disabled or organisation not active. Checked on every
    request, so a suspension or a disable ends the session at once. ``touch=False``: a
    read the person did not ask for (a live page refreshing itself) keeps the idle clock."""
    now = utcnow()
    async with db.write() as session:
        found = (
            await session.execute(
                select(StaffSession, StaffMember, Organization)
                .join(StaffMember, StaffMember.id == StaffSession.staff_id)
                .join(Organization, Organization.id == StaffMember.organization_id)
                .where(StaffSession.id_hash == digest(session_id))
            )
        ).first()
        if found is None:
            return None
        row, staff, org = found
        if row.ended_at is not None:
            return None
        if (
            session_expired(row.created_at, row.last_seen_at, now)
            or staff.disabled
            or org.status != MembershipStatus.ACTIVE
        ):
            row.ended_at = now
            return None
        if touch:
            row.last_seen_at = now
        return _person(staff, org, row.csrf_token)


async def sign_out(db: Database, session_id: str) -> None:
    async with db.write() as session:
        await session.execute(
            update(StaffSession)
            .where(StaffSession.id_hash == digest(session_id), StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


async def sign_out_everywhere(db: Database, staff_id: str) -> int:
    """End every open session of one person (a lost phone, a shared computer)."""
    async with db.write() as session:
        result = await session.execute(
            update(StaffSession)
            .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        await record_audit(
            session,
            actor_organization_id=None,
            actor_client_id=None,
            action="staff.sign_out_everywhere",
            subject_type="Staff",
            subject_id=staff_id,
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    if not 3 <= len(email) <= 254 or "@" not in email:
        raise HubError(ErrorCode.BAD_USER_INPUT, "an email address is needed")
    return email


async def session_open(db: Database, session_id: str) -> bool:
    """Whether a session is still good, without counting as its use: a live page that
    only listens must not keep an idle session alive."""
    async with db.read() as session:
        found = (
            await session.execute(
                select(StaffSession.created_at, StaffSession.last_seen_at, StaffSession.ended_at)
                .join(StaffMember, StaffMember.id == StaffSession.staff_id)
                .join(Organization, Organization.id == StaffMember.organization_id)
                .where(
                    StaffSession.id_hash == digest(session_id),
                    StaffMember.disabled.is_(False),
                    Organization.status == MembershipStatus.ACTIVE,
                )
            )
        ).first()
    if found is None or found.ended_at is not None:
        return False
    return not session_expired(found.created_at, found.last_seen_at, utcnow())
