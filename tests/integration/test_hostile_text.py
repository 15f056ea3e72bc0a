"""Hostile text at intake (security finding, item 8), over HTTP through the real app on SQLite and
PostgreSQL: zero-width, BOM, soft hyphen, bidi controls, line separators, NUL, TAB, LF and private-use
characters in any text field are a 422 problem+json naming the field and the rule, with nothing
written; text is stored NFC-normalised and a replay still converges; dates outside 1949-10-01 to
2200-01-01 are a 422, never a 500; the verification page isolates person-entered text in ``<bdi>``."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from license_service.db.models import LicenseVersion, MarketEntity
from license_service.runtime.issuing import IssuingRuntime
from tests.conftest import entity, event
from tests.integration.helpers import problem as problem_of
from tests.integration.helpers import row_counts

# (character, the rule that refuses it)
HOSTILE = [
    ("\u200b", "text.format_character"),  # ZERO WIDTH SPACE: a look-alike of the genuine name
    ("\ufeff", "text.format_character"),  # BOM
    ("\u00ad", "text.format_character"),  # SOFT HYPHEN
    ("\u202a", "text.format_character"),  # LRE
    ("\u202b", "text.format_character"),  # RLE
    ("\u202c", "text.format_character"),  # PDF
    ("\u202d", "text.format_character"),  # LRO
    ("\u202e", "text.format_character"),  # RLO: the page shows the name in another order than the PDF
    ("\u2066", "text.format_character"),  # LRI
    ("\u2067", "text.format_character"),  # RLI
    ("\u2068", "text.format_character"),  # FSI
    ("\u2069", "text.format_character"),  # PDI
    ("\u200e", "text.format_character"),  # LRM
    ("\u200f", "text.format_character"),  # RLM
    ("\u061c", "text.format_character"),  # ALM
    ("\u2028", "text.line_separator"),  # puts the rest of the name on a line of its own
    ("\u2029", "text.line_separator"),
    ("\x00", "text.control_character"),  # NUL: PostgreSQL refuses it (was a 500)
    ("\t", "text.control_character"),
    ("\n", "text.control_character"),
    ("\ue000", "text.private_use"),
]

# (field as the problem names it, where it sits in the body)
FIELDS = [
    ("entity.name", ("entity", "name")),
    ("entity.entity_type", ("entity", "entity_type")),
    ("entity.representative", ("entity", "representative")),
    ("entity.business_scope", ("entity", "business_scope")),
    ("entity.address", ("entity", "address")),
    ("authority.name", ("authority", "name")),
    ("reason", ("reason",)),
]




def _refused(registrar: TestClient, runtime: IssuingRuntime, field: str, rule: str, *, json_body: Any = None,
             content: bytes | None = None) -> dict[str, Any]:
    """POST the body; a 422 naming ``field`` and ``rule``, and nothing written. Returns that error."""
    before = row_counts(runtime)
    if content is not None:
        r = registrar.post("/api/v1/registrations", content=content, headers={"content-type": "application/json"})
    else:
        r = registrar.post("/api/v1/registrations", json=json_body)
    problem = problem_of(r, 422)
    named = [e for e in problem["errors"] if (e["field"], e["rule"]) == (field, rule)]
    assert named, problem
    assert row_counts(runtime) == before
    return named[0]


def _with(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def _establishment(**over: Any) -> dict[str, Any]:
    return event("establishment", entity(**over), reason="设立登记")


@pytest.mark.parametrize("ch,rule", HOSTILE, ids=[f"U+{ord(h[0]):04X}" for h in HOSTILE])
@pytest.mark.parametrize("field,path", FIELDS, ids=[f[0] for f in FIELDS])
def test_a_hostile_character_in_a_text_field_is_422_naming_field_and_rule(
        registrar: TestClient, runtime: IssuingRuntime, ch: str, rule: str, field: str, path: tuple[str, ...]) -> None:
    body = _establishment()
    node: Any = body
    for key in path:
        node = node[key]
    error = _refused(registrar, runtime, field, rule, json_body=_with(body, path, node[:2] + ch + node[2:]))
    assert f"U+{ord(ch):04X}" in error["detail"]


@pytest.mark.parametrize("field,path", [("entity.uscc", ("entity", "uscc")), ("event_id", ("event_id",))])
@pytest.mark.parametrize("ch,rule", [("\u200b", "text.format_character"), ("\t", "text.control_character")])
def test_the_uscc_and_event_id_are_checked_before_parsing(registrar: TestClient, runtime: IssuingRuntime, field: str,
                                                          path: tuple[str, ...], ch: str, rule: str) -> None:
    """The USCC's own normalisation drops TAB and spaces; a TAB is refused before it gets the chance."""
    body = _establishment()
    value = body[path[0]] if len(path) == 1 else body[path[0]][path[1]]
    _refused(registrar, runtime, field, rule, json_body=_with(body, path, value[:4] + ch + value[4:]))


