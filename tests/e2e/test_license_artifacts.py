"""A license issued over HTTP by a real server, checked with tools nobody here wrote."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
import pytest

from tests.conftest import entity, event

from .conftest import Server
from .validators import joserfc_claims, joserfc_compact, pdf_text, pdfsig, pyhanko_status, qr_texts


@pytest.fixture(scope="module")
def issued(server: Server) -> tuple[dict[str, Any], bytes, httpx.Client]:
    c = server.client("registrations:write licenses:read")
    ent = entity(name="湘西峒河喆堃生态农业科技有限公司")
    r = c.post("/api/v1/registrations", json=event("establishment", ent))
    assert r.status_code == 201, r.text
    lic = r.json()["license"]
    pdf = c.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content
    return lic, pdf, c


def test_pdfsig_valid_trusted_total(server: Server, issued: Any) -> None:
    _, pdf, _ = issued
    out = pdfsig(pdf, httpx.get(server.base + "/trust/roots.pem").content)
    for want in ("Signature is Valid", "Certificate is Trusted", "Total document signed"):
        assert want in out, out
    assert "ETSI.CAdES.detached" in out


def test_pdfsig_sees_tampering(server: Server, issued: Any) -> None:
    """pdfsig exits 0 whatever it finds, so the text is what we check: a flipped byte must show."""
    _, pdf, _ = issued
    i = pdf.index(b"/Contents", 2000) - 200  # inside the signed page content
    bad = pdf[:i] + bytes([pdf[i] ^ 0x01]) + pdf[i + 1:]
    out = pdfsig(bad, httpx.get(server.base + "/trust/roots.pem").content)
    assert "Signature is Valid" not in out


def test_pyhanko_bottom_line_entire_file_timestamp(server: Server, issued: Any) -> None:
    _, pdf, _ = issued
    st = pyhanko_status(pdf, httpx.get(server.base + "/trust/roots.pem").content)
    assert st.bottom_line and st.intact and st.valid and st.trusted
    assert "ENTIRE_FILE" in str(st.coverage)
    assert st.docmdp_ok
    assert st.timestamp_validity is not None and st.timestamp_validity.trusted and st.timestamp_validity.intact


def test_the_long_term_form_is_pades_b_lta_to_pyhanko_and_valid_to_pdfsig(server: Server, issued: Any) -> None:
    """?form=long-term: pdfsig still finds the seal valid and trusted (it cannot check RFC 3161 document
    timestamps, and says so); pyHanko finds the seal intact, trusted and followed only by LTA updates,
    the DSS with certificates and CRLs, and a trusted document timestamp over it: PAdES B-LTA."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    from signing.pdf_validation import load_roots

    lic, _, c = issued
    lta = c.get(f"/api/v1/licenses/{lic['license_id']}/pdf", params={"form": "long-term"}).content
    roots_pem = httpx.get(server.base + "/trust/roots.pem").content
    out = pdfsig(lta, roots_pem)
    seal = out.split("Signature #2")[0]
    for want in ("Signature is Valid", "Certificate is Trusted", "ETSI.CAdES.detached"):
        assert want in seal, out
    st = pyhanko_status(lta, roots_pem)
    assert st.bottom_line and st.docmdp_ok and str(st.modification_level) == "ModificationLevel.LTA_UPDATES"
    reader = PdfFileReader(BytesIO(lta))
    dss = DocumentSecurityStore.read_dss(reader)
    assert len(dss.crls) == 2 and len(list(dss.load_certs())) >= 3
    stamp = reader.embedded_signatures[-1]
    assert stamp.sig_object_type == "/DocTimeStamp"
    ts = validate_pdf_timestamp(stamp, ValidationContext(trust_roots=load_roots(roots_pem), allow_fetching=False))
    assert ts.intact and ts.valid and ts.trusted


@pytest.mark.parametrize("dpi", [150, 96, 72])
def test_qr_decodes_and_its_compact_token_verifies_with_joserfc(server: Server, issued: Any, dpi: int) -> None:
    """The QR code carries the compact token (form 2): a JWS over [uscc, ver, iat, sidx] that any JOSE
    library verifies with the JWKS."""
    lic, pdf, _ = issued
    found = qr_texts(pdf, dpi)
    assert found == [lic["verify_url"]]
    token = found[0].rsplit("/v/", 1)[1]
    jwks = httpx.get(server.base + "/.well-known/jwks.json").json()
    uscc, ver, iat, sidx = joserfc_compact(token, jwks)
    assert (uscc, ver) == (lic["uscc"], 1) and isinstance(iat, int) and isinstance(sidx, int)


