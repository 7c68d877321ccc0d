"""Feed readers on generated good and bad input: damage, junk values, archives, logs, tables."""

from __future__ import annotations

import gzip
import json
import math

import polars as pl
import pytest

import data_gen as g
from isrwatch import schema
from isrwatch.sources import ReaderError, detect_format, read
from isrwatch.sources.validate import MAX_SPEED_KT


def collect(path, **kw):
    """(observations, rejects, aircraft, batches, error) — reading until the end or a ReaderError."""
    batches, error = [], None
    try:
        for b in read(path, **kw):
            batches.append(b)
    except ReaderError as exc:
        error = exc
    for b in batches:
        assert b.rows_read == b.observations.height + b.rejects["n_rows"].sum()
        assert b.observations.schema == pl.Schema(schema.OBSERVATIONS)
    obs = pl.concat([b.observations for b in batches]) if batches else schema.empty(schema.OBSERVATIONS)
    rej = pl.concat([b.rejects for b in batches]) if batches else schema.empty(schema.REJECTS)
    ac = pl.concat([b.aircraft for b in batches]) if batches else schema.empty(schema.FEED_AIRCRAFT)
    return obs, rej, ac, batches, error


def reasons(rej: pl.DataFrame) -> dict[str, int]:
    return dict(rej.group_by("reason").agg(pl.col("n_rows").sum()).iter_rows())


# ------------------------------------------------------------------ readsb traces


def test_trace_ground_markup_and_junk(tmp_path):
    rows = g.straight_trace(6)
    rows[1][3] = "ground"
    rows[1][8] = {"flight": "  <script>alert(1)</script>  ", "squawk": "7700"}
    rows[2][1] = 95.0  # latitude out of range
    rows[3][2] = None  # no longitude
    rows[4] = "not a point"
    rows[5] = rows[5][:6]  # an old, short row
    path = g.write(tmp_path / "trace_full_abc123.json", g.trace_bytes(g.trace_doc("ABC123", rows, r="N1", t="C172")))
    obs, rej, ac, batches, error = collect(path)
    assert error is None
    assert sum(b.rows_read for b in batches) == 6
    assert reasons(rej) == {"bad_position": 3}
    assert obs.height == 3
    assert obs["icao24"].unique().to_list() == ["abc123"]  # lowercased
    ground = obs.filter(pl.col("on_ground")).row(0, named=True)
    assert ground["alt_baro"] is None
    # markup is data: kept verbatim (only surrounding blanks stripped), escaped where rendered
    assert ground["callsign"] == "<script>alert(1)</script>"
    assert ground["squawk"] == "7700"
    assert obs["callsign"][0] is None  # nothing seen yet
    assert obs["callsign"][-1] == "<script>alert(1)</script>"  # carried forward
    assert ac.row(0, named=True)["registration"] == "N1"


def test_trace_flag_bits_map_exactly(tmp_path):
    rows = g.straight_trace(4)
    rows[0][6] = 1  # stale
    rows[1][6] = 2  # new leg
    rows[2][6] = 4 | 8  # vertical rate and altitude geometric
    rows[2][3] = 31000
    rows[3][6] = 3
    path = g.write(tmp_path / "t.json", g.trace_bytes(g.trace_doc("a1b2c3", rows)))
    obs, *_ = collect(path)
    assert obs["stale"].to_list() == [True, False, False, True]
    assert obs["leg_start"].to_list() == [False, True, False, True]
    geom = obs.row(2, named=True)
    assert geom["alt_baro"] is None and geom["alt_geom"] == 31000.0


def test_trace_keeps_out_of_order_times_and_duplicates(tmp_path):
    rows = g.straight_trace(5)
    rows[1], rows[3] = rows[3], rows[1]
    rows.append(list(rows[0]))
    path = g.write(tmp_path / "t.json", g.trace_bytes(g.trace_doc("a1b2c3", rows)))
    obs, rej, *_ = collect(path)
    assert rej.height == 0 and obs.height == 6
    offsets = [(t.timestamp() - g.T0) for t in obs["time"]]
    assert offsets == [r[0] for r in rows]


