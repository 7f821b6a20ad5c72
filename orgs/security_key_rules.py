"""Security keys (WebAuthn): the relying party and the limits. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from store.errors import ErrorCode, HubError

CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_KEY_NAME = 100
MAX_KEYS = 10
# A credential as the browser posts it is small; anything larger is not one.
MAX_CREDENTIAL_JSON = 16 * 1024


class Purpose:
    REGISTER = "register"
    SIGN_IN = "sign-in"


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the keys are bound to: the hub's public URL. The RP ID is its host name and
    the origin its scheme, host and port; a key made for another site never signs here."""

    id: str
    origin: str
    name: str = "Referral Hub"

    @classmethod
    def from_public_url(cls, public_url: str) -> RelyingParty:
        parts = urlsplit(public_url)
        if not parts.scheme or not parts.hostname:
            raise ValueError("the public URL needs a scheme and a host")
        return cls(id=parts.hostname, origin=f"{parts.scheme}://{parts.netloc}")


def check_key_name(name: str) -> str:
    """The name a person gives a key ("blue key on my keyring"): shown back to them only."""
    name = name.strip()
    if not 0 < len(name) <= MAX_KEY_NAME:
        raise HubError(
            ErrorCode.BAD_USER_INPUT, f"a key name of 1 to {MAX_KEY_NAME} characters is needed"
        )
    return name
