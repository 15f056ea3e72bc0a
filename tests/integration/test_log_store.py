"""The log's append writes through the DB-API cursor: what it stores must read back through the ORM
exactly as ORM-written rows do, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from license_service.db.models import LogCheckpoint, LogHead, LogLeaf
from license_service.runtime.issuing import IssuingRuntime
from signing.merkle import leaf_hash, verify_inclusion
from signing.note import NoteVerifier, parse_checkpoint


def test_raw_append_round_trips_through_the_orm(runtime: IssuingRuntime) -> None:
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    with runtime.write_sessions.begin() as s:
        index = runtime.log.append(s, b'{"action":"test"}', at=at)
    with runtime.sessions() as s:
        leaf = s.get(LogLeaf, index)
        assert leaf is not None and leaf.data == b'{"action":"test"}'
        assert leaf.created_at == at and leaf.created_at.tzinfo is not None
        cp = s.get(LogCheckpoint, index + 1)
        assert cp is not None and cp.created_at == at.astimezone(UTC)
        head = s.execute(select(LogHead)).scalar_one()
        assert head.size == index + 1 and head.root == cp.root
        note = NoteVerifier.from_vkey(runtime.keys.log_vkey()).open(cp.note)
        assert parse_checkpoint(note).root == cp.root
        proof = runtime.log.inclusion(s, index, index + 1)
        assert verify_inclusion(index, index + 1, leaf_hash(leaf.data), proof, cp.root)