def test_trace_position_jump(tmp_path):
    rows = g.straight_trace(9)
    rows[4][1] = rows[4][1] + 9.0  # ~1,000 km north for one point, 10 s after its neighbour
    rows[0][1] = rows[0][1] - 9.0  # the first point: one neighbour only, never called a jump
    path = g.write(tmp_path / "t.json", g.trace_bytes(g.trace_doc("a1b2c3", rows)))
    obs, rej, *_ = collect(path)
    assert reasons(rej) == {"position_jump": 1}
    assert "km from previous" in rej["detail"][0]
    assert obs.height == 8
    assert rows[4][1] not in obs["lat"].to_list()
    assert rows[0][1] in obs["lat"].to_list()


def test_position_jump_needs_consistent_neighbours(tmp_path):
    # two points far away in a row: each has one close neighbour, so neither is a lone jump
    rows = g.straight_trace(8)
    for i in (3, 4):
        rows[i][1] += 9.0
    path = g.write(tmp_path / "t.json", g.trace_bytes(g.trace_doc("a1b2c3", rows)))
    obs, rej, *_ = collect(path)
    assert rej.height == 0 and obs.height == 8
    # a slow aircraft covering the distance in the time given is no jump either
    rows = g.straight_trace(5, step_s=3600.0)
    rows[2][1] += 9.0  # 1,000 km in an hour: < MAX_SPEED_KT
    assert 1000 / 1.852 < MAX_SPEED_KT
    path = g.write(tmp_path / "t2.json", g.trace_bytes(g.trace_doc("a1b2c3", rows)))
    obs, rej, *_ = collect(path)
    assert rej.height == 0


def test_trace_truncated_gzip_keeps_rows_before(tmp_path):
    rows = g.straight_trace(3000)
    doc = g.trace_doc("a1b2c3", rows)
    path = g.write(tmp_path / "trace_full_a1b2c3.json", g.trace_bytes(doc), gz=True)
    g.truncate(path, 0.5)
    assert detect_format(path) == "readsb_trace"
    obs, rej, _, batches, error = collect(path)
    assert error is not None and error.reason == "truncated_gzip"
    assert "\n" not in str(error)
    assert 0 < obs.height < 3000
    # the kept rows are exactly the first points of the trace
    assert [round(t.timestamp() - g.T0, 3) for t in obs["time"]] == [r[0] for r in rows[: obs.height]]


def test_trace_invalid_json_keeps_rows_before(tmp_path):
    rows = g.straight_trace(100)
    data = g.trace_bytes(g.trace_doc("a1b2c3", rows))
    cut = data.index(b"[500.0,")  # point 50
    bad = data[:cut] + b"[500.0, 40.0, oops]" + data[cut + 20 :]
    path = g.write(tmp_path / "trace_full_a1b2c3.json", bad)
    obs, _, _, _, error = collect(path)
    assert error is not None and error.reason == "invalid_json"
    assert obs.height == 50


def test_trace_without_trace_list(tmp_path):
    path = g.write(tmp_path / "t.json", json.dumps({"icao": "a1b2c3", "timestamp": g.T0, "trace": 5}).encode())
    obs, _, _, _, error = collect(path)
    assert error is not None and error.reason == "missing_columns"
    assert obs.height == 0


def test_bad_icao_and_time(tmp_path):
    rows = g.straight_trace(3)
    path = g.write(tmp_path / "t.json", g.trace_bytes(g.trace_doc("xyz", rows)))
    obs, rej, *_ = collect(path)
    assert reasons(rej) == {"bad_icao24": 3}
    doc = g.trace_doc("~a1b2c3", rows)  # non-ICAO address: kept, with its prefix
    doc.pop("timestamp")
    path = g.write(tmp_path / "t2.json", g.trace_bytes(doc))
    obs, rej, *_ = collect(path)
    assert reasons(rej) == {"bad_time": 3}
    doc["timestamp"] = g.T0
    path = g.write(tmp_path / "t3.json", g.trace_bytes(doc))
    obs, rej, *_ = collect(path)
    assert obs["icao24"].unique().to_list() == ["~a1b2c3"]


# ------------------------------------------------------------------ globe_history archive


