"""The archive of long-term forms (``license_service/archive.py``; issue 12, item 7) on both databases,
in a PKI made in the past whose TSA certificate lives two years (so its rollover falls inside the
ten years a form must last): nothing is archived within the grace period; once it has passed, the
form is made, checked, stored and served; when its timestamp's TSA certificate nears its end a
renewal with the same TSA is refused as useless; after a TSA rollover the renewal adds a document
timestamp from the new TSA. pyHanko's AdES-LTA algorithm, ten years ahead with nothing fetched, is
the judge of both forms."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed

from license_service.archive import DEFAULT_GRACE, ArchivePolicy, ArchiveReport, due_for_archiving, run_archive
from license_service.config import Settings
from license_service.db.models import LicenseDocument, LongTermForm
from license_service.intake import RegistrationIn, parse_registration
from license_service.runtime.issuing import IssuingRuntime
from signing.errors import SigningError
from signing.keys.devpki import DEV_PKI, CertSpec, ensure_dev_pki, rotate_dev_tsa
from signing.keys.files import ensure_dev_keys
from signing.lta_validation import validate_lta
from signing.pdf_validation import load_roots, validate_license_pdf
from tests.conftest import entity, event, pg_database
from tests.unit.test_sealer import TEN_YEARS, ades_lta_ten_years_ahead

T0 = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)  # when this PKI was made
SIGNED = T0 + timedelta(hours=2)
TSA_YEARS = 2
#: the declared dev PKI, but for a TSA certificate of two years
SHORT_TSA_PKI = tuple(CertSpec(s.name, s.common_name, s.issuer, TSA_YEARS if s.name == "tsa" else s.years, s.ca,
                               s.path_length, s.timestamping) for s in DEV_PKI)


@pytest.fixture(params=["sqlite", "postgresql"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    ensure_dev_pki(tmp_path / "keys", SHORT_TSA_PKI, at=T0)
    ensure_dev_keys(tmp_path / "keys", at=T0)
    if request.param == "sqlite":
        yield tmp_path / "keys", f"sqlite:///{tmp_path}/archive.db"
        return
    with pg_database("elicense_a_") as url:
        yield tmp_path / "keys", url


def _runtime(home: tuple[Path, str]) -> IssuingRuntime:
    """The issuing runtime as a (re)started process builds it: it reads the TSA's key then."""
    keys, url = home
    return IssuingRuntime.build(Settings(database_url=url, keys_dir=keys, public_base_url="http://testserver"))


def _issue(runtime: IssuingRuntime, at: datetime) -> tuple[str, bytes]:
    ev = parse_registration(RegistrationIn.model_validate(event("establishment", entity())), frozenset(), at=at)
    license_id: str = runtime.issuance.apply(ev, at=at).body["license"]["license_id"]
    with runtime.sessions() as s:
        doc = s.get(LicenseDocument, license_id)
        assert doc is not None
        return license_id, doc.pdf


def _stored(runtime: IssuingRuntime, license_id: str) -> LongTermForm:
    with runtime.sessions() as s:
        row = s.get(LongTermForm, license_id)
        assert row is not None
        s.expunge(row)
        return row


def _tsa_expiry(pdf: bytes) -> datetime:
    expiry: datetime = PdfFileReader(BytesIO(pdf)).embedded_timestamp_signatures[-1].signer_cert.not_valid_after
    return expiry


