"""The entities' name index (``entity_name_grams``): every distinct bigram of a name, so that
``console/search.py`` finds a substring of two or more characters through a B-tree range (the same
on SQLite and PostgreSQL, where pg_trgm's trigrams would miss the two-character queries Chinese
names are mostly searched by, and need the extension installed). Kept in the same transaction as the
name it indexes."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from .models import EntityNameGram

__all__ = ["bigrams", "index_name"]


def bigrams(text: str) -> set[str]:
    """The distinct pairs of adjacent characters of ``text`` (case-folded; none for one character)."""
    folded = text.casefold()
    return {folded[i:i + 2] for i in range(len(folded) - 1)}


def index_name(s: Session, uscc: str, name: str | None, *, new: bool = False) -> None:
    """(Re)index ``uscc`` under ``name``; ``new``: the entity has no rows yet (skips the delete)."""
    if not new:
        s.execute(delete(EntityNameGram).where(EntityNameGram.uscc == uscc))
    grams = bigrams(name or "")
    if grams:
        s.execute(insert(EntityNameGram), [{"gram": g, "uscc": uscc} for g in sorted(grams)])
