"""Bulk re-issuance (换发): a new version of each chosen entity's license with the same registered
items, signed with the current keys on the current template (after a key rotation or a new
template). Each job re-issues a batch of ten entities; a campaign is resumable and idempotent:

- the job applies a ``reissue`` registration result whose ``event_id`` is
  ``reissue:<campaign>:<uscc>`` through the ordinary issuance path, so it is applied exactly once
  however often it runs (a replay gets the stored answer), and it is logged like any issuance;
- its outcome (issued, skipped and why, failed and why) is kept in ``reissue_items``; running the
  campaign again queues only the entities without an issued or skipped outcome.

A refusal by the registry's state (a :class:`~license_service.domain.errors.DomainError`: the entity
was revoked or cancelled after it was selected) is ``skipped`` and never tried again. Anything else
(our own faults, :class:`~license_service.errors.Fault`: a corrupted log, a key out of reach; and
input the stored record no longer passes) is ``failed``, and the job raises once its whole batch was
tried, so the queue retries it and a later run of the campaign picks it up.

On PostgreSQL the jobs go to procrastinate's queue in the registry's own database, and any number of
``elicense worker`` processes on any number of machines run them. On SQLite the same job function
runs in this process, one batch after another. :func:`plan_campaign` and :func:`run_campaign` are
what ``elicense reissue`` calls.

Time is read at the edges: the command passes a clock to :func:`run_campaign`, the queue task (where
a job starts) passes the wall clock to :func:`reissue_batch`; it is read once per entity, for the time
of its issuance and of its outcome.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from time import sleep
from typing import Any

import procrastinate
from procrastinate.types import JSONDict, JSONValue
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from signing.canonical import canonical_json

from .config import Settings
from .db.engine import dialect_insert
from .db.models import LicenseVersion, MarketEntity, ReissueItem
from .domain.china_time import CHINA
from .domain.entity import EntityDetails
from .domain.errors import DomainError
from .domain.lifecycle import EntityStatus, RegistrationKind
from .events import Authority, RegistrationEventIn
from .runtime.issuing import IssuingRuntime

__all__ = ["BATCH", "QUEUE", "Campaign", "CampaignPlan", "Clock", "Progress", "count_targets", "defer_all",
           "make_queue", "plan_campaign", "progress", "reissue_batch", "run_campaign", "run_worker", "targets"]

QUEUE = "reissue"
_PAGE = 1000
#: entities per job: spreads the queue's own cost per job (~3 ms: fetch, finish, a thread hop) and one
#: read of the sources over ten licenses of ~45 ms each
BATCH = 10
#: how often a command running queue workers reads the campaign's progress
_POLL_SECONDS = 0.5

Clock = Callable[[], datetime]


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


def _targets(since: date | None, usccs: list[str] | None, campaign: str | None) -> Select[str]:
    lv, me = LicenseVersion, MarketEntity
    q = (select(me.uscc).join(lv, (lv.uscc == me.uscc) & (lv.version == me.current_version))
         .where(me.status == EntityStatus.ACTIVE.value))
    if since is not None:
        q = q.where(lv.issued_at >= datetime.combine(since, time(), CHINA))
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


def reissue_batch(runtime: IssuingRuntime, campaign: Campaign, usccs: list[str], *,
                  clock: Clock) -> list[ReissueItem]:
    """Re-issue each entity of ``usccs`` within ``campaign`` and record the outcomes; returns the
    outcomes recorded now (entities already issued or skipped in the campaign are passed over).

    - ``issued``: a new version, applied at ``clock()`` (read once per entity);
    - ``skipped``: the registry's state refuses it (a :class:`DomainError`, e.g. the entity was
      revoked or cancelled after it was selected); nothing written, never tried again;
    - ``failed``: anything else (a :class:`~license_service.errors.Fault` such as a corrupted log or a
      key out of reach, input the stored record no longer passes, a bug); nothing written.

    Raises the first failure once the whole batch was tried and its outcomes recorded (the queue
    marks the job failed and retries it: what was done is then passed over at the cost of two reads).
    """
    lv, me, ri = LicenseVersion, MarketEntity, ReissueItem
    with runtime.sessions() as s:  # two reads for the batch: what is done, and each current record
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
        at = clock()
        record = records.get(uscc)
        if record is None:
            items.append(_item(campaign, uscc, "skipped", "entity.unknown", None, at))
            continue
        try:
            issued = runtime.issuance.apply(_event(campaign, json.loads(record)), at=at, fresh=True).body["license"]
            items.append(_item(campaign, uscc, "issued", f"version {issued['version']}", issued["license_id"], at))
        except DomainError as e:  # a refusal: the same answer however often it is asked
            items.append(_item(campaign, uscc, "skipped", e.code, None, at))
        except Exception as e:  # not a refusal: recorded, raised after the batch, retried by the queue
            error = error or e
            items.append(_item(campaign, uscc, "failed", f"{type(e).__name__}: {e}"[:500], None, at))
    if items:
        upsert = dialect_insert(runtime.engine)(ReissueItem)
        with runtime.write_sessions.begin() as s:
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
    """A campaign's recorded outcomes; ``done`` counts those never tried again."""

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


# -- a campaign, as `elicense reissue` runs it ---------------------------------------------------
@dataclass(frozen=True)
class CampaignPlan:
    """A run of ``campaign`` over the entities selected (``since`` / ``usccs``, as :func:`targets`):
    its progress before the run and how many entities are left to re-issue."""

    campaign: Campaign
    since: date | None
    usccs: list[str] | None
    before: Progress
    todo: int
    #: named entities (``usccs``) that are not re-issued, each with why: not registered, or not in
    #: good standing (a revoked or cancelled entity keeps its last license)
    passed_over: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Entities in the campaign's selection: those done before and those left."""
        return self.before.done + self.todo


