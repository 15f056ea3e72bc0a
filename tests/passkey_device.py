"""A passkey authenticator in software for tests that drive the WebAuthn ceremonies over HTTP
(the browser tests use Chromium's own virtual authenticator instead). It does what a platform
authenticator does (WebAuthn Level 3 s.6): ES256 key pairs per credential, "none" attestation,
authenticator data with the RP ID hash, the UP and UV flags and a signature counter, assertions
signed over authenticatorData || SHA-256(clientDataJSON). Nothing in the server under test is
replaced: this is the other party."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["PasskeyDevice"]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class _Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0


@dataclass
class PasskeyDevice:
    """One phone: its passkeys, and whether it verifies the user (UV)."""

    origin: str
    user_verifying: bool = True
    credentials: list[_Credential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}).encode()

    def _flags(self, *, attested: bool) -> int:
        return 0x01 | (0x04 if self.user_verifying else 0) | (0x40 if attested else 0)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """``navigator.credentials.create`` for ``options`` (the JSON form the server sends)."""
        rp_id = options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        cred = _Credential(os.urandom(16), key, rp_id, unb64u(options["user"]["id"]))
        self.credentials.append(cred)
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(cred.credential_id)) + cred.credential_id + cose
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags(attested=True)]) + \
            struct.pack(">I", 0) + attested
        client_data = self._client_data("webauthn.create", options["challenge"])
        return {"id": b64u(cred.credential_id), "rawId": b64u(cred.credential_id), "type": "public-key",
                "clientExtensionResults": {}, "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64u(client_data),
                             "attestationObject": b64u(cbor2.dumps({"fmt": "none", "attStmt": {},
                                                                    "authData": auth_data})),
                             "transports": ["internal"]}}

    def get(self, options: dict[str, Any], *, use: int | None = None) -> dict[str, Any]:
        """``navigator.credentials.get``: the allowed credential, else the first for this RP (or ``use``)."""
        allowed = {unb64u(c["id"]) for c in options.get("allowCredentials") or []}
        mine = [c for c in self.credentials if c.rp_id == options["rpId"]]
        candidates = [c for c in mine if not allowed or c.credential_id in allowed]
        cred = mine[use] if use is not None else candidates[0]
        cred.counter += 1
        auth_data = hashlib.sha256(cred.rp_id.encode()).digest() + bytes([self._flags(attested=False)]) + \
            struct.pack(">I", cred.counter)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = cred.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64u(cred.credential_id), "rawId": b64u(cred.credential_id), "type": "public-key",
                "clientExtensionResults": {}, "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64u(client_data), "authenticatorData": b64u(auth_data),
                             "signature": b64u(signature), "userHandle": b64u(cred.user_handle)}}
