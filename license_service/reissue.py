"""Bulk re-issuance (换发): a new version of each chosen entity's license with the same registered
items, signed with the current keys on the current template (after a key rotation or a new
template). Each entity is one job; a campaign is resumable and idempotent:

- the job applies a ``reissue`` registration result whose ``event_id`` is
  ``reissue:<campaign>:<uscc>`` through the ordinary issuance path, so it is applied exactly once
  however often it runs (a replay gets the stored answer), and it is logged like any issuance;
- its outcome (issued, skipped and why, failed and why) is kept in ``reissue_items``; running the
  campaign again queues only the entities without an issued or skipped outcome.

On PostgreSQL the jobs go to procrastinate's queue in the registry's own database, and any number of
``elicense worker`` processes on any number of machines run them. On SQLite the same job function
runs in this process, one entity after another.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

import procrastinate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signing.canonical import canonical_json

from .config import Settings
from .db.models import LicenseVersion, MarketEntity, ReissueItem
from .domain.entity import EntityDetails
from .domain.errors import DomainError
from .domain.lifecycle import EntityStatus, RegistrationKind
from .events import Authority, RegistrationEventIn
from .services import Services

__all__ = ["QUEUE", "Campaign", "Progress", "defer_all", "make_queue", "progress", "reissue_one", "targets"]

log = logging.getLogger("elicense.reissue")
QUEUE = "reissue"
_CHINA = timezone(timedelta(hours=8))
_PAGE = 1000


@dataclass(frozen=True)
class Campaign:
    """One re-issuance: its id (names the events and the report), when it was decided, and why."""

    id: str
    decided_at: datetime
    reason: str

    def event_id(self, uscc: str) -> str:
        return f"reissue:{self.id}:{uscc}"

    def as_args(self) -> dict[str, str]:
        return {"campaign": self.id, "decided_at": self.decided_at.isoformat(), "reason": self.reason}


def targets(s: Session, *, since: date | None = None, usccs: list[str] | None = None,
            campaign: str | None = None) -> Iterator[list[str]]:
    """The USCCs to re-issue, in pages: entities in good standing (存续) whose current license was
    issued on or after ``since`` (China time), or those named in ``usccs``; with ``campaign``,
    without those it has already issued or skipped. Keyset-paged: no list of every entity in memory."""
    lv, me = LicenseVersion, MarketEntity
    q = (select(me.uscc).join(lv, (lv.uscc == me.uscc) & (lv.version == me.current_version))
         .where(me.status == EntityStatus.ACTIVE.value).order_by(me.uscc).limit(_PAGE))
    if since is not None:
        q = q.where(lv.issued_at >= datetime.combine(since, time(), _CHINA))
    if usccs is not None:
        q = q.where(me.uscc.in_(usccs))
    if campaign is not None:
        done = select(ReissueItem.uscc).where(ReissueItem.campaign == campaign,
                                              ReissueItem.outcome.in_(("issued", "skipped")))
        q = q.where(me.uscc.not_in(done))
    after = ""
    while True:
        page = list(s.scalars(q.where(me.uscc > after)))
        if not page:
            return
        yield page
        after = page[-1]


def reissue_one(services: Services, campaign: Campaign, uscc: str, *, at: datetime) -> ReissueItem:
    """Re-issue one entity's license within ``campaign`` and record the outcome. Domain refusals
    (the entity was revoked or cancelled meanwhile) are a ``skipped`` outcome; anything else is
    recorded as ``failed`` and raised (the queue marks the job failed; a later run retries it)."""
    with services.sessions() as s:
        done = s.get(ReissueItem, (campaign.id, uscc))
        if done is not None and done.outcome in ("issued", "skipped"):
            return done
        entity = s.get(MarketEntity, uscc)
        current = (s.scalar(select(LicenseVersion).where(LicenseVersion.uscc == uscc,
                                                         LicenseVersion.version == entity.current_version))
                   if entity is not None else None)
    error: Exception | None = None
    if entity is None or current is None:
        item = _item(campaign, uscc, "skipped", "entity.unknown", None, at)
    else:
        record = json.loads(current.record)
        details = EntityDetails.from_record(record["entity"])
        ev = RegistrationEventIn(
            event_id=campaign.event_id(uscc), kind=RegistrationKind.REISSUE, decided_at=campaign.decided_at,
            authority=Authority(**record["authority"]), uscc=details.uscc, details=details, reason=campaign.reason,
            body_sha256=hashlib.sha256(canonical_json({"reissue": campaign.id, "uscc": uscc})).hexdigest(),
        )
        try:
            outcome = services.issuance.apply(ev, at=at)
            item = _item(campaign, uscc, "issued", f"version {outcome.body['license']['version']}",
                         outcome.body["license"]["license_id"], at)
        except DomainError as e:  # refused by the registry's state (ServiceError is one too): nothing written
            item = _item(campaign, uscc, "skipped", getattr(e, "code", type(e).__name__), None, at)
        except Exception as e:
            error = e
            item = _item(campaign, uscc, "failed", f"{type(e).__name__}: {e}"[:500], None, at)
    with services.write_sessions.begin() as s:
        s.merge(item)
    if error is not None:
        raise error
    return item


def _item(campaign: Campaign, uscc: str, outcome: str, detail: str, license_id: str | None,
          at: datetime) -> ReissueItem:
    return ReissueItem(campaign=campaign.id, uscc=uscc, outcome=outcome, detail=detail, license_id=license_id,
                       finished_at=at)


@dataclass(frozen=True)
class Progress:
    issued: int
    skipped: int
    failed: int

    @property
    def done(self) -> int:
        return self.issued + self.skipped


def progress(s: Session, campaign: str) -> Progress:
    counts = dict(s.execute(select(ReissueItem.outcome, func.count()).where(ReissueItem.campaign == campaign)
                            .group_by(ReissueItem.outcome)).tuples().all())
    return Progress(counts.get("issued", 0), counts.get("skipped", 0), counts.get("failed", 0))


# -- the queue (PostgreSQL) ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def _worker_services(database_url: str) -> Services:
    """One service graph per worker process (keys, fonts and the sealer are loaded once)."""
    return Services.build(Settings(database_url=database_url), may_migrate=False)


def make_queue(settings: Settings) -> procrastinate.App:
    """procrastinate on the registry's PostgreSQL database, with the re-issuance task."""
    url = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="elicense.reissue", queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=5))
    def reissue(campaign: str, decided_at: str, reason: str, uscc: str) -> str:
        c = Campaign(campaign, datetime.fromisoformat(decided_at), reason)
        return reissue_one(_worker_services(settings.database_url), c, uscc, at=datetime.now(UTC)).outcome

    return app


def defer_all(app: procrastinate.App, campaign: Campaign, pages: Iterator[list[str]]) -> int:
    """Queue one job per USCC (in batches of a page); returns how many were queued."""
    task = app.tasks["elicense.reissue"]
    n = 0
    for page in pages:
        task.batch_defer(*({**campaign.as_args(), "uscc": u} for u in page))
        n += len(page)
    return n
