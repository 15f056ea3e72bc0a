"""How a license prints values: dates (2018年05月31日), terms (至 长期) and capital in Chinese capital
numerals (大写: 100 万元 -> 人民币壹佰万元整)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .errors import InputError

__all__ = ["CURRENCY_NAMES", "capital_in_words", "format_date", "format_term", "yuan_in_words"]

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_GROUP_UNITS = ("", "万", "亿", "万亿")

#: ISO 4217 codes a license may carry, with the name printed before the amount.
CURRENCY_NAMES = {
    "CNY": "人民币", "USD": "美元", "HKD": "港元", "MOP": "澳门元", "TWD": "新台币",
    "EUR": "欧元", "JPY": "日元", "GBP": "英镑", "KRW": "韩元", "SGD": "新加坡元",
}


def format_date(d: date) -> str:
    """``2018年05月31日`` — zero-padded, as the 2019 national format prints dates."""
    return f"{d.year:04d}年{d.month:02d}月{d.day:02d}日"


def format_term(start: date, end: date | None) -> str:
    """``2018年05月31日 至 长期`` for an open-ended term (长期 is a value, not a sentinel date)."""
    return f"{format_date(start)} 至 {format_date(end) if end else '长期'}"


def _group_in_words(n: int) -> str:
    """0 < n < 10000, with inner zeros collapsed to one 零 (1010 -> 壹仟零壹拾)."""
    out: list[str] = []
    zero = False
    for pos in range(3, -1, -1):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[d] + _SMALL_UNITS[pos])
    return "".join(out)


def yuan_in_words(amount: Decimal) -> str:
    """An amount of yuan in financial capital numerals, ending 元整 or with 角/分.

    Raises :class:`InputError` for negative amounts, amounts of 10^16 yuan or more, or precision
    finer than 分.
    """
    if amount < 0 or amount >= Decimal(10) ** 16:
        raise InputError("amount out of range", code="capital.range")
    fen_exact = amount * 100
    if fen_exact != fen_exact.to_integral_value():
        raise InputError("amount is finer than 分 (0.01 yuan)", code="capital.precision")
    fen_total = int(fen_exact)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    parts: list[str] = []
    groups: list[int] = []
    n = yuan
    while n:
        groups.append(n % 10000)
        n //= 10000
    pending_zero = False
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            pending_zero = bool(parts)
            continue
        if parts and (pending_zero or g < 1000):
            parts.append("零")
        pending_zero = False
        parts.append(_group_in_words(g) + _GROUP_UNITS[i])
    text = "".join(parts)
    if not text and not (jiao or fen):
        return "零元整"
    if text:
        text += "元"
    if not (jiao or fen):
        return text + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text


def capital_in_words(amount_wan: Decimal, currency: str) -> str:
    """Capital stored in 万元 printed as the license prints it: ``人民币壹佰万元整``."""
    try:
        name = CURRENCY_NAMES[currency]
    except KeyError:
        raise InputError(f"unknown currency {currency!r}", code="capital.currency") from None
    return name + yuan_in_words(amount_wan * 10000)
