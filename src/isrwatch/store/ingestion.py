"""Ingest: files of position reports into the store, counted, deduplicated, one transaction each.

Every row a reader reads ends up in exactly one of three counts, per file and in total:

    rows_read == rows_stored + rows_rejected + rows_duplicate

- rows_rejected: the reader's rejects (by reason), plus rows the store refuses itself
  (``missing_key``: null or NaN icao24/time/lat/lon) and rows a reader read but did not
  account for (``reader_unaccounted``, which would be a reader bug — counted, not hidden).
- rows_duplicate: rows whose key (icao24, time, lat, lon) is already in the store, or
  appeared earlier in the same file. The first occurrence in the file wins.

Re-ingesting a file: when a file with the same sha256 was already ingested completely
(status ``completed``), ingest() does not read it again. It reports
``skipped_already_ingested=True`` with the counts a re-read would give — rows_read and
rows_rejected (and reasons) as the first time, every other row a duplicate, rows_stored 0 —
so the invariant holds, and logs the attempt with status ``skipped``. ``force=True`` reads the
file anyway (rows are then deduplicated against the store, with the same outcome).

How rows are written: the reader runs in a thread, up to one chunk (CHUNK_ROWS) ahead, while
the previous chunk is written. A chunk is cleared of keyless rows and of repeats within itself,
then of rows already stored (looked up only in the chunk's time span and icao24 range). A chunk
with at least PART_MIN_ROWS rows of a UTC day becomes a Parquet part of that day (db.py, "Why
Parquet parts"), anything smaller goes to the table ``observation_rows``.

Atomicity: all of a file's inserts (observations, aircraft facts, rejects, log row, the parts'
manifest rows) run in one transaction, and parts are fsynced before it commits; an exception,
or the process being killed, leaves the store as it was (parts written meanwhile are deleted on
rollback, or, after a kill, by the next writable open_store()).
The one exception by design is damage in the file (a ReaderError such as a truncated gzip,
or an OSError mid-read): the rows read before the damage are kept and committed, the ingest
is logged with status ``error`` and the message, and the damage is recorded as a reject
reason with n_rows = 0 — the rows after the damage were never read, so their number is
unknown and they are not in rows_read either.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time as _time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from isrwatch import schema
from isrwatch.store.db import IN_FLIGHT, KEY, OBS_COLUMNS, parts_dir, refresh_view, registered, sql_str

# Reader batches are buffered up to this many rows per write: each write has a fixed cost, and
# each chunk looks its repeats up among the rows stored in its span, so for a file sorted by
# aircraft (whose chunks all span the whole file's time) smaller chunks cost more (measured:
# 10 M rows sorted by icao24 took 2x as long with 500k-row chunks).
CHUNK_ROWS = 2_000_000
# Detail samples kept per reject reason and ingest.
SAMPLES = 5
# A write of at least this many rows of one UTC day becomes a Parquet part (db.py: "Why Parquet
# parts"); smaller ones go to the table, so frequent small files do not leave thousands of tiny
# parts.
PART_MIN_ROWS = 100_000
# Parts: zstd level 1 (less than half the size of DuckDB's table, ~1.7 CPU-s per 10 M rows;
# level 3 costs ~45 % more CPU for ~15 % less disk), row groups small enough for time filters
# to skip most of a part.
PART_COMPRESSION_LEVEL = 1
PART_ROW_GROUP = 131_072

_OBS_SCHEMA = pl.Schema(schema.OBSERVATIONS)
_AIRCRAFT_FIELDS = ["registration", "type_code", "type_description", "operator", "db_flags"]
# a chunk's row b has the key of a stored row o
_SAME_KEY = " AND ".join(f"b.{k} = o.{k}" for k in KEY)

Progress = Callable[[int], None]


@dataclass
class IngestResult:
    """What one ingest did. to_dict() gives the stable JSON keys."""

    path: str
    format: str | None = None
    feed: str | None = None
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # "reason: message", or None
    sha256: str | None = None
    skipped_already_ingested: bool = False
    ingest_id: int | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "feed": self.feed,
            "rows_read": self.rows_read,
            "rows_stored": self.rows_stored,
            "rows_rejected": self.rows_rejected,
            "rows_duplicate": self.rows_duplicate,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "error": self.error,
            "sha256": self.sha256,
            "skipped_already_ingested": self.skipped_already_ingested,
            "ingest_id": self.ingest_id,
            "seconds": round(self.seconds, 3),
        }


class StoreReadError(Exception):
    """Input the store's own readers (import_parquet) cannot use; .reason is the reject reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def _damage_reason(exc: BaseException) -> str | None:
    """The reject reason for damage met mid-file, or None for an error that must roll back."""
    from isrwatch.sources import ReaderError  # on first use: store queries need no readers

    if isinstance(exc, StoreReadError):
        return exc.reason
    if isinstance(exc, ReaderError):
        return str(exc.reason or "reader_error")
    if isinstance(exc, (OSError, EOFError)):
        return "unreadable"
    return None


