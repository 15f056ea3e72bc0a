"""QR codes drawn as vector paths (crisp at any resolution; no raster image in the PDF)."""

from __future__ import annotations

import html

import qrcode
from qrcode.constants import ERROR_CORRECT_M

__all__ = ["draw_qr", "qr_matrix", "qr_svg"]

#: The qrcode library's automatic mask selection evaluates all eight masks (~35 ms for a version-15
#: code); any fixed mask is valid per ISO/IEC 18004 and costs ~7 ms. Mask 7 decodes fine in tests.
_MASK = 7


def qr_matrix(data: str) -> list[list[bool]]:
    """The module matrix for ``data`` (one byte-mode segment, level M), without the quiet zone.

    A verify URL is base64url after its host: lower case throughout, so alphanumeric mode cannot hold
    it, and its runs of digits or capitals are too short to pay for a segment header of their own (the
    qrcode library's own segmenting makes these codes one or two versions larger). One byte segment
    is the most compact encoding of it. The compact token (``signing.compact_tokens``) keeps a license's
    code at version 12 at most with a base URL of up to 39 characters (README, "Token formats")."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=_MASK)
    qr.add_data(data.encode("utf-8"), optimize=0)
    qr.make(fit=True)
    return [list(row) for row in qr.get_matrix()]


def draw_qr(canvas: object, data: str, x: float, y: float, size: float) -> None:
    """Draw the QR for ``data`` with its lower-left corner at (x, y), ``size`` points wide (the
    caller leaves a quiet zone of 4 modules around it: ISO/IEC 18004 s.6.3.8).

    The path is written as one literal in module units (horizontal runs merged into one ``re``
    each): a few thousand ``Canvas.rect`` calls would cost more than the rest of the page.
    """
    m = qr_matrix(data)
    n = len(m)
    ops = []
    for r, row in enumerate(m):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                ops.append(f"{start} {n - 1 - r} {c - start} 1 re")
            else:
                c += 1
    module = size / n
    canvas.saveState()  # type: ignore[attr-defined]
    canvas.setFillColorRGB(0, 0, 0)  # type: ignore[attr-defined]
    canvas.transform(module, 0, 0, module, x, y)  # type: ignore[attr-defined]
    canvas.addLiteral("\n".join(ops) + "\nf")  # type: ignore[attr-defined]
    canvas.restoreState()  # type: ignore[attr-defined]


def qr_svg(data: str, *, label: str, quiet: int = 4) -> str:
    """The QR for ``data`` as an inline SVG element (one path, horizontal runs merged), with a quiet
    zone of ``quiet`` modules and ``label`` as its accessible name; it scales to its container."""
    m = qr_matrix(data)
    n = len(m) + 2 * quiet
    runs = []
    for r, row in enumerate(m):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append(f"M{start + quiet} {r + quiet}h{c - start}v1h-{c - start}z")
            else:
                c += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" shape-rendering="crispEdges" '
            f'role="img" aria-label="{html.escape(label)}" data-version="{(len(m) - 17) // 4}">'
            f'<rect width="{n}" height="{n}" fill="#fff"/>'
            f'<path fill="#000" d="{"".join(runs)}"/></svg>')
