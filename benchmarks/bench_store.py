"""Store ingest throughput: points per second from real ADS-B files into a fresh isrwatch store,
for each reader, and for a 10 M-row OpenSky Parquet file derived from the real ones.

    make -C benchmarks store        # or: ../.venv/bin/python bench_store.py [--runs N] [--rows N]

Each case runs in a fresh process (project venv) and measures, best of N runs (wall and CPU
seconds; CPU counts every thread, DuckDB's and Polars' included):
- read only: the reader's batches, nothing stored (what the store adds is the difference);
- fresh: open a new store file, ingest the files, close it (schema creation and DuckDB's
  checkpoint at close included -- what a user waits for);
- force: ingest the same files again with force=True: every row read, every row a duplicate;
- skip: ingest them again without force: the sha256 matches a completed ingest, nothing read;
- size: the store on disk after the fresh ingest (DuckDB file, WAL, Parquet parts);
- peak RSS of the process.
points/s is rows_read / best wall seconds. The counting invariant (rows_read == stored +
rejected + duplicate) is checked on every run.

Inputs: ../shared/data/adsb (readsb trace, ADS-B Exchange /v2/mil responses and the raw poll
log, OpenSky state vectors, traffic's sample collections) and, generated once into
benchmarks/out/inputs, opensky_10m.parquet: the real OpenSky rows copied under distinct
addresses (three hex digits replaced), times shifted by whole minutes (copies spread over 12 h)
and positions nudged by copy x 1e-6 degrees, so that the file does not collapse into one
dictionary per column; sorted by time like a state-vector dump.

Writes benchmarks/out/store.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from common import OUT, REPO, machine, markdown_table, run_here, shared_data, write_json

INPUTS = OUT / "inputs"
STORES = OUT / "stores"
TARGET_PTS_S = 10e6  # the target for Parquet into the store
COLLECTIONS = ["quickstart", "savan", "switzerland"]


def generate_opensky(n_rows: int, out: Path) -> Path:
    """n_rows OpenSky state vectors derived from the real files (see the module docstring)."""
    files = sorted((shared_data("adsb", "opensky") or Path("/nonexistent")).glob("*.parquet"))
    if not files:
        sys.exit("needs ../shared/data/adsb/opensky/*.parquet")
    raw = pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")
    copies = -(-n_rows // raw.height)
    if copies > 0xFFF:
        sys.exit(f"--rows {n_rows}: at most {0xFFF * raw.height:,} rows (4095 copies of {raw.height:,})")
    shift = (pl.col("copy") % 720) * 60  # seconds
    rep = (
        pl.DataFrame({"copy": pl.int_range(0, copies, eager=True)})
        .join(raw, how="cross")
        .head(n_rows)
        .with_columns(
            icao24=pl.concat_str(
                pl.col("copy").replace_strict({i: f"{i:03x}" for i in range(copies)}, return_dtype=pl.String),
                pl.col("icao24").str.slice(3),
            ),
            time=pl.col("time") + pl.duration(seconds=shift),
            hour=pl.col("hour") + pl.duration(seconds=shift),
            lastposupdate=pl.col("lastposupdate") + shift,
            lastcontact=pl.col("lastcontact") + shift,
            lat=pl.col("lat") + pl.col("copy") * 1e-6,
            lon=pl.col("lon") - pl.col("copy") * 1e-6,
        )
        .sort("time", maintain_order=True)
        .drop("copy")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    rep.write_parquet(tmp, row_group_size=250_000)
    tmp.rename(out)
    return out


def cases(n_rows: int) -> list[dict]:
    adsb = shared_data("adsb")
    if adsb is None:
        sys.exit("needs ../shared/data/adsb (the shared test material)")
    mil = sorted((adsb / "adsbx-v2").glob("mil_*.json"))
    log = sorted((adsb / "adsbx-v2").glob("mil_poll_log_*.raw.txt"))
    out = [
        {"case": "readsb trace_full (1 file)", "fmt": "readsb_trace", "paths": [adsb / "readsb" / "trace_full_ac671b.json"]},
        {"case": "ADS-B Exchange /v2/mil responses (3)", "fmt": "aircraft_json", "paths": mil},
        {"case": "ADS-B Exchange raw poll log", "fmt": "aircraft_json", "paths": log},
        {"case": "OpenSky state vectors (3 Parquet)", "fmt": "opensky_parquet", "paths": sorted((adsb / "opensky").glob("*.parquet"))},
        {"case": "traffic collections (3 gzip JSON)", "fmt": "traffic_json",
         "paths": [adsb / "traffic-samples" / "collections" / f"{n}.json.gz" for n in COLLECTIONS]},
    ]
    big = INPUTS / f"opensky_{n_rows // 1_000_000}m.parquet" if n_rows % 1_000_000 == 0 else INPUTS / f"opensky_{n_rows}.parquet"
    if not big.exists():
        print(f"generating {big.name} ({n_rows:,} rows) ...", file=sys.stderr, flush=True)
        generate_opensky(n_rows, big)
    out.append({"case": f"OpenSky-like Parquet, {n_rows / 1e6:g} M rows (generated)", "fmt": "opensky_parquet", "paths": [big]})
    for c in out:
        missing = [p for p in c["paths"] if not Path(p).exists()]
        if missing or not c["paths"]:
            sys.exit(f"{c['case']}: missing input {missing or '(no files)'}")
    return out


SNIPPET = '''
import os, shutil, sys, tempfile
from pathlib import Path
sys.path.insert(0, {src!r})
from isrwatch.sources import read
from isrwatch.store import ingest, open_store

paths = {paths!r}
stores = Path({stores!r})
stores.mkdir(parents=True, exist_ok=True)
runs = {runs}

def size_of(d):
    return sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())

def check(results):
    for r in results:
        assert r.rows_read == r.rows_stored + r.rows_rejected + r.rows_duplicate, r.to_dict()
        assert r.error is None, r.error
    return {{k: sum(getattr(r, k) for r in results) for k in ("rows_read", "rows_stored", "rows_rejected", "rows_duplicate")}}

def read_only():
    return sum(b.rows_read for p in paths for b in read(p))

state = {{}}
def fresh():
    d = Path(tempfile.mkdtemp(dir=stores))
    con = open_store(d / "s.duckdb")
    counts = check([ingest(con, p) for p in paths])
    con.close()
    if "dir" in state:
        shutil.rmtree(state["dir"], ignore_errors=True)
    state["dir"], state["size"] = d, size_of(d)
    return counts

out = {{}}
r = best_of(read_only, n=runs)
out["read"] = {{"best_s": r["best_s"], "best_cpu_s": r["best_cpu_s"], "points": r["result"]}}
r = best_of(fresh, n=runs)
out["fresh"] = {{"best_s": r["best_s"], "best_cpu_s": r["best_cpu_s"], "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], **r["result"]}}
out["size_bytes"] = state["size"]
con = open_store(state["dir"] / "s.duckdb")
def again(force):
    return check([ingest(con, p, force=force) for p in paths])
r = best_of(lambda: again(True), n=runs)
out["force"] = {{"best_s": r["best_s"], "best_cpu_s": r["best_cpu_s"], **r["result"]}}
r = best_of(lambda: again(False), n=runs)
out["skip"] = {{"best_s": r["best_s"], "best_cpu_s": r["best_cpu_s"], **r["result"]}}
con.close()
shutil.rmtree(state["dir"], ignore_errors=True)
out["peak_rss_mb"] = peak_rss_mb()
print(json.dumps(out))
'''


def measure(case: dict, runs: int) -> dict:
    res = run_here(
        SNIPPET.format(src=str(REPO / "src"), paths=[str(p) for p in case["paths"]], stores=str(STORES), runs=runs),
        timeout=3600,
    )
    row = {"case": case["case"], "fmt": case["fmt"], "files": len(case["paths"]), **res}
    points = res["fresh"]["rows_read"]
    row["points"] = points
    for step in ("read", "fresh", "force", "skip"):
        s = res[step]
        row[f"{step}_s"] = s["best_s"]
        row[f"{step}_cpu_s"] = s["best_cpu_s"]
        row[f"{step}_pts_s"] = points / s["best_s"] if s["best_s"] else None
        row[f"{step}_pts_cpu_s"] = points / s["best_cpu_s"] if s["best_cpu_s"] else None
    row["stored"] = res["fresh"]["rows_stored"]
    row["size_mb"] = res["size_bytes"] / 1e6
    row["bytes_per_stored_row"] = res["size_bytes"] / row["stored"] if row["stored"] else None
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="timed runs per step (best is reported)")
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of the generated OpenSky-like file")
    args = ap.parse_args()

    rows = []
    for case in cases(args.rows):
        print(f"{case['case']} ...", file=sys.stderr, flush=True)
        rows.append(measure(case, args.runs))

    big = rows[-1]
    target = {
        "what": "Parquet into the store, points/s (fresh ingest of the generated file)",
        "target": TARGET_PTS_S,
        "measured": big["fresh_pts_s"],
        "met": big["fresh_pts_s"] >= TARGET_PTS_S,
    }
    out = {"machine": machine(), "runs": args.runs, "results": rows, "target": target}
    path = write_json("store", out)

    print(
        markdown_table(
            rows,
            [
                ("case", "input"),
                ("points", "points"),
                ("stored", "stored"),
                ("read_pts_s", "read only pts/s"),
                ("fresh_s", "fresh s"),
                ("fresh_cpu_s", "fresh CPU s"),
                ("fresh_pts_s", "fresh pts/s"),
                ("force_pts_s", "force (all duplicate) pts/s"),
                ("force_cpu_s", "force CPU s"),
                ("skip_s", "skip (sha256) s"),
                ("size_mb", "store MB"),
                ("peak_rss_mb", "peak RSS MB"),
            ],
        )
    )
    print()
    print(
        f"target: {target['what']}: {target['measured']:,.0f} (target {target['target']:,.0f}) "
        f"{'met' if target['met'] else 'NOT met'}; "
        f"{big['fresh_pts_cpu_s']:,.0f} points per CPU-second"
    )
    m = out["machine"]
    print(f"\n{m['cpus']} CPUs, load average {m['load_avg_1_5_15']} at the end; wrote {path}")


if __name__ == "__main__":
    main()
