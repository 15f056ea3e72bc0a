"""One token, one string: other spellings of a genuine license token or access token are refused
(tests/adversarial/token_malleability.py), while tokens issued before signatures were normalised to
low S keep verifying (their exact string is what the registry holds)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.adversarial.token_malleability import P256_N, spellings
from tests.conftest import entity, event

Client = Callable[[str], TestClient]


def _s(token: str) -> int:
    import base64

    sig = token.split(".")[2]
    return int.from_bytes(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))[32:], "big")


def test_every_token_is_signed_with_low_s(registrar: TestClient) -> None:
    for _ in range(8):  # a random S is high half the time: eight in a row low is no accident
        lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
        assert _s(lic["token"]) <= P256_N // 2


def test_other_spellings_of_a_license_token_are_invalid(registrar: TestClient, client_for: Client,
                                                        anon: TestClient) -> None:
    verifier = client_for("verify")
    lic = registrar.post("/api/v1/registrations", json=event("establishment", entity())).json()["license"]
    assert verifier.post("/api/v1/verify/token", json={"token": lic["token"]}).json()["verdict"] == "valid"
    for name, other in spellings(lic["token"]).items():
        report = verifier.post("/api/v1/verify/token", json={"token": other}).json()
        assert report["verdict"] == "invalid", (name, report["checks"])
        page = anon.get(f"/v/{other}", headers={"Accept": "application/json"}).json()
        assert page["verdict"] == "invalid", name


def test_other_spellings_of_an_access_token_are_refused(client_for: Client) -> None:
    c = client_for("licenses:read")
    token = c.headers["Authorization"].split(" ", 1)[1]
    uscc = "91433101MA4L1A2B9M"
    assert c.get(f"/api/v1/entities/{uscc}").status_code == 404  # the genuine string: in, no such entity
    for name, other in spellings(token).items():
        r = c.get(f"/api/v1/entities/{uscc}", headers={"Authorization": f"Bearer {other}"})
        assert r.status_code == 401, (name, r.status_code)