def _tar_members(n: int) -> dict[str, bytes]:
    out = {}
    for i in range(n):
        hex_ = f"a{i:05x}"
        rows = g.straight_trace(50 + i, lat0=30.0 + i)
        out[f"traces/{hex_[-2:]}/trace_full_{hex_}.json"] = g.trace_bytes(
            g.trace_doc(hex_, rows, r=f"N{i}", t="B738", dbFlags=1 if i % 2 else 0)
        )
    out["heatmap/00.bin.ttf"] = b"\x00" * 100  # not a trace: skipped
    return out


def test_globe_history_split_tar_read_as_one_stream(tmp_path):
    tar = g.globe_tar(tmp_path / "v2024.01.01-planes-readsb-prod-0.tar", _tar_members(12))
    parts = g.split(tar, 3)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert detect_format(parts[0]) == "globe_history_tar"
    obs, rej, ac, batches, error = collect(parts[0], batch_rows=200)
    assert error is None
    expected = sum(50 + i for i in range(12))
    assert obs.height == expected and rej.height == 0
    assert len(batches) > 1 and all(b.observations.height <= 200 for b in batches)
    assert obs["icao24"].n_unique() == 12
    assert obs["feed"][0] == "readsb:v2024.01.01-planes-readsb-prod-0.tar"
    assert ac.unique("icao24").height == 12
    assert ac.filter(pl.col("icao24") == "a00001")["db_flags"][0] == 1
    # read in place: nothing unpacked next to the parts
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # any part names the archive
    obs2, *_ = collect(parts[1])
    assert obs2.height == expected


def test_globe_history_damaged_member_and_truncated_archive(tmp_path):
    members = _tar_members(6)
    name = next(iter(members))
    members[name] = members[name][:200]  # a cut trace inside an intact archive
    tar = g.globe_tar(tmp_path / "day.tar", members)
    obs, rej, _, _, error = collect(tar)
    assert error is None
    assert reasons(rej) == {"invalid_json": 0}
    salvaged = obs.filter(pl.col("icao24") == "a00000").height
    assert 0 < salvaged < 50  # the points before the cut are kept
    assert f"kept {salvaged} points" in rej["detail"][0]
    assert obs.height == sum(50 + i for i in range(1, 6)) + salvaged
    full = obs.height
    data = tar.read_bytes()
    # cut at a member boundary (after the last trace), then inside the last trace
    for cut, kept in ((6144, full), (5632, full - 55)):
        tar.write_bytes(data[:cut])
        obs, rej, _, batches, error = collect(tar)
        assert error is not None and error.reason == "truncated_tar"
        assert obs.height == kept  # every point before the cut


# ------------------------------------------------------------------ API responses and logs


def test_api_log_with_damage_in_the_middle(tmp_path):
    r1 = g.api_response([g.api_aircraft("ae0001"), g.api_aircraft("ae0002", lat=None)])
    r2 = g.api_response([g.api_aircraft("ae0003"), g.api_aircraft("ae0004")], now_ms=(g.T0 + 60) * 1000)
    r3 = g.api_response([g.api_aircraft("ae0005", type="mlat")], now_ms=(g.T0 + 120) * 1000)
    cut = json.dumps(r2)[:-30]  # a response cut short, then the next one
    text = "[]" + json.dumps(r1) + "Too many requests\n" + cut + json.dumps(r3) + "None"
    path = g.write(tmp_path / "poll.log", text.encode())
    assert detect_format(path) == "aircraft_json"
    obs, rej, _, batches, error = collect(path)
    assert error is None
    assert sorted(obs["icao24"]) == ["ae0001", "ae0005"]
    assert reasons(rej) == {"no_position": 1, "api_error_body": 0, "invalid_json": 2}
    assert rej.filter(pl.col("reason") == "api_error_body").height == 2
    assert sum(b.rows_read for b in batches) == 5
    assert obs.filter(pl.col("icao24") == "ae0005")["pos_source"][0] == "mlat"


def test_api_log_cut_at_the_end(tmp_path):
    r1 = g.api_response([g.api_aircraft("ae0001")])
    text = json.dumps(r1) + json.dumps(r1)[:-40]
    path = g.write(tmp_path / "poll.log", text.encode(), gz=True)
    obs, rej, _, _, error = collect(path)
    assert error is not None and error.reason == "invalid_json"
    assert obs.height == 1


