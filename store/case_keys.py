"""Per-case data keys: the survivor's values sealed under a key only her case has.

Crypto-shredding needs one key per case: destroying that key makes every copy of the case's
ciphertext unreadable, wherever the copy went. The case key (a random 256-bit AES-GCM key,
the DEK) is stored only wrapped, sealed by the hub's ``FieldCipher`` bound to
``(case_keys, dek, case id)``, so rotating the hub's data keys re-wraps DEKs and leaves the
values alone.

Envelopes say which kind of key sealed them: ``v1.<hub key id>.<body>`` values (sealed
before case keys existed) open with the hub key ring, ``c1.<body>`` values only with their
case's key. The associated data binds a value to its table, column and row as before.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from store.sealed import FieldCipher, SealError, _aad

CASE_PREFIX = "c1"


class CaseKey:
    """One case's data key, unwrapped for the length of a transaction."""

    __slots__ = ("_aead",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise ValueError("a case key is 32 bytes")
        self._aead = AESGCM(raw)

    @classmethod
    def generate(cls) -> tuple[CaseKey, bytes]:
        raw = os.urandom(32)
        return cls(raw), raw

    def seal(self, plaintext: str, *, table: str, column: str, row_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _aad(table, column, row_id))
        return f"{CASE_PREFIX}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, envelope: str, *, table: str, column: str, row_id: str) -> str:
        prefix, _, body = envelope.partition(".")
        if prefix != CASE_PREFIX:
            raise SealError("not sealed under a case key")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            plain = self._aead.decrypt(raw[:12], raw[12:], _aad(table, column, row_id))
        except (ValueError, InvalidTag) as exc:
            raise SealError("value does not open here: tampered or moved") from exc
        return plain.decode()


def is_case_sealed(envelope: str) -> bool:
    return envelope.startswith(CASE_PREFIX + ".")


def wrap(cipher: FieldCipher, raw: bytes, case_id: str) -> str:
    """The DEK sealed by the hub's current data key, bound to its case."""
    text = base64.urlsafe_b64encode(raw).decode()
    return cipher.seal(text, table="case_keys", column="dek", row_id=case_id)


def unwrap(cipher: FieldCipher, wrapped: str, case_id: str) -> CaseKey:
    text = cipher.open(wrapped, table="case_keys", column="dek", row_id=case_id)
    return CaseKey(base64.urlsafe_b64decode(text.encode()))


def open_sealed(
    cipher: FieldCipher,
    case_key: CaseKey | None,
    envelope: str,
    *,
    table: str,
    column: str,
    row_id: str,
) -> str:
    """Open a value whichever key kind sealed it; a case value without its key fails."""
    if is_case_sealed(envelope):
        if case_key is None:
            raise SealError("the case key is gone: the value was erased")
        return case_key.open(envelope, table=table, column=column, row_id=row_id)
    return cipher.open(envelope, table=table, column=column, row_id=row_id)


class CaseCipher:
    """One case's sealing: new values under the case's key, both envelope kinds opened.

    It has the ``seal``/``open`` shape of ``FieldCipher`` so that code sealing a value about
    a case takes one of these instead of the hub cipher and changes nowhere else. Without a
    key (an erased case, or a read of a case that never had one) it opens only hub-key
    values and refuses to seal: nothing about a case may land under the hub key again.

    A case-key value without its key (a data backup taken before her erasure and restored
    after it: the key store never brings her key back) was erased: it opens as the empty
    text, as the live copies of her free texts are left by the erasure, never as an error."""

    __slots__ = ("_hub", "_key")

    def __init__(self, hub: FieldCipher, key: CaseKey | None) -> None:
        self._hub = hub
        self._key = key

    def seal(self, plaintext: str, *, table: str, column: str, row_id: str) -> str:
        if self._key is None:
            raise SealError("no case key to seal under")
        return self._key.seal(plaintext, table=table, column=column, row_id=row_id)

    def shredded(self, envelope: str) -> bool:
        """Whether ``envelope`` was sealed under this case's key and that key is gone."""
        return self._key is None and is_case_sealed(envelope)

    def open(self, envelope: str, *, table: str, column: str, row_id: str) -> str:
        if self.shredded(envelope):
            return ""
        return open_sealed(
            self._hub, self._key, envelope, table=table, column=column, row_id=row_id
        )