def _message(exc: BaseException) -> str:
    """One line of an exception's message, without the reason a ReaderError repeats."""
    text = getattr(exc, "message", None) or str(exc)
    return _first_line(text) or type(exc).__name__


def _parts(path: Path) -> list[Path]:
    """The files a path stands for: every part of a split archive (x.tar.aa, x.tar.ab, ...)."""
    from isrwatch.sources.io import split_parts

    return split_parts(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for part in _parts(path):
        with open(part, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)  # releases the GIL: runs beside the reader
    return digest.hexdigest()


class _Hasher(threading.Thread):
    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True, name="isrwatch-sha256")
        self.path = path
        self.value: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = _sha256(self.path)
        except BaseException as exc:  # reported in the result, not lost
            self.error = exc


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _by_day(df: pl.DataFrame) -> Iterator[tuple[Any, pl.DataFrame]]:
    """(UTC day, rows of that day); slices when the rows are in time order, no copy for one day."""
    if not df.height:
        return
    t = df.get_column("time")
    lo, hi = t.min(), t.max()
    if lo.date() == hi.date():  # type: ignore[union-attr]
        yield lo.date(), df  # type: ignore[union-attr]
        return
    if t.is_sorted():
        days = t.dt.date()
        starts = np.flatnonzero(np.r_[True, (days != days.shift(1)).fill_null(True).to_numpy()[1:]])
        ends = np.r_[starts[1:], df.height]
        for a, b in zip(starts, ends):
            yield days[int(a)], df.slice(int(a), int(b - a))
        return
    for (day,), part in df.with_columns(_day=t.dt.date()).partition_by("_day", as_dict=True).items():
        yield day, part.drop("_day")


class _Parts:
    """The Parquet parts of one ingest: each file written and fsynced, then its manifest row
    inserted in the ingest's transaction. Until that commits, the files are nobody's."""

    def __init__(self, con: duckdb.DuckDBPyConnection, root: Path, ingest_id: int) -> None:
        self.con = con
        self.root = root
        self.ingest_id = ingest_id
        self.files: list[Path] = []
        self.dirs: set[Path] = set()

    def write(self, day: Any, rows: pl.DataFrame) -> None:
        """One day's rows as one part, listed in the manifest (inside the open transaction)."""
        rel = f"day={day.isoformat()}/part-{self.ingest_id:08d}-{uuid.uuid4().hex[:16]}.parquet"
        path = self.root / rel
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
        self.dirs.add(path.parent)
        IN_FLIGHT.add(str(path))
        self.files.append(path)
        rows.with_columns(ingest_id=pl.lit(self.ingest_id, dtype=pl.Int64)).write_parquet(
            path,
            compression="zstd",
            compression_level=PART_COMPRESSION_LEVEL,
            statistics=True,
            row_group_size=PART_ROW_GROUP,
        )
        _fsync(path)
        t, a = rows.get_column("time"), rows.get_column("icao24")
        self.con.execute(
            "INSERT INTO observation_parts VALUES (nextval('part_id_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self.ingest_id, rel, day, rows.height, t.min(), t.max(), a.min(), a.max(), path.stat().st_size],
        ).fetchall()

    def sync(self) -> None:
        """Make the new files' directory entries durable before the manifest commits."""
        for d in {*self.dirs, *(d.parent for d in self.dirs), self.root.parent}:
            try:
                _fsync(d)
            except OSError:  # some filesystems refuse fsync on a directory
                pass

    def release(self) -> None:
        for f in self.files:
            IN_FLIGHT.discard(str(f))

    def discard(self) -> None:
        """After a rollback: the files belong to no committed manifest row."""
        for f in self.files:
            f.unlink(missing_ok=True)
        self.release()


