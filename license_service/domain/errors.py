"""The domain's two error roots, kept apart because callers must treat them differently:

- :class:`DomainError`: a genuine refusal. The request is well formed, but the registry's rules say
  no (a transition the entity's status forbids, a serial sequence exhausted). Retrying the same thing
  gets the same answer; a re-issuance records it as skipped.
- :class:`InputError`: the input itself is malformed or out of bounds (a field breaks a rule). Its
  :class:`FieldError` names the field and the rule; :class:`InvalidInput` collects several.

Our own faults (a corrupted log, a key out of reach) are neither: they have a root of their own
outside the domain (``license_service.errors.Fault``). Every error carries a stable ``code``; none
carries an HTTP status (the web layer's one mapping site decides that).
"""

from __future__ import annotations

__all__ = ["Coded", "DomainError", "FieldError", "InputError", "InvalidInput"]


class Coded:
    """A mixin, not an exception root: a human ``detail`` and a stable machine-readable ``code``."""

    code = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)  # type: ignore[call-arg]  # mixed into Exception, which takes the message
        self.detail = detail
        if code is not None:
            self.code = code


class DomainError(Coded, Exception):
    """Root of the domain's refusals: well-formed input that the registry's rules refuse."""

    code = "domain_error"


class InputError(Coded, Exception):
    """Root of malformed or out-of-bounds input."""

    code = "invalid_input"


class FieldError(InputError):
    """One field breaks one rule: ``field`` is a dotted path (``entity.uscc``), ``code`` names the rule."""

    def __init__(self, field: str, code: str, detail: str) -> None:
        super().__init__(detail, code=code)
        self.field = field

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.code, "detail": self.detail}


class InvalidInput(InputError):
    """One or more :class:`FieldError` found together, so a client can fix them all in one round."""

    code = "invalid_input"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.detail}" for e in errors))
        self.errors = errors