def plan_campaign(runtime: IssuingRuntime, campaign: Campaign, *, since: date | None = None,
                  usccs: list[str] | None = None) -> CampaignPlan:
    """Count what a run of ``campaign`` over the selection has before it (one short read), and say of
    each entity named in ``usccs`` that cannot be re-issued why not."""
    with runtime.sessions() as s:
        before = progress(s, campaign.id)
        todo = count_targets(s, since=since, usccs=usccs, campaign=campaign.id)
        passed_over: dict[str, str] = {}
        if usccs:
            statuses = {u: st for u, st in s.execute(select(MarketEntity.uscc, MarketEntity.status)
                                                      .where(MarketEntity.uscc.in_(usccs)))}
            for uscc in usccs:
                status = statuses.get(uscc)
                if status is None:
                    passed_over[uscc] = "not registered"
                elif status != EntityStatus.ACTIVE.value:
                    passed_over[uscc] = f"not in good standing ({status}): its last license stays as it is"
    return CampaignPlan(campaign, since, usccs, before, todo, passed_over)


def default_campaign_id(*, day: date, since: date | None, usccs: list[str] | None) -> str:
    """A campaign named by what it selects and the (China) day it was started, so running the same
    selection again that day resumes it and another selection is a campaign of its own."""
    if usccs:
        digest = hashlib.sha256(" ".join(sorted(set(usccs))).encode()).hexdigest()[:10]
        what = f"uscc-{digest}" if len(set(usccs)) > 1 else f"uscc-{usccs[0]}"
    else:
        what = f"since-{since.isoformat()}" if since else "all"
    return f"reissue-{day.isoformat()}-{what}"


def run_campaign(runtime: IssuingRuntime, plan: CampaignPlan, *, workers: int, clock: Clock,
                 report: Callable[[int], object]) -> Progress:
    """Run ``plan``; returns the campaign's progress afterwards. ``report`` is called with the number
    of entities completed so far, as the run goes.

    PostgreSQL: queues one job per batch and runs ``workers`` queue workers (separate processes)
    until the queue is empty (``workers=0``: only queue them, for ``elicense worker`` elsewhere); the
    workers read their own clock. SQLite: runs the batches in this process at ``clock()``; a failed
    batch is recorded and the run goes on (running the campaign again retries it). Raises nothing
    for a failed entity: the returned progress counts it.
    """
    if runtime.engine.dialect.name == "postgresql":
        _run_on_queue(runtime, plan, workers, report)
    else:
        completed = plan.before.done
        for batch in targets(runtime.sessions, since=plan.since, usccs=plan.usccs, campaign=plan.campaign.id):
            try:
                reissue_batch(runtime, plan.campaign, batch, clock=clock)
            except Exception:  # recorded as failed in reissue_items: the next run of the campaign retries it
                pass
            completed += len(batch)
            report(completed)
    with runtime.sessions() as s:
        return progress(s, plan.campaign.id)


def _run_on_queue(runtime: IssuingRuntime, plan: CampaignPlan, workers: int, report: Callable[[int], object]) -> None:
    """Queue the jobs, run ``workers`` queue workers until the queue is empty, reporting progress."""
    c = plan.campaign
    queue = make_queue(runtime.settings)
    with queue.open():
        defer_all(queue, c, targets(runtime.sessions, since=plan.since, usccs=plan.usccs, campaign=c.id))
    procs = [multiprocessing.get_context("spawn").Process(target=run_worker, args=(runtime.settings.database_url,),
                                                          kwargs={"wait": False})
             for _ in range(workers)]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs):
        sleep(_POLL_SECONDS)
        with runtime.sessions() as s:
            report(progress(s, c.id).done)
    with runtime.sessions() as s:
        report(progress(s, c.id).done)


# -- the queue (PostgreSQL) ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def _worker_runtime(database_url: str) -> IssuingRuntime:
    """One runtime per worker process: keys, fonts and the sealer loaded, and warmed up, once."""
    runtime = IssuingRuntime.build(Settings(database_url=database_url))
    runtime.issuance.warm_up(at=_wall_clock())
    return runtime


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def make_queue(settings: Settings) -> procrastinate.App:
    """procrastinate on the registry's PostgreSQL database, with the re-issuance task."""
    url = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="elicense.reissue", queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=5))
    def reissue(campaign: str, decided_at: str, reason: str, usccs: list[str]) -> int:
        c = Campaign(campaign, datetime.fromisoformat(decided_at), reason)
        return len(reissue_batch(_worker_runtime(settings.database_url), c, usccs, clock=_wall_clock))

    return app


def defer_all(app: procrastinate.App, campaign: Campaign, batches: Iterator[list[str]]) -> int:
    """Queue one job per batch, a page of jobs at a time; returns how many entities were queued."""
    task = app.tasks["elicense.reissue"]
    n = 0
    jobs: list[JSONDict] = []
    for batch in batches:
        usccs: list[JSONValue] = [*batch]
        jobs.append({**campaign.as_args(), "usccs": usccs})
        n += len(batch)
        if len(jobs) == _PAGE // BATCH:
            task.batch_defer(*jobs)
            jobs = []
    if jobs:
        task.batch_defer(*jobs)
    return n


def run_worker(database_url: str, *, wait: bool) -> None:
    """Run a queue worker on the registry at ``database_url`` (two jobs at a time); with ``wait``
    until stopped, else until the queue is empty."""
    make_queue(Settings(database_url=database_url)).run_worker(queues=[QUEUE], wait=wait, concurrency=2,
                                                               delete_jobs="successful")
