"""Registration results (登记结果) as validated domain values, built from the API's input model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .domain.entity import EntityDetails
from .domain.lifecycle import RegistrationKind
from .domain.uscc import Uscc

__all__ = ["Authority", "RegistrationEventIn"]


@dataclass(frozen=True)
class Authority:
    """登记机关: the registration authority and its GB/T 2260 division code."""

    name: str
    division_code: str


@dataclass(frozen=True)
class RegistrationEventIn:
    """One approved registration result. ``details`` is present for establishment and change."""

    event_id: str
    kind: RegistrationKind
    decided_at: datetime
    authority: Authority
    uscc: Uscc
    details: EntityDetails | None
    reason: str | None
    body_sha256: str
    #: decided at the window's console: the staff ids who asked and who approved (``requested_by``,
    #: ``approved_by``), stated in the log leaf
    staff: Mapping[str, str] | None = None
