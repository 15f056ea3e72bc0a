"""The reason-code catalogue (license_service/reasons.py) is complete both ways, and published as it is.

- Every code the sources can put in a report is catalogued: the codes ``signing/`` raises
  (``InvalidToken(...)``'s reasons, ``lta_validation``'s and ``pdf_validation``'s reason strings, found
  by reading the sources' syntax trees) map to catalogued reasons, and ``verify_app/`` spells no
  code outside the catalogue (its checks are built from ``Reason`` members).
- Every catalogued code can be emitted (``verify_app`` builds a check from it, or ``signing`` raises
  it) or is marked reserved.
- ``docs/reason-codes.md`` is the catalogue as ``python -m license_service.reasons`` prints it, and the README
  points to it; the public page names every check and every effect in both languages.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from license_service.config import REPO_ROOT
from license_service.domain.holding import HolderStatus
from license_service.domain.lifecycle import EntityStatus, LicenseStatus
from license_service.reasons import ENTITY_STATUS, LICENSE_STATUS, Effect, Reason, lta_reason, markdown
from verify_app.page import TEXT

#: what a report reason code looks like (``pdf.lta.timestamp_invalid`` has two dots)
_CODE = re.compile(r"^(token|key|claims|registry|entity|pdf|lta|log|presentation)\.[a-z_]+(\.[a-z_]+)?$")
#: code-shaped strings that are not report reasons, each with why
_NOT_REASONS = {
    "token.invalid",  # InvalidToken's error code (its ``code``); the report carries its ``reason``
}
#: what ``signing`` spells its PDF and long-term findings with (file names like ``log.vkey`` are not codes)
_FINDING = re.compile(r"^(pdf|lta)\.[a-z_]+$")


def _sources(package: str) -> dict[Path, str]:
    return {p: p.read_text() for p in sorted((REPO_ROOT / package).rglob("*.py"))}


def raised_codes(source: str) -> set[str]:
    """The reason strings a ``signing`` module can produce: ``InvalidToken(<code>)``'s argument, and
    every ``pdf.``/``lta.`` string constant (``LtaFindings(False, "lta.unreadable")``, a revision problem
    ``return "pdf.info_changed"``), docstrings aside."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    codes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "InvalidToken" and node.args:
            arg = node.args[0]
            assert isinstance(arg, ast.Constant), f"InvalidToken with a computed reason, line {node.lineno}"
            codes.add(arg.value)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and _FINDING.match(node.value)):
            codes.add(node.value)
    return codes - _NOT_REASONS


def uncatalogued(codes: set[str]) -> set[str]:
    """The codes among ``codes`` that do not map to a catalogued reason (as the verifier maps them)."""
    bad = set()
    for code in codes:
        try:
            lta_reason(code) if code.startswith("lta.") else Reason.of(code)
        except ValueError:
            bad.add(code)
    return bad


def referenced_reasons(source: str) -> set[str]:
    """The ``Reason.X`` members a ``verify_app`` module builds checks from or maps to: every reference
    but the operands of a comparison (``reason is Reason.X`` chooses a sentence, it emits nothing)."""
    tree = ast.parse(source)
    compared = {id(x) for n in ast.walk(tree) if isinstance(n, ast.Compare) for x in (n.left, *n.comparators)}
    return {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "Reason"
            and id(n) not in compared and n.attr in Reason.__members__}


def _signing_codes() -> set[str]:
    return set().union(*(raised_codes(text) for text in _sources("signing").values()))


def test_the_scan_finds_what_signing_raises() -> None:
    """The scan itself: it finds raised codes in every form the sources use, and flags a new one."""
    source = '''
def f():
    """Raises ``token.in_a_docstring``."""
    raise InvalidToken("token.brand_new")
def g():
    return LtaFindings(False, "lta.unheard_of"), "pdf.trailer_changed", "token.invalid"
'''
    assert raised_codes(source) == {"token.brand_new", "lta.unheard_of", "pdf.trailer_changed"}
    assert uncatalogued(raised_codes(source)) == {"token.brand_new", "lta.unheard_of"}
    codes = _signing_codes()
    assert {"token.signature", "token.key_retired", "lta.unreadable", "pdf.trailing_bytes"} <= codes


def test_every_code_signing_raises_is_catalogued() -> None:
    assert uncatalogued(_signing_codes()) == set()


def _redemption_codes() -> set[str]:
    """The outcomes ``license_service.holders.presentations.redeem`` spells (the verifier looks them up)."""
    source = (REPO_ROOT / "license_service" / "holders" / "presentations.py").read_text()
    codes = set(re.findall(r'"(presentation\.[a-z_]+)"', source))
    prefix = re.findall(r'f"(presentation\.holder_)\{', source)
    return codes | {f"{p}{status}" for p in prefix for status in [*map(str, HolderStatus), "expired", "not_yet"]
                    if status != "active"}


def test_every_redemption_outcome_is_catalogued() -> None:
    codes = _redemption_codes()
    assert {"presentation.redeemed", "presentation.holder_revoked", "presentation.holder_not_yet"} <= codes
    assert uncatalogued(codes) == set()


