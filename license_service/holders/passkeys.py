"""Passkeys (WebAuthn Level 3) through the ``webauthn`` library: registration when a holder enrols or
adds a phone, authentication when they sign in or confirm a grant or revocation. User verification is
required every time (a PIN or biometric on the phone), resident keys (discoverable credentials) so
sign-in needs no user name.

The relying party is the public base URL's host (an IP address is not a valid RP ID, so in development
``127.0.0.1`` serves the holder's pages as ``localhost``). Each challenge is a row of its own, used
once, valid for :data:`CEREMONY_TTL`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..db.models import Holder, HolderCeremony, HolderPasskey
from ..errors import AuthError

__all__ = ["CEREMONY_TTL", "Passkeys", "Registered", "RelyingParty"]

CEREMONY_TTL = timedelta(minutes=5)
#: what ceremony and credential ids look like (anything else, a NUL say, never reaches the database)
_B64U = re.compile(r"[A-Za-z0-9_-]{1,1400}")
_REQUIRED = UserVerificationRequirement.REQUIRED


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: ``rp_id`` (a host name) and the exact ``origin`` pages are served from."""

    rp_id: str
    origin: str
    name: str = "电子营业执照"

    @classmethod
    def of(cls, public_base_url: str) -> RelyingParty:
        parts = urlsplit(public_base_url)
        host = parts.hostname or "localhost"
        if host in ("127.0.0.1", "::1"):  # an IP address cannot be an RP ID (WebAuthn s.5.1.4)
            host = "localhost"
        port = f":{parts.port}" if parts.port else ""
        return cls(host, f"{parts.scheme}://{host}{port}")


@dataclass(frozen=True)
class Registered:
    invitation_id: str
    user_handle: str
    credential_id: str
    public_key: bytes
    sign_count: int


