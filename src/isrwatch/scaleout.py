"""The scale-out engine: the same stage functions, run on Dask over a Parquet directory.

Input is observations as Parquet -- an ``isrwatch export`` directory (``day=YYYY-MM-DD/*.parquet``,
hive-partitioned by UTC day), or any directory of Parquet files with the schema.OBSERVATIONS
columns (time, icao24, lat, lon at least). Each Dask task reads its rows with Polars, calls the
stage function the in-process engine calls (segment.assign_sorties / flights,
airspace.classify_points / airspace_events) and returns Polars tables; the client concatenates
them (or each task writes Parquet, ``write_sorties_dask``).

Partitions hold whole aircraft. Sorties and airspace entries are decided over an aircraft's
consecutive positions, and a sortie crossing midnight UTC has rows in two day partitions, so one
task per day file would cut it in two. Instead of a hash shuffle the rows are partitioned by
ranges of icao24:

1. one task per file counts rows per icao24 (only the icao24 and time columns are read); the
   counts are merged in a tree of tasks and the client cuts the sorted addresses into
   ``npartitions`` ranges of about equal rows (an aircraft is never cut: one very busy aircraft
   makes its range larger);
2. one task per range reads, from every file, the rows whose icao24 lies in [lo, hi). isrwatch
   exports are sorted by (icao24, time), so Parquet row-group statistics let Polars skip the row
   groups of other ranges: each task reads little more than its own share, and nothing is
   shuffled between workers. A day file of one row group (under 122,880 rows, DuckDB's
   default) is read whole by every task; a directory written unsorted gives the same results
   and each task then reads everything.

Why results are identical to the in-process engine: each range task sorts its rows by
(icao24, time, lat, lon) -- the store's order, nulls last as DuckDB sorts -- and calls the stage
on whole aircraft; stage functions decide per aircraft (segment) or per point (classify), and
flight_id depends only on an aircraft's own rows. Ranges are in icao24 order, so concatenating
the tasks' outputs in range order gives the rows in the same order as one call over the whole
table; airspace events are put in the stage's own order (flight_id) per region, as the pipeline
concatenates them. Rows with a null icao24 go to the last range (they sort last in the store).

Where it runs: ``client=`` a distributed.Client; else ``scheduler=``: a scheduler address
("tcp://host:8786"), "local" (a LocalCluster of worker processes started for the call), or a
dask scheduler name ("threads", "processes", "synchronous"); else $ISRWATCH_DASK_SCHEDULER (same
values); else Dask's default (a Client already made in this process, or the threaded
scheduler). On a real cluster the Parquet directory must be readable by the workers under the
same path (a shared file system). Threads of one worker share the stages' lazily built indexes
(airfields, region grids, boundary distances); those are filled under locks, so threads give
the answers one thread gives.

Not scaled out: identify (one row per distinct address against the aircraft databases; the
table is small and needs the store's feed facts, which an export does not carry).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl

from isrwatch import schema

ENV_SCHEDULER = "ISRWATCH_DASK_SCHEDULER"
# rows a range task should hold at most when npartitions is not given: about 0.3 GB of Arrow,
# plus ~0.5 GB while segmenting (benchmarks/bench_segment: +160 MB RSS for 620k points)
ROWS_PER_PARTITION = 2_000_000
# count tables merged per task when reducing the per-file counts
MERGE_FANOUT = 16
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous", "sync", "single-threaded")
OBSERVATIONS_TABLE = "observations"
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
CONNECT_TIMEOUT = "30s"  # to reach a scheduler given by address

_DAY_DIR = re.compile(r"^day=(\d{4}-\d{2}-\d{2})$")

Work = Callable[..., dict[str, pl.DataFrame]]


@dataclass(frozen=True)
class Partition:
    """Rows with lo <= icao24 < hi (None: unbounded); the last one also holds null icao24."""

    index: int
    lo: str | None
    hi: str | None
    rows: int


# --- files ---------------------------------------------------------------------------------


def _utc(value: Any) -> datetime | None:
    from isrwatch.store.query import to_utc

    return to_utc(value)


def parquet_files(parquet_dir: str | os.PathLike, *, since: Any = None, until: Any = None) -> list[Path]:
    """The Parquet files under parquet_dir (or the file itself), sorted; day=YYYY-MM-DD
    directories wholly outside [since, until) are left out.

    The day test keeps a day of slack either side, so a partition labelled by a day in another
    time zone is never wrongly skipped (rows are filtered on time exactly afterwards).
    """
    from isrwatch.store.exchange import exported_files

    root = Path(parquet_dir)
    paths = exported_files(root)
    if root.is_file():
        return paths
    lo, hi = _utc(since), _utc(until)
    files = []
    for path in paths:
        day = _file_day(path, root)
        if day is not None:
            start = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
            if lo is not None and start + timedelta(days=2) <= lo:
                continue
            if hi is not None and start - timedelta(days=1) >= hi:
                continue
        files.append(path)
    return files


def _file_day(path: Path, root: Path) -> date | None:
    for part in path.relative_to(root).parts[:-1]:
        m = _DAY_DIR.match(part)
        if m:
            try:
                return date.fromisoformat(m.group(1))
            except ValueError:
                return None
    return None


def _scan(
    path: str | Path, since: datetime | None, until: datetime | None, icao24: Sequence[str] | None = None
) -> pl.LazyFrame:
    """One file's observations as schema.OBSERVATIONS, in [since, until) (and of these aircraft
    when icao24 is given); a clear error when it is not observations Parquet (it must hold the
    store's key columns, as `isrwatch import` requires)."""
    from isrwatch.store.db import KEY

    try:
        lf = pl.scan_parquet(path, hive_partitioning=False)
        have = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from exc
    missing = [c for c in KEY if c not in have]
    if missing:
        raise ValueError(f"{path}: not observations Parquet, lacks the columns {', '.join(missing)}")
    lf = schema.conform(lf, schema.OBSERVATIONS)
    if since is not None:
        lf = lf.filter(pl.col("time") >= pl.lit(since).cast(schema.UTC_US))
    if until is not None:
        lf = lf.filter(pl.col("time") < pl.lit(until).cast(schema.UTC_US))
    if icao24 is not None:
        lf = lf.filter(pl.col("icao24").is_in(pl.lit(pl.Series(list(icao24), dtype=pl.String)).implode()))
    return lf


# --- tasks ---------------------------------------------------------------------------------


def _count_file(path: str, since: datetime | None, until: datetime | None, icao24: list[str] | None) -> pl.DataFrame:
    return _scan(path, since, until, icao24).group_by("icao24").agg(pl.len().cast(pl.Int64).alias("n")).collect()


def _merge_counts(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(parts).group_by("icao24").agg(pl.col("n").sum())


def _in_range(part: Partition) -> pl.Expr:
    cond = pl.lit(True)
    if part.lo is not None:
        cond = cond & (pl.col("icao24") >= part.lo)
    if part.hi is not None:
        cond = cond & (pl.col("icao24") < part.hi)
    # null icao24 fails every comparison: such rows belong to the last range
    return (cond | pl.col("icao24").is_null()) if part.hi is None else cond.fill_null(False)


def read_partition(
    files: Sequence[str | Path],
    part: Partition,
    *,
    since: Any = None,
    until: Any = None,
    icao24: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The observations of one range, schema.OBSERVATIONS, sorted as the store sorts them."""
    from isrwatch.store.db import KEY

    lo, hi = _utc(since), _utc(until)
    frames = [_scan(f, lo, hi, icao24).filter(_in_range(part)) for f in files]
    if not frames:
        return schema.empty(schema.OBSERVATIONS)
    # sorted eagerly once collected: measured twice as fast as a sort in the lazy query here
    return (
        pl.concat(frames, how="vertical")
        .collect()
        .sort(KEY, nulls_last=True, maintain_order=True)
    )


def _run_partition(
    files: list[str],
    part: Partition,
    since: datetime | None,
    until: datetime | None,
    icao24: list[str] | None,
    work: Work,
    kwargs: dict[str, Any],
    out_dir: str | None,
) -> dict[str, Any]:
    try:
        obs = read_partition(files, part, since=since, until=until, icao24=icao24)
    except pl.exceptions.PolarsError as exc:  # e.g. a value the schema cannot take: say where
        where = f"[{part.lo or 'first'}, {part.hi or 'last'}) of {len(files)} files under {os.path.commonpath(files)}"
        raise ValueError(f"reading icao24 range {where}: {str(exc).splitlines()[0]}") from exc
    tables = work(obs, **kwargs)
    if out_dir is None:
        return tables
    return {name: _write_part(Path(out_dir), name, part.index, df) for name, df in tables.items()}


def _write_part(out: Path, name: str, index: int, df: pl.DataFrame) -> int:
    """Write one task's table: observations by UTC day (as `isrwatch export`), others whole."""
    fname = f"part-{index:05d}.parquet"
    if df.height == 0:
        return 0
    if name == OBSERVATIONS_TABLE and "time" in df.columns:
        day = pl.col("time").dt.convert_time_zone("UTC").dt.date().cast(pl.String).fill_null(HIVE_NULL)
        for (d,), sub in df.with_columns(day.alias("_day")).partition_by("_day", as_dict=True, maintain_order=True).items():
            target = out / name / f"day={d}"
            target.mkdir(parents=True, exist_ok=True)
            sub.drop("_day").write_parquet(target / fname, compression="zstd")
    else:
        (out / name).mkdir(parents=True, exist_ok=True)
        df.write_parquet(out / name / fname, compression="zstd")
    return df.height


# --- planning ------------------------------------------------------------------------------


def plan_partitions(counts: pl.DataFrame, npartitions: int) -> list[Partition]:
    """Cut the addresses (counts: icao24, n rows) into at most npartitions ranges of about equal
    rows, in icao24 order; never inside one aircraft. No rows: no partitions."""
    if npartitions < 1:
        raise ValueError(f"npartitions must be at least 1, got {npartitions}")
    counts = counts.filter(pl.col("n") > 0)
    nulls = int(counts.filter(pl.col("icao24").is_null())["n"].sum())
    known = counts.filter(pl.col("icao24").is_not_null()).sort("icao24")
    n = known["n"].to_numpy()
    total = int(n.sum()) + nulls
    if total == 0:
        return []
    if known.height == 0:
        return [Partition(0, None, None, nulls)]
    import numpy as np

    start = np.cumsum(n) - n  # rows before each aircraft
    targets = total * np.arange(1, npartitions) / npartitions
    cuts = np.unique(np.searchsorted(start, targets, side="left"))
    cuts = cuts[(cuts > 0) & (cuts < known.height)]
    ids = known["icao24"].to_list()
    edges = [0, *cuts.tolist(), known.height]
    parts = []
    for k, (a, b) in enumerate(zip(edges, edges[1:])):
        rows = int(n[a:b].sum()) + (nulls if b == known.height else 0)
        parts.append(Partition(k, None if a == 0 else ids[a], None if b == known.height else ids[b], rows))
    return parts


# --- where it runs -------------------------------------------------------------------------


class _Session:
    def __init__(self, client: Any = None, scheduler: str | None = None):
        self.client = client
        self.scheduler = scheduler

    def compute(self, tasks: list[Any]) -> list[Any]:
        import dask

        if not tasks:
            return []
        if self.client is not None:
            return list(self.client.compute(tasks, sync=True))
        if self.scheduler is not None:
            return list(dask.compute(*tasks, scheduler=self.scheduler))
        return list(dask.compute(*tasks))

    def parallelism(self) -> int:
        client = self.client
        if client is None and self.scheduler is None:
            try:
                from distributed import default_client

                client = default_client()
            except (ImportError, ValueError):
                client = None
        if client is not None:
            try:
                return max(1, sum(client.nthreads().values()))
            except Exception:  # a client that lost its scheduler: let compute() report it
                return 1
        if self.scheduler in ("synchronous", "sync", "single-threaded"):
            return 1
        return os.cpu_count() or 1


@contextmanager
def dask_session(client: Any = None, scheduler: str | None = None) -> Iterator[_Session]:
    """Where the tasks run (see the module docstring for the order of choices)."""
    if client is not None:
        yield _Session(client=client)
        return
    scheduler = scheduler or os.environ.get(ENV_SCHEDULER) or None
    if scheduler is None or scheduler in LOCAL_SCHEDULERS:
        yield _Session(scheduler=scheduler)
        return
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with LocalCluster(processes=True, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as c:
            yield _Session(client=c)
        return
    try:
        c = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        yield _Session(client=c)
    finally:
        c.close()


# --- the engine ----------------------------------------------------------------------------


def _empty_outputs(work: Work, kwargs: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """The stage's own empty output (its schema), from a call on no rows."""
    return work(schema.empty(schema.OBSERVATIONS), **kwargs)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _addresses(icao24: Iterable[str] | None) -> list[str] | None:
    """Wanted addresses as the store keeps them (lowercase, stripped); None: every aircraft."""
    if icao24 is None:
        return None
    return sorted({str(a).strip().lower() for a in icao24})


def plan(
    parquet_dir: str | os.PathLike,
    *,
    since: Any = None,
    until: Any = None,
    icao24: Iterable[str] | None = None,
    npartitions: int | None = None,
    session: _Session | None = None,
) -> tuple[list[str], list[Partition]]:
    """The files to read and the icao24 ranges: phase 1, on Dask (rows per address per file,
    merged in a tree of tasks). Without npartitions: twice the worker threads, or more when a
    range would exceed ROWS_PER_PARTITION rows."""
    import dask

    session = session or _Session()
    lo, hi = _utc(since), _utc(until)
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"until ({hi.isoformat()}) must be after since ({lo.isoformat()})")
    wanted = _addresses(icao24)
    files = [str(p) for p in parquet_files(parquet_dir, since=lo, until=hi)]
    if not files or wanted == []:
        return files, []
    counts = [dask.delayed(_count_file, pure=False)(f, lo, hi, wanted) for f in files]
    while len(counts) > 1:
        counts = [dask.delayed(_merge_counts, pure=False)(c) for c in _chunks(counts, MERGE_FANOUT)]
    (merged,) = session.compute(counts)
    if npartitions is None:
        npartitions = max(2 * session.parallelism(), math.ceil(int(merged["n"].sum()) / ROWS_PER_PARTITION))
    return files, plan_partitions(merged, npartitions)


def map_aircraft(
    parquet_dir: str | os.PathLike,
    work: Work,
    *,
    kwargs: dict[str, Any] | None = None,
    since: Any = None,
    until: Any = None,
    icao24: Iterable[str] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    npartitions: int | None = None,
    out_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Run work(observations, **kwargs) -> {name: table} on every icao24 range of the Parquet
    directory, on Dask, and return {name: the tasks' tables concatenated in icao24 order}.

    Each call of work gets the rows in [since, until) (of the icao24 given, else of every
    aircraft) of whole aircraft, as schema.OBSERVATIONS sorted by (icao24, time, lat, lon). work
    must be a top-level function (workers import it by name) that calls stage functions on the
    whole table it gets; it is also called once on an empty table for the schema when there are
    no rows, so an empty directory gives empty tables, never None.

    With out_dir (new or empty), each task writes its tables as Parquet instead --
    out_dir/<name>/part-NNNNN.parquet, and "observations" by UTC day as `isrwatch export` does
    (out_dir/observations/day=YYYY-MM-DD/part-NNNNN.parquet) -- and {name: rows written} is
    returned.
    """
    import dask

    kwargs = dict(kwargs or {})
    out = None
    if out_dir is not None:
        out = Path(out_dir)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise FileExistsError(f"{out} exists and is not an empty directory")
    lo, hi = _utc(since), _utc(until)
    wanted = _addresses(icao24)
    with dask_session(client, scheduler) as session:
        files, parts = plan(parquet_dir, since=lo, until=hi, icao24=wanted, npartitions=npartitions, session=session)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        if not parts:
            empty = _empty_outputs(work, kwargs)
            return {name: 0 for name in empty} if out is not None else empty
        # one graph key each for the arguments every task shares, so a large one (an airfield
        # table, a region, thousands of file names) goes to each worker once. Keys are new on
        # every call (pure=False): files rewritten between two calls on a long-lived cluster
        # are read again, never answered from an earlier call's result.
        shared_files = dask.delayed(files, pure=False, traverse=False)
        shared_kwargs = dask.delayed(kwargs, pure=False, traverse=False)
        tasks = [
            dask.delayed(_run_partition, pure=False)(
                shared_files, p, lo, hi, wanted, work, shared_kwargs, None if out is None else str(out)
            )
            for p in parts
        ]
        results = session.compute(tasks)
    if out is not None:
        return {name: sum(r[name] for r in results) for name in results[0]}
    return {name: pl.concat([r[name] for r in results], how="vertical") for name in results[0]}


# --- stage work (top-level, so workers can import them) --------------------------------------


def _sorties_work(obs: pl.DataFrame, *, airfields=None, rules=None, observations: bool = True) -> dict[str, pl.DataFrame]:
    from isrwatch.pipeline import sorties_of

    ids, fl = sorties_of(obs, airfields=airfields, rules=rules)
    return {OBSERVATIONS_TABLE: ids, "flights": fl} if observations else {"flights": fl}


def _classify_work(obs: pl.DataFrame, *, countries=None, aois=None, aoi_list: bool = False) -> dict[str, pl.DataFrame]:
    from isrwatch.airspace.classify import classify_points

    return {OBSERVATIONS_TABLE: classify_points(obs, countries=countries, aois=aois, aoi_list=aoi_list)}


def _events_work(obs: pl.DataFrame, *, regions, max_gap_s=None, airfields=None, rules=None) -> dict[str, pl.DataFrame]:
    from isrwatch.pipeline import events_of, sorties_of

    ids, fl = sorties_of(obs, airfields=airfields, rules=rules)
    events = events_of(ids, regions, max_gap_s=max_gap_s)
    return {"flights": fl, **{f"events_{i}": ev for i, ev in enumerate(events)}}


# --- the verbs -----------------------------------------------------------------------------


def sorties_dask(
    parquet_dir: str | os.PathLike,
    *,
    since: Any = None,
    until: Any = None,
    icao24: Iterable[str] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    npartitions: int | None = None,
    airfields: pl.DataFrame | None = None,
    rules: Any = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(observations + flight_id, split_reason; schema.FLIGHTS): segment.assign_sorties and
    segment.flights over the observations in [since, until), run on Dask. The same tables, in
    the same order, as the two calls over store.load_observations(con, since=, until=)."""
    got = map_aircraft(
        parquet_dir, _sorties_work, kwargs=dict(airfields=airfields, rules=rules),
        since=since, until=until, icao24=icao24, client=client, scheduler=scheduler, npartitions=npartitions,
    )
    return got[OBSERVATIONS_TABLE], got["flights"]


def flights_dask(
    parquet_dir: str | os.PathLike,
    *,
    since: Any = None,
    until: Any = None,
    icao24: Iterable[str] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    npartitions: int | None = None,
    airfields: pl.DataFrame | None = None,
    rules: Any = None,
) -> pl.DataFrame:
    """schema.FLIGHTS over the observations in [since, until), run on Dask; the observations
    stay on the workers, only the sorties come back."""
    got = map_aircraft(
        parquet_dir, _sorties_work, kwargs=dict(airfields=airfields, rules=rules, observations=False),
        since=since, until=until, icao24=icao24, client=client, scheduler=scheduler, npartitions=npartitions,
    )
    return got["flights"]


def write_sorties_dask(
    parquet_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    since: Any = None,
    until: Any = None,
    icao24: Iterable[str] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    npartitions: int | None = None,
    airfields: pl.DataFrame | None = None,
    rules: Any = None,
) -> dict[str, Any]:
    """Segment on Dask, each task writing its share: out_dir/observations/day=D/part-N.parquet
    (observations + flight_id, split_reason; readable by this module, `isrwatch import`, DuckDB,
    Polars) and out_dir/flights/part-N.parquet. out_dir must be new or empty.
    Returns {"out_dir", "rows": {"observations": n, "flights": n}}."""
    got = map_aircraft(
        parquet_dir, _sorties_work, kwargs=dict(airfields=airfields, rules=rules),
        since=since, until=until, icao24=icao24, client=client, scheduler=scheduler, npartitions=npartitions,
        out_dir=out_dir,
    )
    return {"out_dir": str(out_dir), "rows": dict(got)}


def classify_dask(
    parquet_dir: str | os.PathLike,
    *,
    countries: Sequence[str] | None = None,
    aois: Iterable[Any] | None = None,
    aoi_list: bool = False,
    since: Any = None,
    until: Any = None,
    icao24: Iterable[str] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    npartitions: int | None = None,
) -> pl.DataFrame:
    """airspace.classify_points over the observations in [since, until), run on Dask; rows in
    the store's order (icao24, time, lat, lon), as classify_points over load_observations."""
    got = map_aircraft(
        parquet_dir, _classify_work,
        kwargs=dict(countries=list(countries) if countries is not None else None,
                    aois=list(aois) if aois is not None else None, aoi_list=aoi_list),
        since=since, until=until, icao24=icao24, client=client, scheduler=scheduler, npartitions=npartitions,
    )
    return got[OBSERVATIONS_TABLE]


def flights_and_events_dask(
    parquet_dir: str | os.PathLike,
    regions: Any,
    *,
    max_gap_s: float | None = None,
    since: Any = None,
    until: Any = None,
    icao24: Iterable[str] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    npartitions: int | None = None,
    airfields: pl.DataFrame | None = None,
    rules: Any = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(schema.FLIGHTS, schema.AIRSPACE_EVENTS) as the pipeline computes them: assign_sorties,
    flights, and airspace_events per region on the sortie rows, the regions' events concatenated
    in the order given. Run on Dask; segmentation happens inside the tasks and only the sorties
    and events come back.

    regions: a country code, region id or airspace Region, or a list of them. A Region (e.g. a
    user GeoJSON) is sent to the workers whole; an id is resolved by each worker from the
    bundled layers."""
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Iterable):
        regions = [regions]
    regions = list(regions)
    got = map_aircraft(
        parquet_dir, _events_work, kwargs=dict(regions=regions, max_gap_s=max_gap_s, airfields=airfields, rules=rules),
        since=since, until=until, icao24=icao24, client=client, scheduler=scheduler, npartitions=npartitions,
    )
    # each region's events in the stage's own order (flight_id; stable, so entries stay in order)
    parts = [got[f"events_{i}"].sort(schema.FLIGHT_ID, maintain_order=True) for i in range(len(regions))]
    events = pl.concat(parts, how="vertical") if parts else schema.empty(schema.AIRSPACE_EVENTS)
    return got["flights"], events


def airspace_events_dask(parquet_dir: str | os.PathLike, regions: Any, **options: Any) -> pl.DataFrame:
    """schema.AIRSPACE_EVENTS of every sortie for each region; see flights_and_events_dask."""
    return flights_and_events_dask(parquet_dir, regions, **options)[1]
