"""The DuckDB store file: opening it, its tables, and the schema version.

One DuckDB file holds everything (no server), plus — for bulk ingests — day-partitioned
Parquet parts the store owns in a directory next to it (``<store>.parts/``). Tables:

- ``observations`` — a TEMP view each connection gets from open_store(): the OBSERVATIONS
  columns (schema.py) plus ``ingest_id`` (which ingest stored the row: provenance, and a
  handle to remove a file later), over ``observation_rows`` UNION ALL the Parquet parts.
  ``time`` is TIMESTAMPTZ (UTC), ``pos_source`` a DuckDB ENUM with the Polars Enum's values.
- ``observation_rows`` — rows of small ingests (fewer than ingestion.PART_MIN_ROWS per write),
  the same columns as the view.
- ``observation_parts`` — the manifest of Parquet parts: relative path (``day=YYYY-MM-DD/
  part-<ingest_id>-<uuid>.parquet``), ingest_id, day, rows, time span, icao24 range, bytes.
  A part is part of the store exactly when its manifest row is committed (see "Why Parquet
  parts" below).
- ``aircraft_feed`` — FEED_AIRCRAFT facts per (icao24, source) with ``first_seen`` /
  ``last_seen`` (times of that aircraft's observations in the files that carried the facts).
- ``ingest_log`` — one row per ingest attempt of a file: path, sha256, size, format, feed,
  started/finished, status (``completed``, ``error``, ``skipped``), counts, error.
- ``rejects`` — per ingest, counted reasons with up to five detail samples each.
- ``meta`` — key/value; ``schema_version`` lets later versions migrate an older file.
- schema ``derived`` — tables saved by later stages (save_table / load_table).

Why Parquet parts. Ingest speed is bounded by what storing a row costs. Measured by
benchmarks/bench_store.py on the 2-core machine for 10 M OpenSky-like observations, in CPU
seconds (the figure that holds however busy the machine is): DuckDB's INSERT into a table costs
~5 CPU-s (282 MB), the same with checkpoint_threshold raised as much, a lighter layout (numeric
columns only, icao24 as an integer, flags packed; without the strings) still 2.2 CPU-s
(compression forced off cost more, and 772 MB); DuckDB's COPY to zstd Parquet ~5.4 CPU-s (103 MB); Polars
writes the same rows as zstd Parquet in 1.7 CPU-s (128 MB). So bulk writes go to Parquet parts
and small ones to the table (a file per small write would leave thousands of tiny files to
open). A DuckDB-native path for Parquet input (units, stale vectors, reasons, and the
position_jump neighbours as window functions over read_parquet) was measured too: those
windows alone cost 7.6 CPU-s per 10 M rows, three times the whole Polars reader (2.5), so
every input goes through the readers, whose semantics then need no second implementation.
Reads pay a little for it (bench_store's read-back columns): load_observations of 10 M rows
takes about as long as from the table; a filter on a few aircraft scans every part.

The guarantees hold because the manifest is a DuckDB table: parts are written and fsynced
before the ingest's transaction commits their manifest rows; a part whose row is not
committed (the process was killed, or the ingest rolled back) is never read and is deleted
at the next writable open_store(). The view lists the committed parts by name, so the
directory may hold such orphans without them counting anywhere. The parts directory must stay
next to the store file (moving both together is fine); opening a store whose parts are missing
raises StoreError rather than silently counting fewer observations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from isrwatch import paths, schema

SCHEMA_VERSION = 2

OBS_COLUMNS = list(schema.OBSERVATIONS)
# Where a store keeps its Parquet parts: next to the file, "<store file name>.parts".
PARTS_SUFFIX = ".parts"
# Paths of parts written by open transactions in this process: never orphans, even for a
# second connection opened meanwhile.
IN_FLIGHT: set[str] = set()
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
MIGRATIONS: dict[int, list[str]] = {
    # 2: bulk ingests write day-partitioned Parquet parts; `observations` becomes a view.
    2: [
        "ALTER TABLE observations RENAME TO observation_rows",
        "CREATE SEQUENCE part_id_seq START 1",
        """CREATE TABLE observation_parts (
  part_id BIGINT PRIMARY KEY,
  ingest_id BIGINT NOT NULL,
  path VARCHAR NOT NULL,
  day DATE NOT NULL,
  n_rows BIGINT NOT NULL,
  tmin TIMESTAMPTZ NOT NULL,
  tmax TIMESTAMPTZ NOT NULL,
  icao24_min VARCHAR NOT NULL,
  icao24_max VARCHAR NOT NULL,
  size_bytes BIGINT NOT NULL
)""",
    ],
}


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    # Times are UTC everywhere; day boundaries (coverage, export partitions) are UTC days.
    con.execute("SET TimeZone = 'UTC'").fetchall()
    # DuckDB's own progress bar would write into the CLI's output (and its --json).
    con.execute("SET enable_progress_bar = false").fetchall()
    # Parquet parts are opened by every query on the view: keep their footers in memory.
    con.execute("SET parquet_metadata_cache = true").fetchall()
    # preserve_insertion_order stays at its default (true) on the connection: with false,
    # DuckDB 2.0 returned ORDER BY results out of order through execute().to_arrow_table().
    # ingest switches it off only around its own INSERTs.


def store_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The store's file, or None for an in-memory store."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    path = row[0][0] if row else None
    return Path(path) if path else None


def parts_dir(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The directory of the store's Parquet parts, or None for an in-memory store."""
    path = store_file(con)
    return path.with_name(path.name + PARTS_SUFFIX) if path is not None else None