def _problem_codes(tree: ast.AST) -> set[int]:
    """The string nodes that are problem+json codes and rules, not report reasons: ``code=``/``rule=``
    arguments (``NotFound(..., code="log.empty")``) and ``FieldError``'s (``"pdf.not_pdf"``)."""
    nodes = set()
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        nodes |= {id(k.value) for k in call.keywords if k.arg in ("code", "rule")}
        if getattr(call.func, "id", None) == "FieldError":
            nodes |= {id(a) for a in call.args}
    return nodes


def spelled_codes(source: str) -> set[str]:
    """The code-shaped strings a ``verify_app`` module spells, problem codes aside."""
    tree = ast.parse(source)
    problems = _problem_codes(tree)
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and _CODE.match(n.value) and id(n) not in problems} - _NOT_REASONS


def test_verify_app_spells_no_code_outside_the_catalogue() -> None:
    """Checks are built from ``Reason`` members: a code-shaped string anywhere else in verify_app would
    be a code that bypasses the catalogue."""
    snippet = 'Check(Reason.PDF_MODIFIED, "pdf.modified")\nraise NotFound("none", code="log.empty")\n'
    assert spelled_codes(snippet) == {"pdf.modified"}
    found = {p.name: spelled_codes(text) for p, text in _sources("verify_app").items() if p.name != "reasons.py"}
    assert {name: codes for name, codes in found.items() if codes} == {}


def test_every_catalogued_code_is_emitted_or_reserved() -> None:
    """Reserved: raised by shared code for another purpose (``token.lifetime`` for API access tokens),
    never built into a report by the verifier."""
    built = set().union(*(referenced_reasons(t) for t in _sources("verify_app").values()))
    built |= {r.name for r in (*LICENSE_STATUS.values(), *ENTITY_STATUS.values())}  # the statuses' codes
    raised = {(lta_reason(c) if c.startswith("lta.") else Reason.of(c)).name for c in _signing_codes()}
    raised |= {Reason.of(c).name for c in _redemption_codes()}
    reserved = {m.name for m in Reason if m.reserved}
    assert set(Reason.__members__) - built - raised - reserved == set(), "catalogued, never emitted: reserve it?"
    assert built & reserved == set(), "the verifier builds a check from a reserved code"


def test_the_status_maps_cover_every_status() -> None:
    assert set(LICENSE_STATUS) == {s.value for s in LicenseStatus}
    assert set(ENTITY_STATUS) == {s.value for s in EntityStatus}
    assert {r.effect for r in LICENSE_STATUS.values()} == {Effect.PASSED, Effect.NOT_IN_FORCE}
    assert LICENSE_STATUS["current"].ok and ENTITY_STATUS["active"].ok


def test_every_entry_is_well_formed() -> None:
    for r in Reason:
        assert _CODE.match(r.value) and r.checks and all(re.fullmatch(r"[a-z_]+", c) for c in r.checks), r
        assert r.en.endswith(".") and r.en[0].isupper(), r
        assert re.search(r"[\u4e00-\u9fff]", r.zh) and r.zh.endswith("。"), r
        assert "|" not in r.en + r.zh, r  # a table cell in the published document
    # a code is the same code on whichever check it appears; no check is left without a passing code
    checks = {c for r in Reason for c in r.checks}
    assert all(any(r.ok for r in Reason if c in r.checks) for c in checks)


def test_the_page_words_every_check_and_effect_in_both_languages() -> None:
    checks = {c for r in Reason for c in r.checks}
    for lang in ("zh", "en"):
        assert checks <= set(TEXT[lang]["checks"]), (lang, checks - set(TEXT[lang]["checks"]))
        assert set(TEXT[lang]["outcomes"]) == {e.value for e in Effect}, lang


def test_the_published_document_is_the_catalogue() -> None:
    """Regenerate with ``.venv/bin/python -m license_service.reasons > docs/reason-codes.md``."""
    published = (REPO_ROOT / "docs" / "reason-codes.md").read_text()
    assert published == markdown()
    for r in Reason:
        assert f"| `{r.value}`" in published
    printed = subprocess.run([sys.executable, "-m", "license_service.reasons"], capture_output=True, text=True,
                             check=True, cwd=REPO_ROOT).stdout
    assert printed == published


@pytest.mark.parametrize("doc", ["README.md"])
def test_the_readme_points_to_the_codes(doc: str) -> None:
    text = (REPO_ROOT / doc).read_text()
    assert "docs/reason-codes.md" in text


def test_the_adversarial_corpora_expect_catalogued_codes() -> None:
    """Each attack asset names the reason codes it must get: codes a report can carry (a corpus that
    expects a code no report carries would pass only by another of its codes)."""
    from tests.adversarial.attacks import ATTACKS
    from tests.adversarial.long_term_attacks import LONG_TERM_ATTACKS

    expected = {code for a in ATTACKS if a.verdict is not None for code in a.reasons}
    expected |= {code for a in LONG_TERM_ATTACKS for code in a.reasons}
    assert expected and uncatalogued(expected) == set()
    assert not any(Reason.of(code).reserved for code in expected)
