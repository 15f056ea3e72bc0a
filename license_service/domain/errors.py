"""The domain's error root: every rule broken carries a stable ``code`` and the ``field`` it concerns."""

from __future__ import annotations

__all__ = ["DomainError", "FieldError", "InvalidInput"]


class DomainError(Exception):
    """Root of every error the domain layer raises. ``code`` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class FieldError(DomainError):
    """One field breaks one rule: ``field`` is a dotted path (``entity.uscc``), ``code`` names the rule."""

    def __init__(self, field: str, code: str, detail: str) -> None:
        super().__init__(detail, code=code)
        self.field = field

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.code, "detail": self.detail}


class InvalidInput(DomainError):
    """One or more :class:`FieldError` found together, so a client can fix them all in one round."""

    code = "invalid_input"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.detail}" for e in errors))
        self.errors = errors
