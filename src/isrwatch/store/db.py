"""The DuckDB store file: opening it, its tables, and the schema version.

One DuckDB file holds everything (no server). Tables:

- ``observations`` — the OBSERVATIONS columns (schema.py) plus ``ingest_id`` (which ingest
  stored the row: provenance, and a handle to remove a file later). ``time`` is TIMESTAMPTZ
  (UTC), ``pos_source`` a DuckDB ENUM with the same values as the Polars Enum.
- ``aircraft_feed`` — FEED_AIRCRAFT facts per (icao24, source) with ``first_seen`` /
  ``last_seen`` (times of that aircraft's observations in the files that carried the facts).
- ``ingest_log`` — one row per ingest attempt of a file: path, sha256, size, format, feed,
  started/finished, status (``completed``, ``error``, ``skipped``), counts, error.
- ``rejects`` — per ingest, counted reasons with up to five detail samples each.
- ``meta`` — key/value; ``schema_version`` lets later versions migrate an older file.
- schema ``derived`` — tables saved by later stages (save_table / load_table).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from isrwatch import paths, schema

SCHEMA_VERSION = 1

OBS_COLUMNS = list(schema.OBSERVATIONS)
# The identity of a position report: the same aircraft at the same instant at the same place.
KEY = ["icao24", "time", "lat", "lon"]

_DUCK_TYPES = {
    "time": "TIMESTAMPTZ",
    "icao24": "VARCHAR",
    "callsign": "VARCHAR",
    "lat": "DOUBLE",
    "lon": "DOUBLE",
    "alt_baro": "FLOAT",
    "alt_geom": "FLOAT",
    "on_ground": "BOOLEAN",
    "gs": "FLOAT",
    "track": "FLOAT",
    "vrate": "FLOAT",
    "ias": "FLOAT",
    "roll": "FLOAT",
    "squawk": "VARCHAR",
    "pos_source": "pos_source_t",
    "leg_start": "BOOLEAN",
    "stale": "BOOLEAN",
    "feed": "VARCHAR",
}
assert list(_DUCK_TYPES) == OBS_COLUMNS, "store DDL out of step with schema.OBSERVATIONS"


class StoreError(Exception):
    """The store cannot be opened or used (missing, locked, written by a newer isrwatch)."""


def _enum_sql() -> str:
    return ", ".join("'" + v + "'" for v in schema.POS_SOURCES)


def _ddl_v1() -> list[str]:
    obs_cols = ",\n  ".join(
        f"{name} {dtype}{' NOT NULL' if name in KEY else ''}" for name, dtype in _DUCK_TYPES.items()
    )
    return [
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        f"CREATE TYPE pos_source_t AS ENUM ({_enum_sql()})",
        # No primary key on observations: an ART index over (icao24, time, lat, lon) costs
        # more per insert than an anti-join restricted to the batch's time range (measured).
        f"CREATE TABLE observations (\n  {obs_cols},\n  ingest_id BIGINT\n)",
        "CREATE SEQUENCE ingest_id_seq START 1",
        """CREATE TABLE ingest_log (
  ingest_id BIGINT PRIMARY KEY,
  path VARCHAR,
  sha256 VARCHAR,
  size_bytes BIGINT,
  format VARCHAR,
  feed VARCHAR,
  started TIMESTAMPTZ,
  finished TIMESTAMPTZ,
  status VARCHAR,
  rows_read BIGINT,
  rows_stored BIGINT,
  rows_rejected BIGINT,
  rows_duplicate BIGINT,
  error VARCHAR
)""",
        """CREATE TABLE rejects (
  ingest_id BIGINT,
  feed VARCHAR,
  reason VARCHAR,
  n_rows BIGINT,
  samples VARCHAR[]
)""",
        """CREATE TABLE aircraft_feed (
  icao24 VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  registration VARCHAR,
  type_code VARCHAR,
  type_description VARCHAR,
  operator VARCHAR,
  db_flags INTEGER,
  first_seen TIMESTAMPTZ,
  last_seen TIMESTAMPTZ,
  ingest_id BIGINT,
  PRIMARY KEY (icao24, source)
)""",
        "CREATE SCHEMA IF NOT EXISTS derived",
    ]


# version -> statements that bring a store from version-1 to version. Append, never edit.
MIGRATIONS: dict[int, list[str]] = {}


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    # Times are UTC everywhere; day boundaries (coverage, export partitions) are UTC days.
    con.execute("SET TimeZone = 'UTC'").fetchall()
    # DuckDB's own progress bar would write into the CLI's output (and its --json).
    con.execute("SET enable_progress_bar = false").fetchall()
    # preserve_insertion_order stays at its default (true) on the connection: with false,
    # DuckDB 2.0 returned ORDER BY results out of order through execute().to_arrow_table().
    # ingest switches it off only around its own INSERTs.


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The store's schema version, or None for a file without isrwatch tables."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'meta'"
    ).fetchall()[0][0]
    if not has_meta:
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(row[0][0]) if row else None


def _create_or_migrate(con: duckdb.DuckDBPyConnection) -> None:
    version = schema_version(con)
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"the store was written by a newer isrwatch (schema {version}, this one knows {SCHEMA_VERSION})"
        )
    if version == SCHEMA_VERSION:
        return
    con.begin()
    try:
        if version is None:
            for stmt in _ddl_v1():
                con.execute(stmt).fetchall()
            version = 1
        while version < SCHEMA_VERSION:
            version += 1
            for stmt in MIGRATIONS[version]:
                con.execute(stmt).fetchall()
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        ).fetchall()
        con.commit()
    except BaseException:
        con.rollback()
        raise


def open_store(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and create or migrate, unless read_only) the store at ``path``.

    ``path`` defaults to paths.default_db() ($ISRWATCH_DB, else the user data dir); ":memory:"
    gives a throw-away store. A read-only open of a missing file, of a file locked by another
    writing process, or of a store from a newer isrwatch raises StoreError with a clear message.
    The connection's TimeZone is UTC.
    """
    target = ":memory:" if path == ":memory:" else Path(path) if path is not None else paths.default_db()
    if target != ":memory:":
        if read_only and not target.exists():
            raise StoreError(f"no store at {target} (run `isrwatch ingest` first)")
        if target.is_dir():
            raise StoreError(f"{target} is a directory, not a store file")
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(target), read_only=read_only)
    except duckdb.IOException as exc:
        raise StoreError(f"cannot open the store {target}: {str(exc).splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the store {target}: {str(exc).splitlines()[0]}") from exc
    try:
        _configure(con)
        if read_only:
            version = schema_version(con)
            if version is None:
                raise StoreError(f"{target} is not an isrwatch store (no schema_version)")
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"the store {target} has schema {version}; this isrwatch uses {SCHEMA_VERSION}"
                    " (open it once for writing to migrate)"
                    if version < SCHEMA_VERSION
                    else f"the store {target} was written by a newer isrwatch (schema {version})"
                )
        else:
            _create_or_migrate(con)
    except BaseException:
        con.close()
        raise
    return con
