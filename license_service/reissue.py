"""Bulk re-issuance (换发): a new version of each chosen entity's license with the same registered
items, signed with the current keys on the current template (after a key rotation or a new
template). Each job re-issues a batch of ten entities; a campaign is resumable and idempotent:

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
from typing import Any

import procrastinate
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from signing.canonical import canonical_json

from .config import Settings
from .db.engine import dialect_insert
from .db.models import LicenseVersion, MarketEntity, ReissueItem
from .domain.entity import EntityDetails
from .domain.errors import DomainError
from .domain.lifecycle import EntityStatus, RegistrationKind
from .events import Authority, RegistrationEventIn
from .services import Services

__all__ = ["BATCH", "QUEUE", "Campaign", "Progress", "count_targets", "defer_all", "make_queue", "progress",
           "reissue_batch", "targets"]

log = logging.getLogger("elicense.reissue")
QUEUE = "reissue"
_CHINA = timezone(timedelta(hours=8))
_PAGE = 1000
#: entities per job: spreads the queue's own cost per job (~3 ms: fetch, finish, a thread hop) and one
#: read of the sources over ten licenses of ~45 ms each
BATCH = 10


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


def _targets(since: date | None, usccs: list[str] | None, campaign: str | None) -> Select[tuple[str]]:
    lv, me = LicenseVersion, MarketEntity
    q = (select(me.uscc).join(lv, (lv.uscc == me.uscc) & (lv.version == me.current_version))
         .where(me.status == EntityStatus.ACTIVE.value))
    if since is not None:
        q = q.where(lv.issued_at >= datetime.combine(since, time(), _CHINA))
    if usccs is not None:
        q = q.where(me.uscc.in_(usccs))
    if campaign is not None:
        done = select(ReissueItem.uscc).where(ReissueItem.campaign == campaign,
                                              ReissueItem.outcome.in_(("issued", "skipped")))
        q = q.where(me.uscc.not_in(done))
    return q


def count_targets(s: Session, *, since: date | None = None, usccs: list[str] | None = None,
                  campaign: str | None = None) -> int:
    """How many entities :func:`targets` yields."""
    return int(s.scalar(select(func.count()).select_from(_targets(since, usccs, campaign).subquery())) or 0)


def targets(sessions: sessionmaker[Session], *, since: date | None = None, usccs: list[str] | None = None,
            campaign: str | None = None) -> Iterator[list[str]]:
    """The USCCs to re-issue, in batches of a job's size: entities in good standing (存续) whose
    current license was issued on or after ``since`` (China time), or those named in ``usccs``; with
    ``campaign``, without those it has already issued or skipped. Keyset-paged, each page read in a
    short transaction of its own: neither a list of every entity in memory nor a read transaction held
    open while the batches are re-issued."""
    q = _targets(since, usccs, campaign).order_by(MarketEntity.uscc).limit(_PAGE)
    after = ""
    while True:
        with sessions() as s:
            page = list(s.scalars(q.where(MarketEntity.uscc > after)))
        if not page:
            return
        for i in range(0, len(page), BATCH):
            yield page[i:i + BATCH]
        after = page[-1]


def reissue_batch(services: Services, campaign: Campaign, usccs: list[str]) -> list[ReissueItem]:
    """Re-issue each entity of ``usccs`` within ``campaign`` and record the outcomes. Domain refusals
    (the entity was revoked or cancelled meanwhile) are a ``skipped`` outcome; anything else is
    recorded as ``failed`` and, once the whole batch was tried, raised (the queue marks the job failed
    and retries it: what was done is then skipped at the cost of two reads)."""
    lv, me, ri = LicenseVersion, MarketEntity, ReissueItem
    with services.sessions() as s:  # two reads for the batch: what is done, and each current record
        done = set(s.scalars(select(ri.uscc).where(ri.campaign == campaign.id, ri.uscc.in_(usccs),
                                                   ri.outcome.in_(("issued", "skipped")))))
        records = {u: r for u, r in s.execute(
            select(me.uscc, lv.record).join(lv, (lv.uscc == me.uscc) & (lv.version == me.current_version))
            .where(me.uscc.in_(set(usccs) - done)))}
    items: list[dict[str, object]] = []
    error: Exception | None = None
    for uscc in usccs:
        if uscc in done:
            continue
        at = datetime.now(UTC)
        record = records.get(uscc)
        if record is None:
            items.append(_item(campaign, uscc, "skipped", "entity.unknown", None, at))
            continue
        try:
            issued = services.issuance.apply(_event(campaign, json.loads(record)), at=at, fresh=True).body["license"]
            items.append(_item(campaign, uscc, "issued", f"version {issued['version']}", issued["license_id"], at))
        except DomainError as e:  # refused by the registry's state (ServiceError is one too): nothing written
            items.append(_item(campaign, uscc, "skipped", getattr(e, "code", type(e).__name__), None, at))
        except Exception as e:
            error = error or e
            items.append(_item(campaign, uscc, "failed", f"{type(e).__name__}: {e}"[:500], None, at))
    if items:
        upsert = dialect_insert(services.engine)(ReissueItem)
        with services.write_sessions.begin() as s:
            s.execute(upsert.on_conflict_do_update(
                index_elements=[ri.campaign, ri.uscc],
                set_={c: upsert.excluded[c] for c in ("outcome", "detail", "license_id", "finished_at")}), items)
    if error is not None:
        raise error
    return [ReissueItem(**i) for i in items]


def _event(campaign: Campaign, record: dict[str, Any]) -> RegistrationEventIn:
    """The ``reissue`` registration result that re-issues the license ``record`` describes."""
    details = EntityDetails.from_record(record["entity"])
    uscc = details.uscc.value
    return RegistrationEventIn(
        event_id=campaign.event_id(uscc), kind=RegistrationKind.REISSUE, decided_at=campaign.decided_at,
        authority=Authority(**record["authority"]), uscc=details.uscc, details=details, reason=campaign.reason,
        body_sha256=hashlib.sha256(canonical_json({"reissue": campaign.id, "uscc": uscc})).hexdigest(),
    )


def _item(campaign: Campaign, uscc: str, outcome: str, detail: str, license_id: str | None,
          at: datetime) -> dict[str, object]:
    return {"campaign": campaign.id, "uscc": uscc, "outcome": outcome, "detail": detail, "license_id": license_id,
            "finished_at": at}


@dataclass(frozen=True)
class Progress:
    issued: int
    skipped: int
    failed: int

    @property
    def done(self) -> int:
        return self.issued + self.skipped


def progress(s: Session, campaign: str) -> Progress:
    counts = {outcome: n for outcome, n in s.execute(
        select(ReissueItem.outcome, func.count()).where(ReissueItem.campaign == campaign)
        .group_by(ReissueItem.outcome))}
    return Progress(counts.get("issued", 0), counts.get("skipped", 0), counts.get("failed", 0))


# -- the queue (PostgreSQL) ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def _worker_services(database_url: str) -> Services:
    """One service graph per worker process: keys, fonts and the sealer loaded, and warmed up, once."""
    services = Services.build(Settings(database_url=database_url), may_migrate=False)
    services.issuance.warm_up()
    return services


def make_queue(settings: Settings) -> procrastinate.App:
    """procrastinate on the registry's PostgreSQL database, with the re-issuance task."""
    url = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="elicense.reissue", queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=5))
    def reissue(campaign: str, decided_at: str, reason: str, usccs: list[str]) -> int:
        c = Campaign(campaign, datetime.fromisoformat(decided_at), reason)
        return len(reissue_batch(_worker_services(settings.database_url), c, usccs))

    return app


def defer_all(app: procrastinate.App, campaign: Campaign, batches: Iterator[list[str]]) -> int:
    """Queue one job per batch, a page of jobs at a time; returns how many entities were queued."""
    task = app.tasks["elicense.reissue"]
    n, jobs = 0, []
    for batch in batches:
        jobs.append({**campaign.as_args(), "usccs": batch})
        n += len(batch)
        if len(jobs) == _PAGE // BATCH:
            task.batch_defer(*jobs)
            jobs = []
    if jobs:
        task.batch_defer(*jobs)
    return n
