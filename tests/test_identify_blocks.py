"""Country and military status from the ICAO 24-bit address alone."""

from __future__ import annotations

import csv

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isrwatch.identify import blocks as blocks_mod
from isrwatch.identify.blocks import BlockTableError, load_blocks, lookup_blocks
from tests.conftest import shared_file


def _one(hex_: str) -> dict:
    return lookup_blocks(pl.Series([hex_])).row(0, named=True)


@pytest.mark.parametrize(
    "hex_, iso, military",
    [
        ("a00001", "US", False),  # N1
        ("adf7c7", "US", False),  # N99999, the last N-number address
        ("adf7c8", "US", True),  # first address above the N-number range
        ("ae01cc", "US", True),  # USAF RC-135W 62-4131
        ("AFFFFF", "US", True),
        ("0d0000", "MX", False),
        ("0d7fff", "MX", False),
        ("0d8000", "VE", False),  # Mexico ends at 0D7FFF
        ("43c38c", "GB", True),  # RAF RC-135W ZZ664
        ("43d000", "GB", False),  # outside the kept UK military block
        ("7cf9d5", "AU", True),  # RAAF P-8A
        ("7c0001", "AU", False),
        ("c2b175", "CA", True),
        ("3f9c84", "DE", True),
        ("4d03c2", "LU", True),  # NATO, registered in Luxembourg
        ("4d0001", "LU", False),
    ],
)
def test_known_addresses(hex_, iso, military):
    row = _one(hex_)
    assert row["country_iso2"] == iso
    assert row["hex_military"] is military


def test_unallocated_non_icao_and_malformed_addresses_get_nulls():
    out = lookup_blocks(pl.Series(["200000", "~abc123", "zzzzzz", "abc", None]))
    assert out.height == 5
    assert out["country"].null_count() == 5
    assert out["hex_military"].null_count() == 5


def test_icao_special_blocks_have_no_country_code():
    row = _one("f00001")
    assert row["country_iso2"] is None
    assert row["country"].startswith("ICAO")


def test_order_and_duplicates_are_kept():
    src = ["0d0001", "ae01cc", "0d0001", "~00000a", "a00001"]
    out = lookup_blocks(pl.DataFrame({"icao24": src, "other": range(5)}))
    assert out["icao24"].to_list() == src
    assert out["country_iso2"].to_list() == ["MX", "US", "MX", None, "US"]


def test_every_military_block_lies_inside_its_states_allocation():
    b = load_blocks()
    states = b.filter(pl.col("level") == 0)
    mil = b.filter(pl.col("level") == 1)
    assert states.height >= 190 and mil.height >= 30
    assert mil["military"].all() and not states["military"].any()
    for row in mil.iter_rows(named=True):
        parent = states.filter((pl.col("start_int") <= row["start_int"]) & (pl.col("end_int") >= row["end_int"]))
        assert parent.height == 1, row["block_start"]
        assert parent["country_iso2"][0] == row["country_iso2"], row["block_start"]


def test_overlapping_blocks_of_one_level_are_refused(tmp_path, monkeypatch):
    bad = tmp_path / "catalogue"
    bad.mkdir()
    (bad / "icao24_blocks.csv").write_text(
        "start,end,level,country_iso2,country,military,note\n"
        "A00000,AFFFFF,0,US,United States,false,\n"
        "A80000,B0FFFF,0,XX,Overlap,false,\n"
    )
    monkeypatch.setattr(blocks_mod.paths, "package_data", lambda *parts: tmp_path.joinpath(*parts))
    load_blocks.cache_clear()
    try:
        with pytest.raises(BlockTableError, match="overlapping"):
            load_blocks()
    finally:
        load_blocks.cache_clear()


