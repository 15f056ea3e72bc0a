"""The per-kind license templates (``templates/license/<kind>.toml``): which lines a license shows,
in which column, with which label. Read by the renderer and by the public verification page."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from .domain.entity import EntityKind

__all__ = ["load_template"]


@cache
def load_template(directory: Path, kind: EntityKind) -> dict[str, Any]:
    with open(directory / f"{kind.value}.toml", "rb") as f:
        return tomllib.load(f)
