"""The URLs the v1 contract prints and signs (DESIGN.md): where a QR code points, where a PDF is.
One place, so a QR code, the PDF's footer, the API and the public page never disagree."""

from __future__ import annotations

__all__ = ["VERIFY_PATH", "pdf_url", "token_of", "verify_url"]

#: the public page's path prefix: ``{base}/v/{token}`` is what a license's QR code carries
VERIFY_PATH = "/v/"


def verify_url(base_url: str, token: str) -> str:
    return f"{base_url}{VERIFY_PATH}{token}"


def pdf_url(base_url: str, license_id: str) -> str:
    return f"{base_url}/api/v1/licenses/{license_id}/pdf"


def token_of(scanned: str) -> str:
    """The token in what a QR scanner gives: the whole verify URL (``https://host/v/TOKEN``, perhaps
    with ``?lang=``), or the bare token. Which host does not matter: the token's signature decides."""
    scheme, sep, rest = scanned.strip().partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return scanned.strip()
    _, found, token = rest.partition(VERIFY_PATH)
    return token.split("?", 1)[0].split("#", 1)[0] if found else scanned.strip()