def test_archive_then_renew_after_a_tsa_rollover(home: tuple[Path, str]) -> None:
    runtime = _runtime(home)
    roots = load_roots(runtime.keys.roots_pem())
    license_id, issued = _issue(runtime, SIGNED)

    # within the grace period nothing is due; the form served on request is made then, not kept
    assert run_archive(runtime, at=SIGNED + DEFAULT_GRACE - timedelta(minutes=1)) == ArchiveReport()
    early = runtime.issuance.long_term(issued, at=SIGNED + timedelta(hours=1))
    assert early.startswith(issued)

    made = SIGNED + DEFAULT_GRACE
    report = run_archive(runtime, at=made)
    assert report == ArchiveReport(archived=[license_id]), report
    row = _stored(runtime, license_id)
    form = row.pdf
    assert form.startswith(issued) and row.made_at == made and row.renewed_at is None
    assert row.document_timestamps == 1 and row.timestamp_expires_at == _tsa_expiry(form)
    assert row.timestamp_expires_at == T0 + timedelta(days=365 * TSA_YEARS)  # the short-lived TSA
    # the route's long-term form is the archived one from now on
    assert runtime.issuance.long_term(issued, at=made + timedelta(days=30)) == form
    # the independent judge: pyHanko's AdES-LTA validation, ten years ahead, nothing fetched
    result = ades_lta_ten_years_ahead(form, roots, made_at=made)
    assert result.ades_subindic == AdESPassed.OK, (result.ades_subindic, result.failure_msg)
    assert result.best_signature_time is not None and result.best_signature_time <= made
    assert run_archive(runtime, at=made + timedelta(hours=1)) == ArchiveReport()  # nothing more to do

    # the TSA certificate nears its end: a renewal is due, but one with the same TSA gains nothing
    due = row.timestamp_expires_at - timedelta(days=300)
    assert run_archive(runtime, at=due) == ArchiveReport(blocked=[license_id])
    assert _stored(runtime, license_id).pdf == form

    # the TSA rolls over (a new key and certificate from the dev PKI); the job, restarted, renews
    rotate_dev_tsa(home[0], at=due + timedelta(days=1))
    runtime = _runtime(home)
    renewed_at = due + timedelta(days=1, hours=1)
    assert run_archive(runtime, at=renewed_at) == ArchiveReport(renewed=[license_id])
    row = _stored(runtime, license_id)
    renewed = row.pdf
    assert renewed.startswith(form) and row.made_at == made and row.renewed_at == renewed_at
    assert row.document_timestamps == 2 and row.timestamp_expires_at == _tsa_expiry(renewed) > renewed_at + TEN_YEARS
    assert runtime.issuance.long_term(issued, at=renewed_at) == renewed

    result = ades_lta_ten_years_ahead(renewed, roots, made_at=renewed_at)
    assert result.ades_subindic == AdESPassed.OK, (result.ades_subindic, result.failure_msg)
    # proven through the chain of document timestamps, back to the first (not merely by the
    # simulation's fiat at the time of the renewal)
    assert result.oldest_evidence_record_timestamp == made and result.best_signature_time == made
    # and our own model: ten years after the renewal the first TSA's certificate is long expired, so
    # the form as first archived proves nothing then, the renewed one still does
    later = renewed_at + TEN_YEARS
    assert validate_lta(form, roots, at=later).reason == "lta.timestamp_invalid"
    lta = validate_lta(renewed, roots, at=later)
    assert lta.passed and lta.document_timestamps == 2 and lta.signature_time == made
    findings = validate_license_pdf(renewed, roots, at=later)
    assert findings.long_term and findings.valid and findings.trusted and findings.unmodified
    assert renewed[:findings.issued_length or 0] == issued  # the document as issued, byte for byte
    # a form left unrenewed past its TSA certificate's end cannot be renewed any more
    with pytest.raises(SigningError) as e:
        runtime.issuance.long_term(form, at=_tsa_expiry(form) + timedelta(days=1))
    assert e.value.code == "ltv.too_late"


def test_what_is_due(home: tuple[Path, str]) -> None:
    runtime = _runtime(home)
    first, _ = _issue(runtime, SIGNED)
    second, _ = _issue(runtime, SIGNED + timedelta(hours=5))
    with runtime.sessions() as s:
        assert due_for_archiving(s, at=SIGNED + DEFAULT_GRACE, grace=DEFAULT_GRACE, limit=10) == [(SIGNED, first)]
        due = due_for_archiving(s, at=SIGNED + timedelta(days=2), grace=DEFAULT_GRACE, limit=10)
        assert [i for _, i in due] == [first, second]
        assert due_for_archiving(s, at=SIGNED + timedelta(days=2), grace=DEFAULT_GRACE, limit=10,
                                 after=due[0]) == due[1:]
    report = run_archive(runtime, at=SIGNED + timedelta(days=2), limit=1)
    assert report.archived == [first]
    assert run_archive(runtime, at=SIGNED + timedelta(days=2), policy=ArchivePolicy(batch=1)).archived == [second]
    with pytest.raises(ValueError, match="at least a second"):
        ArchivePolicy(grace=timedelta(0))
