"""Operations, served by both services: liveness, readiness and Prometheus metrics.

``/healthz`` says the process is alive; ``/readyz`` says it can serve (database reachable, keys
loaded, schema current) and answers 503 problem+json naming what is not; ``/metrics`` is the
Prometheus text format. With several worker processes, prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``elicense serve --workers N``) adds up all workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text

from ..db.migrate import current_revision, head_revision
from ..errors import Unavailable
from ..log.reader import log_size
from ..log.witnessed import alarms, published
from ..runtime.read import ReadRuntime
from .deps import RuntimeDep

__all__ = ["ISSUANCE_SECONDS", "LICENSES_ISSUED", "VERIFICATIONS", "router"]

LICENSES_ISSUED = Counter("elicense_licenses_issued", "License versions issued", ["kind"])
ISSUANCE_SECONDS = Histogram("elicense_issuance_seconds", "Time to apply one registration result", ["kind"],
                             buckets=(0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5))
VERIFICATIONS = Counter("elicense_verifications", "Verifications answered", ["channel", "verdict"])

router = APIRouter(tags=["operations"])


class _LogSize(Collector):
    """The issuance log's size, read from the registry at scrape time (the same for every worker)."""

    def __init__(self, runtime: ReadRuntime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("elicense_log_size", "Entries in the issuance log")
        policy = self._runtime.witness_policy
        published_size = GaugeMetricFamily("elicense_log_published_size",
                                           "Entries in the published checkpoint (cosigned per the witness policy)")
        alarm = GaugeMetricFamily("elicense_witness_alarm", "1 while a witness's refusal of a checkpoint as "
                                  "inconsistent stands (newer checkpoints are not published)", labels=["witness"])
        try:
            with self._runtime.sessions() as s:
                g.add_metric([], log_size(s))
                cp = published(s, policy)
                raised = {a.witness for a in alarms(s, policy)}
        except Exception:  # a metrics scrape must not fail because the database is away; readyz says so
            return
        published_size.add_metric([], cp.size if cp else 0)
        for w in policy.witnesses:
            alarm.add_metric([w.split("+", 1)[0]], 1 if w in raised else 0)
        yield g
        yield published_size
        yield alarm


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:  # the process is alive (no docstring: the contract documents none)
    return "ok"


@router.get("/readyz", responses={503: {"description": "not ready (problem+json)"}})
def readyz(runtime: RuntimeDep) -> Response:
    """Ready to serve: the database answers, the keys this side needs are readable, the schema is current."""
    problems: dict[str, str] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        rev, head = current_revision(runtime.engine), head_revision()
        if rev != head:
            problems["schema"] = f"at {rev}, needs {head}: run `elicense db upgrade`"
    except Exception as e:  # readiness reports, it does not crash
        problems["database"] = f"unreachable ({type(e).__name__})"
    try:
        runtime.keys.token_keyring()
        runtime.keys.access_keyring()
        runtime.keys.roots_pem()
    except Exception as e:
        problems["keys"] = f"not loaded ({type(e).__name__})"
    if problems:
        raise Unavailable("; ".join(f"{k}: {v}" for k, v in problems.items()), code="not_ready")
    return JSONResponse({"status": "ready"})


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus text exposition format."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several workers: add up what each one wrote
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
    out = generate_latest(registry)
    log_registry = CollectorRegistry()
    log_registry.register(_LogSize(runtime))
    return Response(out + generate_latest(log_registry), media_type=CONTENT_TYPE_LATEST)
