"""The URLs the v1 contract prints and signs (DESIGN.md): where a QR code points, where a PDF is.
One place, so a QR code, the PDF's footer, the API and the public page never disagree."""

from __future__ import annotations

__all__ = ["VERIFY_PATH", "pdf_url", "verify_url"]

#: the public page's path prefix: ``{base}/v/{token}`` is what a license's QR code carries
VERIFY_PATH = "/v/"


def verify_url(base_url: str, token: str) -> str:
    return f"{base_url}{VERIFY_PATH}{token}"


def pdf_url(base_url: str, license_id: str) -> str:
    return f"{base_url}/api/v1/licenses/{license_id}/pdf"
