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
import weakref
from collections import OrderedDict

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
    """The case key in ``wrapped``, from the process's small cache when this cipher opened
    the same wrapped text for the same case before (see ``UnwrappedKeys``)."""
    cache = _caches.get(cipher)
    if cache is None:
        cache = _caches[cipher] = UnwrappedKeys()
    found = cache.get(case_id, wrapped)
    if found is None:
        text = cipher.open(wrapped, table="case_keys", column="dek", row_id=case_id)
        found = CaseKey(base64.urlsafe_b64decode(text.encode()))
        cache.put(case_id, wrapped, found)
    return found


class UnwrappedKeys:
    """A bounded LRU of unwrapped case keys, keyed by (case id, wrapped text).

    Unwrapping every case's key on every read of a page cost about a tenth of a survivor
    read. The cache never decides whether a key exists: a reader must first read the
    wrapped text from the key store in its own transaction, so once an erasure deletes
    that row no reader can reach the cached key any more, in any process. Rotation re-wraps
    the key, so the new wrapped text is a new entry and the old one ages out. ``forget``
    drops a case's entries when she is erased, so her key leaves memory at once too."""

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._entries: OrderedDict[tuple[str, str], CaseKey] = OrderedDict()
        self._size = size

    def get(self, case_id: str, wrapped: str) -> CaseKey | None:
        found = self._entries.get((case_id, wrapped))
        if found is not None:
            self._entries.move_to_end((case_id, wrapped))
        return found

    def put(self, case_id: str, wrapped: str, key: CaseKey) -> None:
        self._entries[(case_id, wrapped)] = key
        self._entries.move_to_end((case_id, wrapped))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, case_ids: set[str]) -> None:
        for entry in [e for e in self._entries if e[0] in case_ids]:
            del self._entries[entry]

    def __len__(self) -> int:
        return len(self._entries)


# One cache per hub cipher: a key unwrapped by one key ring is never handed to another
# (a ring without the wrapping key id must still fail to open it).
_caches: weakref.WeakKeyDictionary[FieldCipher, UnwrappedKeys] = weakref.WeakKeyDictionary()


def forget_keys(case_ids: set[str]) -> None:
    """Drop these cases' unwrapped keys from every cache of this process (on erasure)."""
    for cache in list(_caches.values()):
        cache.forget(case_ids)


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
