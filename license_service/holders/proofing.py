"""Identity proofing: how a person comes to be invited as the legal representative.

The contract every proofing service meets (:class:`IdentityProofing`): it has established, by its own
means, that the person in front of it is the one the registry names for the role, and it says so by
creating a single-use invitation through :meth:`HolderLedger.invite` — naming itself in
``created_by`` (``"<service>:<who checked>"``) so the binding's provenance is on record. It never
creates a holder directly: the person still enrols a passkey on their own phone with the invitation.

What ships is the window's (:class:`WindowProofing`): a clerk at the market regulation bureau has
checked the person's identity card in person and asks for the invitation (``POST
/api/v1/entities/{uscc}/holder-invitations`` with scope ``holders:invite``, or ``elicense holders
invite``). A real-name or eKYC service would be another implementation of the same protocol, run by
whoever operates it; none is shipped here, and nothing pretends to be one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..domain.holding import HolderRole
from .ledger import HolderLedger, IssuedInvitation
from .passkeys import RelyingParty

__all__ = ["IdentityProofing", "WindowProofing", "invitation_answer", "invitation_url"]


class IdentityProofing(Protocol):
    """A proofing service: ``invite`` after it has established the person's identity."""

    def invite(self, s: Session, ledger: HolderLedger, *, uscc: str, role: HolderRole, name: str,
               at: datetime) -> IssuedInvitation: ...


class WindowProofing:
    """In-person proofing at the window: ``checked_by`` is the clerk's API client (or ``cli``)."""

    def __init__(self, checked_by: str) -> None:
        self.checked_by = checked_by

    def invite(self, s: Session, ledger: HolderLedger, *, uscc: str, role: HolderRole, name: str,
               at: datetime) -> IssuedInvitation:
        return ledger.invite(s, uscc=uscc, role=role, name=name, created_by=f"window:{self.checked_by}", at=at)


def invitation_url(public_base_url: str, secret: str) -> str:
    """Where the invited person opens the invitation (on the passkeys' host name)."""
    return f"{RelyingParty.of(public_base_url).origin}/holder/enrol?i={secret}"


def invitation_answer(public_base_url: str, inv: IssuedInvitation, *, uscc: str, role: HolderRole,
                      name: str) -> dict[str, Any]:
    """The invitation as the API and ``elicense holders invite --json`` give it (shown once)."""
    return {"invitation_url": invitation_url(public_base_url, inv.secret), "code": inv.display_code,
            "expires_at": inv.expires_at.isoformat(), "uscc": uscc, "role": role.value, "name": name,
            "enrol_url": f"{RelyingParty.of(public_base_url).origin}/holder/enrol"}
