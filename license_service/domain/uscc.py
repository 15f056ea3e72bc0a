"""Unified Social Credit Code (统一社会信用代码), GB 32100-2015.

Layout: [1] registration-authority code, [2] entity-type code, [3-8] GB/T 2260 division code,
[9-17] the GB 11714 organisation code (its own check at 17), [18] the check character.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import FieldError

__all__ = ["ALPHABET", "Uscc", "UsccError", "check_character", "organisation_check"]

#: GB 32100 s.4: the 31 characters a code uses; a character's value is its position (I O S V Z never appear).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # W_i = 3^(i-1) mod 31
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 over positions 9-16
_FULL_ALPHANUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714 values letters over the full alphabet

#: GB/T 2260 province-level prefixes (first two digits of a division code).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


class UsccError(FieldError):
    """A string is not a valid USCC; ``code`` names the rule (``uscc.length``, ``uscc.check_character``...)."""

    def __init__(self, code: str, detail: str, field: str = "uscc") -> None:
        super().__init__(field, code, detail)


def check_character(first17: str) -> str:
    """GB 32100 s.4.2: C18 = 31 - (sum C_i * W_i mod 31), with 31 written as 0."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def organisation_check(org8: str) -> str:
    """GB 11714: the organisation code's check: C9 = 11 - (sum mod 11), 10 -> X, 11 -> 0."""
    total = sum(_FULL_ALPHANUM.index(c) * w for c, w in zip(org8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch not in " -\t\u3000")


@dataclass(frozen=True)
class Uscc:
    """A validated USCC. Build it with :meth:`parse`; the constructor refuses anything invalid.

    ``warnings`` carries findings that do not reject the code (an unknown division: real data has
    divisions that GB/T 2260 never listed); ``legacy`` is true when the code was let through by the
    legacy allow-list (early pilot codes that fail the mod-31 check but are genuine).
    """

    value: str
    legacy: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.legacy:
            _validate(self.value)

    def __str__(self) -> str:
        return self.value

    @property
    def authority_code(self) -> str:
        return self.value[0]

    @property
    def type_code(self) -> str:
        return self.value[1]

    @property
    def division_code(self) -> str:
        return self.value[2:8]

    @classmethod
    def parse(cls, text: str, *, legacy_allow: frozenset[str] = frozenset()) -> Uscc:
        """Normalise (upper-case, strip spaces and hyphens) and validate.

        Raises :class:`UsccError` naming the first rule broken, in this order: length, alphabet,
        division digits, organisation-code check (GB 11714), check character (GB 32100).
        """
        value = _normalise(text)
        if value in legacy_allow:
            if len(value) != 18:
                raise UsccError("uscc.length", f"must be 18 characters, got {len(value)}")
            return cls(value, legacy=True, warnings=("legacy code on the allow-list: checks skipped",))
        _validate(value)
        warnings: tuple[str, ...] = ()
        if value[2:4] not in _PROVINCES:
            warnings = (f"division {value[2:8]} is not under a known GB/T 2260 province",)
        return cls(value, warnings=warnings)


def _validate(value: str) -> None:
    if len(value) != 18:
        raise UsccError("uscc.length", f"must be 18 characters, got {len(value)}")
    bad = sorted({c for c in value if c not in _VALUE})
    if bad:
        raise UsccError(
            "uscc.alphabet",
            f"contains {', '.join(repr(c) for c in bad)}; allowed are 0-9 and A-Y without I, O, S, V, Z",
        )
    if not value[2:8].isdigit():
        raise UsccError("uscc.division", f"positions 3-8 must be a 6-digit division code, got {value[2:8]!r}")
    org = value[8:17]
    if org[8] not in "0123456789X":
        raise UsccError("uscc.organisation_check", f"position 17 must be a digit or X, got {org[8]!r}")
    expected_org = organisation_check(org[:8])
    if org[8] != expected_org:
        raise UsccError(
            "uscc.organisation_check",
            f"organisation-code check character (position 17) should be {expected_org}, got {org[8]}",
        )
    expected = check_character(value[:17])
    if value[17] != expected:
        raise UsccError("uscc.check_character", f"check character should be {expected}, got {value[17]}")
