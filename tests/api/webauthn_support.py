"""A software security key for tests, and the console's security-key steps over HTTP.

No maintained package plays a FIDO2 authenticator in software for a relying party test
(python-fido2 is a client talking to real devices over CTAP; soft-webauthn is unmaintained
since 2022), so this is a small one: an EC P-256 key, "none" attestation, a counter. It
answers the options JSON the hub sends exactly as a browser and key would, and lets a test
lie (another origin, another RP ID, a counter set back) to check the hub refuses.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass, field
from typing import Any

import cbor2
import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.console_support import csrf_of

# Flags of authenticator data: user present, user verified, attested credential data.
_UP, _UV, _AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftKey:
    """One credential on one software authenticator."""

    origin: str
    rp_id: str = "127.0.0.1"
    sign_count: int = 0
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def _cose_public_key(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, options: dict[str, Any], origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": options["challenge"],
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def register(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None
    ) -> dict[str, Any]:
        """What ``navigator.credentials.create`` resolves to, as the browser posts it."""
        auth_data = (
            hashlib.sha256((rp_id or options["rp"]["id"]).encode()).digest()
            + bytes([_UP | _UV | _AT])
            + struct.pack(">I", self.sign_count)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_public_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(self._client_data("webauthn.create", options, origin)),
                "attestationObject": b64url(attestation),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        }

    def assertion(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        """What ``navigator.credentials.get`` resolves to; each use moves the counter on
        unless the test sets ``count`` (a clone's lagging counter)."""
        if count is None:
            self.sign_count += 1
            count = self.sign_count
        auth_data = (
            hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
            + bytes([_UP | _UV])
            + struct.pack(">I", count)
        )
        client_data = self._client_data("webauthn.get", options, origin)
        signature = self.private.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }


async def add_key(
    client: httpx.AsyncClient, key: SoftKey, name: str = "Blue key", **lie: str
) -> httpx.Response:
    """On the Security keys page: ask for options, let the key answer, post the answer."""
    page = await client.get("/console/security-keys")
    assert page.status_code == 200, page.text
    csrf = csrf_of(page.text)
    options = await client.post("/console/security-keys/options", json={"csrf": csrf})
    assert options.status_code == 200, options.text
    credential = key.register(options.json(), **lie)
    return await client.post(
        "/console/security-keys/add", json={"csrf": csrf, "name": name, "credential": credential}
    )


async def key_options(
    client: httpx.AsyncClient, email: str, password: str
) -> tuple[str, httpx.Response]:
    """The sign-in page, then email and password for the key's options."""
    page = await client.get("/console/sign-in")
    csrf = csrf_of(page.text)
    options = await client.post(
        "/console/sign-in/key/options",
        json={"csrf": csrf, "email": email, "password": password},
    )
    return csrf, options


async def post_assertion(
    client: httpx.AsyncClient, csrf: str, credential: dict[str, Any]
) -> httpx.Response:
    return await client.post("/console/sign-in/key", json={"csrf": csrf, "credential": credential})


async def key_sign_in(
    client: httpx.AsyncClient, email: str, password: str, key: SoftKey, **lie: Any
) -> httpx.Response:
    csrf, options = await key_options(client, email, password)
    assert options.status_code == 200, options.text
    return await post_assertion(client, csrf, key.assertion(options.json(), **lie))
