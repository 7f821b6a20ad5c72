"""Security keys (WebAuthn) as a second factor for staff: adding, removing, signing in.

Each operation is one transaction. Challenges live server-side, bound to the browser's
session (the signed-in session to add a key, the pre-sign-in token to sign in), are
used once and expire after five minutes. A sign-in with a key counts its failures in
the same lockout as TOTP codes, and its refusals read the same as any other. Audit
entries name the person and the key's id, never key material.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from orgs.models import Organization
from orgs.rules import MembershipStatus
from orgs.security_key_models import StaffSecurityKey, WebAuthnChallenge
from orgs.security_key_rules import (
    CHALLENGE_LIFETIME,
    MAX_CREDENTIAL_JSON,
    MAX_KEYS,
    Purpose,
    RelyingParty,
    check_key_name,
)
from orgs.staff import (
    SIGN_IN_REFUSED,
    Person,
    _dummy_hash,
    _password_matches,
    digest,
    end_brought_session,
    open_session,
)
from orgs.staff_models import StaffMember
from orgs.staff_rules import lockout_delay
from store.actor import acting_as
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.types import utcnow

# Anything a malformed credential makes the library or the decoding raise.
_BAD_CREDENTIAL = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError)
KEY_REFUSED = "the security key's answer was not accepted"
KeyAction = Literal["staff.security_key.add", "staff.security_key.remove", "staff.security_key.use"]


@dataclass(frozen=True, slots=True)
class KeyView:
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


async def list_keys(db: Database, staff_id: str) -> list[KeyView]:
    async with db.read() as session:
        rows = (
            await session.execute(
                select(StaffSecurityKey)
                .where(StaffSecurityKey.staff_id == staff_id)
                .order_by(StaffSecurityKey.created_at, StaffSecurityKey.id)
            )
        ).scalars()
        return [KeyView(r.id, r.name, r.created_at, r.last_used_at) for r in rows]


def _descriptors(keys: list[StaffSecurityKey]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for key in keys:
        transports = []
        for t in key.transports:
            try:
                transports.append(AuthenticatorTransport(t))
            except ValueError:
                continue  # a transport newer than the library: the browser finds the key anyway
        out.append(
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(key.credential_id), transports=transports or None
            )
        )
    return out


async def _keys_of(session: AsyncSession, staff_id: str) -> list[StaffSecurityKey]:
    rows = await session.execute(
        select(StaffSecurityKey).where(StaffSecurityKey.staff_id == staff_id)
    )
    return list(rows.scalars())


async def _new_challenge(
    session: AsyncSession, binding: str, purpose: str, staff_id: str, now: datetime
) -> bytes:
    """A fresh challenge; any earlier one of the same session and purpose is void."""
    await session.execute(
        delete(WebAuthnChallenge).where(
            WebAuthnChallenge.binding_hash == digest(binding),
            WebAuthnChallenge.purpose == purpose,
        )
    )
    # Expired challenges of anyone are swept on the way.
    await session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now))
    challenge = secrets.token_bytes(32)
    session.add(
        WebAuthnChallenge(
            id=str(uuid.uuid4()),
            binding_hash=digest(binding),
            purpose=purpose,
            staff_id=staff_id,
            challenge=bytes_to_base64url(challenge),
            expires_at=now + CHALLENGE_LIFETIME,
        )
    )
    return challenge


async def _take_challenge(
    session: AsyncSession, binding: str, purpose: str
) -> WebAuthnChallenge | None:
    """The session's open challenge, removed as it is read: it can answer only once."""
    row = (
        await session.execute(
            select(WebAuthnChallenge).where(
                WebAuthnChallenge.binding_hash == digest(binding),
                WebAuthnChallenge.purpose == purpose,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    # Deleted by id and counted: of two requests racing with one answer, only the one
    # whose DELETE removed the row may go on (the other waits on the row lock, finds none).
    taken = await session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.id == row.id))
    return row if getattr(taken, "rowcount", 0) == 1 else None


def _credential(raw: object) -> str:
    """The credential JSON as posted: a bounded JSON object, or a refusal."""
    text = raw if isinstance(raw, str) else json.dumps(raw) if isinstance(raw, dict) else ""
    if not text or len(text) > MAX_CREDENTIAL_JSON:
        raise HubError(ErrorCode.BAD_USER_INPUT, KEY_REFUSED)
    return text


# -- adding and removing ---------------------------------------------------------------


async def begin_registration(
    db: Database, person: Person, session_id: str, rp: RelyingParty
) -> str:
    """Options for ``navigator.credentials.create``, as JSON; keys already registered are
    excluded so one authenticator is not added twice."""
    now = utcnow()
    async with db.write() as session:
        keys = await _keys_of(session, person.staff_id)
        if len(keys) >= MAX_KEYS:
            raise HubError(ErrorCode.BAD_USER_INPUT, f"at most {MAX_KEYS} security keys")
        challenge = await _new_challenge(
            session, session_id, Purpose.REGISTER, person.staff_id, now
        )
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=uuid.UUID(person.staff_id).bytes,
        user_name=person.email,
        user_display_name=person.display_name,
        challenge=challenge,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(keys),
    )
    return options_to_json(options)


