"""Reader throughput: points per second for each isrwatch reader on real ADS-B files, and
traffic 2.13's Traffic.from_file on the same gzip JSON files, in the same run.

Every measurement runs in a fresh process (ours in the project venv, traffic in
benchmarks/.venv-traffic) and times only the reading, best of N runs; the process's peak RSS
is reported too. Inputs are the files in ../shared/data/adsb and larger files derived from
them into benchmarks/out/inputs (a day-archive tar of trace copies, Parquet/CSV copies of the
traffic collections, OpenSky state vectors repeated under distinct addresses).

    make -C benchmarks readers        # or: ../.venv/bin/python bench_readers.py [--runs N]

Writes benchmarks/out/readers.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from common import OUT, REPO, machine, markdown_table, run_here, run_in_traffic, shared_data, write_json

INPUTS = OUT / "inputs"
COLLECTIONS = ["quickstart", "savan", "switzerland"]
TARGETS = {"parquet_pts_s": 10e6, "readsb_pts_s": 1e6, "gzip_json_vs_traffic": 5.0}


@dataclass
class Case:
    name: str  # what is read
    fmt: str  # isrwatch format
    paths: list[Path]
    note: str = ""
    kwargs: dict = field(default_factory=dict)


def _collections() -> list[Path]:
    out = []
    for n in COLLECTIONS:
        p = shared_data("adsb", "traffic-samples", "collections", f"{n}.json.gz")
        if p is None:
            sys.exit(f"needs ../shared/data/adsb/traffic-samples/collections/{n}.json.gz")
        out.append(p)
    return out


def prepare() -> list[Case]:
    """The cases, deriving the larger inputs once into benchmarks/out/inputs."""
    INPUTS.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    coll = _collections()
    cases.append(Case("traffic collections (gzip JSON)", "traffic_json", coll, "quickstart, savan, switzerland"))

    # the same points as Parquet (timestamp as datetime) and CSV
    pq = INPUTS / "collections.parquet"
    csv = INPUTS / "collections.csv"
    if not pq.exists() or not csv.exists():
        frames = [pl.read_json(gzip.decompress(p.read_bytes())) for p in coll]
        cols = ["timestamp", "icao24", "callsign", "latitude", "longitude", "altitude", "groundspeed", "track", "vertical_rate"]
        df = pl.concat([f.select([c for c in cols if c in f.columns]) for f in frames], how="diagonal_relaxed")
        df = df.with_columns(pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC"))
        df.write_parquet(pq)
        df.with_columns(pl.col("timestamp").dt.epoch("ms")).write_csv(csv)
    cases.append(Case("traffic collections (Parquet)", "traffic_parquet", [pq], "derived from the gzip JSON"))
    cases.append(Case("traffic collections (CSV)", "generic_csv", [csv], "derived; columns found by name"))

    # OpenSky state vectors: the real files, and the same rows repeated to about 600k
    osky = sorted((shared_data("adsb", "opensky") or Path("/nonexistent")).glob("*.parquet"))
    if osky:
        cases.append(Case("OpenSky state vectors (Parquet)", "opensky_parquet", osky, "3 real files"))
        big = INPUTS / "opensky_x100.parquet"
        big_csv = INPUTS / "opensky_x100.csv"
        if not big.exists() or not big_csv.exists():
            raw = pl.concat([pl.read_parquet(p).drop("serials") for p in osky], how="vertical_relaxed")
            copies = [
                raw.with_columns(icao24=pl.format("{}{}", pl.lit(f"{i:02x}"), pl.col("icao24").str.slice(2)))
                for i in range(100)
            ]
            rep = pl.concat(copies)
            rep.write_parquet(big, row_group_size=250_000)
            rep.with_columns(pl.col("time").dt.epoch("s"), pl.col("hour").dt.epoch("s")).write_csv(big_csv)
        cases.append(Case("OpenSky state vectors x100 (Parquet)", "opensky_parquet", [big], "real rows under 100 addresses"))
        cases.append(Case("OpenSky state vectors x100 (CSV)", "opensky_csv", [big_csv], "same, as CSV"))

    trace = shared_data("adsb", "readsb", "trace_full_ac671b.json")
    if trace is not None:
        cases.append(Case("readsb trace_full (1 file)", "readsb_trace", [trace], "2,500 points, plain JSON"))
        parts = sorted(INPUTS.glob("globe_x200.tar.a?"))
        if not parts:
            raw = trace.read_bytes()
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for i in range(200):
                    hex_ = f"{0xA00000 + i:06x}"
                    data = raw.replace(b'"icao":"ac671b"', f'"icao":"{hex_}"'.encode())
                    payload = gzip.compress(data, compresslevel=1, mtime=0)  # readsb writes fast gzip
                    info = tarfile.TarInfo(f"traces/{hex_[-2:]}/trace_full_{hex_}.json")
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
            data = buf.getvalue()
            half = len(data) // 2
            (INPUTS / "globe_x200.tar.aa").write_bytes(data[:half])
            (INPUTS / "globe_x200.tar.ab").write_bytes(data[half:])
            parts = sorted(INPUTS.glob("globe_x200.tar.a?"))
        cases.append(
            Case("globe_history tar, 200 gzip traces (split .aa/.ab)", "globe_history_tar", [parts[0]], "the real trace under 200 addresses")
        )

    mil = sorted((shared_data("adsb", "adsbx-v2") or Path("/nonexistent")).glob("*"))
    if mil:
        cases.append(Case("ADS-B Exchange /v2/mil responses + poll log", "aircraft_json", mil, "3 responses and the raw log"))
    return cases


OURS = '''
import sys
sys.path.insert(0, {src!r})
from isrwatch.sources import read
paths = {paths!r}
def run():
    rows = kept = rejected = 0
    for p in paths:
        for b in read(p, fmt={fmt!r}):
            rows += b.rows_read
            kept += b.observations.height
            rejected += int(b.rejects["n_rows"].sum())
    return rows, kept, rejected
r = best_of(run, n={runs})
rows, kept, rejected = r.pop("result")
print(json.dumps({{**r, "points": rows, "kept": kept, "rejected": rejected, "peak_rss_mb": peak_rss_mb()}}))
'''

TRAFFIC = '''
import warnings
warnings.filterwarnings("ignore")
from traffic.core import Traffic
paths = {paths!r}
def run():
    return sum(len(Traffic.from_file(p).data) for p in paths)
r = best_of(run, n={runs})
points = r.pop("result")
print(json.dumps({{**r, "points": points, "peak_rss_mb": peak_rss_mb()}}))
'''


def _with_rates(res: dict) -> dict:
    """A snippet's result with points per wall second and per CPU second."""
    return {**res, "pts_s": res["points"] / res["best_s"], "pts_cpu_s": res["points"] / res["best_cpu_s"]}


