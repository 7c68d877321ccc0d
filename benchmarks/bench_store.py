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
- read back: load_observations of everything, and of five aircraft, from that store;
- memory: the peak RSS of a fresh process that only ingests the files into a new store, and of
  the process that ran all the steps above (read-back of every row included).
points/s is rows_read / best wall seconds. The counting invariant (rows_read == stored +
rejected + duplicate) is checked on every run.

Inputs: ../shared/data/adsb (readsb trace, ADS-B Exchange /v2/mil responses and the raw poll
log, OpenSky state vectors, traffic's sample collections) and, generated once into
benchmarks/out/inputs, opensky_10m.parquet: the real OpenSky rows copied under distinct
addresses (three hex digits replaced), times shifted by whole minutes (copies spread over 12 h)
and positions nudged by copy x 1e-6 degrees, so that the file does not collapse into one
dictionary per column; sorted by time like a state-vector dump.

Design alternatives (--no-alternatives skips them), on the generated file, once each, CPU
seconds: the ways of storing its observations (DuckDB INSERT into a table as the store's v1 did,
the same with a lighter layout -- numeric columns only, icao24 as an integer -- and with
checkpoint_threshold raised; DuckDB's COPY to Parquet; Polars' Parquet writer as the store's
parts use it), and the reader against a DuckDB-native validation of the same Parquet (stale
vectors, row order, addresses and the position_jump neighbours as window functions). These are
the figures behind "Why Parquet parts" in src/isrwatch/store/db.py.

Writes benchmarks/out/store.json and prints Markdown tables.
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
from isrwatch.store import ingest, load_observations, open_store

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
con = open_store(state["dir"] / "s.duckdb", read_only=True)
some = [a for (a,) in con.execute("SELECT DISTINCT icao24 FROM observations ORDER BY 1 LIMIT 5").fetchall()]
r = best_of(lambda: load_observations(con).height, n=runs)
out["load_all"] = {{"best_s": r["best_s"], "best_cpu_s": r["best_cpu_s"], "rows": r["result"]}}
r = best_of(lambda: load_observations(con, icao24=some).height, n=runs)
out["load_5_aircraft"] = {{"best_s": r["best_s"], "best_cpu_s": r["best_cpu_s"], "rows": r["result"]}}
con.close()
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


ALTERNATIVES = '''
import os, shutil, sys, tempfile
from pathlib import Path
sys.path.insert(0, {src!r})
import duckdb, polars as pl
from isrwatch.sources import read

path = {path!r}
work = Path(tempfile.mkdtemp(dir={stores!r}))
df = pl.concat([b.observations for b in read(path)]).with_columns(ingest_id=pl.lit(1, dtype=pl.Int64))
arrow = df.to_arrow()
out = {{"rows": df.height}}

def timed(name, fn):
    c0, w0 = time.process_time(), time.perf_counter()
    size = fn()
    out[name] = {{"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0, "mb": size / 1e6 if size else None}}

def size_of(*paths):
    return sum(p.stat().st_size for q in paths for p in ([q] if q.is_file() else q.rglob("*")) if p.is_file())

def duck_insert(select, settings=()):
    db = work / "t.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("SET preserve_insertion_order = false")
    for s in settings:
        con.execute(s)
    con.register("a", arrow)
    con.execute(f"CREATE TABLE o AS SELECT {{select}} FROM a LIMIT 0")
    def run():
        con.execute("BEGIN")
        con.execute(f"INSERT INTO o SELECT {{select}} FROM a")
        con.execute("COMMIT")
        con.close()
        return size_of(db, *[p for p in [Path(str(db) + ".wal")] if p.exists()])
    return run

light = ("time, CAST(('0x' || icao24) AS UINTEGER) AS icao24, lat, lon, alt_baro, alt_geom, gs, track, vrate,"
         " CAST(on_ground AS UTINYINT) + 2 * CAST(leg_start AS UTINYINT) + 4 * CAST(stale AS UTINYINT) AS flags")
timed("duckdb_insert_table", duck_insert("*"))
timed("duckdb_insert_table_checkpoint_threshold_1tb", duck_insert("*", ["SET checkpoint_threshold = '1TB'"]))
timed("duckdb_insert_table_light_layout", duck_insert(light))

def copy_parquet():
    con = duckdb.connect()
    con.register("a", arrow)
    target = work / "copy.parquet"
    con.execute(f"COPY (SELECT * FROM a) TO '{{target}}' (FORMAT parquet, COMPRESSION zstd)")
    return target.stat().st_size
timed("duckdb_copy_parquet_zstd", copy_parquet)

def polars_parts():
    d = work / "parts"
    d.mkdir(exist_ok=True)
    for i in range(0, df.height, 2_000_000):
        df.slice(i, 2_000_000).write_parquet(d / f"p{{i}}.parquet", compression="zstd", compression_level=1,
                                             statistics=True, row_group_size=131_072)
    return size_of(d)
timed("polars_write_parquet_zstd1", polars_parts)

timed("reader_opensky_parquet", lambda: sum(b.rows_read for b in read(path)) and 0)

native = f"""
WITH src AS (
  SELECT file_row_number AS rn, epoch_us(time) AS row_us, CAST(round(lastposupdate * 1e6) AS BIGINT) AS t_us,
         lower(trim(icao24)) AS icao24, lat, lon
  FROM read_parquet('{{path}}', file_row_number = true)
), fresh AS (
  SELECT *, row_number() OVER (ORDER BY rn) - 1 AS fi FROM src
  WHERE t_us IS NOT NULL AND NOT coalesce(row_us - t_us > 15e6, false)
), addr AS (
  SELECT icao24, CASE WHEN regexp_full_match(icao24, '~?[0-9a-f]{{{{6}}}}')
                      THEN CAST(('0x' || ltrim(icao24, '~')) AS BIGINT) + (CASE WHEN icao24[1] = '~' THEN 16777216 ELSE 0 END)
                 END AS address
  FROM (SELECT DISTINCT icao24 FROM fresh)
), valid AS (
  SELECT f.*, a.address, f.fi // 250000 AS batch FROM fresh f JOIN addr a USING (icao24)
  WHERE a.address IS NOT NULL AND lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180
), keyed AS (
  SELECT *, address * (1::BIGINT << 38) + (t_us - min(t_us) OVER (PARTITION BY batch)) AS k FROM valid
), w AS (
  SELECT address, lat, lon, lag(address) OVER win AS pa, lead(address) OVER win AS na,
         lag(lat) OVER win AS plat, lag(lon) OVER win AS plon, lead(lat) OVER win AS nlat, lead(lon) OVER win AS nlon
  FROM keyed WINDOW win AS (PARTITION BY batch ORDER BY k, rn)
)
SELECT count(*) FILTER (WHERE pa = address AND na = address
                        AND (lat - plat) ^ 2 + (lon - plon) ^ 2 > 0.05 AND (lat - nlat) ^ 2 + (lon - nlon) ^ 2 > 0.05)
FROM w
"""
timed("duckdb_native_validation_windows", lambda: duckdb.connect().execute(native).fetchall() and 0)
shutil.rmtree(work, ignore_errors=True)
print(json.dumps(out))
'''


def measure_alternatives(path: Path) -> dict:
    res = run_here(ALTERNATIVES.format(src=str(REPO / "src"), path=str(path), stores=str(STORES)), timeout=3600)
    STORES.mkdir(parents=True, exist_ok=True)
    return res


PEAK = '''
import shutil, sys, tempfile
from pathlib import Path
sys.path.insert(0, {src!r})
from isrwatch.store import ingest, open_store
d = Path(tempfile.mkdtemp(dir={stores!r}))
con = open_store(d / "s.duckdb")
for p in {paths!r}:
    ingest(con, p)
con.close()
shutil.rmtree(d, ignore_errors=True)
print(json.dumps(peak_rss_mb()))
'''


def measure(case: dict, runs: int) -> dict:
    ingest_peak = run_here(
        PEAK.format(src=str(REPO / "src"), paths=[str(p) for p in case["paths"]], stores=str(STORES)), timeout=3600
    )
    res = run_here(
        SNIPPET.format(src=str(REPO / "src"), paths=[str(p) for p in case["paths"]], stores=str(STORES), runs=runs),
        timeout=3600,
    )
    row = {"case": case["case"], "fmt": case["fmt"], "files": len(case["paths"]), **res, "ingest_peak_rss_mb": ingest_peak}
    points = res["fresh"]["rows_read"]
    row["points"] = points
    for step in ("read", "fresh", "force", "skip"):
        s = res[step]
        row[f"{step}_s"] = s["best_s"]
        row[f"{step}_cpu_s"] = s["best_cpu_s"]
        row[f"{step}_pts_s"] = points / s["best_s"] if s["best_s"] else None
        row[f"{step}_pts_cpu_s"] = points / s["best_cpu_s"] if s["best_cpu_s"] else None
    row["load_all_s"] = res["load_all"]["best_s"]
    row["load_5_aircraft_s"] = res["load_5_aircraft"]["best_s"]
    row["stored"] = res["fresh"]["rows_stored"]
    row["size_mb"] = res["size_bytes"] / 1e6
    row["bytes_per_stored_row"] = res["size_bytes"] / row["stored"] if row["stored"] else None
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="timed runs per step (best is reported)")
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of the generated OpenSky-like file")
    ap.add_argument("--no-alternatives", action="store_true", help="skip the design alternatives")
    args = ap.parse_args()

    rows = []
    todo = cases(args.rows)
    STORES.mkdir(parents=True, exist_ok=True)
    for case in todo:
        print(f"{case['case']} ...", file=sys.stderr, flush=True)
        rows.append(measure(case, args.runs))
    alternatives = None
    if not args.no_alternatives:
        print("design alternatives ...", file=sys.stderr, flush=True)
        alternatives = measure_alternatives(todo[-1]["paths"][0])

    big = rows[-1]
    target = {
        "what": "Parquet into the store, points/s (fresh ingest of the generated file)",
        "target": TARGET_PTS_S,
        "measured": big["fresh_pts_s"],
        "met": big["fresh_pts_s"] >= TARGET_PTS_S,
    }
    out = {"machine": machine(), "runs": args.runs, "results": rows, "target": target, "alternatives": alternatives}
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
                ("load_all_s", "load all s"),
                ("load_5_aircraft_s", "load 5 aircraft s"),
                ("ingest_peak_rss_mb", "ingest peak RSS MB"),
            ],
        )
    )
    if alternatives:
        n = alternatives.pop("rows")
        print(f"\nDesign alternatives, {n:,} rows of the generated file (once each):\n")
        print(
            markdown_table(
                [{"what": k, **v} for k, v in alternatives.items()],
                [("what", "step"), ("wall_s", "wall s"), ("cpu_s", "CPU s"), ("mb", "MB on disk")],
            )
        )
        alternatives["rows"] = n
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