def sql_str(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame) -> Iterator[None]:
    """df visible to SQL as `name` for the duration of the block."""
    con.register(name, df.to_arrow())
    try:
        yield
    finally:
        con.unregister(name)


def _view_state(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    n, last = con.execute("SELECT count(*), coalesce(max(part_id), 0) FROM observation_parts").fetchall()[0]
    return int(n), int(last)


def refresh_view(con: duckdb.DuckDBPyConnection, *, check_files: bool = False) -> None:
    """(Re)create this connection's TEMP view ``observations`` over the table and the parts.

    Inside a transaction the view changes with it (a rollback restores the previous one).
    check_files: raise StoreError when a committed part is missing on disk.
    """
    cols = ", ".join(OBS_COLUMNS + ["ingest_id"])
    sql = f"SELECT {cols} FROM main.observation_rows"
    parts = [p for (p,) in con.execute("SELECT path FROM observation_parts ORDER BY part_id").fetchall()]
    if parts:
        root = parts_dir(con)
        if root is None:
            raise StoreError("the store lists Parquet parts but has no directory for them")
        files = [root / p for p in parts]
        if check_files:
            missing = [f for f in files if not f.is_file()]
            if missing:
                raise StoreError(
                    f"{len(missing)} of the store's {len(files)} Parquet parts are missing, e.g. {missing[0]}"
                    f" (the directory {root.name} must stay next to the store file)"
                )
        casts = ", ".join(
            f"CAST({c} AS {'pos_source_t' if c == 'pos_source' else _DUCK_TYPES[c]}) AS {c}" for c in OBS_COLUMNS
        )
        listing = ", ".join(sql_str(str(f)) for f in files)
        sql += f" UNION ALL SELECT {casts}, CAST(ingest_id AS BIGINT) AS ingest_id FROM read_parquet([{listing}])"
    con.execute(f"CREATE OR REPLACE TEMP VIEW observations AS {sql}").fetchall()
    n, last = _view_state(con)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _isrwatch_view_state AS SELECT {n}::BIGINT AS n, {last}::BIGINT AS last"
    ).fetchall()


def ensure_view(con: duckdb.DuckDBPyConnection) -> None:
    """Refresh the view when another connection of this process changed the parts since."""
    try:
        seen = con.execute("SELECT n, last FROM _isrwatch_view_state").fetchall()
    except duckdb.CatalogException:
        seen = []
    if not seen or tuple(seen[0]) != _view_state(con):
        refresh_view(con)


def _clean_orphans(con: duckdb.DuckDBPyConnection) -> None:
    """Delete part files no committed manifest row names (left by a killed ingest)."""
    root = parts_dir(con)
    if root is None or not root.is_dir():
        return
    known = {p for (p,) in con.execute("SELECT path FROM observation_parts").fetchall()}
    for day in root.glob("day=*"):
        if not day.is_dir():
            continue
        for f in day.glob("part-*.parquet"):
            if f.relative_to(root).as_posix() not in known and str(f) not in IN_FLIGHT:
                f.unlink(missing_ok=True)
        if not any(day.iterdir()):
            day.rmdir()


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
    writing process, or of a store from a newer isrwatch raises StoreError with a clear message,
    as does a store whose Parquet parts are missing. A writable open deletes orphaned parts.
    The connection's TimeZone is UTC; it gets the TEMP view ``observations``.
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
            _clean_orphans(con)
        refresh_view(con, check_files=True)
    except BaseException:
        con.close()
        raise
    return con
