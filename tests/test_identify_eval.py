"""identify() on real data: floors measured with benchmarks/eval_identify.py (2025 database copies).

- ADS-B Exchange /v2/mil, 2023-01-24 (276 distinct aircraft): 9 ISR aircraft flagged from the
  feed's own r/t fields alone, 13 with tar1090-db and plane-alert-db.
- BuzzFeed News 2017 training set (97 surveillance, 500 other): 67 surveillance aircraft flagged
  with both databases (63 by plane-alert-db's Oxcart category, 2 by its tags, 2 by the catalogue's
  description variants), 1 with tar1090-db alone (a P-3 by type), none from the address block;
  0 of the 500 others flagged in any configuration.
"""

from __future__ import annotations

import glob
import json

import polars as pl
import pytest

from isrwatch import schema
from isrwatch.identify import identify_all, load_cached
from isrwatch.identify.evaluate import flagged, score_labels
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def dbs(shared):
    adb = load_cached("tar1090", shared / "aircraft" / "tar1090-db" / "flattened_aircraft.csv.gz", use_cache=False)
    pdb = load_cached("plane-alert", shared / "aircraft" / "plane-alert-db" / "plane-alert-db.csv", use_cache=False)
    return adb.table, pdb.table


@pytest.fixture(scope="module")
def mil_feed(shared):
    rows = []
    for path in sorted(glob.glob(str(shared / "adsb" / "adsbx-v2" / "mil_*.json"))):
        with open(path) as fh:
            for ac in json.load(fh)["ac"]:
                rows.append(
                    {
                        "icao24": ac.get("hex"), "registration": ac.get("r"), "type_code": ac.get("t"),
                        "type_description": ac.get("desc"), "operator": ac.get("ownOp"),
                        "db_flags": ac.get("dbFlags"), "source": "adsbx-v2",
                    }
                )
    return schema.conform(pl.DataFrame(rows), schema.FEED_AIRCRAFT)


EXPECTED_WITH_DATABASES = {
    "ae01cc": ("sigint", "catalogue:registration"),  # RC-135W 62-4131
    "87cc10": ("sigint", "catalogue:description"),  # Kawasaki RC-2
    "ae10e2": ("sigint", "catalogue:description"),  # RC-12X Guardrail: only plane-alert's $Type says so
    "ae11e2": ("aew", "catalogue:description"),  # E-3B
    "7cf8f2": ("aew", "catalogue:description"),  # E-7A Wedgetail
    "7cf9d5": ("maritime_patrol", "catalogue:description"),  # RAAF P-8A
    "ae1d2b": ("maritime_patrol", "catalogue:type"),  # US Navy P-3
    "c87f08": ("maritime_patrol", "catalogue:type"),  # RNZAF P-3K2
}


def test_us_isr_in_real_mil_responses_from_feed_fields_alone(mil_feed):
    res = identify_all(mil_feed["icao24"], mil_feed)
    f = {r["icao24"]: r for r in flagged(res.aircraft).iter_rows(named=True)}
    assert len(f) >= 9
    assert f["ae01cc"]["isr_variant"] == "RC-135W Rivet Joint"
    assert f["ae11e2"]["isr_role"] == "aew" and f["ae1d2b"]["isr_role"] == "maritime_patrol"
    assert res.status["aircraft_db"] == "missing"
    assert res.aircraft["military"].all()  # every /v2/mil aircraft carries dbFlags bit 0


def test_us_isr_in_real_mil_responses_with_databases(mil_feed, dbs):
    adb, pdb = dbs
    res = identify_all(mil_feed["icao24"], mil_feed, aircraft_db=adb, plane_alert=pdb)
    a = res.aircraft
    assert a.height == 276
    f = {r["icao24"]: r for r in flagged(a).iter_rows(named=True)}
    assert len(f) >= 13
    for hex_, (role, source) in EXPECTED_WITH_DATABASES.items():
        assert (f[hex_]["isr_role"], f[hex_]["isr_role_source"]) == (role, source), hex_
    by = {r["icao24"]: r for r in a.iter_rows(named=True)}
    # not spy planes: E-6B (command post), E-11A (comms relay), tankers, airlifters
    assert by["ae0413"]["isr_role"] == "none" and by["ae4de1"]["isr_role"] == "none"
    assert by["ae058d"]["isr_role"] == "none" and by["ae2fa5"]["isr_role"] == "none"
    # the E-11A disagreement with plane-alert-db is on record, not silently resolved
    c = res.conflicts
    assert c.filter((pl.col("icao24") == "ae4de1") & (pl.col("fact") == "isr_role")).height == 1
    assert by["ae01cc"]["country_iso2"] == "US" and by["7cf9d5"]["country_iso2"] == "AU"


def _labels():
    return pl.read_csv(shared_file("aircraft", "labels", "buzzfeed-2017", "train.csv")).rename({"adshex": "icao24"})


def _row(score: pl.DataFrame, cls: str) -> dict:
    return score.filter(pl.col("class") == cls).row(0, named=True)


def test_buzzfeed_surveillance_set(dbs):
    adb, pdb = dbs
    labels = _labels()
    assert labels.height == 597
    both = score_labels(labels, identify_all(labels["icao24"], None, aircraft_db=adb, plane_alert=pdb).aircraft)
    surveil, other = _row(both, "surveil"), _row(both, "other")
    assert surveil["n"] == 97 and other["n"] == 500
    assert surveil["flagged"] >= 67
    assert surveil["flagged_by:db:plane-alert:category"] >= 63
    assert surveil.get("flagged_by:catalogue:description", 0) >= 2
    assert other["flagged"] == 0  # no false positives among the 500 others
    # the FBI/DHS aircraft are civil-registered: neither the address block nor the databases
    # call them military, so a "military only" count would miss all of them
    assert surveil["hex_military"] == 0 and surveil["military"] == 0

    tar_only = score_labels(labels, identify_all(labels["icao24"], None, aircraft_db=adb).aircraft)
    assert _row(tar_only, "surveil")["flagged"] >= 1
    assert _row(tar_only, "other")["flagged"] == 0
    none = score_labels(labels, identify_all(labels["icao24"], None).aircraft)
    assert _row(none, "other")["flagged"] == 0
