"""The public trust material both services publish: the token keys, the roots, the CAs' CRLs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from ..errors import NotFound
from .deps import RuntimeDep
from .problems import Problem

__all__ = ["router"]

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json")
def jwks(runtime: RuntimeDep) -> dict[str, Any]:
    """The QR-token verification keys (ES256, ``kid`` = RFC 7638 thumbprint)."""
    return runtime.keys.token_keyring().jwks()


@router.get("/trust/roots.pem", response_class=Response,
            responses={200: {"content": {"application/x-pem-file": {}}, "description": "PEM certificates"}})
def roots(runtime: RuntimeDep) -> Response:
    """The root certificate(s) that license signatures chain to."""
    return Response(runtime.keys.roots_pem(), media_type="application/x-pem-file")


@router.get("/trust/crl/{ca}.crl", response_class=Response,
            responses={200: {"content": {"application/pkix-crl": {}}, "description": "a DER CRL"},
                       404: {"model": Problem, "content": {"application/problem+json": {}}}})
def crl(ca: Literal["root-ca", "issuing-ca"], runtime: RuntimeDep) -> Response:
    """A CA's current certificate revocation list (RFC 5280), as the keys folder holds it: the
    revocation data a license's long-term form embeds."""
    der = runtime.keys.crl(ca)
    if der is None:
        raise NotFound("no CRL for this CA in the keys folder", code="keys.no_crl")
    return Response(der, media_type="application/pkix-crl",
                    headers={"Cache-Control": "public, max-age=3600"})
