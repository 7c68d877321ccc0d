"""Benchmark the segment stage (sorties) alone and with identify, over the ~620k real points of
traffic's sample collections, against traffic 2.13's Traffic.iterate in the same run.

    python benchmarks/bench_segment.py [--repeat N] [--no-traffic] [--json OUT]

What is measured (the report prints each figure with its definition):
- segment: assign_sorties + flights on the observations as the store returns them (sorted by
  icao24, time) and as the files hold them (one sort more); median of --repeat runs after
  one warm-up that also builds the airfield index (timed apart: once per process).
- identify + segment: identify() on the aircraft of the collection (hex blocks, type
  catalogue and, when ../shared has it, the tar1090 aircraft database, loaded beforehand).
- memory: peak resident memory added while segmenting (Linux VmHWM after a reset through
  /proc/self/clear_refs), and the tracemalloc peak (numpy and Python allocations), both
  against the Arrow size of the observations.
- traffic: Traffic.iterate() (group by icao24 and callsign, split at gaps over 10 minutes)
  on the same points, in benchmarks/.venv-traffic; median of --repeat runs.
- accuracy: sortie counts and boundaries against references: readsb's own leg marks on the
  trace_full file and the SAVAN flight-inspection campaign's callsigns, ours vs traffic's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ISRWATCH_SHARED", REPO.parent / "shared")) / "data"
COLLECTIONS = ["quickstart", "savan", "switzerland"]
TRAFFIC_PY = REPO / "benchmarks" / ".venv-traffic" / "bin" / "python"

TRAFFIC_SCRIPT = r"""
import json, sys, time, statistics
import pandas as pd
from traffic.core import Traffic

def load(path):
    df = pd.read_parquet(path)
    return Traffic(df)

out = {}
args = json.loads(sys.argv[1])
t = load(args["collection"])
times, cpu, n = [], [], None
for _ in range(args["repeat"]):
    t0, c0 = time.perf_counter(), time.process_time()
    flights = list(t.iterate())
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
    n = len(flights)
out["collection"] = {"seconds": times, "cpu_seconds": cpu, "n_flights": n, "n_points": int(len(t.data)),
                     "n_points_in_flights": int(sum(len(f.data) for f in flights))}
for name, path in args["references"].items():
    f = load(path)
    legs = list(f.iterate())
    out[name] = {"n_flights": len(legs), "n_points": int(len(f.data)),
                 "n_points_in_flights": int(sum(len(x.data) for x in legs)),
                 "flights": [[str(x.start), str(x.stop), x.callsign if isinstance(x.callsign, str) else None] for x in legs]}
print(json.dumps(out))
"""


def read(path: Path) -> pl.DataFrame:
    from isrwatch import sources

    return pl.concat([b.observations for b in sources.read(path)])


def to_traffic(obs: pl.DataFrame, path: Path) -> None:
    """The observations in traffic's column names (feet, knots, ft/min as traffic uses)."""
    obs.select(
        pl.col("time").alias("timestamp"),
        "icao24",
        "callsign",
        pl.col("lat").alias("latitude"),
        pl.col("lon").alias("longitude"),
        pl.col("alt_baro").alias("altitude"),
        pl.col("gs").alias("groundspeed"),
        "track",
        pl.col("vrate").alias("vertical_rate"),
        pl.col("on_ground").alias("onground"),
    ).write_parquet(path)