def measure(case: Case, runs: int) -> dict:
    src = str(REPO / "src")
    res = _with_rates(run_here(OURS.format(src=src, paths=[str(p) for p in case.paths], fmt=case.fmt, runs=runs)))
    return {"case": case.name, "fmt": case.fmt, "files": len(case.paths), "note": case.note, **res}


def measure_traffic(paths: list[Path], runs: int) -> dict:
    res = _with_rates(run_in_traffic(TRAFFIC.format(paths=[str(p) for p in paths], runs=runs)))
    return {"case": "traffic 2.13 Traffic.from_file (same gzip JSON)", "fmt": "traffic", "files": len(paths), **res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="timed runs per case (best is reported)")
    ap.add_argument("--no-traffic", action="store_true", help="skip the traffic comparison")
    args = ap.parse_args()

    cases = prepare()
    rows = []
    for case in cases:
        print(f"reading {case.name} ...", file=sys.stderr, flush=True)
        rows.append(measure(case, args.runs))
    comparison = None
    if not args.no_traffic:
        print("traffic 2.13 on the same gzip JSON ...", file=sys.stderr, flush=True)
        t = measure_traffic(cases[0].paths, args.runs)
        rows.append(t)
        ours = rows[0]
        comparison = {
            "files": [p.name for p in cases[0].paths],
            "ours_pts_s": ours["pts_s"],
            "traffic_pts_s": t["pts_s"],
            "speedup": ours["pts_s"] / t["pts_s"],
            "ours_points": ours["points"],
            "traffic_points": t["points"],
        }

    parquet = max((r["pts_s"] for r in rows if r["fmt"].endswith("parquet") and r["points"] > 100_000), default=None)
    readsb = next((r["pts_s"] for r in rows if r["fmt"] == "globe_history_tar"), None)
    checks = {
        "parquet_pts_s": {"target": TARGETS["parquet_pts_s"], "measured": parquet},
        "readsb_pts_s": {"target": TARGETS["readsb_pts_s"], "measured": readsb},
        "gzip_json_vs_traffic": {
            "target": TARGETS["gzip_json_vs_traffic"],
            "measured": comparison["speedup"] if comparison else None,
        },
    }
    for c in checks.values():
        c["met"] = c["measured"] is not None and c["measured"] >= c["target"]

    out = {"machine": machine(), "runs": args.runs, "results": rows, "traffic_comparison": comparison, "targets": checks}
    path = write_json("readers", out)

    table = markdown_table(
        rows,
        [
            ("case", "input"),
            ("fmt", "format"),
            ("points", "points"),
            ("best_s", "best s"),
            ("best_cpu_s", "CPU s"),
            ("pts_s", "points/s"),
            ("pts_cpu_s", "points/CPU-s"),
            ("peak_rss_mb", "peak RSS MB"),
        ],
    )
    print(table)
    print()
    if comparison:
        print(
            f"gzip JSON: isrwatch {comparison['ours_pts_s']:,.0f} points/s vs traffic 2.13 "
            f"{comparison['traffic_pts_s']:,.0f} points/s: {comparison['speedup']:.1f}x"
        )
    for name, c in checks.items():
        m = "–" if c["measured"] is None else f"{c['measured']:,.1f}"
        print(f"target {name}: {m} (target {c['target']:,}) {'met' if c['met'] else 'NOT met'}")
    m = out["machine"]
    print(f"\n{m['cpus']} CPUs, load average {m['load_avg_1_5_15']} at the end; wrote {path}")


if __name__ == "__main__":
    main()