def test_readsb_aircraft_json_seconds(tmp_path):
    doc = {"now": g.T0, "messages": 5, "aircraft": [g.api_aircraft("~1a2b3c", seen_pos=2.0, alt_baro="ground")]}
    path = g.write(tmp_path / "aircraft.json", json.dumps(doc).encode())
    obs, *_ = collect(path)
    row = obs.row(0, named=True)
    assert row["time"].timestamp() == g.T0 - 2.0
    assert row["on_ground"] and row["alt_baro"] is None
    assert row["feed"] == "readsb:aircraft.json"
    assert row["icao24"] == "~1a2b3c"


# ------------------------------------------------------------------ OpenSky


def test_opensky_rest_units_and_stale(tmp_path):
    t = 1_700_000_000
    fresh = ["3c6444", "DLH9U   ", "Germany", t - 1, t, 8.5, 50.0, 10000.0, False, 200.0, 90.0, -5.0, None, 10200.0, "1000", False, 0]
    stale = ["3c6445", "DLH9V   ", "Germany", t - 60, t, 8.6, 50.1, 10000.0, False, 200.0, 90.0, 0.0, None, 10200.0, None, False, 2]
    nopos = ["3c6446", "", "Germany", None, t, None, None, None, True, 0.0, None, None, None, None, None, False, 0]
    path = g.write(tmp_path / "states.json", json.dumps({"time": t, "states": [fresh, stale, nopos]}).encode())
    assert detect_format(path) == "opensky_rest"
    obs, rej, _, batches, _ = collect(path)
    assert reasons(rej) == {"stale_vector": 2}
    assert sum(b.rows_read for b in batches) == 3
    row = obs.row(0, named=True)
    assert row["callsign"] == "DLH9U"
    assert row["alt_baro"] == pytest.approx(10000 / 0.3048)
    assert row["gs"] == pytest.approx(200 * 3600 / 1852)
    assert row["vrate"] == pytest.approx(-5 * 60 / 0.3048)
    assert row["pos_source"] == "adsb"
    assert row["time"].timestamp() == t - 1


# ------------------------------------------------------------------ traffic JSON and generic tables


def test_traffic_json_truncated_gzip_keeps_rows_before(tmp_path):
    recs = g.traffic_records(60_000)
    path = g.write(tmp_path / "flight.json.gz", json.dumps(recs).encode(), gz=True)
    g.truncate(path, 0.7)
    obs, _, _, _, error = collect(path)
    assert error is not None and error.reason == "truncated_gzip"
    assert 0 < obs.height < 60_000
    assert obs["time"].dt.epoch("ms").to_list() == [r["timestamp"] for r in recs[: obs.height]]


def test_traffic_json_invalid_json(tmp_path):
    recs = g.traffic_records(100)
    text = json.dumps(recs)
    i = text.index('{"timestamp": %d' % recs[40]["timestamp"])
    path = g.write(tmp_path / "f.json", (text[:i] + '{"timestamp": oops}, ' + text[i:]).encode())
    obs, _, _, _, error = collect(path)
    assert error is not None and error.reason == "invalid_json"
    assert obs.height == 40


def test_traffic_json_boundary_inside_a_string(tmp_path, monkeypatch):
    from isrwatch.sources import io as sio

    recs = g.traffic_records(2000)
    for r in recs[::7]:
        r["callsign"] = 'x"},{"y'  # looks like a record boundary inside a string
    monkeypatch.setattr(sio, "CHUNK", 4096)
    path = g.write(tmp_path / "f.json", json.dumps(recs, separators=(",", ":")).encode())
    obs, rej, _, _, error = collect(path)
    assert error is None and rej.height == 0
    assert obs.height == 2000
    assert obs["callsign"].to_list()[::7] == ['x"},{"y'] * len(recs[::7])


def test_traffic_json_lines_with_a_bad_line(tmp_path):
    recs = g.traffic_records(10)
    lines = [json.dumps(r) for r in recs]
    lines[4] = "{oops"
    path = g.write(tmp_path / "f.jsonl", ("\n".join(lines) + "\n").encode())
    assert detect_format(path) == "traffic_json"
    obs, rej, _, batches, error = collect(path)
    assert error is None
    assert obs.height == 9 and reasons(rej) == {"invalid_json": 1}


