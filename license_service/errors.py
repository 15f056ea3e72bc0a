"""The issuing service's errors beyond the domain's: each has a stable ``code`` and an HTTP status
that the one error-mapping site (``api/problems.py``) uses."""

from __future__ import annotations

from .domain.errors import DomainError

__all__ = ["AuthError", "Conflict", "Forbidden", "NotFound", "RateLimited", "ServiceError"]


class ServiceError(DomainError):
    status = 500
    title = "Internal error"


class NotFound(ServiceError):
    status = 404
    title = "Not found"
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"
    code = "conflict"


class AuthError(ServiceError):
    status = 401
    title = "Unauthorized"
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"
    code = "forbidden"


class RateLimited(ServiceError):
    status = 429
    title = "Too many requests"
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit reached; retry in {retry_after:.0f} s")
        self.retry_after = max(1, round(retry_after + 0.5))