async def finish_registration(
    db: Database,
    person: Person,
    session_id: str,
    rp: RelyingParty,
    name: str,
    credential: object,
) -> str:
    """Check the authenticator's answer against this session's challenge and keep the
    public key. Returns the new key's id."""
    name = check_key_name(name)
    text = _credential(credential)
    now = utcnow()
    async with db.write() as session:
        row = await _take_challenge(session, session_id, Purpose.REGISTER)
        # The challenge is spent whatever happens next.
        await session.commit()
        if row is None or row.staff_id != person.staff_id or row.expires_at <= now:
            raise HubError(ErrorCode.BAD_USER_INPUT, KEY_REFUSED)
        try:
            verified = verify_registration_response(
                credential=text,
                expected_challenge=base64url_to_bytes(row.challenge),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                require_user_verification=False,
            )
        except _BAD_CREDENTIAL as exc:
            raise HubError(ErrorCode.BAD_USER_INPUT, KEY_REFUSED) from exc
        credential_id = bytes_to_base64url(verified.credential_id)
        taken = await session.execute(
            select(StaffSecurityKey.id).where(StaffSecurityKey.credential_id == credential_id)
        )
        if taken.first() is not None:
            raise HubError(ErrorCode.CONFLICT, "this security key is already registered")
        count = await session.scalar(
            select(func.count())
            .select_from(StaffSecurityKey)
            .where(StaffSecurityKey.staff_id == person.staff_id)
        )
        if (count or 0) >= MAX_KEYS:
            raise HubError(ErrorCode.BAD_USER_INPUT, f"at most {MAX_KEYS} security keys")
        transports = json.loads(text).get("response", {}).get("transports", [])
        key_id = str(uuid.uuid4())
        session.add(
            StaffSecurityKey(
                id=key_id,
                staff_id=person.staff_id,
                credential_id=credential_id,
                public_key=bytes_to_base64url(verified.credential_public_key),
                sign_count=verified.sign_count,
                transports=[t for t in transports if isinstance(t, str)][:8],
                name=name,
                created_at=now,
                last_used_at=None,
            )
        )
        await session.flush()
        await _audit_key(
            session, person.staff_id, person.organization_id, "staff.security_key.add", key_id
        )
    return key_id


async def remove_key(db: Database, person: Person, key_id: str, password: str) -> None:
    """Remove one of the person's own keys, after they type their password again: a key
    is removed when it is lost, so the key itself cannot be the proof, and a signed-in
    screen left unattended must not be enough. A wrong password counts toward lockout."""
    now = utcnow()
    async with db.write() as session:
        staff = await session.get(StaffMember, person.staff_id)
        key = await session.get(StaffSecurityKey, key_id)
        if staff is None or key is None or key.staff_id != person.staff_id:
            raise HubError(ErrorCode.NOT_FOUND, "no such security key")
        if not _password_matches(staff.password_hash, password):
            _count_failure(staff, now)
            await session.commit()
            raise HubError(ErrorCode.FORBIDDEN, "the password is wrong")
        await session.delete(key)
        await session.flush()
        await _audit_key(
            session, person.staff_id, person.organization_id, "staff.security_key.remove", key_id
        )


async def _audit_key(
    session: AsyncSession, staff_id: str, organization_id: str, action: KeyAction, key_id: str
) -> None:
    """The audit entry of a key added, removed or used, made as the person (a key's
    owner is always the one acting on it): the key's id, never its credential."""
    with acting_as(staff_id):
        await record_audit(
            session,
            actor_organization_id=organization_id,
            actor_client_id=None,
            action=action,
            subject_type="Staff",
            subject_id=staff_id,
            detail={"key_id": key_id},
        )


