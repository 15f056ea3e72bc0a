"""The window's staff (窗口工作人员): roles and the divisions they act for.

A division is a GB/T 2260 administrative division code (six digits). A code ending in ``00`` names a
prefecture (or province, ``0000``) and covers every division under it: a supervisor of 湘西州
(433100) acts on the entities of 吉首市 (433101) and the eight counties; a clerk of 吉首市 on
吉首市's alone. An entity belongs to the division its USCC names (GB 32100-2015 s.4.3: characters
3-8, the registration authority's division code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import DomainError, FieldError

__all__ = ["Division", "StaffRefused", "StaffRole"]

_CODE = re.compile(r"[1-9]\d{5}")


class StaffRole(StrEnum):
    """What a staff member may do: a clerk serves applicants; a supervisor also decides what must not
    rest on one person's word (补发) and oversees the division; an auditor reads."""

    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"

    @classmethod
    def parse(cls, text: str) -> StaffRole:
        try:
            return cls(text)
        except ValueError:
            raise FieldError("role", "enum", "clerk, supervisor or auditor") from None


class StaffRefused(DomainError):
    """A staff action the rules refuse (another division, deciding one's own request...)."""

    code = "staff.refused"


@dataclass(frozen=True)
class Division:
    """A GB/T 2260 division code; ``prefix`` is what the codes under it start with."""

    code: str

    def __post_init__(self) -> None:
        if not _CODE.fullmatch(self.code):
            raise FieldError("division", "format", "six digits, a GB/T 2260 division code (433101)")

    @property
    def prefix(self) -> str:
        p = self.code
        while p.endswith("00") and len(p) > 2:
            p = p[:-2]
        return p

    def covers(self, uscc: str) -> bool:
        """Whether the entity with this USCC is in this division (its characters 3-8)."""
        return uscc[2:8].startswith(self.prefix)

    def covers_division(self, code: str) -> bool:
        return code.startswith(self.prefix)
