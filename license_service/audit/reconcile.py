"""The registry reconciled with the issuance log, pure (no I/O). Whatever the public page, the API
or a PDF shows of a license or an entity is a fact some log leaf covers with a digest or states
outright, and the registry must hold exactly that: a row edited in the database shows as a
discrepancy naming the row, the field, the registry's value and the leaf's.

What is checked, per registry row:

- a license version: its record hashes to its digest; the columns shown beside the record (serial,
  version, USCC, dates, source event) agree with the record; exactly one issuance leaf names it, at
  its leaf index, with its record, PDF and token digests; the stored PDF, as the auditor hashed it,
  is the one that leaf names; the stored token verifies with the published keys and its claims
  (``uscc``, ``sn``, ``ver``, ``iat``, ``dig``, ``name``, ``rep``) are its record's, and so are its QR
  code's compact token's (``uscc``, ``ver``, ``iat``: docs/token-formats.md), when it has one; its status,
  successor, since when and why are what the newest leaf that set them says;
- a market entity: its name, kind, establishment date, status, since when, why and current version
  are what the newest leaf naming it says, and agree with its current version's record;
- a registration result (the idempotency record): exactly one leaf names it, with its kind, USCC,
  receipt time and body digest; the answer stored for replays names that leaf's license and digests;
- a holder (持照人, ``license_service/holders``): its entity, role, grantor, scope, validity, status
  and the digest of its salted name are what the newest leaf naming it says, at its leaf index.

Leaf shapes (``license_service/issuance.py`` ``_leaf``), told apart by the ``v`` member:

- shape 3 (``"v": 3``, ``license_service/holders/leaves.py``): a holder binding, grant, suspension,
  restoration, narrowing, revocation or end; it states the holder row after the change.
- shape 4 (``"v": 4``, ``license_service/login/leaves.py``): a log-in to a platform in the entity's
  name (扫码登录). The holder it names must be one an earlier shape-3 leaf bound to that entity, and
  that leaf's facts must make the holding active at ``logged_at`` (status active, within its
  validity): a log-in by a holder the log says was revoked, suspended or expired is a finding.

- shape 2 (``"v": 2``) states ``token_sha256``, ``event_body_sha256``, ``reason``, ``entity`` (the
  entity's row after the event) and, on a revocation or cancellation, ``license`` (the affected
  version's status, since when and why after it); an issuance leaf's ``supersedes``, ``decided_at``
  and ``reason`` are the superseded version's lifecycle facts. A result decided at the window's
  console (补发 approved by a supervisor) also states ``staff``: ``requested_by`` and ``approved_by``
  (staff ids, never names); it must have exactly those two non-empty strings.
- shape 1 (no ``v``, the leaves written before) states none of those; its lifecycle leaves carry
  ``entity_status`` and ``license_status``. For such leaves the audit checks what they do state
  (statuses, dates, digests of record and PDF, the event's kind and USCC) and what the record covers
  (the token's claims, the entity's name); reasons and body digests of those events are not in
  the log, and are not checked. A shape-1 leaf after a shape-2 one is a finding: the service
  writes shape 2 only since, and an old-shape leaf would leave its facts unchecked. (So retire the
  old issuing processes before new ones append: two versions issuing at once interleave shapes.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signing.compact_tokens import CompactVerifier
from signing.tokens import InvalidToken, Keyring, verify_claims

from ..claims import digest_claim
from ..holders.leaves import HOLDER_ACTIONS, HOLDER_LEAF_FIELDS, holder_facts
from ..login.leaves import LOGIN_ACTION, LOGIN_LEAF_FIELDS
from .check import CouldNotCheck

__all__ = ["RegistryListing", "reconcile"]

_ISSUE = frozenset({"establishment", "change", "reissue", "replacement"})
_LIFECYCLE = {"revocation": "revoked", "cancellation": "cancelled"}
_SHAPES = (1, 2, 3, 4)
#: an entity's row as shape-2 leaves state it
_ENTITY_FIELDS = ("name", "entity_kind", "established_on", "status", "status_changed_at", "status_reason",
                  "current_version")
_TIMES = frozenset({"status_changed_at", "issued_at", "received_at"})


class _Unstated:
    """A fact a shape-1 leaf does not state (so there is nothing to check it against)."""

    def __repr__(self) -> str:
        return "unstated"


_UNSTATED: Any = _Unstated()


@dataclass(frozen=True)
class RegistryListing:
    """The registry as its audit listing gives it (``GET /api/v1/audit/...``): rows as JSON objects,
    the fields of ``license_service/api/schemas.py``'s ``AuditLicense``, ``AuditEntity`` and
    ``AuditEvent``."""

    licenses: list[dict[str, Any]]
    entities: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    holders: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Facts:
    """Facts the log states about one row, and the leaf that stated them last."""

    values: dict[str, Any]
    leaf: int
    action: str


def _shape(i: int, leaf: Mapping[str, Any]) -> int:
    v = leaf.get("v", 1)
    if v not in _SHAPES or isinstance(v, bool):
        raise CouldNotCheck(f"leaf {i} has shape v={v!r}, which this auditor does not know: use a newer elicense")
    return int(v)


_LEAF_TYPES: dict[str, type | tuple[type, ...]] = {
    "action": str, "license_id": str, "uscc": str, "version": int, "record_digest": str, "pdf_sha256": str,
    "event_id": str, "decided_at": str, "logged_at": str}
_SHAPE2_TYPES: dict[str, type | tuple[type, ...]] = {
    "token_sha256": str, "event_body_sha256": str, "reason": (str, type(None)), "entity": dict}


def _staff_ids(stated: Any) -> bool:
    """A leaf's ``staff`` member as the console writes it: who asked and who approved, by staff id."""
    return (isinstance(stated, dict) and set(stated) == {"requested_by", "approved_by"}
            and all(isinstance(v, str) and v for v in stated.values()))


