"""The auditor reconciles holder rows with the log's holder leaves (shape 3), pure: an edited grant
row (its expiry, scope, status, grantor or the name behind its digest) is a finding naming the
field, and a row or leaf without the other is one too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from license_service.audit.reconcile import RegistryListing, reconcile
from license_service.holders.leaves import holder_facts, person_digest
from signing.tokens import Keyring

AT = datetime(2026, 12, 1, tzinfo=UTC)
ROW: dict[str, Any] = {
    "holder_id": "a" * 32, "uscc": "91433100MA4PXXXX1X", "role": "handler", "name": "赵经办",
    "name_salt": "00" * 16, "granted_by": "b" * 32, "scope": "bank tax", "not_before": "2026-11-01T00:00:00+00:00",
    "expires_at": "2027-01-31T15:59:59+00:00", "status": "active", "leaf_index": 0,
}


def _leaf(row: dict[str, Any], action: str = "holder.bound") -> dict[str, Any]:
    return {"v": 3, "action": action, **holder_facts(row), "reason": None, "logged_at": AT.isoformat()}


def _audit(rows: list[dict[str, Any]], leaves: list[dict[str, Any]]) -> list[str]:
    return reconcile(leaves, RegistryListing(licenses=[], holders=rows), keyring=Keyring.from_jwks({"keys": []}),
                     at=AT, pdf_sha256={})


def test_a_row_that_matches_its_newest_leaf_passes() -> None:
    revoked = {**ROW, "status": "revoked", "leaf_index": 1}
    assert _audit([revoked], [_leaf(ROW), _leaf(revoked, "holder.revoked")]) == []


def test_the_log_holds_no_name() -> None:
    leaf = _leaf(ROW)
    assert ROW["name"] not in str(leaf) and leaf["person_sha256"] == person_digest(ROW["name_salt"], ROW["name"])


@pytest.mark.parametrize(("field", "value"), [
    ("expires_at", "2027-12-31T15:59:59+00:00"), ("scope", "all"), ("status", "active"),
    ("granted_by", "c" * 32), ("role", "administrator"), ("name", "冒名者"), ("not_before", "2026-01-01T00:00:00+00:00"),
])
def test_an_edited_grant_row_is_found(field: str, value: str) -> None:
    revoked = {**ROW, "status": "revoked", "leaf_index": 1}
    edited = {**revoked, field: value}
    problems = _audit([edited], [_leaf(ROW), _leaf(revoked, "holder.revoked")])
    name = "person_sha256" if field == "name" else field
    assert any(p.startswith(f"holder {ROW['holder_id']}: {name} is") and "leaf 1 (holder.revoked)" in p
               for p in problems), problems


def test_rows_and_leaves_without_each_other() -> None:
    assert _audit([ROW], []) == [f"holder {ROW['holder_id']} is in the registry, but no leaf names it"]
    assert _audit([], [_leaf(ROW)]) == [f"leaf 0 (holder.bound) names holder {ROW['holder_id']}, which the registry "
                                        "does not hold"]
    assert "not a holder leaf" in _audit([], [{"v": 3, "action": "holder.promoted"}])[0]
    stale = {**ROW, "leaf_index": 0}
    assert "the log's newest leaf naming it is 1" in _audit([stale], [_leaf(ROW), _leaf(ROW, "holder.narrowed")])[0]


# -- log-in leaves (shape 4) --------------------------------------------------------------------------
def _login(holder_id: str = ROW["holder_id"], uscc: str = ROW["uscc"], at: datetime = AT) -> dict[str, Any]:
    import json

    from license_service.login.leaves import login_leaf
    return dict(json.loads(login_leaf(login_id="c" * 32, holder_id=holder_id, uscc=uscc, client_id="plt_1", at=at)))


def test_a_login_by_an_active_holder_passes() -> None:
    assert _audit([ROW], [_leaf(ROW), _login()]) == []


@pytest.mark.parametrize(("leaves", "finding"), [
    ([_leaf(ROW), _leaf({**ROW, "status": "revoked"}, "holder.revoked"), _login()], "leaves revoked"),
    ([_leaf(ROW), _login(at=datetime(2027, 2, 1, tzinfo=UTC))], "until 2027-01-31"),
    ([_login(), _leaf(ROW)], "which no earlier leaf bound"),
    ([_leaf(ROW), _login(uscc="91433100MA4PYYYY1Y")], "which no earlier leaf bound"),
    ([_leaf(ROW), {**_login(), "client_id": None}], "lacks client_id"),
])
def test_a_login_the_log_does_not_allow_is_a_finding(leaves: list[dict[str, Any]], finding: str) -> None:
    rows = [{**ROW, "status": "revoked", "leaf_index": 1}] if len(leaves) == 3 else [ROW]
    problems = _audit(rows, leaves)
    assert any(finding in p for p in problems), problems
