"""The archive of long-term forms (DESIGN.md, trust model): each license version's PAdES B-LTA form,
made once the grace period after its signing time has passed, kept, and renewed with a new document
timestamp before the certificate of the TSA that made its newest one expires.

Why a grace period: revocation data gathered at the signing time cannot show a key compromise that
is reported later; gathered once ``grace`` has passed, it shows any compromise reported within it
(CRLs here are re-issued daily and OCSP answers are valid for a day, so a day is the least that
means anything). Why renewal: a document timestamp proves nothing once its TSA's certificate has
expired; one from a TSA whose certificate lives longer, made before then, carries the proof on (ETSI
EN 319 142-1 s.5.5). Each form is checked (``signing.lta_validation.validate_lta``) before it is
stored; one that fails is reported, not kept.

Time is a parameter (``at``) throughout: what is due, and when forms are made, is decided by it.
``run_archive`` is the job (``elicense archive``); ``due_for_archiving`` and ``due_for_renewal`` are
its queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto.x509 import Certificate
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signing.errors import SigningPackageError
from signing.lta_validation import newest_timestamp_expiry, validate_lta
from signing.pdf_validation import load_roots

from .db.models import LicenseVersion, LongTermForm
from .runtime.issuing import IssuingRuntime

__all__ = ["DEFAULT_GRACE", "DEFAULT_RENEW_WITHIN", "ArchivePolicy", "ArchiveReport", "due_for_archiving",
           "due_for_renewal", "run_archive"]

#: how long after its signing time a license's long-term form is made and archived
DEFAULT_GRACE = timedelta(days=1)
#: how long before the newest document timestamp's TSA certificate expires a form is renewed
DEFAULT_RENEW_WITHIN = timedelta(days=365)


@dataclass(frozen=True)
class ArchivePolicy:
    """When forms are due. ``grace``: after the signing time, before a form is made (at least a
    second: the revocation data must be issued after the signing time). ``renew_within``: before the
    newest timestamp's TSA certificate expires, a renewal is due. ``batch``: rows read per query."""

    grace: timedelta = DEFAULT_GRACE
    renew_within: timedelta = DEFAULT_RENEW_WITHIN
    batch: int = 100

    def __post_init__(self) -> None:
        if self.grace < timedelta(seconds=1):
            raise ValueError("the grace period is at least a second: revocation data must postdate the signature")
        if self.renew_within <= timedelta(0) or self.batch < 1:
            raise ValueError("renew_within and batch must be positive")


@dataclass(frozen=True)
class ArchiveReport:
    """What one run did: license ids archived and renewed; renewals that bought nothing (``blocked``:
    the TSA's certificate expires no later than the one it would replace: roll the TSA over); and
    failures, each with its error code."""

    archived: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"archived": self.archived, "renewed": self.renewed, "blocked": self.blocked,
                "failed": [{"license_id": i, "code": c} for i, c in self.failed]}


def due_for_archiving(s: Session, *, at: datetime, grace: timedelta, limit: int,
                      after: tuple[datetime, str] | None = None) -> list[tuple[datetime, str]]:
    """License versions signed at or before ``at - grace`` without a long-term form, oldest first, as
    (signing time, license id), at most ``limit``; ``after``: the last one of the previous page."""
    q = (select(LicenseVersion.issued_at, LicenseVersion.license_id)
         .outerjoin(LongTermForm, LongTermForm.license_id == LicenseVersion.license_id)
         .where(LongTermForm.license_id.is_(None), LicenseVersion.issued_at <= at - grace)
         .order_by(LicenseVersion.issued_at, LicenseVersion.license_id))
    if after is not None:
        q = q.where(or_(LicenseVersion.issued_at > after[0],
                        and_(LicenseVersion.issued_at == after[0], LicenseVersion.license_id > after[1])))
    return [(t, i) for t, i in s.execute(q.limit(limit))]


def due_for_renewal(s: Session, *, at: datetime, renew_within: timedelta, limit: int,
                    after: tuple[datetime, str] | None = None) -> list[tuple[datetime, str]]:
    """Archived forms whose newest document timestamp's TSA certificate expires by
    ``at + renew_within``, soonest first, as (that expiry, license id), at most ``limit``;
    ``after``: the last one of the previous page."""
    q = (select(LongTermForm.timestamp_expires_at, LongTermForm.license_id)
         .where(LongTermForm.timestamp_expires_at <= at + renew_within, LongTermForm.made_at <= at)
         .order_by(LongTermForm.timestamp_expires_at, LongTermForm.license_id))
    if after is not None:
        q = q.where(or_(LongTermForm.timestamp_expires_at > after[0],
                        and_(LongTermForm.timestamp_expires_at == after[0], LongTermForm.license_id > after[1])))
    return [(t, i) for t, i in s.execute(q.limit(limit))]


def _checked(roots: list[Certificate], form: bytes, at: datetime) -> tuple[str | None, datetime | None, int]:
    """(why ``form`` may not be kept or None, its newest timestamp's TSA expiry, document timestamps)."""
    findings = validate_lta(form, roots, at=at)
    if not findings.passed:
        return findings.reason, None, findings.document_timestamps
    return None, newest_timestamp_expiry(form), findings.document_timestamps


