"""Independent checks: tools nobody here wrote (poppler, pyHanko's validator, zxing-cpp, joserfc)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any


def pdfsig(pdf: bytes, roots_pem: bytes) -> str:
    """poppler's verdict as text (its exit code is 0 even on failure), trust root in a private NSS db."""
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "nss"
        db.mkdir()
        subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True, capture_output=True)
        (Path(d) / "root.pem").write_bytes(roots_pem)
        subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "root", "-t", "C,C,C", "-i",
                        str(Path(d) / "root.pem")], check=True, capture_output=True)
        (Path(d) / "l.pdf").write_bytes(pdf)
        r = subprocess.run(["pdfsig", "-nssdir", f"sql:{db}", str(Path(d) / "l.pdf")], capture_output=True, text=True)
        return r.stdout + r.stderr


def pyhanko_status(pdf: bytes, roots_pem: bytes) -> Any:
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = [x509.Certificate.load(der) for _, _, der in pem.unarmor(roots_pem, multiple=True)]
    sig = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures[0]
    return validate_pdf_signature(sig, signer_validation_context=ValidationContext(trust_roots=roots,
                                                                                     allow_fetching=False))


def qr_texts(pdf: bytes, dpi: int) -> list[str]:
    import zxingcpp
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "l.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", str(Path(d) / "l.pdf"),
                        str(Path(d) / "pg")], check=True)
        img = Image.open(next(Path(d).glob("pg*.png")))
        return [r.text for r in zxingcpp.read_barcodes(img) if r.format == zxingcpp.BarcodeFormat.QRCode]


def pdf_text(pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "l.pdf").write_bytes(pdf)
        return subprocess.run(["pdftotext", "-raw", str(Path(d) / "l.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout


def joserfc_claims(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    from joserfc import jws
    from joserfc.jwk import KeySet

    obj = jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    return dict(json.loads(obj.payload))


def joserfc_compact(token: str, jwks: dict[str, Any]) -> list[Any]:
    """The payload of a compact license token (form 2: a JSON array), verified by joserfc."""
    from joserfc import jws
    from joserfc.jwk import KeySet

    obj = jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    return list(json.loads(obj.payload))
