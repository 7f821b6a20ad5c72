"""Sealing survivor data at rest: AES-GCM with the key id stored beside each value.

The associated data binds a value to its table, column and row, so a ciphertext copied
into another row or column fails to open instead of quietly disclosing the wrong person.
Keys rotate: new values are sealed with the newest key, old ones open with the key named
in their envelope until they are re-sealed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1"


class SealError(Exception):
    """A value could not be opened: unknown key, tampered, or bound to another place."""


def _aad(table: str, column: str, row_id: str) -> bytes:
    return f"{table}\x1f{column}\x1f{row_id}".encode()


class Sealing(Protocol):
    """What sealing code needs: the hub's ``FieldCipher`` or one case's ``CaseCipher``."""

    def seal(self, plaintext: str, *, table: str, column: str, row_id: str) -> str: ...

    def open(self, envelope: str, *, table: str, column: str, row_id: str) -> str: ...


class FieldCipher:
    """Seals and opens field values with a ring of named 256-bit keys."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key id is not in the key ring")
        for kid, key in keys.items():
            if len(key) != 32 or "." in kid or not kid:
                raise ValueError("keys must be 32 bytes with a non-empty id without dots")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        # Purpose-bound subkeys (e.g. the blind index), so a data key never serves twice.
        self._derived = {kid: hmac.new(key, b"derive", hashlib.sha256) for kid, key in keys.items()}
        self.current = current

    def derive(self, purpose: str) -> dict[str, bytes]:
        """A 256-bit subkey for ``purpose`` per key id of the ring (HMAC-SHA256 of the data
        key over the purpose), so what is keyed with it rotates with the data keys."""
        out = {}
        for kid, base in self._derived.items():
            mac = base.copy()
            mac.update(purpose.encode())
            out[kid] = mac.digest()
        return out

    def seal(self, plaintext: str, *, table: str, column: str, row_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self.current].encrypt(
            nonce, plaintext.encode(), _aad(table, column, row_id)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{_PREFIX}.{self.current}.{body}"

    def key_id(self, envelope: str) -> str:
        prefix, kid, _ = envelope.split(".", 2)
        if prefix != _PREFIX:
            raise SealError("unknown envelope version")
        return kid

    def open(self, envelope: str, *, table: str, column: str, row_id: str) -> str:
        try:
            prefix, kid, body = envelope.split(".", 2)
            raw = base64.urlsafe_b64decode(body.encode())
        except ValueError as exc:
            raise SealError("not a sealed value") from exc
        if prefix != _PREFIX or kid not in self._keys:
            raise SealError("unknown envelope version or key id")
        try:
            plain = self._keys[kid].decrypt(raw[:12], raw[12:], _aad(table, column, row_id))
        except InvalidTag as exc:
            raise SealError("value does not open here: tampered or moved") from exc
        return plain.decode()

    def needs_reseal(self, envelope: str) -> bool:
        """True when the value was sealed with an older key (for key rotation)."""
        return self.key_id(envelope) != self.current