def timed(fn, repeat: int) -> tuple[float, list[float]]:
    """Median wall time of repeat runs, and every run's (wall, cpu) seconds."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    return statistics.median(t for t, _ in times), times


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return -1


def memory_probe(parquet: Path) -> dict:
    """In a fresh process: the observations loaded, the peak RSS added by one segmentation
    (VmHWM reset through /proc/self/clear_refs just before), then the tracemalloc peak of a
    second one (numpy and Python allocations; Polars' own are not traced)."""
    from isrwatch import segment
    from isrwatch.segment.airfields import _default_index

    obs = pl.read_parquet(parquet)
    _default_index()
    gc.collect()
    reset = True
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        reset = False
    base = _status("VmRSS")
    segment.flights(segment.assign_sorties(obs))
    peak = _status("VmHWM")
    gc.collect()
    tracemalloc.start()
    segment.flights(segment.assign_sorties(obs))
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rss_added_bytes": peak - base if reset and base >= 0 else None, "tracemalloc_peak_bytes": traced}


def peak_memory(obs: pl.DataFrame) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "obs.parquet"
        obs.write_parquet(path)
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-probe", str(path)], capture_output=True, text=True, timeout=600
        )
    if proc.returncode != 0:
        print("memory probe failed:\n" + proc.stderr[-2000:], file=sys.stderr)
        return {"rss_added_bytes": None, "tracemalloc_peak_bytes": None}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_traffic(collection: Path, references: dict[str, Path], repeat: int) -> dict | None:
    if not TRAFFIC_PY.exists():
        return None
    args = {"collection": str(collection), "references": {k: str(v) for k, v in references.items()}, "repeat": repeat}
    proc = subprocess.run(
        [str(TRAFFIC_PY), "-c", TRAFFIC_SCRIPT, json.dumps(args)], capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0:
        print("traffic run failed:\n" + proc.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-traffic", action="store_true")
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "out" / "bench_segment.json")
    ap.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_probe:
        print(json.dumps(memory_probe(args.memory_probe)))
        return

    from isrwatch import identify, segment
    from isrwatch.segment.airfields import _default_index

    t0 = time.perf_counter()
    parts = [read(SHARED / "adsb" / "traffic-samples" / "collections" / f"{c}.json.gz") for c in COLLECTIONS]
    file_order = pl.concat(parts)
    store_order = file_order.sort(["icao24", "time"])  # as store.load_observations returns them
    load_s = time.perf_counter() - t0
    n = file_order.height
    arrow_bytes = file_order.to_arrow().nbytes

    t0 = time.perf_counter()
    _default_index()
    index_s = time.perf_counter() - t0

    def seg(obs):
        return segment.flights(segment.assign_sorties(obs))

    seg(store_order)  # warm-up
    seg_s, seg_all = timed(lambda: seg(store_order), args.repeat)
    seg_file_s, _ = timed(lambda: seg(file_order), args.repeat)
    assign_s, _ = timed(lambda: segment.assign_sorties(store_order), args.repeat)
    ids = segment.assign_sorties(store_order)
    flights_s, _ = timed(lambda: segment.flights(ids), args.repeat)
    fl = seg(store_order)

    adb = None
    tar1090 = SHARED / "aircraft" / "tar1090-db" / "flattened_aircraft.csv.gz"
    if tar1090.exists():
        loaded = identify.load_aircraft_db(tar1090)
        adb = loaded.table if loaded is not None else None
    icao = store_order.select("icao24").unique()
    identify.identify(icao, None, aircraft_db=adb)  # warm-up
    ident_s, _ = timed(lambda: identify.identify(icao, None, aircraft_db=adb), args.repeat)

    def both():
        fl = seg(store_order)
        identify.identify(fl.select("icao24").unique(), None, aircraft_db=adb)

    both_s, _ = timed(both, args.repeat)
    mem = peak_memory(store_order)

    # references: readsb's own legs, the SAVAN campaign's callsigns
    trace = read(SHARED / "adsb" / "readsb" / "trace_full_ac671b.json")
    trace_ids = segment.assign_sorties(trace)
    trace_fl = segment.flights(trace_ids)
    legs = trace_ids.with_columns(pl.col("leg_start").cast(pl.Int32).cum_sum().alias("leg")).filter(
        pl.col("flight_id").is_not_null()
    ).group_by("flight_id", maintain_order=True).agg(pl.col("leg").unique())
    savan = parts[COLLECTIONS.index("savan")]
    savan_fl = seg(savan)

    traffic = None
    if not args.no_traffic:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            to_traffic(file_order, tmp / "collection.parquet")
            to_traffic(trace, tmp / "trace.parquet")
            to_traffic(savan, tmp / "savan.parquet")
            traffic = run_traffic(
                tmp / "collection.parquet",
                {"trace_full_ac671b": tmp / "trace.parquet", "savan": tmp / "savan.parquet"},
                max(1, min(args.repeat, 3)),
            )

    result = {
        "points": n,
        "aircraft": icao.height,
        "arrow_bytes": arrow_bytes,
        "load_seconds": load_s,
        "airfield_index_seconds": index_s,
        "segment_seconds_store_order": seg_s,
        "segment_runs": seg_all,
        "segment_points_per_s": n / seg_s,
        "segment_seconds_file_order": seg_file_s,
        "assign_sorties_seconds": assign_s,
        "flights_seconds": flights_s,
        "identify_seconds": ident_s,
        "identify_with_aircraft_db": adb is not None,
        "identify_plus_segment_seconds": both_s,
        "identify_plus_segment_points_per_s": n / both_s,
        "memory": mem,
        "rss_added_over_arrow": (mem["rss_added_bytes"] / arrow_bytes) if mem["rss_added_bytes"] is not None else None,
        "sorties": fl.height,
        "sorties_by_start_reason": dict(fl.group_by("start_reason").len().iter_rows()),
        "trace_full": {
            "readsb_legs": int(trace["leg_start"].sum()) + 1,
            "sorties": trace_fl.height,
            "legs_of_each_sortie": [sorted(x) for x in legs["leg"].to_list()],
            "sorties_table": trace_fl.select("flight_id", "start", "end", "start_reason", "end_reason").to_dicts(),
        },
        "savan": {"callsigns": int(savan["callsign"].n_unique()), "sorties": savan_fl.height,
                  "sorties_with_one_callsign": int((savan_fl["callsigns"].list.len() == 1).sum())},
        "traffic": traffic,
    }
    if traffic:
        tsec = statistics.median(traffic["collection"]["seconds"])
        result["traffic_iterate_seconds"] = tsec
        result["traffic_iterate_cpu_seconds"] = statistics.median(traffic["collection"]["cpu_seconds"])
        # traffic's iterate does what assign_sorties does (cut the points into flights);
        # flights() adds the per-sortie table, which iterate does not build
        result["speedup_vs_traffic_assign"] = tsec / assign_s
        result["speedup_vs_traffic"] = tsec / seg_s
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str))
    report(result)