class _Writer:
    """Accumulates one file's batches and writes them inside the caller's transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ingest_id: int, feed_hint: str,
                 parts: _Parts | None = None) -> None:
        self.con = con
        self.ingest_id = ingest_id
        self.feed_hint = feed_hint
        self.parts = parts
        self.rows_read = 0
        self.rows_stored = 0
        self.rows_duplicate = 0
        self.rejects: dict[tuple[str, str], list] = {}  # (feed, reason) -> [n_rows, samples]
        self.feeds: set[str] = set()
        self._buffer: list[pl.DataFrame] = []
        self._buffered = 0
        self._aircraft: list[pl.DataFrame] = []
        self._aircraft_rows = 0

    # --- counting -------------------------------------------------------------------------
    def reject(self, reason: str, n_rows: int, detail: str | None, feed: str | None = None) -> None:
        entry = self.rejects.setdefault((feed or self.feed_hint, reason), [0, []])
        entry[0] += int(n_rows)
        if detail is not None and len(entry[1]) < SAMPLES:
            entry[1].append(detail)

    @property
    def rows_rejected(self) -> int:
        return sum(n for n, _ in self.rejects.values())

    def rejected_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, reason), (n, _) in self.rejects.items():
            out[reason] = out.get(reason, 0) + n
        return out

    # --- batches --------------------------------------------------------------------------
    def add(self, batch: Any) -> None:
        obs: pl.DataFrame = batch.observations
        rej: pl.DataFrame = batch.rejects
        aircraft: pl.DataFrame = batch.aircraft
        if obs.schema != _OBS_SCHEMA:
            obs = schema.conform(obs, schema.OBSERVATIONS)
        n_rej = 0
        if rej.height:
            n_rej = int(rej["n_rows"].sum() or 0)
            grouped = (
                rej.with_columns(pl.col("feed").fill_null(self.feed_hint))
                .group_by("feed", "reason")
                .agg(pl.col("n_rows").sum(), pl.col("detail").drop_nulls().head(SAMPLES))
            )
            for feed, reason, n, details in grouped.iter_rows():
                entry = self.rejects.setdefault((feed, str(reason)), [0, []])
                entry[0] += int(n or 0)
                entry[1].extend(details[: SAMPLES - len(entry[1])])
        accounted = obs.height + n_rej
        declared = int(batch.rows_read)
        if declared > accounted:
            self.reject(
                "reader_unaccounted",
                declared - accounted,
                f"the reader read {declared} rows but returned {accounted} (observations + rejects)",
            )
        self.rows_read += max(declared, accounted)
        if aircraft is not None and aircraft.height:
            self._add_aircraft(aircraft, obs)
        if obs.height:
            self._buffer.append(obs)
            self._buffered += obs.height
            if self._buffered >= CHUNK_ROWS:
                self.flush()

    def flush(self) -> None:
        """Write the buffered observations: refuse keyless rows, drop duplicates, insert."""
        if not self._buffer:
            return
        df = pl.concat(self._buffer, how="vertical", rechunk=False) if len(self._buffer) > 1 else self._buffer[0]
        self._buffer, self._buffered = [], 0

        bad = pl.any_horizontal([pl.col(c).is_null() for c in KEY]) | pl.col("lat").is_nan() | pl.col("lon").is_nan()
        n_bad = df.select(bad.sum()).item()
        if n_bad:
            self.reject("missing_key", n_bad, "null or NaN in icao24, time, lat or lon")
            df = df.filter(~bad)
        if not df.height:
            return
        self.feeds.update(df["feed"].drop_nulls().unique().to_list())

        n_in = df.height
        df = _drop_repeats(df)
        self.rows_duplicate += n_in - df.height

        span = {
            "tmin": df["time"].min(),
            "tmax": df["time"].max(),
            "amin": df["icao24"].min(),
            "amax": df["icao24"].max(),
        }
        stored = self._stored_in_span(span)
        if self.parts is not None and df.height >= PART_MIN_ROWS:
            if stored is not None:
                # Only the row numbers of repeats come back; the rows stay in Polars.
                with registered(self.con, "_isrwatch_chunk", df.select(KEY).with_row_index("_rid")):
                    repeats = self.con.execute(
                        f"SELECT b._rid FROM _isrwatch_chunk b SEMI JOIN ({stored}) o ON {_SAME_KEY}", span
                    ).fetchnumpy()["_rid"]
                if len(repeats):
                    keep = np.ones(df.height, dtype=bool)
                    keep[np.asarray(repeats, dtype=np.int64)] = False
                    self.rows_duplicate += len(repeats)
                    df = df.filter(pl.Series(keep))
            # a day's sliver (a chunk that just crosses midnight) goes to the table, not a tiny part
            slivers = []
            for day, rows in _by_day(df):
                if rows.height >= PART_MIN_ROWS:
                    self.parts.write(day, rows)
                else:
                    slivers.append(rows)
            if slivers:
                self._insert(pl.concat(slivers) if len(slivers) > 1 else slivers[0], None, span)
            # this connection's view shows the parts at once; a rollback restores the old view
            refresh_view(self.con)
            self.rows_stored += df.height
            return
        inserted = self._insert(df, stored, span)
        self.rows_stored += inserted
        self.rows_duplicate += df.height - inserted

    def _insert(self, df: pl.DataFrame, stored: str | None, span: dict[str, Any]) -> int:
        """Insert into the table the rows not among the stored keys; the number inserted."""
        cols = ", ".join(OBS_COLUMNS)
        select = f"SELECT {', '.join('b.' + c for c in OBS_COLUMNS)}, $id FROM _isrwatch_chunk b"
        params: dict[str, Any] = {"id": self.ingest_id}
        if stored is not None:
            # The store side is cut to the chunk's time span first, so the cost of the join
            # follows the chunk, not the size of the store.
            select += f" ANTI JOIN ({stored}) o ON {_SAME_KEY}"
            params.update(span)
        with registered(self.con, "_isrwatch_chunk", df):
            inserted = self.con.execute(
                f"INSERT INTO observation_rows ({cols}, ingest_id) {select}", params
            ).fetchall()[0][0]
        return int(inserted)

    def _stored_in_span(self, span: dict[str, Any]) -> str | None:
        """SQL for the stored keys in the chunk's span, or None when nothing is stored there.

        A repeat has the same time and icao24, so it can only lie in the chunk's time span and
        icao24 range. The table's zone maps and the parts' manifest answer "anything stored
        there?" without reading rows; when nothing is (a new day, a time-sorted file's next
        chunk, an aircraft-sorted file's next aircraft) the join is skipped, and otherwise the
        Parquet footers' statistics skip the row groups outside the span. Parts of this ingest
        written so far count: repeats across chunks of one file are duplicates too.
        """
        where = "time BETWEEN $tmin AND $tmax AND icao24 BETWEEN $amin AND $amax"
        selects = []
        if self.con.execute(f"SELECT 1 FROM observation_rows WHERE {where} LIMIT 1", span).fetchall():
            selects.append(f"SELECT {', '.join(KEY)} FROM observation_rows WHERE {where}")
        paths = self.con.execute(
            """SELECT path FROM observation_parts
            WHERE tmin <= $tmax AND tmax >= $tmin AND icao24_min <= $amax AND icao24_max >= $amin
            ORDER BY part_id""",
            span,
        ).fetchall()
        if paths:
            root = parts_dir(self.con)
            assert root is not None
            listing = ", ".join(sql_str(str(root / p)) for (p,) in paths)
            selects.append(
                f"SELECT icao24, CAST(time AS TIMESTAMPTZ) AS time, lat, lon FROM read_parquet([{listing}])"
                f" WHERE {where}"
            )
        return " UNION ALL ".join(selects) if selects else None

    # --- aircraft facts -------------------------------------------------------------------
    def _add_aircraft(self, aircraft: pl.DataFrame, obs: pl.DataFrame) -> None:
        facts = schema.conform(aircraft, schema.FEED_AIRCRAFT).filter(pl.col("icao24").is_not_null())
        facts = facts.with_columns(pl.col("source").fill_null(self.feed_hint))
        seen = (
            obs.lazy()
            .join(facts.lazy().select("icao24").unique(), on="icao24", how="semi")
            .group_by("icao24")
            .agg(first_seen=pl.col("time").min(), last_seen=pl.col("time").max())
            .collect()
        )
        facts = facts.join(seen, on="icao24", how="left")
        self._aircraft.append(facts)
        self._aircraft_rows += facts.height
        if self._aircraft_rows > 200_000:  # keep memory bounded on long snapshot logs
            self._aircraft = [_reduce_aircraft(pl.concat(self._aircraft))]
            self._aircraft_rows = self._aircraft[0].height

    def write_aircraft(self) -> None:
        if not self._aircraft:
            return
        facts = _reduce_aircraft(pl.concat(self._aircraft))
        self._aircraft = []
        # Latest wins per field: facts seen later replace earlier ones, but a missing (null)
        # value never erases a known one.
        newer = "(aircraft_feed.last_seen IS NULL OR EXCLUDED.last_seen >= aircraft_feed.last_seen)"
        sets = [
            f"{f} = CASE WHEN {newer} THEN coalesce(EXCLUDED.{f}, aircraft_feed.{f})"
            f" ELSE coalesce(aircraft_feed.{f}, EXCLUDED.{f}) END"
            for f in _AIRCRAFT_FIELDS
        ]
        sets += [
            "first_seen = least(aircraft_feed.first_seen, EXCLUDED.first_seen)",
            "last_seen = greatest(aircraft_feed.last_seen, EXCLUDED.last_seen)",
            f"ingest_id = CASE WHEN {newer} THEN EXCLUDED.ingest_id ELSE aircraft_feed.ingest_id END",
        ]
        with registered(self.con, "_isrwatch_aircraft", facts):
            self.con.execute(
                f"""INSERT INTO aircraft_feed
                (icao24, source, {', '.join(_AIRCRAFT_FIELDS)}, first_seen, last_seen, ingest_id)
                SELECT icao24, source, {', '.join(_AIRCRAFT_FIELDS)}, first_seen, last_seen, $id
                FROM _isrwatch_aircraft
                ON CONFLICT (icao24, source) DO UPDATE SET {', '.join(sets)}""",
                {"id": self.ingest_id},
            ).fetchall()

    def write_rejects(self) -> None:
        if not self.rejects:
            return
        table = pl.DataFrame(
            {
                "ingest_id": [self.ingest_id] * len(self.rejects),
                "feed": [feed for feed, _ in self.rejects],
                "reason": [reason for _, reason in self.rejects],
                "n_rows": [n for n, _ in self.rejects.values()],
                "samples": [samples for _, samples in self.rejects.values()],
            },
            schema={
                "ingest_id": pl.Int64,
                "feed": pl.String,
                "reason": pl.String,
                "n_rows": pl.Int64,
                "samples": pl.List(pl.String),
            },
        )
        with registered(self.con, "_isrwatch_rejects", table):
            self.con.execute(
                "INSERT INTO rejects (ingest_id, feed, reason, n_rows, samples)"
                " SELECT ingest_id, feed, reason, n_rows, samples FROM _isrwatch_rejects"
            ).fetchall()


def _prefetch(batches: Iterable[Any], max_rows: int) -> Iterator[Any]:
    """The batches, read ahead in a thread while the store writes: as many as hold up to
    max_rows rows (always at least one batch).

    Parsing (Polars, orjson) and the store's writes (Polars' Parquet writer, DuckDB) release the
    GIL, so on two cores the reader and the writer overlap. With max_rows one chunk, the reader
    goes on reading the next chunk while the previous one is written, instead of stalling after
    a batch or two. Exceptions from the reader are re-raised here, in order, after the batches
    read before them; when the consumer stops early the reader is closed.
    """
    slots: queue.Queue = queue.Queue()
    stop = threading.Event()
    room = threading.Condition()
    ahead = [0, 0]  # items and rows queued, not yet taken

    def put(kind: str, value: Any) -> bool:
        rows = int(getattr(value, "rows_read", 0) or 0) if kind == "batch" else 0
        with room:
            while not stop.is_set() and ahead[0] and ahead[1] + rows > max_rows:
                room.wait(0.1)
            if stop.is_set():
                return False
            ahead[0] += 1
            ahead[1] += rows
        slots.put((kind, value, rows))
        return True

    def produce() -> None:
        it = iter(batches)
        try:
            for b in it:
                if not put("batch", b):
                    return
            put("done", None)
        except BaseException as exc:  # handed to the consumer, which decides
            put("error", exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="isrwatch-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, value, rows = slots.get()
            with room:
                ahead[0] -= 1
                ahead[1] -= rows
                room.notify_all()
            if kind == "batch":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        with room:
            room.notify_all()  # a reader waiting for room gives up
        worker.join()


def _drop_repeats(df: pl.DataFrame) -> pl.DataFrame:
    """Keep the first row of each key (icao24, time, lat, lon) within the chunk.

    A 64-bit hash finds candidate repeats cheaply (NumPy's sort of the hashes, 6 ms per
    million rows, says whether there are any; only then are they located with an argsort);
    only rows whose hash repeats are compared exactly, so a hash collision can never drop a
    distinct row.
    """
    h = df.select(pl.struct(KEY).hash()).to_series().to_numpy()
    s = np.sort(h)
    if not (s[1:] == s[:-1]).any():
        return df
    order = np.argsort(h)
    s = h[order]
    same = s[1:] == s[:-1]
    grouped = np.zeros(len(s), dtype=bool)
    grouped[1:] |= same
    grouped[:-1] |= same
    candidates = np.sort(order[grouped])
    first = df.select(KEY)[candidates].select(pl.struct(KEY).is_first_distinct()).to_series().to_numpy()
    keep = np.ones(df.height, dtype=bool)
    keep[candidates[~first]] = False
    return df.filter(pl.Series(keep))


def _reduce_aircraft(facts: pl.DataFrame) -> pl.DataFrame:
    """One row per (icao24, source): the latest non-null value of each fact."""
    return (
        facts.sort("last_seen", nulls_last=False, maintain_order=True)
        .group_by("icao24", "source")
        .agg(
            *[pl.col(f).drop_nulls().last() for f in _AIRCRAFT_FIELDS],
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
        )
    )


def _log(con: duckdb.DuckDBPyConnection, result: IngestResult, *, size: int | None, started: datetime,
         status: str) -> None:
    con.execute(
        """INSERT INTO ingest_log (ingest_id, path, sha256, size_bytes, format, feed, started, finished,
        status, rows_read, rows_stored, rows_rejected, rows_duplicate, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.ingest_id, result.path, result.sha256, size, result.format, result.feed, started,
            _now(), status, result.rows_read, result.rows_stored, result.rows_rejected,
            result.rows_duplicate, result.error,
        ],
    ).fetchall()


