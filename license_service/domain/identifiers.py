"""License identifiers: the GB/T 36904-2018 e-certificate identifier and the 20-digit serial (证照编号)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .errors import DomainError, InputError

__all__ = ["LicenseId", "LicenseSerial", "mod37_36"]

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_OID_PREFIX = "1.2.156.3005.2"


def mod37_36(text: str) -> str:
    """ISO/IEC 7064 MOD 37,36 (hybrid system, M = 36) check character over ``0-9A-Z``.

    p starts at M; for each character s = (p + v) mod M (0 -> M), p = 2s mod (M + 1);
    the check character a satisfies (p + a) mod M == 1.
    """
    m = 36
    p = m
    for ch in text.upper():
        v = _ALNUM.find(ch)
        if v < 0:
            raise InputError(f"character {ch!r} is outside 0-9A-Z", code="identifier.alphabet")
        s = (p + v) % m or m
        p = (s * 2) % (m + 1)
    return _ALNUM[(m + 1 - p) % m]


@dataclass(frozen=True)
class LicenseSerial:
    """证照编号: 20 digits = division code (6) + issue date YYYYMMDD (8) + sequence of that day (6)."""

    value: str

    def __post_init__(self) -> None:
        if not (len(self.value) == 20 and self.value.isdigit()):
            raise InputError(f"a license serial is 20 digits, got {self.value!r}", code="serial.format")

    @classmethod
    def compose(cls, division_code: str, day: date, sequence: int) -> LicenseSerial:
        if not 0 < sequence < 1_000_000:
            raise DomainError("daily serial sequence exhausted", code="serial.exhausted")
        return cls(f"{division_code}{day:%Y%m%d}{sequence:06d}")

    def __str__(self) -> str:
        return self.value


_ID_RE = re.compile(r"^1\.2\.156\.3005\.2\.([0-9A-Z]+)\.([0-9A-Z]+)\.(\d{20})\.(\d{3})\.([0-9A-Z])$")


@dataclass(frozen=True)
class LicenseId:
    """GB/T 36904-2018 identifier: ``1.2.156.3005.2.<type>.<issuer>.<serial>.<version NNN>.<check>``.

    The check character is ISO/IEC 7064 MOD 37,36 over type + issuer + serial + version.
    """

    type_code: str
    issuer_code: str
    serial: str
    version: int

    def __post_init__(self) -> None:
        if not 1 <= self.version <= 999:
            raise InputError("license version must be 1..999", code="identifier.version")
        LicenseSerial(self.serial)

    @property
    def check(self) -> str:
        return mod37_36(f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}")

    def __str__(self) -> str:
        return f"{_OID_PREFIX}.{self.type_code}.{self.issuer_code}.{self.serial}.{self.version:03d}.{self.check}"

    @classmethod
    def parse(cls, text: str) -> LicenseId:
        """Parse and check; raises :class:`InputError` (``identifier.format`` / ``identifier.check``)."""
        m = _ID_RE.match(text)
        if not m:
            raise InputError("not a GB/T 36904 license identifier", code="identifier.format")
        lid = cls(m[1], m[2], m[3], int(m[4]))
        if lid.check != m[5]:
            raise InputError("identifier check character does not match", code="identifier.check")
        return lid
