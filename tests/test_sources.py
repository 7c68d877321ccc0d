"""Feed readers on the real files in ../shared/data/adsb (skipped when absent)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from conftest import shared_file
from isrwatch import schema
from isrwatch.sources import FORMATS, Batch, detect_format, read

pytestmark = pytest.mark.shared

MIL = ["mil_2023-01-24T033421Z.json", "mil_2023-01-24T034310Z.json", "mil_2023-01-24T035310Z.json"]


def read_all(path, **kw) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[Batch]]:
    batches = list(read(path, **kw))
    for b in batches:
        assert b.observations.schema == pl.Schema(schema.OBSERVATIONS)
        assert b.rejects.schema == pl.Schema(schema.REJECTS)
        assert b.aircraft.schema == pl.Schema(schema.FEED_AIRCRAFT)
        assert b.rows_read == b.observations.height + b.rejects["n_rows"].sum()
    obs = pl.concat([b.observations for b in batches])
    rej = pl.concat([b.rejects for b in batches])
    ac = pl.concat([b.aircraft for b in batches])
    return obs, rej, ac, batches


# ------------------------------------------------------------------ readsb trace


@pytest.fixture(scope="module")
def trace_file(shared) -> Path:
    return shared_file("adsb", "readsb", "trace_full_ac671b.json")


@pytest.fixture(scope="module")
def trace_json(trace_file) -> dict:
    return json.loads(trace_file.read_text())


def test_trace_points_and_aircraft(trace_file, trace_json):
    assert detect_format(trace_file) == "readsb_trace"
    obs, rej, ac, batches = read_all(trace_file)
    n = len(trace_json["trace"])
    assert n == 2500
    assert sum(b.rows_read for b in batches) == n
    assert obs.height + rej["n_rows"].sum() == n
    assert obs.height == n  # a clean file: nothing rejected
    assert obs["icao24"].unique().to_list() == ["ac671b"]
    assert obs["feed"].unique().to_list() == ["readsb:trace_full_ac671b.json"]
    assert ac.row(0, named=True) | {"source": None} == {
        "icao24": "ac671b",
        "registration": "N899DN",
        "type_code": "B739",
        "type_description": "BOEING 737-900",
        "operator": "DELTA AIR LINES INC",
        "db_flags": 0,
        "source": None,
    }
    # times: "timestamp" plus the offset of each point
    first = trace_json["timestamp"] + trace_json["trace"][0][0]
    assert abs(obs["time"][0].timestamp() - first) < 1e-3
    assert obs["pos_source"].unique().to_list() == ["adsb"]


def test_trace_flags_legs_and_ground(trace_file, trace_json):
    obs, *_ = read_all(trace_file)
    rows = trace_json["trace"]
    legs_in_file = sum(1 for r in rows if r[6] & 2)
    stale_in_file = sum(1 for r in rows if r[6] & 1)
    ground_in_file = sum(1 for r in rows if r[3] == "ground")
    assert legs_in_file == 3  # readsb marked three new legs
    assert obs["leg_start"].sum() == legs_in_file
    assert obs["stale"].sum() == stale_in_file
    assert obs["on_ground"].sum() == ground_in_file
    assert obs.filter(pl.col("on_ground"))["alt_baro"].null_count() == ground_in_file
    # the leg marks sit where the file has them
    marked = [i for i, r in enumerate(rows) if r[6] & 2]
    assert obs.with_row_index().filter(pl.col("leg_start"))["index"].to_list() == marked


def test_trace_callsign_carried_forward(trace_file, trace_json):
    obs, *_ = read_all(trace_file)
    rows = trace_json["trace"]
    first_flight = next(i for i, r in enumerate(rows) if r[8] and r[8].get("flight"))
    cs = obs["callsign"].to_list()
    assert all(c is None for c in cs[:first_flight])
    assert cs[first_flight] == rows[first_flight][8]["flight"].strip()
    assert cs[first_flight:].count(None) == 0  # carried forward, never lost again
    assert set(cs[first_flight:]) == {"DAL1812", "DAL2418", "DAL1615", "DAL2927"}
    # the value carried is always the last one the file showed
    last = None
    for i, r in enumerate(rows):
        if r[8] and r[8].get("flight", "").strip():
            last = r[8]["flight"].strip()
        assert cs[i] == last


def test_trace_gzip_named_json_reads_the_same(trace_file, tmp_path):
    gz = tmp_path / "trace_full_ac671b.json"
    gz.write_bytes(gzip.compress(trace_file.read_bytes()))
    assert detect_format(gz) == "readsb_trace"
    a, *_ = read_all(trace_file)
    b, *_ = read_all(gz)
    assert a.equals(b)


def test_trace_small_batches_cover_the_same_rows(trace_file):
    whole, *_ = read_all(trace_file)
    parts, _, _, batches = read_all(trace_file, batch_rows=700)
    assert len(batches) == 4
    assert all(b.observations.height <= 700 for b in batches)
    assert parts.drop("feed").equals(whole.drop("feed"))


# ------------------------------------------------------------------ ADS-B Exchange v2


@pytest.mark.parametrize("name", MIL)
def test_mil_response(shared, name):
    path = shared_file("adsb", "adsbx-v2", name)
    assert detect_format(path) == "aircraft_json"
    doc = json.loads(path.read_text())
    with_pos = [a for a in doc["ac"] if "lat" in a and "lon" in a]
    obs, rej, ac, batches = read_all(path)
    assert 205 <= len(doc["ac"]) <= 213
    assert sum(b.rows_read for b in batches) == len(doc["ac"])
    assert obs.height == len(with_pos)
    assert 0 < rej.height == len(doc["ac"]) - len(with_pos)
    assert set(rej["reason"]) == {"no_position"}
    assert obs["feed"][0] == f"adsbx-v2:{name}"
    # position time = now (ms) - seen_pos (s)
    a = with_pos[0]
    row = obs.filter(pl.col("icao24") == a["hex"]).row(0, named=True)
    assert abs(row["time"].timestamp() - (doc["now"] / 1000 - a["seen_pos"])) < 1e-3
    # type and the mlat list both decide pos_source
    n_mlat = sum(1 for a in with_pos if a["type"] == "mlat" or "lat" in a.get("mlat", []))
    assert obs.filter(pl.col("pos_source") == "mlat").height == n_mlat
    assert obs.filter(pl.col("pos_source") == "unknown").height == 0
    # ground altitudes
    n_ground = sum(1 for a in with_pos if a.get("alt_baro") == "ground")
    assert obs["on_ground"].sum() == n_ground
    # feed aircraft facts: military flag from dbFlags
    assert ac.height > 150
    assert ac.filter(pl.col("db_flags") & 1 == 1).height == ac.height


def test_mil_poll_log_matches_clean_files(shared):
    log = shared_file("adsb", "adsbx-v2", "mil_poll_log_2023-01-24.raw.txt")
    assert detect_format(log) == "aircraft_json"
    obs, rej, _, batches = read_all(log)
    clean = pl.concat([read_all(shared_file("adsb", "adsbx-v2", n))[0] for n in MIL])
    key = ["icao24", "time", "lat", "lon", "alt_baro", "callsign"]
    assert obs.select(key).sort(key).equals(clean.select(key).sort(key))
    errors = rej.filter(pl.col("reason") == "api_error_body")
    text = " ".join(errors["detail"])
    assert errors.height == 5
    assert errors["n_rows"].sum() == 0
    assert "Too many requests" in text and "You are not subscribed" in text and "None" in text
    n_entries = sum(len(json.loads(shared_file("adsb", "adsbx-v2", n).read_text())["ac"]) for n in MIL)
    assert sum(b.rows_read for b in batches) == n_entries
    assert rej.filter(pl.col("reason") == "no_position").height == n_entries - obs.height


# ------------------------------------------------------------------ OpenSky


@pytest.mark.parametrize(
    "name,max_alt_ft,max_gs_kt",
    [
        ("state_vectors_ezy158t_2017-02-05.parquet", (36000, 42000), (380, 480)),
        ("state_vectors_ryr2rg_2022-02-02.parquet", (35000, 41000), (380, 480)),
        ("state_vectors_edw24_2024-04-06.parquet", (3000, 6000), (150, 220)),
    ],
)
def test_opensky_parquet_units(shared, name, max_alt_ft, max_gs_kt):
    path = shared_file("adsb", "opensky", name)
    assert detect_format(path) == "opensky_parquet"
    raw = pl.read_parquet(path)
    obs, rej, _, batches = read_all(path)
    assert sum(b.rows_read for b in batches) == raw.height
    assert obs["feed"][0] == f"opensky:{name}"
    assert max_alt_ft[0] <= obs["alt_baro"].max() <= max_alt_ft[1]
    assert max_gs_kt[0] <= obs["gs"].max() <= max_gs_kt[1]
    # metres -> feet, m/s -> knots and ft/min, row for row
    fresh = raw.filter(pl.col("lastposupdate").is_not_null())
    assert fresh.height == obs.height
    full = pl.all_horizontal(pl.col("baroaltitude", "velocity", "vertrate").is_not_null())
    i = fresh.with_row_index().filter(full)["index"][-50]
    r = fresh.row(i, named=True)
    o = obs.row(i, named=True)
    assert o["alt_baro"] == pytest.approx(r["baroaltitude"] / 0.3048, rel=1e-5)
    assert o["gs"] == pytest.approx(r["velocity"] * 3600 / 1852, rel=1e-5)
    assert o["vrate"] == pytest.approx(r["vertrate"] * 60 / 0.3048, rel=1e-5, abs=1e-3)
    assert abs(o["time"].timestamp() - r["lastposupdate"]) < 1e-3  # the position's own time


def test_opensky_stale_vectors_are_counted(shared):
    path = shared_file("adsb", "opensky", "state_vectors_edw24_2024-04-06.parquet")
    raw = pl.read_parquet(path)
    obs, rej, *_ = read_all(path)
    n_stale = raw.filter(
        pl.col("lastposupdate").is_null()
        | ((pl.col("time").dt.epoch("ms") / 1000 - pl.col("lastposupdate")) > 15)
    ).height
    assert n_stale == 31
    assert rej.filter(pl.col("reason") == "stale_vector").height == n_stale
    assert obs.height == raw.height - n_stale


def test_opensky_csv_reads_like_parquet(shared, tmp_path):
    path = shared_file("adsb", "opensky", "state_vectors_ryr2rg_2022-02-02.parquet")
    raw = pl.read_parquet(path).drop("serials")
    csv = tmp_path / "svdata4.csv"
    raw.with_columns(
        pl.col("time").dt.epoch("s"), pl.col("hour").dt.epoch("s")
    ).write_csv(csv)
    assert detect_format(csv) == "opensky_csv"
    a, *_ = read_all(path)
    b, *_ = read_all(csv)
    assert b["feed"][0] == "opensky:svdata4.csv"
    assert a.drop("feed").equals(b.drop("feed"))


# ------------------------------------------------------------------ traffic samples


@pytest.mark.parametrize(
    "rel",
    [
        ("collections", "switzerland.json.gz"),
        ("surveillance", "border_control.json.gz"),
        ("calibration", "nice.json.gz"),  # pandas column orientation
        ("collections", "savan.json.gz"),  # squawk as numbers
        ("noisy", "noisy_time_issue.json.gz"),
        ("noisy", "noisy_spoofing.json.gz"),
    ],
)
def test_traffic_samples(shared, rel):
    path = shared_file("adsb", "traffic-samples", *rel)
    assert detect_format(path) == "traffic_json"
    obs, rej, _, batches = read_all(path)
    data = json.loads(gzip.decompress(path.read_bytes()))
    n = len(data) if isinstance(data, list) else len(data["timestamp"])
    assert sum(b.rows_read for b in batches) == n
    assert obs.height > 0.9 * n
    assert obs["feed"][0] == f"traffic:{rel[1]}"
    first = data[0] if isinstance(data, list) else {k: v["0"] for k, v in data.items()}
    times = obs["time"].dt.epoch("ms")
    assert first["timestamp"] in times.to_list() or obs.height < n
    assert obs["time"].min().year >= 2015


def test_traffic_quickstart(shared):
    path = shared_file("adsb", "traffic-samples", "collections", "quickstart.json.gz")
    obs, rej, _, batches = read_all(path, batch_rows=100_000)
    assert len(batches) == 3
    assert sum(b.rows_read for b in batches) == 284_505
    assert obs["icao24"].n_unique() > 100
    row = obs.row(0, named=True)
    assert row["icao24"] == "0101de" and row["callsign"] == "MSR799"
    assert row["alt_baro"] == 13650.0 and row["gs"] == 325.0 and row["vrate"] == -896.0
    assert row["time"].timestamp() == 1633608773.0


def test_traffic_numeric_squawk_is_text(shared):
    path = shared_file("adsb", "traffic-samples", "collections", "savan.json.gz")
    obs, *_ = read_all(path)
    assert "4720" in obs["squawk"].unique().to_list()
    assert obs["squawk"].drop_nulls().str.len_chars().unique().to_list() == [4]


def test_traffic_parquet(shared, tmp_path):
    src = shared_file("adsb", "traffic-samples", "surveys", "texas.json.gz")
    df = pl.read_json(gzip.decompress(src.read_bytes()))
    pq = tmp_path / "texas.parquet"
    df.with_columns(pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC")).write_parquet(pq)
    assert detect_format(pq) == "traffic_parquet"
    a, *_ = read_all(src)
    b, *_ = read_all(pq)
    assert a.drop("feed").equals(b.drop("feed"))


def test_formats_cover_detection():
    assert len(FORMATS) == 10 and len(set(FORMATS)) == 10


def test_trace_typed_and_generic_paths_agree(trace_file, monkeypatch):
    """The msgspec fast path and the orjson path read the real trace identically."""
    from isrwatch.sources import readsb

    fast, *_ = read_all(trace_file)

    class Refuse:
        def decode(self, data):
            raise readsb.msgspec.DecodeError("forced")

    monkeypatch.setattr(readsb, "_TYPED", Refuse())
    slow, *_ = read_all(trace_file)
    assert fast.equals(slow)
