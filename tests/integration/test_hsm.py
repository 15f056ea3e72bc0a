"""Key custody in an HSM: SoftHSM2 (installed by the test setup) initialised with a token, the PDF
signer's and the token's keys generated inside it, and the service configured to use them
(ELICENSE_KEY_PROVIDER=pkcs11). A license issued that way is sealed and its QR token signed by the
token (pdfsig and joserfc, neither ours, accept them); the private keys cannot be read out, and the
keys folder no longer holds them."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pkcs11
import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from pkcs11 import Attribute, KeyType, ObjectClass

from license_service.api.schemas import RegistrationIn
from license_service.config import Settings
from license_service.db.models import LicenseDocument
from license_service.intake import parse_registration
from license_service.runtime.issuing import IssuingRuntime
from signing.keys.files import ensure_dev_keys
from signing.keys.pkcs11 import Pkcs11Signers, generate_keys
from signing.pdf_validation import load_roots, validate_license_pdf
from tests.conftest import entity, event
from tests.e2e.validators import pdfsig

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "246810"


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (Path(MODULE).exists() and shutil.which("softhsm2-util")):
        pytest.fail("SoftHSM2 is missing: the README's test command installs the Debian package softhsm2")
    home = tmp_path_factory.mktemp("hsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOFTHSM2_CONF", str(conf))  # read when the module initialises, in this process
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "elicense", "--pin", PIN,
                    "--so-pin", "13579"], check=True, capture_output=True)
    ensure_dev_keys(home / "keys", at=datetime.now(UTC))
    made = generate_keys(home / "keys", module=MODULE, token_label="elicense", pin=PIN, at=datetime.now(UTC))
    assert made["pdf_key"] == "document-signer"
    return home


def test_licenses_are_signed_inside_the_token(hsm: Path) -> None:
    keys = hsm / "keys"
    assert not (keys / "document-signer.key").exists() and not (keys / "token.key").exists()
    runtime = IssuingRuntime.build(Settings(database_url=f"sqlite:///{hsm}/db.sqlite", keys_dir=keys,
                                       public_base_url="http://testserver", key_provider="pkcs11",
                                       pkcs11_module=MODULE, pkcs11_token_label="elicense", pkcs11_pin=PIN))
    at = datetime.now(UTC)
    ev = parse_registration(RegistrationIn.model_validate(event("establishment", entity())), frozenset(), at=at)
    lic = runtime.issuance.apply(ev, at=at).body["license"]
    with runtime.sessions() as s:
        doc = s.get(LicenseDocument, lic["license_id"])
        assert doc is not None
        pdf = doc.pdf
    roots_pem = (keys / "root-ca.pem").read_bytes()
    f = validate_license_pdf(pdf, load_roots(roots_pem), at=datetime.now(UTC))
    assert f.intact and f.valid and f.trusted and f.entire_file and f.unmodified and f.timestamp_trusted
    out = pdfsig(pdf, roots_pem)
    assert "Signature is Valid" in out and "Certificate is Trusted" in out, out
    jwks = runtime.keys.token_keyring().jwks()
    obj = jws.deserialize_compact(lic["token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert isinstance(runtime.signers, Pkcs11Signers)
    assert obj.protected["kid"] == runtime.signers.token_signer().kid


def test_the_private_keys_do_not_leave_the_token(hsm: Path) -> None:
    token = pkcs11.lib(MODULE).get_token(token_label="elicense")
    try:
        session = token.open(user_pin=PIN)
    except pkcs11.exceptions.UserAlreadyLoggedIn:  # the service's session in this process logged in
        session = token.open()
    with session as s:
        for label in ("document-signer", "token"):
            key = s.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=label)
            assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                key[Attribute.VALUE]