@pytest.mark.parametrize("text", ["湘西峒河生态农业科技有限公司\n", "\t湘西峒河生态农业科技有限公司", "湘西峒河生态农业科技有限公司\u2028"])
def test_stripping_does_not_hide_a_leading_or_trailing_control(registrar: TestClient, runtime: IssuingRuntime,
                                                               text: str) -> None:
    rule = "text.line_separator" if "\u2028" in text else "text.control_character"
    _refused(registrar, runtime, "entity.name", rule, json_body=_establishment(name=text))


def test_a_lone_surrogate_escape_is_422_not_500(registrar: TestClient, runtime: IssuingRuntime) -> None:
    """JSON's ``\\ud800`` decodes to a lone surrogate, which no UTF-8 encoder (PostgreSQL, the PDF) takes."""
    raw = json.dumps(_establishment(name="湘西峒河@@科技有限公司")).replace("@@", "\\ud800")
    _refused(registrar, runtime, "entity.name", "text.unassigned", content=raw.encode())


@pytest.mark.parametrize("given,stored", [
    ("湘西Cafe\u0301科技有限公司", "湘西Café科技有限公司"),  # a Latin brand with a combining accent
    ("湘西\u1112\u1161\u11ab\u1100\u116e\u11a8科技有限公司", "湘西한국科技有限公司"),  # Hangul jamo
], ids=["latin_combining_accent", "hangul_jamo"])
def test_text_is_stored_nfc_and_a_replay_converges(registrar: TestClient, runtime: IssuingRuntime, given: str,
                                                   stored: str) -> None:
    ev = _establishment(name=given)
    first = registrar.post("/api/v1/registrations", json=ev)
    assert first.status_code == 201, first.text
    lic = first.json()["license"]
    with runtime.sessions() as s:
        assert s.get(MarketEntity, lic["uscc"]).name == stored
        assert json.loads(s.get(LicenseVersion, lic["license_id"]).record)["entity"]["name"] == stored
    before = row_counts(runtime)
    again = registrar.post("/api/v1/registrations", json=ev)  # the same bytes
    assert again.status_code == 200 and again.json() == first.json()
    composed = registrar.post("/api/v1/registrations", json=_with(ev, ("entity", "name"), stored))
    assert composed.status_code == 200 and composed.json() == first.json()  # the same text, spelt composed
    assert row_counts(runtime) == before


DATES = [
    # (what, body, field, rule)
    ("year 1 at +14:00", {**_establishment(), "decided_at": "0001-01-01T00:00:00+14:00"}, "decided_at"),
    ("year 9999 at -14:00", {**_establishment(), "decided_at": "9999-12-31T23:59:59-14:00"}, "decided_at"),
    ("before the founding", {**_establishment(), "decided_at": "1949-09-30T23:59:59+08:00"}, "decided_at"),
    ("decided in 2300", {**_establishment(), "decided_at": "2300-01-01T00:00:00+08:00"}, "decided_at"),
    ("term ends in 2300", _establishment(term={"from": "2018-05-31", "to": "2300-01-01"}), "entity.term.to"),
    ("term ends 2200-01-01", _establishment(term={"from": "2018-05-31", "to": "2200-01-01"}), "entity.term.to"),
    ("term starts in year 1", _establishment(term={"from": "0001-01-01", "to": None}), "entity.term.from"),
    ("established in 1900", _establishment(established_on="1900-01-01"), "entity.established_on"),
]


@pytest.mark.parametrize("what,body,field", DATES, ids=[d[0] for d in DATES])
def test_a_date_out_of_range_is_422_naming_the_field(registrar: TestClient, runtime: IssuingRuntime, what: str,
                                                      body: dict[str, Any], field: str) -> None:
    _refused(registrar, runtime, field, "date.out_of_range", json_body=body)


def test_the_date_bounds_are_inclusive_below_and_exclusive_above(registrar: TestClient) -> None:
    ev = _establishment(term={"from": "2018-05-31", "to": "2199-12-31"})
    assert registrar.post("/api/v1/registrations", json=ev).status_code == 201
    ev = event("establishment", entity(established_on="1949-10-01", term={"from": "1949-10-01", "to": None}),
               decided_at="1949-10-01T00:00:00+08:00")
    r = registrar.post("/api/v1/registrations", json=ev)
    assert r.status_code == 201, r.text


def test_the_page_isolates_person_entered_text(registrar: TestClient, anon: TestClient) -> None:
    ent = entity()
    lic = registrar.post("/api/v1/registrations", json=event("establishment", ent)).json()["license"]
    page = anon.get(f"/v/{lic['token']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for value in (ent["name"], ent["representative"], ent["address"], "湘西土家族苗族自治州市场监督管理局"):
        assert f"<bdi>{value}</bdi>" in page.text, value
    r = registrar.post("/api/v1/registrations", json=event("revocation", {"uscc": ent["uscc"]},
                                                           decided_at="2019-01-02T10:00:00+08:00",
                                                           reason="未按规定公示年度报告"))
    assert r.status_code == 200, r.text
    page = anon.get(f"/v/{lic['token']}")
    assert page.status_code == 200 and "<bdi>未按规定公示年度报告</bdi></p>" in page.text