def test_the_full_token_verifies_with_joserfc(server: Server, issued: Any) -> None:
    """The API's ``token`` (form 1, also in the PDF's metadata) names what the QR code cannot."""
    lic, _, _ = issued
    claims = joserfc_claims(lic["token"], httpx.get(server.base + "/.well-known/jwks.json").json())
    assert claims["uscc"] == lic["uscc"] and claims["sn"] == lic["serial"] and claims["ver"] == 1
    assert claims["name"] == "湘西峒河喆堃生态农业科技有限公司" and claims["rep"] == "向喆"
    digest = hashlib.sha256(bytes.fromhex(lic["record_digest"])).digest()  # the claim is the digest itself
    assert isinstance(claims["dig"], str) and len(claims["dig"]) == 43 and digest
    assert set(claims) == {"uscc", "name", "rep", "sn", "ver", "iat", "dig", "status"}
    assert claims["status"]["uri"] == server.base + "/status/revocation/0" and isinstance(claims["status"]["idx"], int)


def test_the_longest_names_qr_code_decodes_at_72_dpi_and_verifies_over_http(server: Server) -> None:
    """Issue 13's bar: the longest name and representative the intake accepts (100 characters each, a
    4-byte plane-2 character among them), the page rendered at 72 dpi by poppler, the QR code decoded
    by zxing-cpp to the verify URL, which the server then answers as valid."""
    c = server.client("registrations:write licenses:read verify")
    name = ("湘西𠮷祥峒河生态农业科技发展（集团）有限公司" * 5)[:100]
    rep = ("欧阳·买买提艾力𠮷" * 12)[:100]
    r = c.post("/api/v1/registrations", json=event("establishment", entity(name=name, representative=rep)))
    assert r.status_code == 201, r.text
    lic = r.json()["license"]
    pdf = c.get(f"/api/v1/licenses/{lic['license_id']}/pdf").content
    assert qr_texts(pdf, 72) == [lic["verify_url"]]
    page = httpx.get(lic["verify_url"], headers={"Accept": "application/json"})
    assert page.status_code == 200 and page.json()["verdict"] == "valid", page.text
    assert page.json()["license"]["name"] == name
    assert c.post("/api/v1/verify/token", json={"token": lic["verify_url"]}).json()["verdict"] == "valid"


def test_token_in_pdf_metadata(issued: Any) -> None:
    lic, pdf, _ = issued
    assert f"elicense-token:{lic['token']}".encode() in pdf


def test_pdf_hash_matches_registry(issued: Any) -> None:
    lic, pdf, _ = issued
    assert hashlib.sha256(pdf).hexdigest() == lic["pdf_sha256"]


KIND_LINES = {
    # kind: (labels that must appear, labels that must not)
    "company": (["法定代表人", "注册资本", "成立日期", "营业期限", "住所"], ["负责人", "经营者", "合伙期限", "注册日期"]),
    "branch": (["负责人", "成立日期", "营业期限", "营业场所"], ["注册资本", "法定代表人", "经营者"]),
    "partnership": (["执行事务合伙人", "成立日期", "合伙期限", "主要经营场所"], ["注册资本", "营业期限", "法定代表人"]),
    "sole_proprietorship": (["投资人", "成立日期", "住所"], ["注册资本", "营业期限", "法定代表人"]),
    "cooperative": (["法定代表人", "成员出资总额", "成立日期", "住所"], ["注册资本", "营业期限"]),
    "individual_business": (["经营者", "组成形式", "个人经营", "注册日期", "经营场所"],
                            ["成立日期", "注册资本", "法定代表人", "营业期限"]),
}


def _flat(text: str) -> str:
    """pdftotext spreads spaced labels (名　称) and wraps long values: compare without white space."""
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("kind", list(KIND_LINES))
def test_text_per_entity_kind(server: Server, issued: Any, kind: str) -> None:
    _, _, c = issued
    scope = ("农产品种植、收购及销售；" * 30)[:300]
    assert len(scope) == 300
    name = "湘西𠮷祥" + {"company": "科技有限公司", "branch": "科技有限公司吉首分公司", "partnership": "咨询中心（有限合伙）",
                         "sole_proprietorship": "经营部", "cooperative": "茶叶专业合作社",
                         "individual_business": "米粉店"}[kind]
    ent = entity(kind, name=name, business_scope=scope)
    r = c.post("/api/v1/registrations", json=event("establishment", ent))
    assert r.status_code == 201, r.text
    text = pdf_text(c.get(r.json()["license"]["pdf_url"].split(server.base)[1]).content)
    flat = _flat(text)
    must, must_not = KIND_LINES[kind]
    for label in must:
        assert label in flat, (label, text)
    for label in must_not:
        assert label not in flat, (label, text)
    assert name in flat  # U+20BB7 survives rendering and extraction
    assert scope in flat  # the 300-character scope is intact, nothing clipped
    assert ent["uscc"] in flat and "2018年05月31日" in flat
    if kind in ("company", "branch", "partnership"):
        assert "2018年05月31日至长期" in flat
    if kind in ("company", "cooperative"):
        assert "人民币叁佰伍拾万元整" in flat
