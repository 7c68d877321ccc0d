"""Benchmark the airspace stage over the ~620k real points of traffic's sample collections.

    make -C benchmarks airspace       (or: ../.venv/bin/python bench_airspace.py [-n N] [--no-traffic])

What is measured (best of N runs, wall and CPU; see common.py):
- classify: classify_points() on every point against every country's sovereign area (and the
  land layer: over_land), warm (the lazily filled grid already built) and cold (a fresh
  process, grid built during the call; numba's one-time start-up is timed apart, before it);
  and the sovereign look-up alone.
- events: airspace_events() for every flight against one country's polygon (CHE, FRA),
  warm and cold, against traffic 2.13's Flight.intersects over the same flights and the same
  polygon in the same run (benchmarks/.venv-traffic). Flights are cut the same way for both:
  icao24 + callsign, split at gaps over 30 minutes (a flight_id column traffic iterates by).
  Rows without altitude are dropped for both (Flight.intersects drops them).
  airspace_events computes much more than intersects (entries, interpolated crossings,
  gap-only entries, land/sea, deepest penetration and closest approach, geodesic); the
  "entered" part alone is timed too (the same bool intersects answers).
- agreement: flights entered (observed or gap-only) vs flights traffic says intersect.
- accuracy: depth and closest approach against the exact distance of every position.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from common import REPO, SNIPPET_PRELUDE, best_of, machine, markdown_table, run_in_traffic, run_python, shared_data, write_json

sys.path.insert(0, str(REPO / "src"))

COLLECTIONS = ["quickstart", "savan", "switzerland"]
REGIONS = ["CHE", "FRA"]
GAP_S = 1800

TRAFFIC_SNIPPET = """
import pandas as pd, shapely
from traffic.core import Traffic
args = json.loads({args!r})
df = pd.read_parquet(args["points"]).drop(columns=["timestamp"]).rename(columns={{"lat": "latitude", "lon": "longitude", "time": "timestamp"}})
t = Traffic(df)
flights = list(t)
out = {{"n_flights": len(flights)}}
for name, path in args["polygons"].items():
    poly = shapely.from_wkb(open(path, "rb").read())
    run = best_of(lambda: [f.flight_id for f in flights if f.intersects(poly)], n=args["n"], warmup=0)
    ids = run.pop("result")
    out[name] = {{**run, "n_intersect": len(ids), "ids": sorted(ids)}}
print(json.dumps(out))
"""

COLD_SNIPPET = """
import polars as pl
from isrwatch.airspace.classify import classify_points
from isrwatch.airspace.events import airspace_events
from isrwatch import boundaries as regions
args = json.loads({args!r})
obs = pl.read_parquet(args["points"])
regions.sovereign_table(); regions.sovereign_all(); regions.land()  # file loading and decoding is not the grid's work
# numba's one-time start-up (import, compiler context, kernel cache) is not the grid's work
# either: timed on its own, once per process
t0 = time.perf_counter(); from isrwatch.airspace import _kernels; _kernels.startup(); startup = time.perf_counter() - t0
t0 = time.perf_counter(); classify_points(obs); cls = time.perf_counter() - t0
out = {{"classify_cold_s": cls, "numba_startup_s": startup}}
for rid in args["regions"]:
    regions.sovereign(rid)
    t0 = time.perf_counter(); airspace_events(obs, rid); out[rid] = time.perf_counter() - t0