def _malformed(leaf: Mapping[str, Any], shape: int) -> str | None:
    """What makes ``leaf`` unreadable as a registration result's leaf (None: readable)."""
    wanted = {**_LEAF_TYPES, **(_SHAPE2_TYPES if shape == 2 else {})}
    bad = [k for k, t in wanted.items() if not isinstance(leaf.get(k), t) or isinstance(leaf.get(k), bool)]
    if not bad and leaf["action"] not in _ISSUE and leaf["action"] not in _LIFECYCLE:
        return f"has action {leaf['action']!r}, which no registration result has"
    if not bad and shape == 2:
        bad = [f"entity.{k}" for k in _ENTITY_FIELDS if k not in leaf["entity"]]
        if leaf["action"] in _LIFECYCLE:
            stated = leaf.get("license")
            bad += (["license"] if not isinstance(stated, dict)
                    else [f"license.{k}" for k in ("status", "status_changed_at", "status_reason") if k not in stated])
    if "supersedes" in leaf and not isinstance(leaf["supersedes"], str):
        bad.append("supersedes")
    if "staff" in leaf and not _staff_ids(leaf["staff"]):  # a result decided at the window's console
        bad.append("staff")
    return f"(shape {shape}) lacks or mistypes {', '.join(bad)}" if bad else None


def _same(a: Any, b: Any, *, time: bool = False) -> bool:
    """Equal; times (ISO 8601) as instants, whatever their offset."""
    if time and isinstance(a, str) and isinstance(b, str):
        try:
            return datetime.fromisoformat(a) == datetime.fromisoformat(b)
        except ValueError:
            return a == b
    return bool(a == b) and type(a) is type(b)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _record(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("entity"), dict) else None


