"""Benchmark the segment stage (sorties) alone and with identify, over the ~620k real points of
traffic's sample collections, against traffic 2.13's Traffic.iterate in the same run.

    make -C benchmarks segment        (or: ../.venv/bin/python bench_segment.py [-n N] [--no-traffic])

What is measured (best of N runs, wall and CPU; see common.py):
- segment: assign_sorties + flights on the observations as the store returns them (sorted by
  icao24, time), and as the files hold them (one sort more). assign_sorties alone is the
  counterpart of Traffic.iterate (both cut the points into flights); flights() builds the
  per-sortie table on top. The airfield index is built once per process, timed apart.
- identify + segment: identify() on the sorties' aircraft (address blocks, type catalogue and,
  when ../shared has it, the tar1090 aircraft database, loaded beforehand) after segment.
- memory: in a fresh process, the peak resident memory added by one segmentation (VmHWM
  reset just before) and the tracemalloc peak of another, against the Arrow size.
- traffic: list(Traffic.iterate()) (group by icao24 and callsign, split at gaps over 10
  minutes) on the same points, in benchmarks/.venv-traffic.
- accuracy: sorties against references -- readsb's own leg marks on trace_full_ac671b, the
  SAVAN flight-inspection campaign's callsigns -- ours and traffic's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import polars as pl

from common import REPO, best_of, machine, run_here, run_in_traffic, shared_data, write_json

sys.path.insert(0, str(REPO / "src"))

COLLECTIONS = ["quickstart", "savan", "switzerland"]

TRAFFIC_SNIPPET = """
import pandas as pd
from traffic.core import Traffic
args = json.loads({args!r})
t = Traffic(pd.read_parquet(args["collection"]))
run = best_of(lambda: list(t.iterate()), n=args["n"])
flights = run.pop("result")
out = {{"collection": {{**run, "n_flights": len(flights), "n_points": int(len(t.data)),
        "n_points_in_flights": int(sum(len(f.data) for f in flights))}}}}
for name, path in args["references"].items():
    f = Traffic(pd.read_parquet(path))
    legs = list(f.iterate())
    out[name] = {{"n_flights": len(legs), "n_points": int(len(f.data)),
                 "n_points_in_flights": int(sum(len(x.data) for x in legs)),
                 "flights": [[str(x.start), str(x.stop)] for x in legs]}}
print(json.dumps(out))
"""

MEMORY_SNIPPET = """
import gc, tracemalloc
from pathlib import Path
import polars as pl
from isrwatch import segment
from isrwatch.segment.airfields import _default_index
def rss(key):
    for line in open("/proc/self/status").read().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
obs = pl.read_parquet({path!r})
_default_index()
# the compiled kernels (and numba's runtime) load once per process, whatever the table's
# size: measured apart, on a small table, before the segmentation that is measured
before = rss("VmRSS")
segment.flights(segment.assign_sorties(obs.head(2000)))
runtime = rss("VmRSS") - before
gc.collect()
try:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
    reset = True
except OSError:
    reset = False