print(json.dumps(out))
"""


def load_points() -> pl.DataFrame:
    frames = []
    for name in COLLECTIONS:
        p = shared_data("adsb", "traffic-samples", "collections", f"{name}.json.gz")
        if p is None:
            raise SystemExit(f"needs ../shared/data/adsb/traffic-samples/collections/{name}.json.gz")
        rows = json.loads(gzip.open(p).read())
        frames.append(
            pl.DataFrame(rows, infer_schema_length=None).select(
                pl.col("timestamp").cast(pl.Int64),
                pl.col("icao24").cast(pl.String),
                pl.col("callsign").cast(pl.String),
                pl.col("latitude").cast(pl.Float64).alias("lat"),
                pl.col("longitude").cast(pl.Float64).alias("lon"),
                pl.col("altitude").cast(pl.Float64),
            )
        )
    df = pl.concat(frames)
    df = df.with_columns(pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC").dt.cast_time_unit("us").alias("time"))
    return df


def with_flights(df: pl.DataFrame) -> pl.DataFrame:
    """flight_id = icao24-callsign-<n>, a new n after a gap over GAP_S (same cut for traffic)."""
    df = df.filter(pl.col("altitude").is_not_null() & pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    df = df.with_columns(pl.col("callsign").fill_null("")).sort(["icao24", "callsign", "time"])
    gap = (pl.col("time").diff().dt.total_seconds() > GAP_S).fill_null(False)
    n = gap.cum_sum().over(["icao24", "callsign"])
    return df.with_columns((pl.col("icao24") + "-" + pl.col("callsign") + "-" + n.cast(pl.String)).alias("flight_id"))


def entered_only(obs: pl.DataFrame, rid: str) -> pl.DataFrame:
    """The part of the stage that answers what intersects answers: did the flight's path touch
    the region (observed positions inside, or a drawn segment crossing it)."""
    from isrwatch.airspace.catalog import get_region
    from isrwatch.airspace.classify import region_index
    from isrwatch.airspace.events import _boundary_distance

    reg = get_region(rid)
    s = obs.select("flight_id", "time", "lat", "lon").sort(["flight_id", "time"])
    lon, lat = s["lon"].to_numpy(), s["lat"].to_numpy()
    fid = s["flight_id"]
    code = (fid != fid.shift(1)).fill_null(True).cum_sum().to_numpy() - 1
    inside, key, out_cell = region_index(reg).contains_with_cells(lon, lat)
    same = code[1:] == code[:-1]
    cand = np.flatnonzero(same & ~inside[:-1] & ~inside[1:] & ~((key[:-1] == key[1:]) & out_cell[:-1]))
    lo, _ = _boundary_distance(reg).crossings(lon[cand], lat[cand], lon[cand + 1], lat[cand + 1])
    hit = np.zeros(int(code[-1]) + 1, dtype=bool)
    hit[code[inside]] = True
    hit[code[cand[np.isfinite(lo)]]] = True
    firsts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    return pl.DataFrame({"flight_id": fid.gather(firsts), "entered": hit})


def accuracy(obs: pl.DataFrame, ev: pl.DataFrame, rid: str) -> dict:
    """Depth and closest approach against the exact distance of every position of the flight."""
    from isrwatch.airspace.catalog import get_region
    from isrwatch.airspace.classify import region_index
    from isrwatch.airspace.events import _boundary_distance

    reg = get_region(rid)
    bd = _boundary_distance(reg)
    s = obs.sort(["flight_id", "time"])
    lon, lat = s["lon"].to_numpy(), s["lat"].to_numpy()
    d, _, _ = bd.distance(lon, lat)
    s = s.with_columns(pl.Series("d", d), pl.Series("ins", region_index(reg).contains(lon, lat)))
    miss = ev.filter(~pl.col("entered")).join(s.group_by("flight_id").agg(pl.col("d").min().alias("ref")), on="flight_id")
    single = (
        ev.filter(pl.col("entered") & (pl.col("basis") == "observed"))
        .group_by("flight_id")
        .agg(pl.len().alias("n"), pl.col("max_depth_km").max())
        .filter(pl.col("n") == 1)
        .join(s.filter("ins").group_by("flight_id").agg(pl.col("d").max().alias("ref")), on="flight_id")
    )
    e1 = (miss["closest_km"] - miss["ref"]).abs()
    e2 = (single["max_depth_km"] - single["ref"]).abs()
    return {
        "closest_flights": miss.height,
        "closest_max_err_km": float(e1.max()) if miss.height else None,
        "depth_entries": single.height,
        "depth_max_err_km": float(e2.max()) if single.height else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="timed runs (best is reported)")
    ap.add_argument("--no-traffic", action="store_true", help="skip the traffic comparison")
    args = ap.parse_args(argv)

    from isrwatch import boundaries as regions
    from isrwatch.airspace.classify import classify_points, sovereign_index
    from isrwatch.airspace.events import airspace_events

    raw = load_points()
    obs = with_flights(raw)
    n_points = raw.height
    result: dict = {"machine": machine(), "n_points": n_points, "n_points_with_altitude": obs.height,
                    "n_flights": obs["flight_id"].n_unique()}

    with tempfile.TemporaryDirectory() as tmp:
        pts = Path(tmp) / "points.parquet"
        obs.write_parquet(pts)
        polys = {}
        for rid in REGIONS:
            p = Path(tmp) / f"{rid}.wkb"
            import shapely

            p.write_bytes(shapely.to_wkb(regions.sovereign(rid)))
            polys[rid] = str(p)
        # an empty user cache: boundary cells kept by earlier runs would make "cold" warm
        with tempfile.TemporaryDirectory() as empty_cache:
            cold = run_python(SNIPPET_PRELUDE + COLD_SNIPPET.format(args=json.dumps({"points": str(pts), "regions": REGIONS})),
                              env={"ISRWATCH_CACHE": empty_cache})
        traffic = None
        if not args.no_traffic:
            traffic = run_in_traffic(TRAFFIC_SNIPPET.format(args=json.dumps({"points": str(pts), "polygons": polys, "n": 1})))

    # --- classify every point against every country
    pts_all = raw.select("lat", "lon")
    run = best_of(lambda: classify_points(pts_all), n=args.n)
    cls = run.pop("result")
    codes, sidx = sovereign_index(None)
    lon, lat = pts_all["lon"].to_numpy(), pts_all["lat"].to_numpy()
    run_sov = best_of(lambda: sidx.locate(lon, lat), n=args.n)
    run_sov.pop("result")
    result["classify"] = {
        **run,
        "points_per_s": n_points / run["best_s"],
        "cold_s": cold["classify_cold_s"],
        "cold_points_per_s": n_points / cold["classify_cold_s"],
        "numba_startup_s": cold["numba_startup_s"],
        "cold_with_startup_points_per_s": n_points / (cold["classify_cold_s"] + cold["numba_startup_s"]),
        "sovereign_only_best_s": run_sov["best_s"],
        "sovereign_only_points_per_s": n_points / run_sov["best_s"],
        "by_country": dict(cls.group_by("sovereign").len().sort("len", descending=True).head(8).iter_rows()),
        "over_land_share": float(cls["over_land"].mean()),
    }

    # --- events per flight
    result["events"] = {}
    for rid in REGIONS:
        run = best_of(lambda: airspace_events(obs, rid), n=args.n)
        ev = run.pop("result")
        run_e = best_of(lambda: entered_only(obs, rid), n=args.n)
        ent = run_e.pop("result")
        row = {
            **run,
            "cold_s": cold[rid],
            "entered_only_best_s": run_e["best_s"],
            "flights_entered": ev.filter(pl.col("entered"))["flight_id"].n_unique(),
            "entries_observed": ev.filter(pl.col("basis") == "observed").height,
            "entries_gap_only": ev.filter(pl.col("basis") == "gap_only").height,
            "accuracy": accuracy(obs, ev, rid),
        }
        ours = set(ev.filter(pl.col("entered"))["flight_id"].to_list())
        assert ours == set(ent.filter("entered")["flight_id"].to_list()), "entered_only disagrees with airspace_events"
        if traffic is not None:
            t = traffic[rid]
            theirs = set(t["ids"])
            row.update(
                {
                    "traffic_best_s": t["best_s"],
                    "traffic_n_intersect": t["n_intersect"],
                    "speedup_events": t["best_s"] / run["best_s"],
                    "speedup_entered_only": t["best_s"] / run_e["best_s"],
                    "agree": len(ours & theirs),
                    "only_ours": sorted(ours - theirs)[:10],
                    "only_traffic": sorted(theirs - ours)[:10],
                    "n_only_ours": len(ours - theirs),
                    "n_only_traffic": len(theirs - ours),
                }
            )
        result["events"][rid] = row

    path = write_json("airspace", result)
    c = result["classify"]
    print(f"points: {n_points:,} ({result['n_flights']:,} flights)")
    print(
        f"classify (all countries + land): best {c['best_s']:.3f} s = {c['points_per_s'] / 1e6:.1f} M points/s; "
        f"cold {c['cold_s']:.3f} s = {c['cold_points_per_s'] / 1e6:.1f} M/s "
        f"(+ numba start-up once per process {c['numba_startup_s']:.3f} s: {c['cold_with_startup_points_per_s'] / 1e6:.1f} M/s); "
        f"sovereign only {c['sovereign_only_points_per_s'] / 1e6:.1f} M/s"
    )
    rows = [{"region": rid, **{k: v for k, v in r.items() if not isinstance(v, (list, dict))}} for rid, r in result["events"].items()]
    print(
        markdown_table(
            rows,
            [
                ("region", "region"),
                ("best_s", "events s"),
                ("cold_s", "events cold s"),
                ("entered_only_best_s", "entered-only s"),
                ("traffic_best_s", "traffic intersects s"),
                ("speedup_events", "× (events)"),
                ("speedup_entered_only", "× (entered only)"),
                ("flights_entered", "entered"),
                ("traffic_n_intersect", "traffic"),
                ("n_only_ours", "only ours"),
                ("n_only_traffic", "only traffic"),
            ],
        )
    )
    for rid, r in result["events"].items():
        print(rid, "accuracy:", r["accuracy"])
    print(f"machine load: {result['machine']['load_avg_1_5_15']}  -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
