"""Parquet exchange (hive-partitioned by day) and derived tables saved by later stages."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow.parquet as pq

from isrwatch import schema
from isrwatch.store.db import KEY, OBS_COLUMNS, ensure_view, registered
from isrwatch.store.ingestion import IngestResult, Progress, StoreReadError, ingest_with
from isrwatch.store.query import TimeLike, _time_filter

EXPORT_FORMAT = "isrwatch-parquet"


def export_parquet(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | os.PathLike,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write observations as Parquet, hive-partitioned by UTC day: out_dir/day=YYYY-MM-DD/*.parquet.

    The files hold the schema.OBSERVATIONS columns (time as UTC timestamps, pos_source as
    strings), sorted by (icao24, time); DuckDB, Polars (hive_partitioning) and Dask read the
    directory as one table with a ``day`` column. [since, until) limits the window (UTC).
    A non-empty out_dir is refused unless overwrite=True, which first removes its day=*
    partitions (nothing else). Returns {out_dir, rows, days, files}.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty (export into a new directory, or overwrite)")
        for part in out.glob("day=*"):
            shutil.rmtree(part) if part.is_dir() else part.unlink()
    out.mkdir(parents=True, exist_ok=True)

    ensure_view(con)
    params: dict[str, Any] = {}
    where = _time_filter(since, until, params)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    n_rows = con.execute(f"SELECT count(*) FROM observations{cond}", params or None).fetchall()[0][0]
    if n_rows:
        # COPY takes no prepared parameters: the bounds are rendered as literals from datetimes.
        lits = {k: f"TIMESTAMPTZ '{v.isoformat()}'" for k, v in params.items()}
        cond_lit = cond.replace("$since", lits.get("since", "")).replace("$until", lits.get("until", ""))
        target = str(out).replace("'", "''")
        con.execute(
            f"""COPY (
                  SELECT {', '.join(OBS_COLUMNS)}, CAST(time AS DATE) AS day
                  FROM observations{cond_lit} ORDER BY icao24, time, lat, lon
                ) TO '{target}'
                (FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE true,
                 FILENAME_PATTERN 'observations_{{i}}', COMPRESSION zstd)"""
        ).fetchall()
    files = sorted(out.glob("day=*/*.parquet"))
    return {
        "out_dir": str(out),
        "rows": int(n_rows),
        "days": len({f.parent.name for f in files}),
        "files": len(files),
    }


@dataclass
class _Batch:
    observations: pl.DataFrame
    rejects: pl.DataFrame
    aircraft: pl.DataFrame
    rows_read: int


def _read_exported(path: Path, batch_rows: int = 250_000) -> Iterator[_Batch]:
    """Batches from an observations Parquet file (an isrwatch export)."""
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid for a non-Parquet file
        raise StoreReadError("not_parquet", f"{path.name}: {exc}") from exc
    missing = [c for c in KEY if c not in pf.schema_arrow.names]
    if missing:
        raise StoreReadError(
            "not_observations_parquet", f"{path.name} lacks the columns {', '.join(missing)}"
        )
    no_rejects = schema.empty(schema.REJECTS)
    no_aircraft = schema.empty(schema.FEED_AIRCRAFT)
    for rb in pf.iter_batches(batch_size=batch_rows):
        df = pl.from_arrow(rb)
        try:
            obs = schema.conform(df, schema.OBSERVATIONS)  # type: ignore[arg-type]
        except pl.exceptions.PolarsError as exc:
            raise StoreReadError("not_observations_parquet", f"{path.name}: {str(exc).splitlines()[0]}") from exc
        yield _Batch(obs, no_rejects, no_aircraft, obs.height)


def exported_files(root: str | os.PathLike) -> list[Path]:
    """The Parquet files of an export (or any directory of observations Parquet files), sorted;
    a single file is itself. FileNotFoundError when root does not exist."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{root} does not exist (expected a directory of Parquet files, e.g. from `isrwatch export`)")
    return sorted(p for p in root.rglob("*.parquet") if p.is_file())


def import_parquet(
    con: duckdb.DuckDBPyConnection,
    in_dir: str | os.PathLike,
    *,
    progress: Progress | None = None,
    force: bool = False,
) -> list[IngestResult]:
    """Read an export (or any directory of observations Parquet files) back into the store.

    Each Parquet file under in_dir is one ingest, with the same counting, deduplication,
    atomicity and same-sha256 skip as ingest(); the format is logged as "isrwatch-parquet".
    """
    files = exported_files(in_dir)
    return [
        ingest_with(
            con,
            path,
            detect=lambda p: EXPORT_FORMAT,
            reader=lambda p, fmt: _read_exported(p),
            fmt=EXPORT_FORMAT,
            progress=progress,
            force=force,
        )
        for path in files
    ]


# --- derived tables -----------------------------------------------------------------------

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ROW = "_isrwatch_row"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"table name {name!r}: use lowercase letters, digits and _ (starting with a letter)")
    return name


def list_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the derived tables saved with save_table."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'derived' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def save_table(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame) -> None:
    """Save (replace) a derived table, e.g. flights, aircraft, airspace_events; row order kept."""
    name = _check_name(name)
    # DuckDB cannot store a column of type NULL; such columns have no values to lose.
    df = df.with_columns(pl.col(c).cast(pl.String) for c, t in df.schema.items() if t == pl.Null)
    df = df.with_row_index(_ROW)
    with registered(con, "_isrwatch_save", df):
        con.execute(f'CREATE OR REPLACE TABLE derived."{name}" AS SELECT * FROM _isrwatch_save').fetchall()


def load_table(
    con: duckdb.DuckDBPyConnection, name: str, schema_: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """A derived table as saved (same row order), conformed to ``schema_`` when given.

    An absent table gives schema.empty(schema_) when a schema is given, else raises KeyError.
    """
    name = _check_name(name)
    if name not in list_tables(con):
        if schema_ is not None:
            return schema.empty(schema_)
        raise KeyError(f"no table {name!r} in the store (run the stage that makes it first)")
    table = con.sql(f'SELECT * FROM derived."{name}" ORDER BY {_ROW}').to_arrow_table()
    df = pl.from_arrow(table).drop(_ROW)  # type: ignore[union-attr]
    return schema.conform(df, schema_) if schema_ is not None else df
