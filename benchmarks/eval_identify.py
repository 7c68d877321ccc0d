"""How well does identify() find surveillance aircraft? Prints the tables; run from the repo root:

    .venv/bin/python benchmarks/eval_identify.py [--shared ../shared/data]

1. Real ADS-B Exchange /v2/mil responses (2023-01-24): which aircraft are flagged as ISR, in
   which role, and by which source (feed facts alone, then with both databases).
2. BuzzFeed News' 2017 spy-plane training set (97 surveillance + 500 other aircraft by hex):
   how many surveillance aircraft are flagged, how (catalogue by registration / description /
   type, plane-alert-db category / tags), how many flagged by the address block as military,
   and how many of the 500 others are flagged (false positives) — with no database, with
   tar1090-db only, with plane-alert-db only, and with both.

The figures go to tests/test_identify_eval.py as floors.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import polars as pl

from isrwatch import schema
from isrwatch.identify import identify_all, load_cached
from isrwatch.identify.evaluate import flagged, score_labels
from isrwatch.sources import read


def feed_tables(files: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    aircraft, calls = [], []
    for f in files:
        for batch in read(f):
            aircraft.append(batch.aircraft)
            calls.append(batch.observations.select("icao24", "callsign"))
    feed = pl.concat([schema.conform(a, schema.FEED_AIRCRAFT) for a in aircraft])
    return feed, pl.concat(calls).unique()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = ap.parse_args()
    data = args.shared
    if not data.is_dir():
        print(f"needs the shared material at {data}", file=sys.stderr)
        return 2
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_fmt_str_lengths(36)

    t0 = time.perf_counter()
    adb = load_cached("tar1090", data / "aircraft" / "tar1090-db" / "flattened_aircraft.csv.gz")
    pdb = load_cached("plane-alert", data / "aircraft" / "plane-alert-db" / "plane-alert-db.csv")
    print(f"databases: tar1090-db {adb.table.height} aircraft, plane-alert-db {pdb.table.height} "
          f"({time.perf_counter() - t0:.2f} s incl. Parquet cache)\n")

    files = sorted(glob.glob(str(data / "adsb" / "adsbx-v2" / "mil_*.json")))
    feed, calls = feed_tables(files)
    ids = feed["icao24"]
    print(f"== ADS-B Exchange /v2/mil, {len(files)} responses, {ids.n_unique()} distinct aircraft")
    for label, kw in (("feed facts only", {}), ("feed + tar1090-db + plane-alert-db", {"aircraft_db": adb.table, "plane_alert": pdb.table})):
        res = identify_all(ids, feed, callsigns=calls, **kw)
        f = flagged(res.aircraft)
        print(f"-- {label}: {f.height} flagged ISR, {res.status['n_military']} military, {res.status['n_conflicts']} source conflicts")
        print(f.select("icao24", "registration", "type_code", "country_iso2", "isr_role", "isr_variant", "isr_role_source").sort("isr_role", "icao24"))
    print()

    labels = pl.read_csv(data / "aircraft" / "labels" / "buzzfeed-2017" / "train.csv").rename({"adshex": "icao24"})
    print(f"== BuzzFeed News 2017 training set: {labels.height} aircraft "
          f"({labels.filter(pl.col('class') == 'surveil').height} surveillance)")
    configs = {
        "no database (catalogue + hex block)": {},
        "tar1090-db only": {"aircraft_db": adb.table},
        "plane-alert-db only": {"plane_alert": pdb.table},
        "tar1090-db + plane-alert-db": {"aircraft_db": adb.table, "plane_alert": pdb.table},
    }
    for label, kw in configs.items():
        res = identify_all(labels["icao24"], None, **kw)
        print(f"-- {label}")
        print(score_labels(labels, res.aircraft))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
