"""Checking the public keys a client registers for ``private_key_jwt``."""

from __future__ import annotations

from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from store.errors import ErrorCode, HubError

ALLOWED_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
MAX_KEYS = 5


def check_public_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """A JWKS of public asymmetric keys only; anything else is refused."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise HubError(ErrorCode.BAD_USER_INPUT, "jwks must be a JSON object with a 'keys' list")
    if len(keys) > MAX_KEYS:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"at most {MAX_KEYS} keys")
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ALLOWED_KEY_TYPES:
            raise HubError(
                ErrorCode.BAD_USER_INPUT, "only RSA, EC and OKP public keys are accepted"
            )
        if any(private in key for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise HubError(ErrorCode.BAD_USER_INPUT, "the JWKS contains private key material")
    try:
        KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError) as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, "the JWKS could not be read") from exc
    return {"keys": keys}