def _next_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT nextval('ingest_id_seq')").fetchall()[0][0])


def ingest_batches(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[Any],
    *,
    path: str | os.PathLike,
    fmt: str | None = None,
    feed: str | None = None,
    sha256: str | Callable[[], str | None] | None = None,
    size_bytes: int | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Store an iterable of reader Batch objects as one ingest, in one transaction.

    ``batches`` yields objects with observations / rejects / aircraft DataFrames and rows_read
    (isrwatch.sources.Batch). A ReaderError (or OSError) raised by the iterable keeps what came
    before it (see the module docstring); any other exception rolls the whole file back and
    propagates. ``sha256`` may be a callable, resolved once the batches are consumed.
    ``progress(rows_read_so_far)`` is called after each batch.
    """
    started = _now()
    t0 = _time.perf_counter()
    result = IngestResult(path=str(path), format=fmt, feed=feed)
    order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    # Unordered inserts run in parallel; the setting is put back before returning.
    con.execute("SET preserve_insertion_order = false").fetchall()
    try:
        result = _ingest_in_transaction(con, batches, result, sha256, size_bytes, progress, started)
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}").fetchall()
    result.seconds = _time.perf_counter() - t0
    assert result.rows_read == result.rows_stored + result.rows_rejected + result.rows_duplicate
    return result


def _ingest_in_transaction(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[Any],
    result: IngestResult,
    sha256: str | Callable[[], str | None] | None,
    size_bytes: int | None,
    progress: Progress | None,
    started: datetime,
) -> IngestResult:
    con.begin()
    parts: _Parts | None = None
    try:
        result.ingest_id = _next_id(con)
        root = parts_dir(con)
        parts = _Parts(con, root, result.ingest_id) if root is not None else None
        writer = _Writer(con, result.ingest_id, result.feed or Path(result.path).name, parts)
        incoming = _prefetch(batches, max_rows=CHUNK_ROWS)
        try:
            while True:
                # Only what the reader raises can be damage in the file; an error while
                # writing is the store's and rolls the file back.
                try:
                    batch = next(incoming)
                except StopIteration:
                    break
                except Exception as exc:
                    reason = _damage_reason(exc)
                    if reason is None:
                        raise
                    message = _message(exc)
                    result.error = f"{reason}: {message}"
                    writer.reject(reason, 0, f"after {writer.rows_read} rows: {message}")
                    break
                writer.add(batch)
                if progress is not None:
                    progress(writer.rows_read)
        finally:
            incoming.close()
        writer.flush()
        writer.write_aircraft()
        writer.write_rejects()
        result.rows_read = writer.rows_read
        result.rows_stored = writer.rows_stored
        result.rows_duplicate = writer.rows_duplicate
        result.rows_rejected = writer.rows_rejected
        result.rejected_by_reason = writer.rejected_by_reason()
        if result.feed is None and writer.feeds:
            result.feed = ",".join(sorted(writer.feeds))
        result.sha256 = sha256() if callable(sha256) else sha256
        _log(con, result, size=size_bytes, started=started, status="error" if result.error else "completed")
        if parts is not None:
            parts.sync()
        con.commit()
    except BaseException:
        con.rollback()
        if parts is not None:
            parts.discard()
        raise
    if parts is not None:
        parts.release()
    return result


def _previous(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple | None:
    rows = con.execute(
        """SELECT ingest_id, rows_read, rows_stored, rows_rejected, rows_duplicate, feed
        FROM ingest_log WHERE sha256 = ? AND status = 'completed' ORDER BY ingest_id DESC LIMIT 1""",
        [sha256],
    ).fetchall()
    return rows[0] if rows else None


def _log_only(con: duckdb.DuckDBPyConnection, result: IngestResult, *, size: int | None, started: datetime,
              status: str) -> IngestResult:
    con.begin()
    try:
        result.ingest_id = _next_id(con)
        if result.error:
            reason = result.error.split(":", 1)[0]
            con.execute(
                "INSERT INTO rejects VALUES (?, ?, ?, 0, ?)",
                [result.ingest_id, result.feed or Path(result.path).name, reason, [result.error]],
            ).fetchall()
        _log(con, result, size=size, started=started, status=status)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return result


def ingest(
    con: duckdb.DuckDBPyConnection,
    path: str | os.PathLike,
    *,
    fmt: str | None = None,
    feed: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
    batch_rows: int = 250_000,
) -> IngestResult:
    """Read one file with isrwatch.sources and store it (see the module docstring).

    Returns the counts; never raises for bad input: an unreadable or unrecognised file, or
    damage mid-file, comes back with ``error`` set ("reason: message") and is logged.
    A file already ingested completely (same sha256) is skipped unless ``force``.
    """
    from isrwatch.sources import detect_format, read

    return ingest_with(
        con,
        path,
        detect=detect_format,
        reader=lambda p, f: read(p, fmt=f, feed=feed, batch_rows=batch_rows),
        fmt=fmt,
        feed=feed,
        progress=progress,
        force=force,
    )


def ingest_with(
    con: duckdb.DuckDBPyConnection,
    path: str | os.PathLike,
    *,
    detect: Callable[[Path], str | None],
    reader: Callable[[Path, str | None], Iterable[Any]],
    fmt: str | None = None,
    feed: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> IngestResult:
    """ingest() with the format detector and the reader passed in (import_parquet, tests)."""
    path = Path(path)
    started = _now()
    t0 = _time.perf_counter()
    result = IngestResult(path=str(path), format=fmt, feed=feed)
    try:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a directory")
        size = sum(p.stat().st_size for p in _parts(path))
    except OSError as exc:
        result.error = f"unreadable: {_message(exc)}"
        return _log_only(con, result, size=None, started=started, status="error")

    if result.format is None:
        try:
            result.format = detect(path)
        except Exception as exc:
            reason = _damage_reason(exc)
            if reason is None:
                raise
            result.error = f"{reason}: {_message(exc)}"
        if result.error is None and not result.format:
            result.error = "unknown_format: the file's format could not be recognised (use --format)"
        if result.error:
            return _log_only(con, result, size=size, started=started, status="error")

    # A repeat can only match a completed ingest of the same size: hash first only then,
    # otherwise hash beside the read.
    hasher: _Hasher | None = None
    same_size = 0
    if not force:
        same_size = con.execute(
            "SELECT count(*) FROM ingest_log WHERE status = 'completed' AND size_bytes = ?", [size]
        ).fetchall()[0][0]
    if same_size:
        try:
            result.sha256 = _sha256(path)
        except OSError as exc:
            result.error = f"unreadable: {_message(exc)}"
            return _log_only(con, result, size=size, started=started, status="error")
        prior = _previous(con, result.sha256)
        if prior is not None:
            prior_id, rows_read, rows_stored, rows_rejected, rows_duplicate, prior_feed = prior
            result.feed = result.feed or prior_feed
            reasons = con.execute(
                "SELECT reason, sum(n_rows)::BIGINT FROM rejects WHERE ingest_id = ? GROUP BY reason",
                [prior_id],
            ).fetchall()
            result.rows_read = rows_read
            result.rows_rejected = rows_rejected
            result.rows_duplicate = rows_stored + rows_duplicate
            result.rejected_by_reason = {r: int(n) for r, n in reasons}
            result.skipped_already_ingested = True
            if progress is not None:
                progress(rows_read)
            _log_only(con, result, size=size, started=started, status="skipped")
            result.seconds = _time.perf_counter() - t0
            return result
    else:
        hasher = _Hasher(path)
        hasher.start()

    def sha() -> str | None:
        if hasher is None:
            return result.sha256
        hasher.join()
        return hasher.value

    def batches() -> Iterable[Any]:
        # A generator, so an error raised when the reader opens the file is met inside the
        # transaction like damage met later.
        yield from reader(path, result.format)

    out = ingest_batches(
        con, batches(), path=path, fmt=result.format, feed=feed, sha256=sha, size_bytes=size, progress=progress
    )
    out.seconds = _time.perf_counter() - t0
    return out