class Passkeys:
    def __init__(self, rp: RelyingParty) -> None:
        self.rp = rp

    def _begin(self, s: Session, purpose: str, subject: str, at: datetime) -> tuple[str, bytes]:
        s.execute(delete(HolderCeremony).where(HolderCeremony.expires_at < at))  # keep the table small
        ceremony_id, challenge = secrets.token_urlsafe(24), secrets.token_bytes(32)
        s.add(HolderCeremony(ceremony_id=ceremony_id, purpose=purpose, challenge=challenge, subject=subject,
                             expires_at=at + CEREMONY_TTL))
        return ceremony_id, challenge

    @staticmethod
    def take_ceremony(s: Session, ceremony_id: str, purpose: str, at: datetime) -> HolderCeremony:
        """The pending ceremony for ``purpose``, used up (deleted) whatever the outcome. Raises
        AuthError (``holders.ceremony_expired``) for an unknown, expired or other-purpose one. The
        table serves every passkey owner (holders here, the window's staff in ``console/``): the
        purpose keeps one's ceremonies from answering for the other's."""
        c = s.execute(select(HolderCeremony).where(HolderCeremony.ceremony_id == ceremony_id)
                      .with_for_update()).scalar_one_or_none() if _B64U.fullmatch(ceremony_id) else None
        if c is None or c.purpose != purpose or at >= c.expires_at:
            raise AuthError("this passkey request has expired or was already used: start again",
                            code="holders.ceremony_expired")
        s.delete(c)
        return c

    # -- registration ---------------------------------------------------------------------------
    def registration_options(self, s: Session, *, purpose: str, subject: str, user_name: str, display_name: str,
                             user_handle: str, exclude: list[str], at: datetime) -> dict[str, Any]:
        """Options for ``navigator.credentials.create`` (JSON, as ``PublicKeyCredential.parseCreationOptionsFromJSON``
        reads them) plus ``ceremony``: the id to send back with the credential."""
        ceremony_id, challenge = self._begin(s, purpose, f"{subject} {user_handle}", at)
        options = webauthn.generate_registration_options(
            rp_id=self.rp.rp_id, rp_name=self.rp.name, user_name=user_name, user_display_name=display_name,
            user_id=base64.urlsafe_b64decode(user_handle + "=" * (-len(user_handle) % 4)), challenge=challenge,
            authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED,
                                                                   user_verification=_REQUIRED),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(c)) for c in exclude])
        return {"ceremony": ceremony_id, "publicKey": json.loads(webauthn.options_to_json(options))}

    def finish_registration(self, s: Session, *, purpose: str, ceremony_id: str, credential: Any,
                            at: datetime) -> Registered:
        """Check the authenticator's answer (challenge, origin, RP ID, user verification). Raises
        AuthError (``holders.passkey_rejected``) when it does not hold."""
        c = self.take_ceremony(s, ceremony_id, purpose, at)
        subject, _, user_handle = c.subject.partition(" ")
        try:
            v = webauthn.verify_registration_response(
                credential=credential, expected_challenge=c.challenge, expected_rp_id=self.rp.rp_id,
                expected_origin=self.rp.origin, require_user_verification=True)
        except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError) as e:  # anything malformed
            raise AuthError(f"the passkey could not be registered: {e}", code="holders.passkey_rejected") from None
        credential_id = _b64u(v.credential_id)
        if s.get(HolderPasskey, credential_id) is not None:
            raise AuthError("this passkey is already registered", code="holders.passkey_known")
        return Registered(subject, user_handle, credential_id, v.credential_public_key, v.sign_count)

    # -- authentication -------------------------------------------------------------------------
    def authentication_options(self, s: Session, *, purpose: str, holder: Holder | None, at: datetime
                               ) -> dict[str, Any]:
        """Options for ``navigator.credentials.get``: any of this site's passkeys (sign-in), or the
        signed-in holder's own (re-authentication)."""
        allow = []
        if holder is not None:
            allow = [PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(cid)) for cid in s.execute(
                select(HolderPasskey.credential_id).where(HolderPasskey.holder_id == holder.holder_id)).scalars()]
        ceremony_id, challenge = self._begin(s, purpose, holder.holder_id if holder else "", at)
        options = webauthn.generate_authentication_options(rp_id=self.rp.rp_id, challenge=challenge,
                                                           allow_credentials=allow, user_verification=_REQUIRED)
        return {"ceremony": ceremony_id, "publicKey": json.loads(webauthn.options_to_json(options))}

    def finish_authentication(self, s: Session, *, purpose: str, ceremony_id: str, credential: Any,
                              at: datetime) -> tuple[Holder, HolderPasskey]:
        """The holder whose passkey answered. Raises AuthError: ``holders.passkey_unknown`` (not a
        passkey of ours), ``holders.passkey_other_holder`` (re-authentication with someone else's),
        ``holders.passkey_rejected`` (signature, challenge, origin, user verification or counter)."""
        c = self.take_ceremony(s, ceremony_id, purpose, at)
        credential_id = credential.get("id") if isinstance(credential, dict) else None
        key = s.get(HolderPasskey, credential_id) if isinstance(credential_id, str) and _B64U.fullmatch(credential_id) \
            else None
        if key is None:
            raise AuthError("this passkey is not registered here", code="holders.passkey_unknown")
        if c.subject and key.holder_id != c.subject:
            raise AuthError("this passkey belongs to another holder", code="holders.passkey_other_holder")
        holder = s.get(Holder, key.holder_id)
        assert holder is not None
        response = credential.get("response")
        handle = response.get("userHandle") if isinstance(response, dict) else None
        if handle and handle != holder.user_handle:
            raise AuthError("the passkey names another holder", code="holders.passkey_other_holder")
        key.sign_count = self.check_assertion(c, credential, public_key=key.public_key, sign_count=key.sign_count)
        key.last_used_at = at
        return holder, key

    def check_assertion(self, c: HolderCeremony, credential: Any, *, public_key: bytes, sign_count: int) -> int:
        """Check an authenticator's assertion against the ceremony ``c`` (taken) and the credential's
        stored public key; returns the new signature counter. Raises AuthError
        (``holders.passkey_rejected``: signature, challenge, origin, user verification or counter)."""
        try:
            v = webauthn.verify_authentication_response(
                credential=credential, expected_challenge=c.challenge, expected_rp_id=self.rp.rp_id,
                expected_origin=self.rp.origin, credential_public_key=public_key,
                credential_current_sign_count=sign_count, require_user_verification=True)
        except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError) as e:  # anything malformed
            raise AuthError(f"the passkey's answer does not hold: {e}", code="holders.passkey_rejected") from None
        return int(v.new_sign_count)
