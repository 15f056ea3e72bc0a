"""The verifier's side of ``signing/`` can sign nothing (DESIGN.md, trust model): importing what the
verification service uses (PDF and token validation, the public keys, the log's and the status
lists' code) loads no module that can load a private key, sign a PDF or draw one. Checked in a fresh
interpreter, so nothing imported by other tests hides a leak."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

SIGNING = Path(__file__).resolve().parents[2] / "signing"

PUBLIC_SIDE = ("signing.pdf_validation", "signing.tokens", "signing.keys.public", "signing.note", "signing.merkle",
               "signing.status_list")
NEVER_ON_THE_PUBLIC_SIDE = {
    "signing.pdf", "signing.timestamps", "signing.ltv", "signing.keys.files", "signing.keys.pkcs11",
    "signing.keys.devpki", "signing.keys.rotation", "signing.note_signing", "reportlab",
}
DUMMY_TSA = "pyhanko.sign.timestamps.dummy_client"


def _loaded_after(*modules: str) -> set[str]:
    code = (f"import json, sys\nfor m in {list(modules)!r}: __import__(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=SIGNING.parent, capture_output=True, text=True,
                         check=True).stdout
    return set(json.loads(out))


def test_the_public_side_loads_nothing_that_signs() -> None:
    loaded = _loaded_after(*PUBLIC_SIDE)
    leaked = {m for m in loaded if m in NEVER_ON_THE_PUBLIC_SIDE or m.split(".")[0] == "reportlab"}
    assert not leaked, leaked
    assert {"signing.lta_validation", "signing.keys.api"} <= loaded
    # pyHanko's own ``pyhanko/sign/timestamps/__init__.py`` imports its dummy TSA for any pyhanko.sign
    # import (as ``pyhanko/sign/__init__.py`` does its signers): present only if pyHanko alone loads it
    if DUMMY_TSA in loaded:
        assert DUMMY_TSA in _loaded_after("pyhanko.sign.validation")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.update(f"{base}.{a.name}" if node.module is None else base for a in node.names)
    return found


def test_the_keys_package_imports_no_submodule() -> None:
    tree = ast.parse((SIGNING / "keys" / "__init__.py").read_text())
    assert all(isinstance(n, ast.Expr) for n in tree.body), "signing/keys/__init__.py holds only a docstring"


def test_the_public_key_provider_reaches_no_private_key_loader() -> None:
    source = (SIGNING / "keys" / "public.py").read_text()
    assert not _imports(SIGNING / "keys" / "public.py") & {".files", ".devpki", ".pkcs11", ".rotation"}
    assert "load_pem_private_key" not in source and "load_der_private_key" not in source