class _Reconciliation:
    def __init__(self, leaves: list[dict[str, Any]], registry: RegistryListing, keyring: Keyring, at: datetime,
                 pdf_sha256: Mapping[str, str | None]) -> None:
        self.leaves = leaves
        self.keyring = keyring
        self.at = at
        self.pdf_sha256 = pdf_sha256
        self.problems: list[str] = []
        self.licenses = self._index(registry.licenses, "license_id", "license")
        self.entities = self._index(registry.entities, "uscc", "entity")
        self.events = self._index(registry.events, "event_id", "event")
        self.holders = self._index(registry.holders, "holder_id", "holder")
        self.holder_facts: dict[str, _Facts] = {}
        self.records = {lid: _record(lic["record"]) for lid, lic in self.licenses.items()}
        self.by_version = {(lic["uscc"], lic["version"]): lid for lid, lic in self.licenses.items()}
        self.issued: dict[str, list[int]] = {}
        self.lifecycle: dict[str, _Facts] = {}  # license_id -> status, superseded_by, status_changed_at, status_reason
        self.entity_facts: dict[str, _Facts] = {}
        self.named_events: dict[str, list[int]] = {}

    def _index(self, rows: list[dict[str, Any]], key: str, what: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row[key] in out:
                self.problems.append(f"the registry lists {what} {row[key]} twice")
            out[row[key]] = row
        return out

    def differs(self, subject: str, name: str, held: Any, said: Any, where: str) -> None:
        if said is not _UNSTATED and not _same(held, said, time=name in _TIMES):
            self.problems.append(f"{subject}: {name} is {held!r} in the registry; {where} says {said!r}")

    # -- the log, leaf by leaf ---------------------------------------------------------------------
    def read_leaves(self) -> None:
        upgraded: int | None = None  # the first shape-2 leaf: the service writes no other shape since
        for i, leaf in enumerate(self.leaves):
            shape = _shape(i, leaf)
            if shape == 3:
                self.read_holder_leaf(i, leaf)
                continue
            if shape == 4:
                self.read_login_leaf(i, leaf)
                continue
            if shape == 2 and upgraded is None:
                upgraded = i
            elif shape == 1 and upgraded is not None:
                self.problems.append(f"leaf {i} ({leaf.get('action')}) has the old shape (no v) after leaf {upgraded} "
                                     "of shape 2: a leaf written since states its facts, and this one does not")
            problem = _malformed(leaf, shape)
            if problem is not None:
                self.problems.append(f"leaf {i} {problem}")
                continue
            action, lid = leaf["action"], leaf["license_id"]
            lic = self.licenses.get(lid)
            if lic is None:
                self.problems.append(f"leaf {i} ({action}) names license {lid}, which the registry does not hold")
            elif (leaf["uscc"], leaf["version"]) != (lic["uscc"], lic["version"]):
                self.problems.append(f"leaf {i} names {lid} as {leaf['uscc']} v{leaf['version']}, the registry as "
                                     f"{lic['uscc']} v{lic['version']}")
            if action in _ISSUE:
                self.issued.setdefault(lid, []).append(i)
                self.lifecycle[lid] = _Facts({"status": "current", "superseded_by": None, "status_changed_at": None,
                                              "status_reason": None}, i, action)
                if "supersedes" in leaf:
                    self.lifecycle[leaf["supersedes"]] = _Facts({
                        "status": "superseded", "superseded_by": lid, "status_changed_at": leaf["decided_at"],
                        "status_reason": leaf["reason"] if shape == 2 else _UNSTATED}, i, action)
            else:
                self.lifecycle[lid] = self._ended(i, leaf, shape)
                if lic is not None:  # a lifecycle leaf names the version's digests too
                    self.leaf_digests(f"license {lid}", lic, i, leaf, shape)
            self.entity_facts[leaf["uscc"]] = self._entity_after(i, leaf, shape)
            self.read_event(i, leaf, shape, lic)

    def read_holder_leaf(self, i: int, leaf: dict[str, Any]) -> None:
        bad = [k for k in HOLDER_LEAF_FIELDS if k not in leaf]
        if leaf.get("action") not in HOLDER_ACTIONS or bad or not isinstance(leaf.get("holder_id"), str):
            self.problems.append(f"leaf {i} (shape 3) is not a holder leaf: action {leaf.get('action')!r}"
                                 + (f", lacks {', '.join(bad)}" if bad else ""))
            return
        self.holder_facts[leaf["holder_id"]] = _Facts({k: leaf[k] for k in HOLDER_LEAF_FIELDS}, i, leaf["action"])

    def read_login_leaf(self, i: int, leaf: dict[str, Any]) -> None:
        bad = [k for k in LOGIN_LEAF_FIELDS if not isinstance(leaf.get(k), str)]
        if leaf.get("action") != LOGIN_ACTION or bad:
            self.problems.append(f"leaf {i} (shape 4) is not a log-in leaf: action {leaf.get('action')!r}"
                                 + (f", lacks {', '.join(bad)}" if bad else ""))
            return
        facts = self.holder_facts.get(leaf["holder_id"])
        if facts is None or facts.values["uscc"] != leaf["uscc"]:
            self.problems.append(f"leaf {i} logs in holder {leaf['holder_id']} for {leaf['uscc']}, which no earlier "
                                 "leaf bound to that entity")
            return
        held = facts.values
        try:
            at = datetime.fromisoformat(leaf["logged_at"])
            not_before = datetime.fromisoformat(held["not_before"])
            expires = datetime.fromisoformat(held["expires_at"]) if held["expires_at"] else None
        except (TypeError, ValueError):
            self.problems.append(f"leaf {i} (shape 4) or leaf {facts.leaf} states a time that is not ISO 8601")
            return
        if held["status"] != "active" or at < not_before or (expires is not None and at >= expires):
            self.problems.append(f"leaf {i} logs in holder {leaf['holder_id']}, whom leaf {facts.leaf} "
                                 f"({facts.action}) leaves {held['status']} from {held['not_before']} until "
                                 f"{held['expires_at']}")

    def check_holder(self, holder_id: str, row: dict[str, Any]) -> None:
        subject = f"holder {holder_id}"
        facts = self.holder_facts.get(holder_id)
        if facts is None:
            self.problems.append(f"{subject} is in the registry, but no leaf names it")
            return
        where = f"leaf {facts.leaf} ({facts.action})"
        try:
            held = holder_facts(row)
        except (KeyError, TypeError, ValueError):
            self.problems.append(f"{subject}: its row is not one the service writes")
            return
        for name in HOLDER_LEAF_FIELDS:
            self.differs(subject, name, held[name], facts.values[name], where)
        if row.get("leaf_index") != facts.leaf:
            self.problems.append(f"{subject}: the registry says leaf {row.get('leaf_index')}, the log's newest leaf "
                                 f"naming it is {facts.leaf}")

    def _ended(self, i: int, leaf: dict[str, Any], shape: int) -> _Facts:
        """The license's lifecycle facts after a revocation or cancellation leaf."""
        before = self.lifecycle.get(leaf["license_id"])
        successor = before.values["superseded_by"] if before else _UNSTATED
        if shape == 2:
            stated = leaf["license"]
            return _Facts({"status": stated.get("status"), "superseded_by": successor,
                           "status_changed_at": stated.get("status_changed_at"),
                           "status_reason": stated.get("status_reason")}, i, leaf["action"])
        # shape 1 states the status after the event: a version already out of force keeps its facts
        status = leaf.get("license_status") or _LIFECYCLE[leaf["action"]]
        if before is not None and before.values["status"] != "current":
            return _Facts({**before.values, "status": status}, before.leaf, before.action)
        return _Facts({"status": status, "superseded_by": successor, "status_changed_at": leaf["decided_at"],
                       "status_reason": _UNSTATED}, i, leaf["action"])

    def _entity_after(self, i: int, leaf: dict[str, Any], shape: int) -> _Facts:
        """The entity's row after this leaf's event, as far as the leaf states it."""
        if shape == 2:
            return _Facts({k: leaf["entity"][k] for k in _ENTITY_FIELDS}, i, leaf["action"])
        before = self.entity_facts.get(leaf["uscc"])
        values = dict(before.values) if before else dict.fromkeys(_ENTITY_FIELDS, _UNSTATED)
        values.update(name=_UNSTATED, entity_kind=_UNSTATED, established_on=_UNSTATED)  # the record covers them
        if leaf["action"] in _ISSUE:
            values["current_version"] = leaf["version"]
            if leaf["action"] == "establishment":
                values.update(status="active", status_changed_at=leaf["decided_at"], status_reason=None)
        else:
            values.update(status=leaf.get("entity_status", _UNSTATED), status_changed_at=leaf["decided_at"],
                          status_reason=_UNSTATED)
        return _Facts(values, i, leaf["action"])

    def read_event(self, i: int, leaf: dict[str, Any], shape: int, lic: dict[str, Any] | None) -> None:
        eid, action = leaf["event_id"], leaf["action"]
        ev = self.events.get(eid)
        if ev is None:
            self.problems.append(f"leaf {i} ({action}) names event {eid}, which the registry does not hold")
            return
        self.named_events.setdefault(eid, []).append(i)
        subject, where = f"event {eid}", f"leaf {i} ({action})"
        self.differs(subject, "kind", ev["kind"], action, where)
        self.differs(subject, "uscc", ev["uscc"], leaf["uscc"], where)
        self.differs(subject, "received_at", ev["received_at"], leaf["logged_at"], where)
        if shape == 2:
            self.differs(subject, "body_sha256", ev["body_sha256"], leaf["event_body_sha256"], where)
        self.differs(subject, "response_status", ev["response_status"], 201 if action in _ISSUE else 200, where)
        try:
            answer = json.loads(ev["response_body"])
            shown = answer["license"]
            stated = {"event_id": answer["event_id"], "license_id": shown["license_id"],
                      "record_digest": shown["record_digest"], "pdf_sha256": shown["pdf_sha256"],
                      "token_sha256": _sha256(shown["token"])}
        except (ValueError, KeyError, TypeError, AttributeError):
            self.problems.append(f"{subject}: the answer stored for replays is not one the service gives")
            return
        token_digest = (leaf["token_sha256"] if shape == 2 else _sha256(lic["token"]) if lic is not None
                        else _UNSTATED)
        for name, said in (("event_id", eid), ("license_id", leaf["license_id"]), ("record_digest",
                           leaf["record_digest"]), ("pdf_sha256", leaf["pdf_sha256"]), ("token_sha256", token_digest)):
            self.differs(f"{subject}: the answer stored for replays", name, stated[name], said, where)

    def leaf_digests(self, subject: str, lic: dict[str, Any], i: int, leaf: dict[str, Any], shape: int) -> None:
        where = f"leaf {i} ({leaf['action']})"
        for key in ("record_digest", "pdf_sha256"):
            if leaf[key] != lic[key]:
                self.problems.append(f"{subject}: {key} is {lic[key]} in the registry and {leaf[key]} in leaf {i}")
        if shape == 2 and _sha256(lic["token"]) != leaf["token_sha256"]:
            self.problems.append(f"{subject}: the stored token hashes to {_sha256(lic['token'])}; {where} names "
                                 f"token_sha256 {leaf['token_sha256']} (the token was replaced)")

    # -- the registry, row by row ------------------------------------------------------------------
    def check_license(self, lid: str, lic: dict[str, Any]) -> None:
        subject = f"license {lid}"
        digest = _sha256(lic["record"])
        if digest != lic["record_digest"]:
            self.problems.append(f"{subject}: its record hashes to {digest}, the registry says {lic['record_digest']} "
                                 "(the row was edited)")
        record = self.records[lid]
        if record is None:
            self.problems.append(f"{subject}: its record is not a canonical record")
        else:
            self.check_columns(subject, lic, record)
            self.check_token(subject, lic, record, digest)
            self.check_qr_token(subject, lic, record)
        where = self.issued.get(lid, [])
        if len(where) != 1:
            self.problems.append(f"{subject} has {len(where)} issuance leaves in the log, not one")
            return
        i = where[0]
        leaf = self.leaves[i]
        if i != lic["leaf_index"]:
            self.problems.append(f"{subject}: the registry says leaf {lic['leaf_index']}, the log has it at {i}")
        self.leaf_digests(subject, lic, i, leaf, _shape(i, leaf))
        self.differs(subject, "event_id", lic["event_id"], leaf["event_id"], f"leaf {i} ({leaf['action']})")
        if lid in self.pdf_sha256:
            stored = self.pdf_sha256[lid]
            if stored is None:
                self.problems.append(f"{subject}: the registry holds no PDF for it")
            elif stored != leaf["pdf_sha256"]:
                self.problems.append(f"{subject}: the stored PDF hashes to {stored}; leaf {i} ({leaf['action']}) "
                                     f"names pdf_sha256 {leaf['pdf_sha256']} (the stored PDF was altered)")
        facts = self.lifecycle[lid]
        if lic["status"] != facts.values["status"]:
            self.problems.append(f"{subject} is {lic['status']} in the registry; the log says {facts.values['status']} "
                                 f"(leaf {facts.leaf}, {facts.action})")
        for name in ("superseded_by", "status_changed_at", "status_reason"):
            self.differs(subject, name, lic[name], facts.values[name], f"leaf {facts.leaf} ({facts.action})")

    def check_columns(self, subject: str, lic: dict[str, Any], record: dict[str, Any]) -> None:
        """The columns shown beside the record (the page prints them from the row) are the record's."""
        for name, said in (("license_id", record.get("license_id")), ("serial", record.get("serial")),
                           ("version", record.get("version")), ("uscc", record["entity"].get("uscc")),
                           ("registered_on", record.get("registered_on")), ("issued_at", record.get("issued_at")),
                           ("event_id", record.get("event_id"))):
            self.differs(subject, name, lic[name], said, "its record")

    def check_token(self, subject: str, lic: dict[str, Any], record: dict[str, Any], digest: str) -> None:
        """The stored token verifies with the published keys, and its claims are the record's."""
        try:
            claims = verify_claims(lic["token"], self.keyring, at=self.at)
        except InvalidToken as e:
            self.problems.append(f"{subject}: its stored token does not verify with the published keys ({e.reason})")
            return
        entity = record["entity"]
        try:
            iat: Any = int(datetime.fromisoformat(record["issued_at"]).timestamp())
        except (KeyError, TypeError, ValueError):
            iat = None
        wanted = {"uscc": entity.get("uscc"), "sn": record.get("serial"), "ver": record.get("version"), "iat": iat,
                  "dig": digest_claim(digest), "name": entity.get("name") or None, "rep": entity.get("representative")}
        wrong = [k for k, v in wanted.items() if not _same(claims.get(k), v)]
        if wrong:
            self.problems.append(f"{subject}: its stored token's claims {', '.join(wrong)} disagree with its record "
                                 f"({', '.join(f'{k}={claims.get(k)!r}' for k in wrong)})")

    def check_qr_token(self, subject: str, lic: dict[str, Any], record: dict[str, Any]) -> None:
        """The compact token its QR code carries (none before form 2, and none from a server that
        predates it) verifies with the published keys, and names the record's USCC, version and issue
        time. (Its status index is the registry's word alone: no leaf states it.)"""
        token = lic.get("qr_token")
        if token is None:
            return
        try:
            claims = CompactVerifier(self.keyring, maxsize=0).verify(token)  # each token once: no cache
        except InvalidToken as e:
            self.problems.append(f"{subject}: its QR code's token does not verify with the published keys ({e.reason})")
            return
        except TypeError:  # not even a string
            self.problems.append(f"{subject}: its QR code's token is not a string")
            return
        try:
            iat: Any = int(datetime.fromisoformat(record["issued_at"]).timestamp())
        except (KeyError, TypeError, ValueError):
            iat = None
        wanted = {"uscc": record["entity"].get("uscc"), "ver": record.get("version"), "iat": iat}
        wrong = [k for k, v in wanted.items() if not _same(getattr(claims, k), v)]
        if wrong:
            self.problems.append(f"{subject}: its QR code's token's claims {', '.join(wrong)} disagree with its "
                                 f"record ({', '.join(f'{k}={getattr(claims, k)!r}' for k in wrong)})")

    def check_entity(self, uscc: str, row: dict[str, Any]) -> None:
        subject = f"entity {uscc}"
        facts = self.entity_facts.get(uscc)
        if facts is None:
            self.problems.append(f"{subject} is in the registry, but no leaf names it")
            return
        for name in _ENTITY_FIELDS:
            self.differs(subject, name, row[name], facts.values[name], f"leaf {facts.leaf} ({facts.action})")
        current = self.by_version.get((uscc, row["current_version"]))
        record = self.records.get(current) if current else None
        if record is None:
            self.problems.append(f"{subject}: the registry holds no record of its current version "
                                 f"{row['current_version']}")
            return
        for name in ("name", "entity_kind", "established_on"):
            self.differs(subject, name, row[name], record["entity"].get(name), f"the record of {current}")

    def run(self) -> list[str]:
        self.read_leaves()
        for lid, lic in sorted(self.licenses.items()):
            self.check_license(lid, lic)
        for uscc, row in sorted(self.entities.items()):
            self.check_entity(uscc, row)
        for uscc in sorted(self.entity_facts.keys() - self.entities.keys()):
            facts = self.entity_facts[uscc]
            self.problems.append(f"leaf {facts.leaf} ({facts.action}) names entity {uscc}, which the registry does "
                                 "not hold")
        for holder_id, row in sorted(self.holders.items()):
            self.check_holder(holder_id, row)
        for holder_id in sorted(self.holder_facts.keys() - self.holders.keys()):
            facts = self.holder_facts[holder_id]
            self.problems.append(f"leaf {facts.leaf} ({facts.action}) names holder {holder_id}, which the registry "
                                 "does not hold")
        for eid, ev in sorted(self.events.items()):
            named = self.named_events.get(eid, [])
            if not named:
                self.problems.append(f"event {eid} ({ev['kind']}) is in the registry, but no leaf names it")
            elif len(named) > 1:
                self.problems.append(f"event {eid} is named by {len(named)} leaves ({', '.join(map(str, named))}), "
                                     "not one")
        return self.problems


def reconcile(leaves: list[dict[str, Any]], registry: RegistryListing, *, keyring: Keyring, at: datetime,
              pdf_sha256: Mapping[str, str | None]) -> list[str]:
    """The discrepancies between the registry and the log (empty: they agree); see the module.

    ``leaves`` are the whole log's, decoded, in order; ``keyring`` the published token keys (JWKS);
    ``at`` the time the tokens are checked at (their ``exp``/``nbf``, which license tokens do not
    carry); ``pdf_sha256`` the SHA-256 the auditor computed of each stored PDF it fetched, by license
    id (None: the registry served none), and only those are checked. Raises
    :class:`~.check.CouldNotCheck` for a leaf shape this auditor does not know."""
    return _Reconciliation(leaves, registry, keyring, at, pdf_sha256).run()