def _made(runtime: IssuingRuntime, roots: list[Certificate], license_id: str, pdf: bytes, at: datetime,
          report: ArchiveReport) -> tuple[bytes, datetime, int] | None:
    """The long-term form of ``pdf`` made at ``at`` and checked (``_checked``), with its newest
    timestamp's TSA expiry and its count of document timestamps; None (reported as failed) when it
    cannot be made or does not validate."""
    try:
        form = runtime.issuance.long_term(pdf, at=at)
    except SigningPackageError as e:
        report.failed.append((license_id, e.code))
        return None
    problem, expiry, stamps = _checked(roots, form, at)
    if problem is not None or expiry is None:
        report.failed.append((license_id, problem or "lta.no_document_timestamp"))
        return None
    return form, expiry, stamps


def _archive_one(runtime: IssuingRuntime, roots: list[Certificate], license_id: str, at: datetime,
                 report: ArchiveReport) -> None:
    stored_pdf = runtime.registry.pdf(license_id)
    assert stored_pdf is not None  # due_for_archiving named it
    issued = stored_pdf.pdf
    made = _made(runtime, roots, license_id, issued, at, report)
    if made is None:
        return
    form, expiry, stamps = made
    try:
        with runtime.write_sessions.begin() as s:
            s.add(LongTermForm(license_id=license_id, issued_sha256=hashlib.sha256(issued).hexdigest(), pdf=form,
                               sha256=hashlib.sha256(form).hexdigest(), made_at=at, renewed_at=None,
                               document_timestamps=stamps, timestamp_expires_at=expiry))
    except IntegrityError:
        return  # another run archived it first: theirs is kept
    report.archived.append(license_id)


def _renew_one(runtime: IssuingRuntime, roots: list[Certificate], license_id: str, at: datetime,
               report: ArchiveReport) -> None:
    with runtime.sessions() as s:
        row = s.get(LongTermForm, license_id)
        assert row is not None
        stored, stored_sha, stored_expiry = row.pdf, row.sha256, row.timestamp_expires_at
    if runtime.signers.pdf_signing().tsa_cert.not_valid_after <= stored_expiry:
        report.blocked.append(license_id)  # our TSA's certificate expires no later: roll it over first
        return
    made = _made(runtime, roots, license_id, stored, at, report)
    if made is None:
        return
    form, expiry, stamps = made
    if expiry <= stored_expiry:
        report.blocked.append(license_id)  # the authority's TSA expires no later: nothing gained
        return
    with runtime.write_sessions.begin() as s:
        row = s.get(LongTermForm, license_id, with_for_update=True)
        if row is None or row.sha256 != stored_sha:
            return  # another run renewed it meanwhile: theirs is kept
        row.pdf, row.sha256, row.renewed_at = form, hashlib.sha256(form).hexdigest(), at
        row.document_timestamps, row.timestamp_expires_at = stamps, expiry
    report.renewed.append(license_id)


def _paged(runtime: IssuingRuntime, due: Callable[[Session, int, tuple[datetime, str] | None],
                                                  list[tuple[datetime, str]]],
           limit: int | None, batch: int) -> Iterator[str]:
    """The license ids ``due`` names, a page of ``batch`` at a time, each page in a short session of
    its own (keyset-paged after the last one), at most ``limit`` (None: all)."""
    done, after = 0, None
    while limit is None or done < limit:
        with runtime.sessions() as s:
            page = due(s, batch if limit is None else min(batch, limit - done), after)
        if not page:
            return
        for _, license_id in page:
            yield license_id
        done, after = done + len(page), page[-1]


def run_archive(runtime: IssuingRuntime, *, at: datetime, policy: ArchivePolicy | None = None,
                limit: int | None = None) -> ArchiveReport:
    """The archive job as of ``at``: make and store the long-term form of every license version whose
    grace period has passed and that has none (``due_for_archiving``), then renew every stored form
    whose newest timestamp's TSA certificate expires within ``policy.renew_within``
    (``due_for_renewal``); at most ``limit`` of each (None: all). Safe to run in several processes
    at once (the first to store a form wins; a renewal applies only to the form it read).

    A form that cannot be made or does not validate is reported in ``failed`` with its error code
    and left for the next run; never raises for one license's failure."""
    policy = policy or ArchivePolicy()
    report = ArchiveReport()
    roots = load_roots(runtime.keys.roots_pem())
    for license_id in _paged(runtime, lambda s, n, after: due_for_archiving(
            s, at=at, grace=policy.grace, after=after, limit=n), limit, policy.batch):
        _archive_one(runtime, roots, license_id, at, report)
    for license_id in _paged(runtime, lambda s, n, after: due_for_renewal(
            s, at=at, renew_within=policy.renew_within, after=after, limit=n), limit, policy.batch):
        _renew_one(runtime, roots, license_id, at, report)
    return report
