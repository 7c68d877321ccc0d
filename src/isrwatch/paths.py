"""Where isrwatch keeps its files: the store, the cache of downloaded databases."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """User data directory (XDG_DATA_HOME/isrwatch, else ~/.local/share/isrwatch)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "isrwatch"


def cache_dir() -> Path:
    """User cache directory for downloaded aircraft databases and airspace files."""
    override = os.environ.get("ISRWATCH_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "isrwatch"


def default_db() -> Path:
    """The DuckDB store: --db wins, then ISRWATCH_DB, then the user data directory."""
    override = os.environ.get("ISRWATCH_DB")
    if override:
        return Path(override)
    return data_dir() / "isrwatch.duckdb"


def package_data(*parts: str) -> Path:
    """A file shipped inside the package (boundaries, catalogues, scenarios)."""
    return Path(__file__).parent.joinpath("data", *parts)
