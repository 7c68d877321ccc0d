"""Aircraft database readers, the Parquet cache and where the files are found."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from isrwatch import paths, schema
from isrwatch.identify import databases as dbs
from isrwatch.identify.databases import (
    AIRCRAFT_DB,
    PLANE_ALERT,
    DatabaseError,
    load_aircraft_db,
    load_cached,
    load_plane_alert,
    read_aircraft_db,
    read_plane_alert,
)
from tests.conftest import shared_file

FLAT = (
    "icao24,registration,typecode,dbflags,description\n"
    "AE01CC,62-4131,R135,10,Boeing RC-135W Rivet Joint\n"
    "a00c4b,N102BR,c82t,00,CESSNA 182 Skylane\n"
    "3children,39,3D,,\n"
    "a00c4b,N999ZZ,C172,00,duplicate row\n"
    "0d0123,XA-ABC,B738,C04,BOEING 737-800\n"
    "ae1d2b,160610,P3,1001,\n"
)
NATIVE = (
    "ae01cc;62-4131;R135;10;Boeing RC-135W Rivet Joint;1962;United States Air Force;\n"
    "a00c4b;N102BR;C82T;0001;CESSNA 182;;OTV Leasing\\; LLC;\n"
    "xyz;bad;;;;;;\n"
    "ae0413;164386;E6;1;Boeing E-6B Mercury;;;\n"
)
PLANE_ALERT_CSV = (
    "$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link\n"
    "AE01CC,62-4131,USAF,Boeing RC-135W,R135,Mil,Eye In The Sky,SIGINT,Rivet Joint,Oxcart,https://example.org/a\n"
    "A00C4B,N102BR,OTV Leasing (DOJ),Cessna 182T Skylane,C182,Gov,US Dept Of Justice,Covert,,Oxcart,\n"
    "NOTHEX,X,Y,Z,Z,Civ,,,,Historic,\n"
)


@pytest.fixture(autouse=True)
def _no_db_env(monkeypatch):
    monkeypatch.delenv("ISRWATCH_AIRCRAFT_DB", raising=False)
    monkeypatch.delenv("ISRWATCH_PLANE_ALERT_DB", raising=False)


def _gz(path, text):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(text)
    return path


def test_flattened_csv_rows_are_kept_or_rejected_with_a_reason(tmp_path):
    got = read_aircraft_db(_gz(tmp_path / "flat.csv.gz", FLAT))
    assert got.table.schema == pl.Schema(AIRCRAFT_DB)
    assert got.rows_in == 6
    assert got.table.height + int(got.rejects["n_rows"].sum()) == got.rows_in
    assert sorted(got.rejects["reason"].to_list()) == ["bad_icao24", "duplicate_icao24"]
    t = {r["icao24"]: r for r in got.table.iter_rows(named=True)}
    assert t["ae01cc"]["db_flags"] == 1 and t["ae01cc"]["type_code"] == "R135"
    assert t["a00c4b"]["registration"] == "N102BR"  # first row wins, the duplicate is rejected
    assert t["a00c4b"]["type_code"] == "C82T"  # designators upper-cased
    assert t["0d0123"]["db_flags"] is None  # "C04" is not a flags string
    assert got.notes["unreadable_dbflags"] == 1
    assert t["ae1d2b"]["db_flags"] == 0b1001 and t["ae1d2b"]["type_description"] is None


def test_native_format_as_readsb_reads_it(tmp_path):
    got = read_aircraft_db(_gz(tmp_path / "aircraft.csv.gz", NATIVE))
    t = {r["icao24"]: r for r in got.table.iter_rows(named=True)}
    assert set(t) == {"ae01cc", "a00c4b", "ae0413"}
    assert got.rejects["reason"].to_list() == ["bad_icao24"]
    assert t["ae01cc"]["operator"] == "United States Air Force"
    assert t["a00c4b"]["operator"] == "OTV Leasing; LLC"  # "\;" is an escaped semicolon
    assert t["a00c4b"]["db_flags"] == 8  # "0001": character 3 is LADD
    assert t["ae0413"]["db_flags"] == 1


def test_unrecognised_files_are_refused(tmp_path):
    p = tmp_path / "page.html"
    p.write_text("<html>Too many requests</html>\n")
    with pytest.raises(DatabaseError, match="not a tar1090-db file"):
        read_aircraft_db(p)
    with pytest.raises(DatabaseError, match="not a plane-alert-db CSV"):
        read_plane_alert(p)
    with pytest.raises(FileNotFoundError):
        read_aircraft_db(tmp_path / "missing.csv.gz")
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(NATIVE.encode() * 2000)[:400])
    with pytest.raises(DatabaseError, match="unreadable"):
        read_aircraft_db(cut)


def test_plane_alert_csv(tmp_path):
    p = tmp_path / "plane-alert-db.csv"
    p.write_text(PLANE_ALERT_CSV)
    got = read_plane_alert(p)
    assert got.table.schema == pl.Schema(PLANE_ALERT)
    assert got.rejects["reason"].to_list() == ["bad_icao24"]
    t = {r["icao24"]: r for r in got.table.iter_rows(named=True)}
    assert t["ae01cc"]["tags"] == ["Eye In The Sky", "SIGINT", "Rivet Joint"]
    assert t["a00c4b"]["tags"] == ["US Dept Of Justice", "Covert"]  # empty tags dropped
    assert t["a00c4b"]["cmpg"] == "Gov" and t["a00c4b"]["category"] == "Oxcart"
    assert t["a00c4b"]["link"] is None


def test_parquet_cache_is_keyed_by_the_files_sha256(tmp_path):
    src = _gz(tmp_path / "flat.csv.gz", FLAT)
    first = load_cached("tar1090", src)
    cached = sorted((paths.cache_dir() / "parquet").glob("tar1090-*.parquet"))
    assert len([p for p in cached if not p.name.endswith(".rejects.parquet")]) == 1
    assert first.sha256 == dbs.sha256_file(src)
    again = load_cached("tar1090", src)
    assert again.table.equals(first.table) and again.rejects.equals(first.rejects)
    assert again.notes == first.notes and again.rows_in == first.rows_in
    _gz(src, FLAT + "c87f08,NZ4202,P3,10,LOCKHEED P-3 Orion\n")  # new content, new key
    changed = load_cached("tar1090", src)
    assert changed.table.height == first.table.height + 1
    assert changed.sha256 != first.sha256


def test_old_cache_entries_are_pruned(tmp_path):
    src = tmp_path / "flat.csv.gz"
    for i in range(dbs.CACHE_KEEP + 2):
        _gz(src, FLAT + f"c87f0{i},NZ420{i},P3,10,LOCKHEED P-3 Orion\n")
        load_cached("tar1090", src)
    metas = list((paths.cache_dir() / "parquet").glob("tar1090-*.json"))
    tables = [p for p in (paths.cache_dir() / "parquet").glob("tar1090-*.parquet") if not p.name.endswith(".rejects.parquet")]
    assert len(metas) == len(tables) == dbs.CACHE_KEEP
    assert load_cached("tar1090", src).table.height == 5  # the newest is among those kept


def test_a_damaged_cache_entry_is_rebuilt(tmp_path):
    src = _gz(tmp_path / "flat.csv.gz", FLAT)
    first = load_cached("tar1090", src)
    for p in (paths.cache_dir() / "parquet").glob("tar1090-*[0-9].parquet"):
        p.write_bytes(b"not parquet")
    assert load_cached("tar1090", src).table.equals(first.table)


def test_resolution_order_argument_env_cache(tmp_path, monkeypatch):
    arg = _gz(tmp_path / "arg.csv.gz", FLAT)
    env = _gz(tmp_path / "env.csv.gz", NATIVE)
    assert load_aircraft_db() is None  # nothing anywhere: None, never a pretend table
    assert load_plane_alert() is None
    # the download cache
    d = paths.cache_dir() / "aircraft-db"
    d.mkdir(parents=True)
    _gz(d / "aircraft.csv.gz", NATIVE)
    (d / "manifest.json").write_text(json.dumps({"version": 1, "files": {"tar1090": {"file": "aircraft.csv.gz"}}}))
    assert load_aircraft_db().origin == "cache"
    monkeypatch.setenv("ISRWATCH_AIRCRAFT_DB", str(env))
    got = load_aircraft_db()
    assert got.origin == "env:ISRWATCH_AIRCRAFT_DB" and got.path == env
    got = load_aircraft_db(arg)
    assert got.origin == "argument" and got.path == arg
    monkeypatch.setenv("ISRWATCH_AIRCRAFT_DB", str(tmp_path / "nowhere.csv.gz"))
    with pytest.raises(FileNotFoundError, match="ISRWATCH_AIRCRAFT_DB"):
        load_aircraft_db()
    with pytest.raises(FileNotFoundError):
        load_aircraft_db(tmp_path / "nowhere.csv.gz")


def test_raw_tables_are_normalised():
    raw = pl.DataFrame(
        {"icao24": ["AE01CC"], "registration": ["62-4131"], "typecode": ["R135"], "dbflags": ["10"], "description": ["x"]}
    )
    n = dbs.normalise_aircraft_db(raw)
    assert n.schema == pl.Schema(AIRCRAFT_DB)
    assert n.row(0, named=True)["db_flags"] == 1 and n["icao24"][0] == "ae01cc"
    pa = pl.read_csv(PLANE_ALERT_CSV.encode(), infer_schema=False)
    m = dbs.normalise_plane_alert(pa)
    assert m.schema == pl.Schema(PLANE_ALERT)
    assert m.filter(pl.col("icao24") == "ae01cc")["tags"][0].to_list() == ["Eye In The Sky", "SIGINT", "Rivet Joint"]


def test_real_tar1090_db(shared):
    got = load_cached("tar1090", shared_file("aircraft", "tar1090-db", "flattened_aircraft.csv.gz"))
    assert got.rows_in == 619_489
    assert got.table.height + int(got.rejects["n_rows"].sum()) == got.rows_in
    assert got.table.height > 619_000
    assert set(got.rejects["reason"].unique()) <= {"bad_icao24", "duplicate_icao24"}
    assert got.table["icao24"].str.contains(r"^~?[0-9a-f]{6}$").all()
    mil = got.table.filter((pl.col("db_flags") & 1) == 1).height
    assert 20_000 < mil < 22_000  # dbflags first character '1'
    assert schema.conform(got.table, AIRCRAFT_DB).equals(got.table)


def test_real_plane_alert_db(shared):
    got = load_cached("plane-alert", shared_file("aircraft", "plane-alert-db", "plane-alert-db.csv"))
    assert got.table.height + int(got.rejects["n_rows"].sum()) == got.rows_in == 17_198
    oxcart = got.table.filter(pl.col("category") == "Oxcart")
    assert oxcart.height > 500
    assert got.table.filter(pl.col("tags").list.contains("Spyplane")).height > 100