def report(r: dict) -> None:
    mb = 1024 * 1024
    print(f"points: {r['points']:,} of {r['aircraft']} aircraft (traffic collections quickstart, savan, switzerland);"
          f" Arrow size {r['arrow_bytes'] / mb:.1f} MiB")
    print(f"airfield index (once per process): {r['airfield_index_seconds']:.2f} s")
    cpu = statistics.median(c for _, c in r["segment_runs"])
    print(f"segment (assign_sorties + flights), store order: {r['segment_seconds_store_order'] * 1e3:.0f} ms"
          f" (cpu {cpu * 1e3:.0f} ms)"
          f" = {r['segment_points_per_s'] / 1e6:.1f} M points/s"
          f" [assign {r['assign_sorties_seconds'] * 1e3:.0f} ms, flights {r['flights_seconds'] * 1e3:.0f} ms];"
          f" file order (one sort more): {r['segment_seconds_file_order'] * 1e3:.0f} ms")
    print(f"identify ({'with' if r['identify_with_aircraft_db'] else 'without'} tar1090-db): {r['identify_seconds'] * 1e3:.0f} ms;"
          f" identify + segment: {r['identify_plus_segment_seconds'] * 1e3:.0f} ms"
          f" = {r['identify_plus_segment_points_per_s'] / 1e6:.1f} M points/s")
    m = r["memory"]
    if m["rss_added_bytes"] is not None:
        print(f"memory while segmenting (fresh process): peak RSS +{m['rss_added_bytes'] / mb:.0f} MiB"
              f" ({r['rss_added_over_arrow']:.2f} x Arrow size); tracemalloc peak {m['tracemalloc_peak_bytes'] / mb:.0f} MiB"
              f" ({m['tracemalloc_peak_bytes'] / r['arrow_bytes']:.2f} x)")
    print(f"sorties: {r['sorties']} {r['sorties_by_start_reason']}")
    tf = r["trace_full"]
    print(f"trace_full_ac671b: readsb legs {tf['readsb_legs']}, our sorties {tf['sorties']},"
          f" legs spanned by each sortie {tf['legs_of_each_sortie']}")
    sv = r["savan"]
    print(f"SAVAN campaign: {sv['callsigns']} callsigns, our sorties {sv['sorties']} ({sv['sorties_with_one_callsign']} with one callsign)")
    t = r.get("traffic")
    if t:
        print(f"traffic 2.13 Traffic.iterate(): {r['traffic_iterate_seconds']:.2f} s, {t['collection']['n_flights']} flights,"
              f" {t['collection']['n_points'] - t['collection']['n_points_in_flights']} points in none"
              f" -> assign_sorties is {r['speedup_vs_traffic_assign']:.0f}x faster,"
              f" assign_sorties + flights {r['speedup_vs_traffic']:.0f}x")
        print(f"traffic on trace_full_ac671b: {t['trace_full_ac671b']['n_flights']} flights"
              f" (readsb: {tf['readsb_legs']} legs); on SAVAN: {t['savan']['n_flights']} flights ({sv['callsigns']} callsigns)")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    main()
