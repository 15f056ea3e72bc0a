"""The signing package's error root; every error has a stable ``code``."""

from __future__ import annotations

__all__ = ["KeyMaterialError", "SigningError", "SigningPackageError"]


class SigningPackageError(Exception):
    code = "signing_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class KeyMaterialError(SigningPackageError):
    """Keys are missing, unreadable, or not what the configuration promises."""

    code = "keys.unavailable"


class SigningError(SigningPackageError):
    """A document could not be signed."""

    code = "signing.failed"
