"""The service's errors beyond the domain's, under separate roots:

- refusals: :class:`NotFound` and :class:`Conflict` are :class:`~license_service.domain.errors.DomainError`
  (well-formed requests the registry's state refuses);
- input: :class:`TooLarge` is an :class:`~license_service.domain.errors.InputError`;
- access: :class:`AccessError` (authentication, scope, grant and rate refusals);
- our own faults: :class:`Fault` (a corrupted log, a stale schema, a key out of reach), never a
  refusal: whoever meets one may try again once it is repaired (a re-issuance records it as failed).

Each has a stable ``code``; the HTTP status of each is decided in one place only, the web layer's
error mapping (``license_service/web/problems.py``).
"""

from __future__ import annotations

from .domain.errors import Coded, DomainError, InputError

__all__ = ["AccessError", "AuthError", "Conflict", "Fault", "Forbidden", "GrantRefused", "HeadTooLarge", "NotFound",
           "RateLimited", "TokenRequestRefused", "TooLarge", "Unavailable"]


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class TooLarge(InputError):
    """More bytes than the limit for this kind of request."""

    code = "too_large"


class HeadTooLarge(InputError):
    """A request head (target and header fields) larger than the limit."""

    code = "headers_too_large"


class AccessError(Coded, Exception):
    """Root of access refusals."""

    code = "access_denied"


class AuthError(AccessError):
    """No valid credential (client authentication or bearer token failed)."""

    code = "unauthorized"


class GrantRefused(AccessError):
    """An OAuth request the client is not entitled to make as asked (RFC 6749 s.5.2: a grant type or
    scope refused, a malformed request): the credential may be fine."""

    code = "invalid_request"


class TokenRequestRefused(AccessError):
    """A refusal at the OAuth token endpoint, answered in RFC 6749 s.5.2's form rather than problem+json
    (``code`` is the s.5.2 ``error``: invalid_client, invalid_request, unsupported_grant_type...)."""

    code = "invalid_request"


class Forbidden(AccessError):
    """Authenticated, but without the scope this needs."""

    code = "forbidden"


class RateLimited(AccessError):
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit reached; retry in {retry_after:.0f} s")
        self.retry_after = max(1, round(retry_after + 0.5))


class Fault(Coded, Exception):
    """Root of our own faults: something on our side is broken; nothing was written."""

    code = "internal_error"


class Unavailable(Fault):
    """A dependency is out of reach or not ready (database, keys, schema): try again later."""

    code = "unavailable"
