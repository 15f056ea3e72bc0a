"""Structure that must not rot: dependency arrows (STYLE.md s.1, DESIGN.md "Shape"), the verifier's
import closure, templates agreeing with the domain's per-kind rules, production refusing unsafe
settings."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib

import pytest

from license_service.config import REPO_ROOT, Settings
from license_service.domain.entity import KIND_RULES, EntityKind


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (REPO_ROOT / package.replace(".", "/")).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def _roots(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def test_signing_imports_neither_service() -> None:
    assert not _roots(_imports("signing")) & {"license_service", "verify_app"}


def test_domain_is_stdlib_only() -> None:
    import sys

    third_party = {r for r in _roots(_imports("license_service/domain")) if r not in sys.stdlib_module_names}
    assert third_party <= {"__future__"}, third_party
    # and relative imports never leave the domain package
    for path in (REPO_ROOT / "license_service/domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{path.name} reaches outside the domain"


def test_nothing_imports_verify_app() -> None:
    for pkg in ("signing", "license_service"):
        assert "verify_app" not in _roots(_imports(pkg))


def test_nothing_imports_the_composition_root() -> None:
    for pkg in ("signing", "license_service", "verify_app"):
        assert "devapp" not in _roots(_imports(pkg)), pkg


#: What the verification service must never load, module name -> why. Prefixes: a package and all of
#: it. (pyHanko's package inits load ``pyhanko.sign.signers`` and ``pyhanko.sign.timestamps.dummy_client``
#: for any of its validation modules: classes that hold no key until given one; our signer, our TSA and
#: every loader of a key, which would give them one, are listed here.)
FORBIDDEN_IN_VERIFIER = {
    "license_service.app": "the issuing app",
    "license_service.api.routes": "the issuing router",
    "license_service.runtime.issuing": "the issuing runtime",
    "license_service.issuance": "the issuance service",
    "license_service.oauth": "the access-token issuer",
    "license_service.log.writer": "the log's appends and checkpoint signing",
    "license_service.status_lists": "status-list signing",
    "license_service.rendering": "the PDF renderer",
    "reportlab": "the PDF renderer's library",
    "signing.pdf": "the sealer",
    "signing.ltv": "long-term (B-LTA) extension: a document timestamp",
    "signing.timestamps": "the local TSA",
    "signing.keys.devpki": "the development CA",
    "signing.keys.files": "a loader of private keys",
    "signing.keys.pkcs11": "an HSM signer",
    "signing.keys.rotation": "key rotation (writes private keys)",
    "signing.note_signing": "the checkpoint signer (parses an Ed25519 private key)",
    "signing.cosigning": "a witness's cosigner (parses an Ed25519 private key)",
    "license_service.witness": "the witness process and the issuing side's collector",
    "devapp": "the composition root",
}


def forbidden(modules: set[str]) -> dict[str, str]:
    """The loaded modules that :data:`FORBIDDEN_IN_VERIFIER` names, with why."""
    return {m: why for m in sorted(modules) for bad, why in FORBIDDEN_IN_VERIFIER.items()
            if m == bad or m.startswith(bad + ".")}


def test_the_verifiers_import_closure_holds_nothing_that_can_sign() -> None:
    """Import the verification app (and build one, without a database) in a fresh interpreter and
    list what it loaded."""
    code = ("import json, sys; import verify_app.app; "
            "from license_service.web.app import base_app; from license_service.config import Settings; "
            "app = base_app(Settings()); [app.include_router(r) for r in verify_app.app.ROUTERS]; "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert "verify_app.service" in loaded and "signing.pdf_validation" in loaded  # it did load the verifier
    assert not forbidden(loaded), forbidden(loaded)


@pytest.mark.parametrize("kind", list(EntityKind))
def test_templates_agree_with_domain_rules(kind: EntityKind) -> None:
    tpl = tomllib.loads((REPO_ROOT / "templates/license" / f"{kind.value}.toml").read_text())
    fields = [row["field"] for row in tpl["left"] + tpl["right"]]
    rules = KIND_RULES[kind]
    assert ("registered_capital" in fields) == rules.capital
    assert ("term" in fields) == rules.term
    assert ("composition" in fields) == rules.composition
    assert {"name", "entity_type", "representative", "business_scope", "established_on", "address"} <= set(fields)


def test_production_refuses_sqlite_and_dev_codes() -> None:
    with pytest.raises(ValueError, match="SQLite"):
        Settings(env="production")
    with pytest.raises(ValueError, match="CERT_TYPE_CODE"):
        Settings(env="production", database_url="postgresql://x/y")


def test_no_private_key_is_tracked() -> None:
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        path = REPO_ROOT / name
        if path.is_file() and path.stat().st_size < 1_000_000:
            assert not _PEM_PRIVATE.search(path.read_bytes()), f"{name} holds a private key"


_PEM_PRIVATE = re.compile(b"-----" + b"BEGIN ([A-Z]+ )?PRIVATE KEY-----")  # split so this file never matches