# -- signing in --------------------------------------------------------------------------


def _count_failure(staff: StaffMember, now: datetime) -> None:
    """The same lockout as a wrong password or TOTP code (orgs.staff.sign_in)."""
    staff.failed_attempts += 1
    delay = lockout_delay(staff.failed_attempts)
    staff.locked_until = now + delay if delay else None


def _refused() -> HubError:
    return HubError(ErrorCode.UNAUTHENTICATED, SIGN_IN_REFUSED)


async def begin_sign_in(
    db: Database, rp: RelyingParty, *, email: str, password: str, pre_token: str
) -> str:
    """After the password, the options for ``navigator.credentials.get`` listing the
    account's keys, as JSON. Every refusal reads the same; a wrong password counts."""
    now = utcnow()
    async with db.write() as session:
        staff = (
            await session.execute(
                select(StaffMember).where(StaffMember.email == email.strip().lower())
            )
        ).scalar_one_or_none()
        if staff is None:
            _password_matches(_dummy_hash(), password)
            raise _refused()
        if staff.locked_until is not None and staff.locked_until > now:
            raise _refused()
        if not _password_matches(staff.password_hash, password) or staff.disabled:
            _count_failure(staff, now)
            await session.commit()
            raise _refused()
        org = await session.get(Organization, staff.organization_id)
        keys = await _keys_of(session, staff.id)
        if org is None or org.status != MembershipStatus.ACTIVE or not keys:
            raise _refused()
        challenge = await _new_challenge(session, pre_token, Purpose.SIGN_IN, staff.id, now)
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options)


async def finish_sign_in(
    db: Database,
    rp: RelyingParty,
    credential: object,
    *,
    pre_token: str,
    previous_session: str | None = None,
) -> tuple[str, Person]:
    """Check a signed assertion against the challenge of this browser and the account's
    stored key and counter, then open a new session (any session brought is ended)."""
    now = utcnow()
    async with db.write() as session:
        await end_brought_session(session, previous_session, now)
        row = await _take_challenge(session, pre_token, Purpose.SIGN_IN)
        await session.commit()  # spent, whatever happens next
        if row is None:
            raise _refused()
        staff = await session.get(StaffMember, row.staff_id)
        if staff is None:
            raise _refused()
        if staff.locked_until is not None and staff.locked_until > now:
            raise _refused()
        key = await _verified_key(session, staff, rp, row, credential, now)
        if key is None or staff.disabled:
            _count_failure(staff, now)
            await session.commit()
            raise _refused()
        org = await session.get(Organization, staff.organization_id)
        if org is None or org.status != MembershipStatus.ACTIVE:
            raise _refused()
        staff.failed_attempts = 0
        staff.locked_until = None
        key.last_used_at = now
        await _audit_key(session, staff.id, staff.organization_id, "staff.security_key.use", key.id)
        return open_session(session, staff, org, now)


async def _verified_key(
    session: AsyncSession,
    staff: StaffMember,
    rp: RelyingParty,
    row: WebAuthnChallenge,
    credential: object,
    now: datetime,
) -> StaffSecurityKey | None:
    """The account's key that signed this challenge, its counter moved on; or None for
    an expired challenge, a key of someone else, a bad signature, origin or RP ID, or a
    counter that did not increase (a possible clone)."""
    if row.expires_at <= now:
        return None
    try:
        text = _credential(credential)
        raw_id = json.loads(text)["rawId"]
        if not isinstance(raw_id, str):
            return None
        credential_id = bytes_to_base64url(base64url_to_bytes(raw_id))
    except (HubError, *_BAD_CREDENTIAL):
        return None
    key = (
        await session.execute(
            select(StaffSecurityKey).where(
                StaffSecurityKey.credential_id == credential_id,
                StaffSecurityKey.staff_id == staff.id,
            )
        )
    ).scalar_one_or_none()
    if key is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=text,
            expected_challenge=base64url_to_bytes(row.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(key.public_key),
            credential_current_sign_count=key.sign_count,
            require_user_verification=False,
        )
    except _BAD_CREDENTIAL:
        return None
    key.sign_count = verified.new_sign_count
    return key
