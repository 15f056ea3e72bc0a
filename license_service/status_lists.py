"""The registry's status lists (``signing/status_list.py``): a random index for each new license
version, its bit set in the revocation list when the version leaves force (superseded, revoked,
cancelled), and the lists re-signed in the same transaction, so what is published never lags the
registry. ``elicense status publish`` re-signs every list (run it daily: a list is valid 7 days).

Lists fill to half at most (random indexes stay cheap to draw and say little about issue order):
the list a new version goes to is the log size over half a list, the log having at least one leaf
per license version.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from signing.status_list import LIST_BITS, PURPOSES, set_bit, sign_status_list
from signing.tokens import TokenSigner

from .db.engine import dialect_insert
from .db.models import LicenseVersion, StatusListRow
from .log.reader import log_size

__all__ = ["StatusLists"]

_DRAWS = 64  # at half full, the chance that 64 draws all hit taken indexes is 2^-64


class StatusLists:
    def __init__(self, engine: Engine, key: Callable[[], TokenSigner], base_url: str) -> None:
        self._insert = dialect_insert(engine)
        self._key = key
        self._base_url = base_url
        self._known: set[int] = set()  # lists known to exist (rows are never deleted)

    def url(self, purpose: str, list_no: int) -> str:
        return f"{self._base_url}/status/{purpose}/{list_no}"

    def claim(self, index: int) -> dict[str, object]:
        """The token's ``status`` claim for ``index``: its place in the list, and the revocation list's
        URL (the suspension list is the same path with ``suspension``)."""
        return {"idx": index % LIST_BITS, "uri": self.url("revocation", index // LIST_BITS)}

    def allocate(self, s: Session, at: datetime) -> int:
        """A free random index for a new license version (in ``s``'s transaction)."""
        size = log_size(s)
        list_no = size // (LIST_BITS // 2)
        self._ensure(s, list_no, at)
        for _ in range(_DRAWS):
            index = list_no * LIST_BITS + secrets.randbelow(LIST_BITS)
            if s.scalar(select(LicenseVersion.license_id).where(LicenseVersion.status_index == index)) is None:
                return index
        raise RuntimeError("no free status index after 64 draws: the list is fuller than half")

    def leave_force(self, s: Session, index: int | None, at: datetime) -> None:
        """The version at ``index`` is no longer in force: set its revocation bit and re-sign the list
        (the row stays locked until the transaction ends)."""
        if index is None:  # issued before status lists
            return
        row = s.execute(select(StatusListRow).where(StatusListRow.purpose == "revocation",
                                                    StatusListRow.list_no == index // LIST_BITS)
                        .with_for_update()).scalar_one()
        bits = bytearray(row.bits)
        set_bit(bits, index % LIST_BITS, True)
        row.bits = bytes(bits)
        row.token = sign_status_list(self.url(row.purpose, row.list_no), self._base_url, row.purpose, row.bits,
                                     self._key(), at=at)
        row.updated_at = at

    def republish(self, s: Session, at: datetime) -> int:
        """Re-sign every list as of ``at`` (a new validity period); returns how many."""
        rows = list(s.scalars(select(StatusListRow).with_for_update()))
        for row in rows:
            row.token = sign_status_list(self.url(row.purpose, row.list_no), self._base_url, row.purpose, row.bits,
                                         self._key(), at=at)
            row.updated_at = at
        return len(rows)

    def _ensure(self, s: Session, list_no: int, at: datetime) -> None:
        """Both lists of ``list_no`` exist (all zeros at first): their URLs answer from the first
        license that points at them."""
        if list_no in self._known:
            return
        if s.get(StatusListRow, ("revocation", list_no)) is not None:
            self._known.add(list_no)  # committed by someone: it stays
            return
        zeros = bytes(LIST_BITS // 8)
        rows = [{"purpose": p, "list_no": list_no, "bits": zeros, "updated_at": at,
                 "token": sign_status_list(self.url(p, list_no), self._base_url, p, zeros, self._key(), at=at)}
                for p in PURPOSES]
        s.execute(self._insert(StatusListRow).on_conflict_do_nothing(), rows)
