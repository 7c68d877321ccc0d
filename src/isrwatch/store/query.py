"""Reading the store back: observations, feed aircraft facts, the ingest log, coverage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import duckdb
import polars as pl

from isrwatch import schema
from isrwatch.store.db import OBS_COLUMNS, ensure_view, schema_version

TimeLike = datetime | date | str


def to_utc(value: TimeLike | None) -> datetime | None:
    """A datetime in UTC: naive datetimes and ISO strings without offset are taken as UTC;
    a date means its midnight UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 date or time: {text!r}") from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    raise TypeError(f"expected a datetime, date or ISO string, got {type(value).__name__}")


def _arrow_df(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> pl.DataFrame:
    table = con.sql(sql, params=params).to_arrow_table() if params else con.sql(sql).to_arrow_table()
    return pl.from_arrow(table)  # type: ignore[return-value]


def _time_filter(since: TimeLike | None, until: TimeLike | None, params: dict[str, Any]) -> list[str]:
    where = []
    if since is not None:
        params["since"] = to_utc(since)
        where.append("time >= $since")
    if until is not None:
        params["until"] = to_utc(until)
        where.append("time < $until")
    return where


def load_observations(
    con: duckdb.DuckDBPyConnection,
    *,
    icao24: Sequence[str] | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> pl.DataFrame:
    """Observations in schema.OBSERVATIONS, sorted by (icao24, time).

    - icao24: only these aircraft (case and surrounding spaces ignored); an empty list gives
      an empty table.
    - since / until: the half-open window [since, until) in UTC (see to_utc).
    - bbox: (west, south, east, north) in degrees, as GeoJSON orders it; west > east means
      the box crosses the antimeridian.
    """
    ensure_view(con)
    params: dict[str, Any] = {}
    where = _time_filter(since, until, params)
    if icao24 is not None:
        wanted = sorted({str(a).strip().lower() for a in icao24})
        if not wanted:
            return schema.empty(schema.OBSERVATIONS)
        params["icao24"] = wanted
        where.append("list_contains($icao24, icao24)")
    if bbox is not None:
        west, south, east, north = (float(v) for v in bbox)
        if south > north:
            raise ValueError(f"bbox south {south} is north of north {north}")
        params.update(west=west, south=south, east=east, north=north)
        where.append("lat BETWEEN $south AND $north")
        where.append("(lon BETWEEN $west AND $east)" if west <= east else "(lon >= $west OR lon <= $east)")
    sql = f"SELECT {', '.join(OBS_COLUMNS)} FROM observations"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # lat/lon break ties so the order is the same on every run.
    sql += " ORDER BY icao24, time, lat, lon"
    return schema.conform(_arrow_df(con, sql, params), schema.OBSERVATIONS)


def load_feed_aircraft(con: duckdb.DuckDBPyConnection, *, with_seen: bool = False) -> pl.DataFrame:
    """Aircraft facts carried by the feeds, one row per (icao24, source), in FEED_AIRCRAFT
    (plus first_seen / last_seen, UTC, when with_seen)."""
    cols = list(schema.FEED_AIRCRAFT)
    extra = ["first_seen", "last_seen"] if with_seen else []
    df = _arrow_df(con, f"SELECT {', '.join(cols + extra)} FROM aircraft_feed ORDER BY icao24, source")
    out = schema.conform(df, schema.FEED_AIRCRAFT)
    if with_seen:
        out = out.with_columns(df.select(pl.col(extra).cast(schema.UTC_US)))
    return out


DISTINCT_AIRCRAFT: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "callsign": pl.String,  # null for the aircraft's observations without a callsign
    "n_obs": pl.Int64,
    "first_seen": schema.UTC_US,
    "last_seen": schema.UTC_US,
}


def load_distinct_aircraft(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every (icao24, callsign) pair seen in observations, with counts and first/last time
    (DISTINCT_AIRCRAFT), sorted by icao24 and first_seen."""
    ensure_view(con)
    df = _arrow_df(
        con,
        """SELECT icao24, callsign, count(*) AS n_obs, min(time) AS first_seen, max(time) AS last_seen
           FROM observations GROUP BY icao24, callsign ORDER BY icao24, first_seen, callsign NULLS FIRST""",
    )
    return schema.conform(df, DISTINCT_AIRCRAFT)


INGEST_LOG: dict[str, pl.DataType] = {
    "ingest_id": pl.Int64,
    "path": pl.String,
    "sha256": pl.String,
    "size_bytes": pl.Int64,
    "format": pl.String,
    "feed": pl.String,
    "started": schema.UTC_US,
    "finished": schema.UTC_US,
    "status": pl.String,  # completed, error (rows before the damage kept), skipped (same sha256)
    "rows_read": pl.Int64,
    "rows_stored": pl.Int64,
    "rows_rejected": pl.Int64,
    "rows_duplicate": pl.Int64,
    "error": pl.String,
}

STORED_REJECTS: dict[str, pl.DataType] = {
    "ingest_id": pl.Int64,
    "path": pl.String,
    "feed": pl.String,
    "reason": pl.String,
    "n_rows": pl.Int64,  # 0 for damage that stopped the read: the rows after it are unknown
    "samples": pl.List(pl.String),  # up to five details, verbatim from the feed: escape to render
}


def load_ingest_log(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per ingest attempt, oldest first (INGEST_LOG)."""
    df = _arrow_df(con, f"SELECT {', '.join(INGEST_LOG)} FROM ingest_log ORDER BY ingest_id")
    return schema.conform(df, INGEST_LOG)


def load_rejects(con: duckdb.DuckDBPyConnection, *, ingest_id: int | None = None) -> pl.DataFrame:
    """Counted reject reasons per ingest with the file's path (STORED_REJECTS)."""
    sql = """SELECT r.ingest_id, l.path, r.feed, r.reason, r.n_rows, r.samples
             FROM rejects r LEFT JOIN ingest_log l USING (ingest_id)"""
    params = None
    if ingest_id is not None:
        sql += " WHERE r.ingest_id = ?"
        params = [ingest_id]
    sql += " ORDER BY r.ingest_id, r.n_rows DESC, r.reason"
    return schema.conform(_arrow_df(con, sql, params), STORED_REJECTS)


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What the store holds, with stable keys:

    schema_version, n_obs, n_aircraft, first, last (ISO UTC or null), per_feed {feed: n_obs},
    per_day {YYYY-MM-DD: n_obs}, files_ingested (distinct files with a completed ingest),
    files_with_error (distinct files whose last non-skipped ingest failed), ingests (log rows),
    rows_read / rows_stored / rows_rejected / rows_duplicate (totals over ingests that read),
    rejected_by_reason {reason: n_rows}.
    """
    ensure_view(con)
    n_obs, n_aircraft, first, last = con.execute(
        "SELECT count(*), count(DISTINCT icao24), min(time), max(time) FROM observations"
    ).fetchall()[0]
    per_feed = con.execute(
        "SELECT coalesce(feed, ''), count(*) FROM observations GROUP BY ALL ORDER BY 2 DESC, 1"
    ).fetchall()
    per_day = con.execute(
        "SELECT CAST(time AS DATE) AS day, count(*) FROM observations GROUP BY day ORDER BY day"
    ).fetchall()
    log = con.execute(
        """SELECT
             count(DISTINCT coalesce(sha256, path)) FILTER (WHERE status = 'completed'),
             count(*),
             coalesce(sum(rows_read) FILTER (WHERE status <> 'skipped'), 0),
             coalesce(sum(rows_stored) FILTER (WHERE status <> 'skipped'), 0),
             coalesce(sum(rows_rejected) FILTER (WHERE status <> 'skipped'), 0),
             coalesce(sum(rows_duplicate) FILTER (WHERE status <> 'skipped'), 0)
           FROM ingest_log"""
    ).fetchall()[0]
    with_error = con.execute(
        """SELECT count(*) FROM (
             SELECT path, arg_max(status, ingest_id) AS last_status
             FROM ingest_log WHERE status <> 'skipped' GROUP BY path)
           WHERE last_status = 'error'"""
    ).fetchall()[0][0]
    reasons = con.execute(
        "SELECT reason, sum(n_rows)::BIGINT FROM rejects GROUP BY reason ORDER BY 2 DESC, 1"
    ).fetchall()
    return {
        "schema_version": schema_version(con),
        "n_obs": int(n_obs),
        "n_aircraft": int(n_aircraft),
        "first": first.isoformat() if first is not None else None,
        "last": last.isoformat() if last is not None else None,
        "per_feed": {feed: int(n) for feed, n in per_feed},
        "per_day": {day.isoformat(): int(n) for day, n in per_day},
        "files_ingested": int(log[0]),
        "files_with_error": int(with_error),
        "ingests": int(log[1]),
        "rows_read": int(log[2]),
        "rows_stored": int(log[3]),
        "rows_rejected": int(log[4]),
        "rows_duplicate": int(log[5]),
        "rejected_by_reason": {reason: int(n) for reason, n in reasons},
    }


COVERAGE = schema.COVERAGE


def coverage_by_day(
    con: duckdb.DuckDBPyConnection, *, since: TimeLike | None = None, until: TimeLike | None = None
) -> pl.DataFrame:
    """Per UTC day: how much the store saw (COVERAGE).

    Every day of the window is listed — from since's day (else the first observed day) to the
    day before until (else the last observed day); a day without any observation has n_obs 0
    and null first/last/max_gap_s, so "no coverage on day X" is a row, not an absence.
    max_gap_s is the longest silence between two consecutive observations within the day,
    whichever aircraft they belong to (null with fewer than two).
    """
    ensure_view(con)
    params: dict[str, Any] = {}
    where = _time_filter(since, until, params)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    lo_day = params["since"].date() if "since" in params else None
    hi_day = (params["until"] - timedelta(microseconds=1)).date() if "until" in params else None
    if lo_day is not None and hi_day is not None and hi_day < lo_day:
        return schema.empty(COVERAGE)
    params.update(lo_day=lo_day, hi_day=hi_day)
    sql = f"""
    WITH obs AS (
        SELECT time, icao24, CAST(time AS DATE) AS day FROM observations{cond}
    ),
    gaps AS (
        SELECT day, time - lag(time) OVER (PARTITION BY day ORDER BY time) AS gap FROM obs
    ),
    per_day AS (
        SELECT day, count(*) AS n_obs, count(DISTINCT icao24) AS n_aircraft,
               min(time) AS first, max(time) AS last
        FROM obs GROUP BY day
    ),
    max_gap AS (
        SELECT day, max(epoch(gap)) AS max_gap_s FROM gaps GROUP BY day
    ),
    days AS (
        SELECT CAST(d AS DATE) AS day
        FROM (SELECT coalesce(CAST($lo_day AS DATE), min(day)) AS lo,
                     coalesce(CAST($hi_day AS DATE), max(day)) AS hi FROM per_day) b,
             range(CAST(b.lo AS TIMESTAMP), CAST(b.hi AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY) r(d)
        WHERE b.lo IS NOT NULL AND b.hi IS NOT NULL
    )
    SELECT days.day, coalesce(p.n_obs, 0) AS n_obs, coalesce(p.n_aircraft, 0) AS n_aircraft,
           p.first, p.last, g.max_gap_s
    FROM days LEFT JOIN per_day p USING (day) LEFT JOIN max_gap g USING (day)
    ORDER BY days.day
    """
    return schema.conform(_arrow_df(con, sql, params), COVERAGE)