base = rss("VmRSS")
segment.flights(segment.assign_sorties(obs))
peak = rss("VmHWM")
gc.collect()
tracemalloc.start()
segment.flights(segment.assign_sorties(obs))
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({{"rss_added_bytes": peak - base if reset else None, "tracemalloc_peak_bytes": traced,
                  "kernels_runtime_bytes": runtime}}))
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=7, help="timed runs per figure (best is reported)")
    ap.add_argument("--no-traffic", action="store_true")
    args = ap.parse_args()

    from isrwatch import identify, segment
    from isrwatch.segment.airfields import _default_index

    paths = [shared_data("adsb", "traffic-samples", "collections", f"{c}.json.gz") for c in COLLECTIONS]
    trace_path = shared_data("adsb", "readsb", "trace_full_ac671b.json")
    if None in paths or trace_path is None:
        sys.exit("bench_segment needs ../shared/data (traffic collections and the readsb trace)")
    parts = [read(p) for p in paths]
    file_order = pl.concat(parts)
    store_order = file_order.sort(["icao24", "time"])  # as store.load_observations returns them
    n = file_order.height
    arrow_bytes = file_order.to_arrow().nbytes

    index = best_of(lambda: _default_index.cache_clear() or _default_index(), n=1, warmup=0)

    def seg(obs):
        return segment.flights(segment.assign_sorties(obs))

    both = best_of(lambda: seg(store_order), n=args.n)
    fl = both.pop("result")
    unsorted = best_of(lambda: seg(file_order), n=args.n)
    assign = best_of(lambda: segment.assign_sorties(store_order), n=args.n)
    ids = assign.pop("result")
    summary = best_of(lambda: segment.flights(ids), n=args.n)
    for run in (unsorted, summary):
        run.pop("result")

    adb = None
    tar1090 = shared_data("aircraft", "tar1090-db", "flattened_aircraft.csv.gz")
    if tar1090 is not None:
        loaded = identify.load_aircraft_db(tar1090)
        adb = loaded.table if loaded is not None else None

    def identify_and_segment():
        flights = seg(store_order)
        return identify.identify(flights.select("icao24").unique(), None, aircraft_db=adb)

    ident = best_of(lambda: identify.identify(fl.select("icao24").unique(), None, aircraft_db=adb), n=args.n)
    ident.pop("result")
    combined = best_of(identify_and_segment, n=args.n)
    combined.pop("result")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store_order.write_parquet(tmp / "obs.parquet")
        mem = run_here(MEMORY_SNIPPET.format(path=str(tmp / "obs.parquet")))

        # references: readsb's own legs, the SAVAN campaign's callsigns
        trace = read(trace_path)
        trace_ids = segment.assign_sorties(trace)
        trace_fl = segment.flights(trace_ids)
        legs = (
            trace_ids.with_columns(pl.col("leg_start").cast(pl.Int32).cum_sum().alias("leg"))
            .filter(pl.col("flight_id").is_not_null())
            .group_by("flight_id", maintain_order=True)
            .agg(pl.col("leg").unique())
        )
        savan = parts[COLLECTIONS.index("savan")]
        savan_fl = seg(savan)

        traffic = None
        if not args.no_traffic:
            to_traffic(file_order, tmp / "collection.parquet")
            to_traffic(trace, tmp / "trace.parquet")
            to_traffic(savan, tmp / "savan.parquet")
            targs = {
                "collection": str(tmp / "collection.parquet"),
                "references": {"trace_full_ac671b": str(tmp / "trace.parquet"), "savan": str(tmp / "savan.parquet")},
                "n": max(1, min(args.n, 3)),
            }
            traffic = run_in_traffic(TRAFFIC_SNIPPET.format(args=json.dumps(targs)))

    result = {
        "machine": machine(),
        "points": n,
        "aircraft": int(store_order["icao24"].n_unique()),
        "arrow_bytes": arrow_bytes,
        "airfield_index_s": index["best_s"],
        "segment": {k: v for k, v in both.items()},
        "segment_points_per_s": n / both["best_s"],
        "segment_file_order": unsorted,
        "assign_sorties": {k: v for k, v in assign.items()},
        "assign_points_per_s": n / assign["best_s"],
        "flights": summary,
        "identify": ident,
        "identify_with_aircraft_db": adb is not None,
        "identify_plus_segment": combined,
        "identify_plus_segment_points_per_s": n / combined["best_s"],
        "memory": mem,
        "rss_added_over_arrow": mem["rss_added_bytes"] / arrow_bytes if mem.get("rss_added_bytes") else None,
        "sorties": fl.height,
        "sorties_by_start_reason": dict(fl.group_by("start_reason").len().iter_rows()),
        "trace_full": {
            "readsb_legs": int(trace["leg_start"].sum()) + 1,
            "sorties": trace_fl.height,
            "legs_of_each_sortie": [sorted(x) for x in legs["leg"].to_list()],
            "sorties_table": trace_fl.select("flight_id", "start", "end", "start_reason", "end_reason").to_dicts(),
        },
        "savan": {
            "callsigns": int(savan["callsign"].n_unique()),
            "sorties": savan_fl.height,
            "sorties_with_one_callsign": int((savan_fl["callsigns"].list.len() == 1).sum()),
        },
        "traffic": traffic,
    }
    if traffic:
        t = traffic["collection"]["best_s"]
        result["speedup_vs_traffic_assign"] = t / assign["best_s"]
        result["speedup_vs_traffic_segment"] = t / both["best_s"]
        result["speedup_vs_traffic_cpu_assign"] = traffic["collection"]["best_cpu_s"] / assign["best_cpu_s"]
    write_json("bench_segment", result)
    report(result)


def report(r: dict) -> None:
    mb = 1024 * 1024
    print(f"machine: {r['machine']['cpus']} cpus, load {r['machine']['load_avg_1_5_15']}")
    print(f"points: {r['points']:,} of {r['aircraft']} aircraft (traffic collections quickstart, savan, switzerland);"
          f" Arrow size {r['arrow_bytes'] / mb:.1f} MiB")
    print(f"airfield index (once per process): {r['airfield_index_s']:.2f} s")
    s, a, f = r["segment"], r["assign_sorties"], r["flights"]
    print(f"assign_sorties: {a['best_s'] * 1e3:.0f} ms (cpu {a['best_cpu_s'] * 1e3:.0f}) = {r['assign_points_per_s'] / 1e6:.1f} M points/s;"
          f" flights: {f['best_s'] * 1e3:.0f} ms (cpu {f['best_cpu_s'] * 1e3:.0f})")
    print(f"segment (assign_sorties + flights), store order: {s['best_s'] * 1e3:.0f} ms (cpu {s['best_cpu_s'] * 1e3:.0f})"
          f" = {r['segment_points_per_s'] / 1e6:.1f} M points/s; file order (one sort more):"
          f" {r['segment_file_order']['best_s'] * 1e3:.0f} ms")
    print(f"identify ({'with' if r['identify_with_aircraft_db'] else 'without'} tar1090-db): {r['identify']['best_s'] * 1e3:.0f} ms;"
          f" identify + segment: {r['identify_plus_segment']['best_s'] * 1e3:.0f} ms"
          f" = {r['identify_plus_segment_points_per_s'] / 1e6:.1f} M points/s")
    m = r["memory"]
    if m.get("rss_added_bytes") is not None:
        print(f"memory while segmenting (fresh process, compiled kernels loaded first:"
              f" +{m.get('kernels_runtime_bytes', 0) / mb:.0f} MiB once per process): peak RSS +{m['rss_added_bytes'] / mb:.0f} MiB"
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
        c = t["collection"]
        print(f"traffic 2.13 list(Traffic.iterate()): {c['best_s']:.2f} s (cpu {c['best_cpu_s']:.2f}), {c['n_flights']} flights,"
              f" {c['n_points'] - c['n_points_in_flights']} points in none")
        print(f"  -> assign_sorties {r['speedup_vs_traffic_assign']:.0f}x faster (cpu {r['speedup_vs_traffic_cpu_assign']:.0f}x);"
              f" assign_sorties + flights {r['speedup_vs_traffic_segment']:.0f}x")
        print(f"traffic on trace_full_ac671b: {t['trace_full_ac671b']['n_flights']} flights"
              f" (readsb: {tf['readsb_legs']} legs); on SAVAN: {t['savan']['n_flights']} flights ({sv['callsigns']} callsigns)")


if __name__ == "__main__":
    main()
