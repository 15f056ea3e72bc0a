"""The witness's HTTP face (C2SP tlog-witness): ``POST /add-checkpoint`` and the monitoring read
``GET /<origin hash>/checkpoint``; both prefixes are the server's root. A plain Starlette app: the
protocol fixes its answers (text bodies, ``text/x.tlog.size``), so none of elicense's problem+json."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from signing.cosigning import Cosigner
from signing.note import NoteVerifier

from .check import MAX_BODY, Accept, Refuse, decide, origin_hash, parse_request
from .state import WitnessState

__all__ = ["create_witness_app"]

log = logging.getLogger("elicense.witness")


def create_witness_app(folder: Path, cosigner: Cosigner, logs: Mapping[str, Sequence[NoteVerifier]],
                       clock: Callable[[], float] = time.time) -> Starlette:
    """The witness over the state in ``folder``, cosigning with ``cosigner`` the checkpoints of the
    logs ``logs`` names (origin -> trusted keys). ``clock`` gives the cosignatures' timestamps."""
    state = WitnessState(folder)
    by_hash = {origin_hash(o): o for o in logs}

    def submit(body: bytes) -> Response:
        try:
            request = parse_request(body)
        except ValueError as e:
            return PlainTextResponse(f"malformed request: {e}\n", 400)
        origin = request.note.partition("\n")[0]
        outcome = state.submit(origin, lambda latest: decide(request, logs, latest), cosigner,
                               max(1, int(clock())))
        if isinstance(outcome, Refuse):
            if outcome.inconsistent:  # tlog-witness: MAY log it, as it might prove log misbehaviour
                log.warning("refused an inconsistent checkpoint", extra={"origin": origin, "old": request.old,
                                                                         "reason": outcome.body.strip(),
                                                                         "checkpoint": request.note})
            # the content type exactly as the spec gives it (Starlette would add a charset to a media_type)
            return Response(outcome.body, outcome.status, headers={"content-type": outcome.content_type})
        assert not isinstance(outcome, Accept)
        return PlainTextResponse(outcome)

    async def add_checkpoint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("request too large\n", 413)
        return await run_in_threadpool(submit, body)

    def read_checkpoint(request: Request) -> Response:
        origin = by_hash.get(request.path_params["origin_hash"])
        latest = state.latest(origin) if origin else None
        if latest is None:
            return PlainTextResponse("never cosigned a checkpoint of this log\n", 404)
        return PlainTextResponse(latest.note)

    async def checkpoint(request: Request) -> Response:
        return await run_in_threadpool(read_checkpoint, request)

    async def key(request: Request) -> Response:
        return PlainTextResponse(cosigner.verifier.vkey + "\n")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        state.close()

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
                             Route("/key", key, methods=["GET"]),
                             Route("/{origin_hash:str}/checkpoint", checkpoint, methods=["GET"])],
                     lifespan=lifespan)
