"""Every action the console records and every action a log leaf carries has words in both languages:
the activity and audit pages never show a stored code to a clerk."""

from __future__ import annotations

import re
from pathlib import Path

from license_service.console.words import ACTIONS, TEXT
from license_service.holders.leaves import HOLDER_ACTIONS
from license_service.login.leaves import LOGIN_ACTION

CONSOLE = Path(__file__).parents[2] / "license_service" / "console"
LICENSE_ACTIONS = {"establishment", "change", "reissue", "replacement", "cancellation", "revocation"}


def test_every_recorded_staff_action_is_named() -> None:
    source = "\n".join(p.read_text() for p in CONSOLE.glob("*.py"))
    recorded = set(re.findall(r'record\(s, [\w.]+, "([\w.]+)"', source))
    recorded |= set(re.findall(r'"(print\.test)" if test else "(print)"', source)[0])
    assert {"sign_in", "enrol", "search", "view", "verify", "replacement.request"} <= recorded, recorded
    assert recorded <= ACTIONS.keys(), recorded - ACTIONS.keys()


def test_every_leaf_action_is_named() -> None:
    assert LICENSE_ACTIONS | HOLDER_ACTIONS | {LOGIN_ACTION} <= ACTIONS.keys()


def test_both_languages_name_them() -> None:
    for lang in ("zh", "en"):
        names = TEXT[lang]["action_names"]
        assert names.keys() == ACTIONS.keys() and all(names.values())
    assert TEXT["zh"]["action_names"]["sign_in"] == "登录" and TEXT["en"]["action_names"]["sign_in"] == "signed in"
