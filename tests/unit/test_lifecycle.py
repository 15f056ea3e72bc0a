"""The state machine of market entities (domain/lifecycle.py): every (registration kind, entity
status) pair, allowed with the status it leads to, or refused with its stable code. The table is
written out in full so that a change to any one transition fails here."""

from __future__ import annotations

import itertools

import pytest

from license_service.domain.errors import DomainError
from license_service.domain.lifecycle import EntityStatus, RegistrationKind, TransitionRefused, check_transition

K, S = RegistrationKind, EntityStatus
UNKNOWN = None  # no entity registered with the USCC

#: (kind, status before) -> status after, or the code of the refusal
TABLE: dict[tuple[RegistrationKind, EntityStatus | None], EntityStatus | str] = {
    # 设立: only for a USCC nobody holds
    (K.ESTABLISHMENT, UNKNOWN): S.ACTIVE,
    (K.ESTABLISHMENT, S.ACTIVE): "entity.exists",
    (K.ESTABLISHMENT, S.REVOKED): "entity.exists",
    (K.ESTABLISHMENT, S.CANCELLED): "entity.exists",
    # 变更, 换发, 补发: a new version for an entity in good standing only
    (K.CHANGE, UNKNOWN): "entity.unknown",
    (K.CHANGE, S.ACTIVE): S.ACTIVE,
    (K.CHANGE, S.REVOKED): "entity.revoked",
    (K.CHANGE, S.CANCELLED): "entity.cancelled",
    (K.REISSUE, UNKNOWN): "entity.unknown",
    (K.REISSUE, S.ACTIVE): S.ACTIVE,
    (K.REISSUE, S.REVOKED): "entity.revoked",
    (K.REISSUE, S.CANCELLED): "entity.cancelled",
    (K.REPLACEMENT, UNKNOWN): "entity.unknown",
    (K.REPLACEMENT, S.ACTIVE): S.ACTIVE,
    (K.REPLACEMENT, S.REVOKED): "entity.revoked",
    (K.REPLACEMENT, S.CANCELLED): "entity.cancelled",
    # 吊销: once, and not after 注销
    (K.REVOCATION, UNKNOWN): "entity.unknown",
    (K.REVOCATION, S.ACTIVE): S.REVOKED,
    (K.REVOCATION, S.REVOKED): "entity.revoked",
    (K.REVOCATION, S.CANCELLED): "entity.cancelled",
    # 注销: from good standing or after 吊销 (吊销，未注销), once
    (K.CANCELLATION, UNKNOWN): "entity.unknown",
    (K.CANCELLATION, S.ACTIVE): S.CANCELLED,
    (K.CANCELLATION, S.REVOKED): S.CANCELLED,
    (K.CANCELLATION, S.CANCELLED): "entity.cancelled",
}


def test_the_table_covers_every_pair() -> None:
    assert set(TABLE) == set(itertools.product(RegistrationKind, [UNKNOWN, *EntityStatus]))


ALLOWED = [(k, s, after) for (k, s), after in TABLE.items() if isinstance(after, EntityStatus)]
REFUSED = [(k, s, code) for (k, s), code in TABLE.items() if not isinstance(code, EntityStatus)]


@pytest.mark.parametrize("kind,status,after", ALLOWED, ids=[f"{k.value}-{s}" for k, s, _ in ALLOWED])
def test_allowed_transitions_lead_to_their_status(kind: RegistrationKind, status: EntityStatus | None,
                                                  after: EntityStatus) -> None:
    assert check_transition(kind, status) is after


@pytest.mark.parametrize("kind,status,code", REFUSED, ids=[f"{k.value}-{s}" for k, s, _ in REFUSED])
def test_refused_transitions_name_their_rule(kind: RegistrationKind, status: EntityStatus | None, code: str) -> None:
    with pytest.raises(TransitionRefused) as e:
        check_transition(kind, status)
    assert e.value.code == code
    assert e.value.detail  # a sentence for people, beside the code for machines


def test_a_refused_transition_is_a_refusal_not_a_fault() -> None:
    """Callers rely on the root: the API answers 409 and a re-issuance records it as skipped."""
    assert issubclass(TransitionRefused, DomainError)
    assert TransitionRefused.code == "transition_refused"  # the class default when no rule code is given


def test_revocation_and_cancellation_are_different_states() -> None:
    """吊销 and 注销 both end the license's force, but a revoked entity still exists and may deregister."""
    revoked = check_transition(K.REVOCATION, S.ACTIVE)
    assert revoked is S.REVOKED
    assert check_transition(K.CANCELLATION, revoked) is S.CANCELLED
    with pytest.raises(TransitionRefused):
        check_transition(K.REVOCATION, check_transition(K.CANCELLATION, S.ACTIVE))