def test_generic_csv_with_mapping_units_nan_and_wrong_columns(tmp_path):
    csv = tmp_path / "feed.csv"
    csv.write_text(
        "ts,addr,Lat,Lng,alt_m,spd_ms,cs\n"
        f"{g.T0},AE1234,35.0,-120.0,1000,100, RCH123 \n"
        f"{g.T0 + 1},ae1234,NaN,-120.0,1000,100,\n"
        f"{g.T0 + 2},ae1234,35.0,200.0,1000,100,\n"
        f"{g.T0 + 3},ae1234,35.001,-120.0,ground,0,RCH123\n"
        f"not a time,ae1234,35.0,-120.0,1000,100,\n"
    )
    assert detect_format(csv) == "generic_csv"
    mapping = {"time": "ts", "icao24": "addr", "lat": "Lat", "lon": "Lng", "alt_baro": "alt_m", "gs": "spd_ms", "callsign": "cs", "units": {"alt_baro": "m", "gs": "m/s"}}
    obs, rej, _, batches, error = collect(csv, mapping=mapping)
    assert error is None
    assert reasons(rej) == {"bad_position": 2, "bad_time": 1}
    assert obs.height == 2
    first = obs.row(0, named=True)
    assert first["icao24"] == "ae1234" and first["callsign"] == "RCH123"
    assert first["alt_baro"] == pytest.approx(1000 / 0.3048)
    assert first["gs"] == pytest.approx(100 * 3600 / 1852)
    assert obs.row(1, named=True)["on_ground"]
    assert obs["callsign"].null_count() == 0
    # without lat the file cannot be read: a clear error, no rows
    bad = tmp_path / "nolat.csv"
    bad.write_text("time,icao24,lon\n1,ae1234,2\n")
    _, _, _, batches, error = collect(bad)
    assert error is not None and error.reason == "missing_columns"
    assert "lat" in error.message


def test_generic_parquet_nan_and_nulls(tmp_path):
    df = pl.DataFrame(
        {
            "time": [g.T0, g.T0 + 1, g.T0 + 2, g.T0 + 3],
            "icao24": ["ae1234", "ae1234", None, "ae1234"],
            "lat": [35.0, math.nan, 35.0, 35.0],
            "lon": [-120.0, -120.0, -120.0, -120.0],
            "callsign": [None, None, None, None],
        },
        schema_overrides={"callsign": pl.String},
    )
    path = tmp_path / "x.parquet"
    df.write_parquet(path)
    assert detect_format(path) == "generic_parquet"
    obs, rej, *_ = collect(path)
    assert reasons(rej) == {"bad_position": 1, "bad_icao24": 1}
    assert obs.height == 2  # null callsigns never drop a row


def test_unknown_and_missing_files(tmp_path):
    junk = g.write(tmp_path / "junk.bin", bytes(range(256)) * 4)
    with pytest.raises(ReaderError) as exc:
        detect_format(junk)
    assert exc.value.reason == "unknown_format"
    with pytest.raises(ReaderError) as exc:
        list(read(tmp_path / "absent.json"))
    assert exc.value.reason == "not_found"
    with pytest.raises(ReaderError) as exc:
        list(read(junk, fmt="nonsense"))
    assert exc.value.reason == "unknown_format"
    empty = g.write(tmp_path / "empty.json", b"")
    with pytest.raises(ReaderError) as exc:
        detect_format(empty)
    assert exc.value.reason == "unknown_format"


