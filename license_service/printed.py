"""What a license prints: its registered items as lines of text, in its kind's template order.
One source for the PDF (``rendering/license_pdf.py``) and the public page (``verify_app/page.py``),
so the page shows exactly what the paper shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .domain.entity import EntityDetails
from .domain.numerals import capital_in_words, format_date, format_term
from .layout_templates import load_template

__all__ = ["PrintedLine", "printed_lines", "printed_values"]


@dataclass(frozen=True)
class PrintedLine:
    field: str  # the item of the registration's ``entity`` (``name``, ``registered_capital``...)
    label: str  # as the template prints it (名称, 注册资本...)
    value: str | None  # as the license prints it; None where this kind has no such line


def printed_values(d: EntityDetails) -> dict[str, str | None]:
    """Each item as the license prints it: capital in financial numerals, Chinese dates, the term."""
    return {
        "name": d.name,
        "entity_type": d.entity_type,
        "representative": d.representative,
        "composition": d.composition,
        "business_scope": d.business_scope,
        "registered_capital": capital_in_words(d.capital.amount, d.capital.currency) if d.capital else None,
        "established_on": format_date(d.established_on),
        "term": format_term(d.term.start, d.term.end) if d.term else None,
        "address": d.address,
    }


def printed_lines(d: EntityDetails, templates_dir: Path) -> tuple[list[PrintedLine], list[PrintedLine]]:
    """The left and right columns of ``d``'s license, from its kind's template in ``templates_dir``."""
    tpl = load_template(templates_dir, d.kind)
    values = printed_values(d)
    left, right = ([PrintedLine(row["field"], row["label"], values[row["field"]]) for row in tpl[side]]
                   for side in ("left", "right"))
    return left, right
