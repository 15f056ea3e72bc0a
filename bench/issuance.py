"""Issuance throughput: the whole pipeline against the naive composition and against its floor, in
the same run, over the same events.

pipeline = intake validation + registry transaction + canonical record + token + render + PAdES B-T
           seal with timestamp + store + log leaf + signed checkpoint, one event after another in one
           process (one core), on a fresh SQLite database;
naive    = what anyone would write in an afternoon (issue 18): a python-jose token, ``qrcode.make``, a
           reportlab page with the same items, pyHanko's ``sign_pdf`` with ``SimpleSigner``; no
           database, no log, no timestamp;
floor    = our render alone + our seal alone, on the same pages.
Prints licenses/s for each, pipeline/naive (target >= 2.0x) and pipeline/floor.
Run: .venv/bin/python bench/issuance.py [N]
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import qrcode
from jose import jwt
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from license_service.api.schemas import RegistrationIn
from license_service.config import Settings
from license_service.demo import demo_events
from license_service.domain.entity import EntityDetails
from license_service.intake import parse_registration
from license_service.rendering.fonts import DEFAULT_FONT_FILES
from license_service.rendering.license_pdf import LicensePage
from license_service.runtime.issuing import IssuingRuntime
from signing.keys.files import ensure_dev_keys


class Naive:
    """The naive composition, on the same keys (the token key, the document signer and its CA)."""

    def __init__(self, keys: Path, base_url: str) -> None:
        self.key_pem = (keys / "token.key").read_text()
        self.signer = signers.SimpleSigner.load(str(keys / "document-signer.key"), str(keys / "document-signer.pem"),
                                                ca_chain_files=(str(keys / "issuing-ca.pem"),))
        path, index = DEFAULT_FONT_FILES[0]
        pdfmetrics.registerFont(TTFont("NaiveCJK", path, subfontIndex=index))
        self.base_url = base_url

    def issue(self, d: EntityDetails) -> bytes:
        token = jwt.encode({"uscc": str(d.uscc), "name": d.name, "ver": 1, "iat": int(time.time())},
                           self.key_pem, algorithm="ES256")
        qr = qrcode.make(f"{self.base_url}/v/{token}").get_image()
        w, h = landscape(A4)
        buf = BytesIO()
        c = Canvas(buf, pagesize=(w, h))
        c.setFont("NaiveCJK", 34)
        c.drawCentredString(w / 2, h - 128, "营 业 执 照")
        c.setFont("NaiveCJK", 11)
        c.drawString(60, h - 182, f"统一社会信用代码 {d.uscc}")
        c.drawImage(ImageReader(qr), w - 188, h - 174, 128, 128)
        y = h - 220
        for label, value in (("名称", d.name or ""), ("类型", d.entity_type), ("法定代表人", d.representative),
                             ("注册资本", str(d.capital or "")), ("成立日期", d.established_on.isoformat()),
                             ("住所", d.address)):
            c.drawString(60, y, label)
            c.drawString(160, y, value)
            y -= 24
        c.drawString(60, y, "经营范围")
        for line in simpleSplit(d.business_scope, "NaiveCJK", 11, 300):
            c.drawString(160, y, line)
            y -= 15
        c.showPage()
        c.save()
        meta = signers.PdfSignatureMetadata(field_name="Seal", md_algorithm="sha256")
        out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(buf.getvalue())), meta, signer=self.signer,
                               new_field_spec=fields.SigFieldSpec("Seal", on_page=0, box=(560, 60, 690, 190)))
        return out.getvalue()


def main(n: int = 120) -> None:
    logging.getLogger("pyhanko").setLevel(logging.ERROR)  # the naive default stamp's layout notes
    home = Path(tempfile.mkdtemp(prefix="elicense-bench-"))
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    settings = Settings(database_url=f"sqlite:///{home}/bench.db", keys_dir=home / "keys")
    runtime = IssuingRuntime.build(settings)
    issuance = runtime.issuance
    naive = Naive(home / "keys", settings.public_base_url)
    bodies = [b for b in demo_events() if b["kind"] == "establishment"][: n + 10]
    events = [parse_registration(RegistrationIn.model_validate(b), frozenset(), at=datetime.now(UTC)) for b in bodies]
    for ev in events[:10]:  # warm-up: font subsets, seal appearances, pyHanko imports
        issuance.apply(ev, at=datetime.now(UTC))
        naive.issue(ev.details)
    events = events[10:]

    renderer, sealer = issuance._renderer, issuance._sealer  # the same objects the pipeline uses
    # Alternate blocks of pipeline, naive and floor over the same events, so that drift in the
    # machine's load (it is shared and noisy) falls on every side of the ratios alike.
    pipeline = naive_t = 0.0
    render_t: list[float] = []
    seal_t: list[float] = []
    block = 20
    for b in range(0, len(events), block):
        chunk = events[b:b + block]
        t0 = time.perf_counter()
        tokens = [issuance.apply(ev, at=datetime.now(UTC)).body["license"]["token"] for ev in chunk]
        pipeline += time.perf_counter() - t0
        t0 = time.perf_counter()
        for ev in chunk:
            naive.issue(ev.details)
        naive_t += time.perf_counter() - t0
        for ev, token in zip(chunk, tokens, strict=True):  # the same data: each license's own token and QR
            page = LicensePage(details=ev.details, serial="43310020180531000001", version=1,  # type: ignore[arg-type]
                               authority=ev.authority.name, registered_on=ev.decided_at.date(),
                               verify_url=f"{settings.public_base_url}/v/{token}", token=token)
            t = time.perf_counter()
            r = renderer.render(page)
            render_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            sealer.seal(r.pdf, box=r.seal_box, authority=page.authority, reason="bench", location="bench",
                        at=datetime.now(UTC))
            seal_t.append(time.perf_counter() - t)
    floor = sum(render_t) + sum(seal_t)

    print(f"licenses: {len(events)} (one process, one core, SQLite)")
    print(f"render alone: median {statistics.median(render_t) * 1e3:.1f} ms; "
          f"seal alone (PAdES B-T + timestamp): median {statistics.median(seal_t) * 1e3:.1f} ms")
    print(f"naive composition:        {len(events) / naive_t:6.1f} licenses/s")
    print(f"floor    (render + seal): {len(events) / floor:6.1f} licenses/s")
    print(f"pipeline (everything):    {len(events) / pipeline:6.1f} licenses/s per core")
    print(f"pipeline / naive:         {naive_t / pipeline:6.2f}x  (target >= 2.0x)")
    print(f"pipeline time / floor:    {pipeline / floor:6.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 120)
