"""Benchmark the scale-out engine (Dask) against the in-process engine on the same Parquet days.

    make -C benchmarks scaleout        (or: ../.venv/bin/python bench_scaleout.py [-n N] [--copies K])

Input, built here (no ../shared needed): the SIMULATED mexico-2025 scenario with its civil
background traffic (14 days, ~140k positions), exported by day as `isrwatch export` writes it,
then copied K more times under other addresses (each copy's icao24 shifted by k * 0x100000, so
the copies never share an address) -- more aircraft, same days, sorties crossing midnight.

What is measured (best of N runs, wall and CPU of this process; see common.py):
- in_process: read every day file with Polars, sort as the store does, assign_sorties + flights
  (and airspace_events for MEX) -- the default engine's work, without DuckDB.
- dask threads: flights_dask / flights_and_events_dask with Dask's threaded scheduler.
- dask local processes: the same on a LocalCluster of 2 worker processes (1 thread each),
  started once (its start-up is timed apart); results are pickled back to this process.
- plan: the counting pass alone (rows per icao24 per file, merged), threaded scheduler.
- identical: each Dask result equals the in-process one (same rows, same order).
- row groups: the share of the files' row groups each range task reads, the rest being skipped
  from Parquet statistics (the pruning that keeps a task's reading to its own aircraft). The
  day files are written here with 16,384-row groups; `isrwatch export` writes DuckDB's 122,880,
  so a day file this small would be a single group, read whole by every task.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import polars as pl

from common import REPO, best_of, machine, markdown_table, write_json

sys.path.insert(0, str(REPO / "src"))


def build_input(root: Path, copies: int) -> tuple[Path, int]:
    """The export of mexico-2025 (with background), plus `copies` shifted copies; (dir, rows)."""
    from isrwatch import simulate, store

    if copies > 5:
        raise SystemExit("--copies at most 5: further shifts would wrap onto the original addresses")
    truth = simulate.simulate("mexico-2025", root / "sim", background=True)
    files = truth.files + ((truth.data.get("background") or {}).get("files") or [])
    con = store.open_store(root / "store.duckdb")
    for f in files:
        store.ingest(con, root / "sim" / f["path"])
    base = root / "base"
    store.export_parquet(con, base)
    con.close()
    out = root / "exchange"
    rows = 0
    for path in sorted(base.glob("day=*/*.parquet")):
        day = pl.read_parquet(path)
        hexa = day["icao24"].str.to_integer(base=16, strict=False)
        parts = [day] + [
            day.with_columns(
                pl.when(hexa.is_not_null())
                .then(((hexa + k * 0x100000) % 0x1000000).map_elements(lambda v: f"{v:06x}", return_dtype=pl.String))
                .otherwise(pl.col("icao24") + f"-{k}")
                .alias("icao24")
            )
            for k in range(1, copies + 1)
        ]
        table = pl.concat(parts).sort(["icao24", "time", "lat", "lon"])
        target = out / path.parent.name
        target.mkdir(parents=True)
        table.write_parquet(target / path.name, compression="zstd", row_group_size=16_384)
        rows += table.height
    return out, rows


def in_process(pq: Path, *, events: bool) -> dict[str, pl.DataFrame]:
    from isrwatch import schema, segment
    from isrwatch.airspace import airspace_events

    obs = schema.conform(pl.read_parquet(sorted(pq.glob("day=*/*.parquet"))), schema.OBSERVATIONS)
    obs = obs.sort(["icao24", "time", "lat", "lon"], nulls_last=True, maintain_order=True)
    ids = segment.assign_sorties(obs)
    out = {"flights": segment.flights(ids)}
    if events:
        out["events"] = airspace_events(ids.filter(pl.col("flight_id").is_not_null()), "MEX")
    return out


def row_groups(pq: Path, parts) -> dict[str, float]:
    """Row groups a range task reads (statistics overlap its range) against all of them."""
    import pyarrow.parquet as pq_

    stats = []
    for f in sorted(pq.glob("day=*/*.parquet")):
        md = pq_.ParquetFile(f).metadata
        col = md.schema.to_arrow_schema().get_field_index("icao24")
        for i in range(md.num_row_groups):
            s = md.row_group(i).column(col).statistics
            stats.append((s.min, s.max))
    total = len(stats)
    read = [
        sum(1 for lo, hi in stats if (p.lo is None or hi >= p.lo) and (p.hi is None or lo < p.hi))
        for p in parts
    ]
    return {"row_groups": total, "partitions": len(parts), "mean_read_per_task": sum(read) / len(read),
            "share_read_per_task": sum(read) / len(read) / total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=3, help="timed runs per figure (best is reported)")
    ap.add_argument("--copies", type=int, default=5, help="shifted copies added to the scenario (0-5)")
    args = ap.parse_args()

    import time

    import distributed

    from isrwatch import scaleout

    with tempfile.TemporaryDirectory() as tmp:
        pq, n_rows = build_input(Path(tmp), args.copies)
        n_files = len(list(pq.glob("day=*/*.parquet")))
        results: dict = {"input": {"rows": n_rows, "files": n_files, "copies": args.copies}, "machine": machine()}

        ref = in_process(pq, events=True)
        runs = []

        def record(name, fn, key, want):
            r = best_of(fn, n=args.n)
            got = r.pop("result")
            got = got if isinstance(got, dict) else {key: got}
            same = all(got[k].equals(want[k]) for k in got)
            runs.append({"run": name, "best_s": round(r["best_s"], 3), "best_cpu_s": round(r["best_cpu_s"], 3),
                         "rows_per_s": round(n_rows / r["best_s"]), "identical": "yes" if same else "NO"})

        record("flights, in process", lambda: {"flights": in_process(pq, events=False)["flights"]}, "flights", ref)
        record("flights, dask threads", lambda: scaleout.flights_dask(pq, scheduler="threads"), "flights", ref)
        record("flights + MEX events, in process", lambda: in_process(pq, events=True), "events", ref)
        record(
            "flights + MEX events, dask threads",
            lambda: dict(zip(["flights", "events"], scaleout.flights_and_events_dask(pq, "MEX", scheduler="threads"))),
            "events", ref,
        )
        t0 = time.perf_counter()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                distributed.Client(cluster) as client:
            results["local_cluster_start_s"] = round(time.perf_counter() - t0, 3)
            record("flights, dask 2 processes", lambda: scaleout.flights_dask(pq, client=client), "flights", ref)
            record(
                "flights + MEX events, dask 2 processes",
                lambda: dict(zip(["flights", "events"], scaleout.flights_and_events_dask(pq, "MEX", client=client))),
                "events", ref,
            )
        plan = best_of(lambda: scaleout.plan(pq, session=scaleout._Session(scheduler="threads")), n=args.n)
        files, parts = plan.pop("result")
        results["plan"] = {"best_s": round(plan["best_s"], 3), **row_groups(pq, parts)}
        results["runs"] = runs
        results["n_flights"] = ref["flights"].height
        results["n_events"] = ref["events"].height

    path = write_json("scaleout", results)
    print(markdown_table(runs, [("run", "run"), ("best_s", "best s"), ("best_cpu_s", "CPU s (this process)"),
                                ("rows_per_s", "rows/s"), ("identical", "identical")]))
    print(f"{n_rows:,} rows in {n_files} day files; {results['n_flights']} sorties; "
          f"local cluster start {results['local_cluster_start_s']} s; plan {results['plan']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