def test_nested_block_most_specific_wins(tmp_path, monkeypatch):
    d = tmp_path / "catalogue"
    d.mkdir()
    (d / "icao24_blocks.csv").write_text(
        "start,end,level,country_iso2,country,military,note\n"
        "000000,00FFFF,0,AA,Outer,false,\n"
        "000100,0001FF,1,AA,Outer,true,inner\n"
        "000100,00010F,2,BB,Innermost,false,exception\n"
    )
    monkeypatch.setattr(blocks_mod.paths, "package_data", lambda *parts: tmp_path.joinpath(*parts))
    load_blocks.cache_clear()
    try:
        out = lookup_blocks(pl.Series(["000050", "000150", "000105", "010000"]))
    finally:
        load_blocks.cache_clear()
    assert out["country_iso2"].to_list() == ["AA", "AA", "BB", None]
    assert out["hex_military"].to_list() == [False, True, True, None]  # any level saying military
    assert out["block_note"].to_list() == [None, "inner", "exception", None]


def _naive(addr: int, table: pl.DataFrame) -> str | None:
    hits = [r for r in table.iter_rows(named=True) if r["start_int"] <= addr <= r["end_int"]]
    if not hits:
        return None
    return max(hits, key=lambda r: r["level"])["country"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=0xFFFFFF), min_size=1, max_size=30))
def test_interval_join_matches_a_naive_scan(addrs):
    table = load_blocks()
    out = lookup_blocks(pl.Series([f"{a:06x}" for a in addrs]))
    assert out["country"].to_list() == [_naive(a, table) for a in addrs]


def _vrs_rows():
    path = shared_file("aircraft", "vrs-standing-data", "code-blocks.csv")
    with open(path, encoding="utf-8-sig") as fh:
        return [
            (int(r["Start"], 16), int(r["Finish"], 16), int(r["Count"]), r["IsMilitary"] == "1", r["CountryISO2"])
            for r in csv.DictReader(fh)
        ]


def test_country_blocks_agree_with_vrs_standing_data():
    """An independent community table (CC0) gives the same State for both ends of every block."""
    vrs = _vrs_rows()
    civil = [r for r in vrs if not r[3] and r[4] not in ("ZZ",)]
    disagreements = []
    for row in load_blocks().filter(pl.col("level") == 0).iter_rows(named=True):
        if row["country_iso2"] is None:
            continue
        for addr in (row["start_int"], row["end_int"]):
            containing = [r for r in civil if r[0] <= addr <= r[1] and r[2] >= 1024]
            theirs = min(containing, key=lambda r: r[2])[4] if containing else None
            if theirs != row["country_iso2"]:
                disagreements.append((row["block_start"], addr, row["country_iso2"], theirs))
    assert disagreements == []


def test_military_blocks_are_military_in_vrs_standing_data():
    vrs = _vrs_rows()
    for row in load_blocks().filter(pl.col("level") == 1).iter_rows(named=True):
        for addr in (row["start_int"], row["end_int"]):
            assert any(r[3] and r[0] <= addr <= r[1] for r in vrs), (row["block_start"], hex(addr))


def test_military_blocks_hold_mostly_military_aircraft_in_tar1090_db():
    """Why some community ranges were left out: the kept ones are >= 75 % military in tar1090-db."""
    db = pl.read_csv(shared_file("aircraft", "tar1090-db", "flattened_aircraft.csv.gz"), infer_schema=False)
    db = db.with_columns(
        pl.col("icao24").str.to_integer(base=16, strict=False).alias("addr"),
        (pl.col("dbflags").str.slice(0, 1) == "1").alias("mil"),
    ).drop_nulls("addr")
    mil = load_blocks().filter(pl.col("level") == 1)
    joined = (
        db.sort("addr")
        .join_asof(mil.sort("start_int").select("start_int", "end_int", "block_start"), left_on="addr", right_on="start_int")
        .filter(pl.col("addr") <= pl.col("end_int"))
        .group_by("block_start")
        .agg(pl.len().alias("n"), pl.col("mil").mean().alias("share"))
        .filter(pl.col("n") >= 10)
    )
    assert joined.height >= 25
    low = joined.filter(pl.col("share") < 0.75)
    assert low.height == 0, low