def test_bad_gzip(tmp_path):
    data = bytearray(gzip.compress(g.trace_bytes(g.trace_doc("a1b2c3", g.straight_trace(2000)))))
    data[len(data) // 2 : len(data) // 2 + 50] = b"\x00" * 50
    path = g.write(tmp_path / "t.json", bytes(data))
    _, _, _, _, error = collect(path, fmt="readsb_trace")
    assert error is not None and error.reason in {"bad_gzip", "invalid_json"}


def test_traffic_json_small_slices_gzip_and_escapes(tmp_path, monkeypatch):
    from isrwatch.sources import io as sio

    recs = g.traffic_records(3000)
    for r in recs[::5]:
        r["callsign"] = 'a\\"},{\\"b'  # escaped quotes around a fake boundary
    monkeypatch.setattr(sio, "CHUNK", 2048)
    path = g.write(tmp_path / "f.json.gz", json.dumps(recs, separators=(",", ":")).encode(), gz=True)
    obs, rej, _, batches, error = collect(path, batch_rows=500)
    assert error is None and rej.height == 0
    assert obs.height == 3000 and len(batches) == 6
    assert obs["callsign"].to_list()[::5] == ['a\\"},{\\"b'] * 600
    assert obs["time"].is_sorted()


def test_globe_history_missing_part(tmp_path):
    tar = g.globe_tar(tmp_path / "day.tar", _tar_members(8))
    parts = g.split(tar, 3)
    parts[1].unlink()
    with pytest.raises(ReaderError) as exc:
        list(read(parts[0]))
    assert exc.value.reason == "missing_part" and ".ab" in exc.value.message


def test_generic_csv_late_ground_altitude(tmp_path, monkeypatch):
    """A value of another type far into the file (after the first block) is read, not refused."""
    from isrwatch.sources import io as sio

    monkeypatch.setattr(sio, "CHUNK", 64 << 10)
    lines = ["time,icao24,lat,lon,altitude"]
    lines += [f"{g.T0 + i},ae1234,35.0,{-120.0 + i * 1e-4},{1000 + i}" for i in range(20_000)]
    lines.append(f"{g.T0 + 20_000},ae1234,35.0,-118.0,ground")
    path = g.write(tmp_path / "late.csv.gz", ("\n".join(lines) + "\n").encode(), gz=True)
    obs, rej, _, batches, error = collect(path)
    assert error is None and rej.height == 0
    assert obs.height == 20_001
    last = obs.row(-1, named=True)
    assert last["on_ground"] and last["alt_baro"] is None


def test_globe_history_tar_gz(tmp_path):
    tar = g.globe_tar(tmp_path / "day.tar", _tar_members(4), gz_members=False)
    tgz = g.write(tmp_path / "day.tar.gz", tar.read_bytes(), gz=True)
    assert detect_format(tgz) == "globe_history_tar"
    obs, rej, _, _, error = collect(tgz)
    assert error is None and rej.height == 0
    assert obs.height == sum(50 + i for i in range(4))


def test_traffic_json_damage_early_in_a_big_file(tmp_path, monkeypatch):
    """Damage in the middle stops reading soon after it, keeping the records before it."""
    from isrwatch.sources import io as sio

    monkeypatch.setattr(sio, "CHUNK", 16 << 10)
    recs = g.traffic_records(20_000)
    text = json.dumps(recs, separators=(",", ":"))
    i = text.index('{"timestamp":%d' % recs[500]["timestamp"])
    path = g.write(tmp_path / "f.json", (text[:i] + '{"timestamp":}' + text[i:]).encode())
    obs, _, _, _, error = collect(path)
    assert error is not None and error.reason == "invalid_json"
    assert obs.height == 500


def test_big_api_response_across_many_chunks(tmp_path, monkeypatch):
    from isrwatch.sources import io as sio

    monkeypatch.setattr(sio, "CHUNK", 4096)
    aircraft = [g.api_aircraft(f"ae{i:04x}", lat=30 + i * 1e-3) for i in range(3000)]
    text = json.dumps(g.api_response(aircraft)) + "Too many requests" + json.dumps(g.api_response(aircraft[:5]))
    path = g.write(tmp_path / "big.json", text.encode())
    obs, rej, _, batches, error = collect(path)
    assert error is None
    assert obs.height == 3005 and reasons(rej) == {"api_error_body": 0}


def test_a_mapping_for_a_format_that_ignores_it_is_refused(tmp_path):
    trace = tmp_path / "trace_full_abc123.json"
    trace.write_text('{"icao": "abc123", "timestamp": 1700000000, "trace": [[0, 30.0, -110.0, 20000, 300, 90, 0, 0]]}')
    with pytest.raises(ReaderError) as err:
        list(read(trace, mapping={"lat": "latitude"}))
    assert err.value.reason == "mapping_unused" and "readsb_trace" in str(err.value)
    assert sum(b.observations.height for b in read(trace)) == 1  # without the mapping it reads
