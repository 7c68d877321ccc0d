"""The scenario simulator: determinism, readsb trace format, and ground truth that holds together."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from isrwatch.simulate import (
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    parse_scenario,
    simulate,
    true_tracks,
)
from isrwatch.simulate import geo

SOURCE_TYPES = {"adsb_icao", "mlat"}


def _traces(out: Path) -> dict[str, dict]:
    return {str(p.relative_to(out)): json.loads(gzip.decompress(p.read_bytes()))
            for p in sorted(out.rglob("trace_full_*.json"))}


def _rows(traces: dict[str, dict]):
    for name, d in traces.items():
        for r in d["trace"]:
            yield name, d, r


@pytest.fixture(scope="module")
def mexico(tmp_path_factory):
    out = tmp_path_factory.mktemp("mexico-2025")
    # the sorties alone: the civil background traffic has tests of its own (test_simulate_background)
    truth = simulate("mexico-2025", out, background=False)
    return out, truth, _traces(out)


def _mex():
    from isrwatch import boundaries as regions

    return regions.sovereign("MEX")


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_other_traces(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ta = simulate("stress-two-sorties", a, seed=7)
    simulate("stress-two-sorties", b, seed=7)
    tc = simulate("stress-two-sorties", c, seed=8)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len(files_a) >= 2  # one trace + truth.json
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    trace = next(a.rglob("trace_full_*.json")).relative_to(a)
    raw = (a / trace).read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\x00\x00\x00\x00"  # gzip, mtime 0
    assert (a / trace).read_bytes() != (c / trace).read_bytes()
    # what really happened does not depend on the seed; only what was received does
    def real(t):
        observed = {"n_observed_inside", "basis", "gap_line_crosses"}
        return [(s["sortie_id"], s["takeoff_time"], s["landing_time"], s["min_distance_km"],
                 [{k: v for k, v in e.items() if k not in observed} for e in s["sovereign_entries"]])
                for s in t.sorties]

    assert real(ta) == real(tc)
    assert ta.to_dict()["seed"] == 7 and tc.to_dict()["seed"] == 8


def test_rerun_into_same_dir_removes_its_old_traces(tmp_path):
    simulate("stress-near-miss", tmp_path)
    stray = tmp_path / "2025" / "01" / "01" / "traces" / "07" / "trace_full_ae7907.json"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not ours")
    truth = json.loads((tmp_path / "truth.json").read_text())
    truth["files"].append({"path": str(stray.relative_to(tmp_path))})
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    simulate("stress-near-miss", tmp_path)
    assert not stray.exists()
    assert len(list(tmp_path.rglob("trace_full_*.json"))) == 1


# --- readsb format -------------------------------------------------------------------------------


def test_traces_are_valid_readsb_trace_full_files(mexico):
    out, truth, traces = mexico
    assert len(traces) == truth.summary["n_files"] > 20
    for name, d in traces.items():
        hexid = d["icao"]
        assert name.endswith(f"traces/{hexid[-2:]}/trace_full_{hexid}.json")
        assert name[:10].count("/") == 2  # YYYY/MM/DD/ as readsb's globe history
        assert d["simulated"] is True and "SIMULATED" in d["simulation"]
        assert "SIMULATED" in d["ownOp"]
        assert isinstance(d["timestamp"], float) and isinstance(d["dbFlags"], int)
        ts = np.array([r[0] for r in d["trace"]])
        assert ts[0] == 0.0 and np.all(np.diff(ts) > 0)
        day = int((d["timestamp"] + ts[-1]) // 86400)
        assert day == int(d["timestamp"] // 86400)  # one UTC day per file
    n = 0
    for _, d, r in _rows(traces):
        n += 1
        assert len(r) == 14
        dt_, lat, lon, alt, gs, trk, flags, rate, obj, src, alt_geom, geom_rate, ias, roll = r
        assert -90 <= lat <= 90 and -180 <= lon <= 180
        assert alt == "ground" or isinstance(alt, int)
        assert isinstance(gs, float) and gs >= 0 and isinstance(trk, float) and 0 <= trk < 360.05
        assert isinstance(flags, int) and 0 <= flags < 16
        assert rate is None or isinstance(rate, int)
        assert src in SOURCE_TYPES
        for v in (alt_geom, geom_rate, ias):
            assert v is None or isinstance(v, int)
        assert roll is None or isinstance(roll, float)
        if flags & 8:
            assert alt == alt_geom  # altitude field carries the geometric altitude
        if src == "mlat":
            assert alt_geom is None and ias is None and roll is None
        if obj is not None:
            assert obj["type"] == src
            if "flight" in obj:
                assert len(obj["flight"]) == 8 and obj["flight"].strip()
            if src == "mlat":
                assert "flight" not in obj
            else:
                assert len(obj["squawk"]) == 4
    assert n == truth.summary["n_positions"]


def test_trace_features_a_naive_reader_trips_on(mexico):
    out, truth, traces = mexico
    rows = [r for _, _, r in _rows(traces)]
    objs = [r[8] for r in rows if r[8] is not None]
    assert 0.2 < len(objs) / len(rows) < 0.3  # full state every 4th point, as readsb keeps it
    assert any("flight" not in o for o in objs if o["type"] == "adsb_icao")  # callsign missing
    assert sum(r[9] == "mlat" for r in rows) > 100
    assert sum(r[3] == "ground" for r in rows) > 500
    assert any(r[6] & 8 for r in rows) and any(r[6] & 1 for r in rows)
    # an aircraft whose sortie crosses midnight UTC is split over two day files
    days = {}
    for name, d in traces.items():
        days.setdefault(d["icao"], set()).add(name[:10])
    rc = next(s for s in truth.sorties if s["sortie_id"] == "rc135-0131-gulf")
    assert rc["takeoff_time"][:10] != rc["landing_time"][:10]
    assert {"2025/01/31", "2025/02/01"} <= days["ae7a11"]
    # a callsign that changes mid-flight
    r2 = next(s for s in truth.sorties if s["sortie_id"] == "rc135-0203-gulf")
    assert len(r2["callsigns"]) == 2 and None in [c["callsign"] for c in r2["callsign_changes"]]
    seen = {o["flight"].strip() for name, d, r in _rows(traces) if d["icao"] == "ae7a12"
            for o in [r[8]] if o and "flight" in o}
    assert seen == set(r2["callsigns"])


# --- ground truth --------------------------------------------------------------------------------


def test_truth_is_consistent_with_the_traces(mexico):
    out, truth, traces = mexico
    d = truth.to_dict()
    assert d["simulated"] is True and "SIMULATED" in d["label"]
    assert sum(f["n_positions"] for f in d["files"]) == d["summary"]["n_positions"]
    for f in d["files"]:
        assert len(traces[f["path"]]["trace"]) == f["n_positions"]
        assert sum(1 for r in traces[f["path"]]["trace"] if r[6] & 2) == f["n_leg_marks"]
    assert sum(f["n_leg_marks"] for f in d["files"]) == d["summary"]["n_leg_marks_set"]
    assert d["summary"]["n_leg_marks_set"] == sum(1 for m in d["leg_marks"] if m["set"])
    assert any(not m["set"] for m in d["leg_marks"])  # some marks readsb would set are missing
    assert any(m["set"] and not m["true_boundary"] for m in d["leg_marks"])  # and one is misleading
    by_icao: dict[str, list[float]] = {}
    for _, tr, r in _rows(traces):
        by_icao.setdefault(tr["icao"], []).append(tr["timestamp"] + r[0])
    for s in d["sorties"]:
        assert s["trace_start"] <= s["takeoff_time"] < s["landing_time"] <= s["trace_end"]
        assert s["observed"]["n_positions"] > 0
        assert s["trace_start"] <= s["observed"]["first"] and s["observed"]["last"] <= s["trace_end"]
        assert d["window"]["start"] <= s["takeoff_time"] and s["landing_time"] <= d["window"]["end"]
        t = np.array(by_icao[s["icao24"]])
        lo, hi = (np.datetime64(s[k][:-1]).astype("datetime64[s]").astype(float) for k in ("trace_start", "trace_end"))
        inside = np.count_nonzero((t >= lo - 1) & (t <= hi + 1))
        assert inside == s["observed"]["n_positions"]
        for g in s["coverage_gaps"]:
            assert s["trace_start"] <= g["start"] < g["end"] <= s["trace_end"]


def test_mexico_2025_reconciles_both_public_claims(mexico):
    out, truth, traces = mexico
    d = truth.to_dict()
    mex = d["summary"]["by_country"]["MEX"]
    assert mex["within_km"]["200"] >= 18  # the media's "at least 18"
    assert mex["isr_within_km"]["200"] >= 18
    assert mex["within_km"]["30"] == 2  # "we located two"
    assert mex["sorties_entered"] == 0 and mex["entries"] == 0  # "none entered"
    gulf = {s["sortie_id"] for s in d["sorties"] if s["aois"]["gulf_of_california"]["inside"]}
    close = {s["sortie_id"] for s in d["sorties"] if s["min_distance_km"]["MEX"] <= 30}
    assert gulf == close == {"rc135-0131-gulf", "rc135-0203-gulf"}
    nearest = min(s["closest_approach"]["MEX"]["km"] for s in d["sorties"])
    assert 0 < nearest < 10  # a few km outside the 12 nm line, never inside
    assert all(s["sovereign_entries"] and all(e["iso3"] == "USA" for e in s["sovereign_entries"])
               for s in d["sorties"] if s["takeoff_airfield"] != "at_sea")
    # US military hexes, types and dbFlags as the feeds carry them
    types = {tr["t"] for tr in traces.values()}
    assert {"R135", "P8", "U2"} <= types
    for tr in traces.values():
        assert 0xAE0000 <= int(tr["icao"], 16) <= 0xAFFFFF and tr["dbFlags"] == 1
    # honest labelling and sources
    sc = load_scenario("mexico-2025")
    assert "SIMULATED" in sc.title and "SIMULATED" in sc.description and "SIMULATED" in sc.feed
    claims = [s.get("claim", "") for s in d["sources"]]
    assert any("18" in c for c in claims) and any("two" in c for c in claims)
    assert all("url" not in s for s in d["sources"])
    assert len(d["boundaries"]["attribution"]) > 0


def test_truth_entries_match_an_independent_check_of_the_true_track(mexico):
    """Recompute, for every sortie, whether the dense true track is ever inside Mexico."""
    sc = load_scenario("mexico-2025")
    tracks = true_tracks(sc)
    mex = _mex()
    from pyproj import CRS, Transformer

    out, truth, traces = mexico
    boundary = shapely.boundary(mex)
    for s in truth.sorties:
        tr = tracks[s["sortie_id"]]
        assert not shapely.contains_xy(mex, tr.lon, tr.lat).any(), s["sortie_id"]
        ca = s["closest_approach"]["MEX"]
        i = int(np.argmin(geo.haversine_km(ca["lat"], ca["lon"], tr.lat, tr.lon)))
        assert geo.haversine_km(ca["lat"], ca["lon"], tr.lat[i], tr.lon[i]) < 0.01  # a point of the track
        # the distance, measured again in PROJ's ellipsoidal azimuthal equidistant projection
        crs = CRS.from_proj4(f"+proj=aeqd +lat_0={ca['lat']} +lon_0={ca['lon']} +ellps=WGS84 +units=km")
        to = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        local = shapely.transform(boundary, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))
        km = shapely.distance(shapely.points(0.0, 0.0), local)
        assert km == pytest.approx(ca["km"], rel=0.01, abs=0.05), s["sortie_id"]
        # and no other second of the track is closer (checked every 10 s, within 1 km of slack)
        x, y = geo.to_local(ca["lat"], ca["lon"], tr.lat[::10], tr.lon[::10])
        near = (np.hypot(x, y) < 300)
        if near.any():
            xl, yl = to.transform(tr.lon[::10][near], tr.lat[::10][near])
            assert shapely.distance(shapely.points(xl, yl), local).min() >= ca["km"] - 1.0


def test_gap_only_entry_has_no_observed_point_inside(tmp_path):
    truth = simulate("stress-gap-entry", tmp_path)
    (s,) = truth.sorties
    entries = [e for e in s["sovereign_entries"] if e["iso3"] == "MEX"]
    assert len(entries) == 1
    e = entries[0]
    assert e["basis"] == "gap_only" and e["n_observed_inside"] == 0 and e["gap_line_crosses"] is True
    assert 1.0 < e["max_depth_km"] < 20.0
    assert truth.summary["by_country"]["MEX"]["entries_gap_only"] == 1
    rows = [(d["timestamp"] + r[0], r[1], r[2]) for _, d, r in _rows(_traces(tmp_path))]
    t, lat, lon = map(np.array, zip(*rows))
    mex = _mex()
    assert not shapely.contains_xy(mex, lon, lat).any()
    # the true track is inside, between the last observed point before and the first after
    tr = true_tracks(load_scenario("stress-gap-entry"))["guadalupe-crossing"]
    inside_t = tr.t[shapely.contains_xy(mex, tr.lon, tr.lat)]
    assert len(inside_t) > 60
    before, after = t[t < inside_t[0]].max(), t[t > inside_t[-1]].min()
    assert not np.any((t > before) & (t < after))
    i, j = np.flatnonzero(t == before)[0], np.flatnonzero(t == after)[0]
    assert shapely.intersects(mex, shapely.linestrings([[lon[i], lat[i]], [lon[j], lat[j]]]))


def test_near_miss_comes_within_5_km_and_never_enters(tmp_path):
    truth = simulate("stress-near-miss", tmp_path)
    (s,) = truth.sorties
    assert not [e for e in s["sovereign_entries"] if e["iso3"] == "MEX"]
    assert 0.5 < s["closest_approach"]["MEX"]["km"] < 5.0
    pts = np.array([(r[1], r[2]) for _, _, r in _rows(_traces(tmp_path))])
    mex = _mex()
    assert not shapely.contains_xy(mex, pts[:, 1], pts[:, 0]).any()
    # and it was observed close to the boundary, not only in the truth
    d_km = np.array([geo.haversine_km(s["closest_approach"]["MEX"]["lat"], s["closest_approach"]["MEX"]["lon"],
                                      la, lo) for la, lo in pts])
    assert d_km.min() < 3.0


def test_offshore_gap_is_one_sortie_with_a_long_airborne_gap_and_no_leg_mark(tmp_path):
    truth = simulate("stress-offshore-gap", tmp_path)
    (s,) = truth.sorties
    long_gaps = [g for g in s["coverage_gaps"] if g["minutes"] >= 30]
    assert len(long_gaps) == 1
    g = long_gaps[0]
    assert 60 <= g["minutes"] <= 90 and g["airborne"] and g["max_alt_ft"] >= 20000
    assert truth.to_dict()["leg_marks"] == []
    traces = _traces(tmp_path)
    assert not any(r[6] & 2 for _, _, r in _rows(traces))
    t = np.array([d["timestamp"] + r[0] for _, d, r in _rows(traces)])
    assert 60 * 60 <= np.diff(t).max() <= 90 * 60


def test_mlat_only_stretch(tmp_path):
    truth = simulate("stress-mlat-only", tmp_path)
    (s,) = truth.sorties
    (m,) = s["mlat_only"]
    assert 45 <= m["minutes"] <= 62 and m["n_positions"] == s["observed"]["n_mlat"] > 60
    rows = [r for _, _, r in _rows(_traces(tmp_path))]
    mlat = [r for r in rows if r[9] == "mlat"]
    assert len(mlat) == s["observed"]["n_mlat"]
    assert all("flight" not in r[8] for r in mlat if r[8])
    assert all(r[10] is None and r[12] is None for r in mlat)
    gaps = np.diff([r[0] for r in mlat])
    assert np.median(gaps) > np.median(np.diff([r[0] for r in rows if r[9] == "adsb_icao"]))
    assert m["n_outliers"] == s["observed"]["n_mlat_outliers"] >= 1


def test_two_sorties_same_day_with_one_leg_mark_between(tmp_path):
    truth = simulate("stress-two-sorties", tmp_path)
    a, b = truth.sorties
    assert a["icao24"] == b["icao24"] and a["takeoff_time"][:10] == b["takeoff_time"][:10]
    turnaround = (np.datetime64(b["takeoff_time"][:-1]) - np.datetime64(a["landing_time"][:-1])) / np.timedelta64(1, "m")
    assert 10 < turnaround < 30
    assert a["callsigns"] != b["callsigns"]
    (trace,) = _traces(tmp_path).values()
    legs = [trace["timestamp"] + r[0] for r in trace["trace"] if r[6] & 2]
    assert len(legs) == 1
    leg = np.datetime64(int(legs[0]), "s")
    assert np.datetime64(a["landing_time"][:-1]) < leg < np.datetime64(b["takeoff_time"][:-1])
    (m,) = truth.to_dict()["leg_marks"]
    assert m["true_boundary"] and m["sortie_before"] == "first" and m["sortie_after"] == "second"


def test_deck_landing_at_sea_on_a_moving_ship(tmp_path):
    truth = simulate("stress-deck-landing", tmp_path)
    out_, back = truth.sorties
    assert out_["landing_airfield"] == "at_sea" and back["takeoff_airfield"] == "at_sea"
    assert out_["takeoff_airfield"] == back["landing_airfield"] == "KNUC"
    from isrwatch.simulate.flightpath import airfield

    knuc = airfield("KNUC")
    rows = [r for _, _, r in _rows(_traces(tmp_path))]
    at_sea = [r for r in rows if r[3] == "ground" and geo.haversine_km(knuc[0], knuc[1], r[1], r[2]) > 50]
    assert len(at_sea) >= 20
    gs = np.array([r[4] for r in at_sea])
    # moving with the ship (14 kt), not parked; the odd lift-off/touchdown point is faster
    assert np.mean((gs > 10) & (gs < 18)) > 0.9 and 12 < np.median(gs) < 16
    lons = np.array([r[2] for r in at_sea])
    assert lons.max() - lons.min() > 0.05  # the deck moved while the helicopter sat on it


def test_touch_and_go_stays_one_sortie(tmp_path):
    truth = simulate("stress-touch-and-go", tmp_path)
    (s,) = truth.sorties
    assert [t["airfield"] for t in s["touch_and_go"]] == ["KNUC", "KNTD"]
    (trace,) = _traces(tmp_path).values()
    t0 = np.datetime64(s["takeoff_time"][:-1]).astype("datetime64[s]").astype(float)
    t1 = np.datetime64(s["landing_time"][:-1]).astype("datetime64[s]").astype(float)
    mid_ground = [r for r in trace["trace"] if r[3] == "ground" and t0 + 60 < trace["timestamp"] + r[0] < t1 - 60]
    assert len(mid_ground) >= 2
    assert not any(r[6] & 2 for r in trace["trace"])


# --- reading the output back ---------------------------------------------------------------------


def test_reading_the_traces_back_gives_every_position_and_leg_mark(mexico):
    pytest.importorskip("isrwatch.sources")
    from isrwatch.sources import read

    out, truth, traces = mexico
    n = legs = mlat = rejected = 0
    icaos = set()
    for p in sorted(out.rglob("trace_full_*.json")):
        for batch in read(p):
            obs = batch.observations
            n += obs.height
            legs += int(obs["leg_start"].sum())
            mlat += int((obs["pos_source"] == "mlat").sum())
            rejected += int(batch.rejects["n_rows"].sum()) if batch.rejects.height else 0
            icaos |= set(obs["icao24"].unique().to_list())
            assert batch.aircraft["db_flags"].to_list() == [1]
    s = truth.summary
    assert (n, legs, rejected) == (s["n_positions"], s["n_leg_marks_set"], 0)
    assert mlat == sum(x["observed"]["n_mlat"] for x in truth.sorties)
    assert icaos == {a["icao24"] for a in truth.to_dict()["aircraft"]}


def test_stored_rows_of_simulated_traces_say_simulated(tmp_path):
    from isrwatch import store
    from isrwatch.sources import read

    simulate("stress-near-miss", tmp_path / "sim")
    (trace,) = (tmp_path / "sim").rglob("trace_full_*.json")

    def feeds(p):
        return {f for b in read(p) for f in b.observations["feed"].unique().to_list()}

    assert feeds(trace) == {f"SIMULATED:readsb:{trace.name}"}
    con = store.open_store(tmp_path / "s.duckdb")
    r = store.ingest(con, trace)
    assert r.rows_stored > 100
    stored = {f for (f,) in con.execute("SELECT DISTINCT feed FROM observations").fetchall()}
    con.close()
    assert stored == {f"SIMULATED:readsb:{trace.name}"}
    # without the mark (or with a mark that is not true) the same trace is an ordinary readsb feed
    doc = json.loads(gzip.decompress(trace.read_bytes()))
    for mark in (None, "true", False):
        if mark is None:
            doc.pop("simulated")
        else:
            doc["simulated"] = mark
        plain = tmp_path / "plain" / trace.name
        plain.parent.mkdir(exist_ok=True)
        plain.write_bytes(gzip.compress(json.dumps(doc).encode()))
        assert feeds(plain) == {f"readsb:{trace.name}"}, mark


# --- scenario files ------------------------------------------------------------------------------


def test_bundled_scenarios_load_and_say_simulated():
    names = bundled_scenarios()
    assert "mexico-2025" in names
    stress = [n for n in names if n.startswith("stress-")]
    assert len(stress) >= 7
    for n in names:
        sc = load_scenario(n)
        assert sc.simulated and "SIMULATED" in sc.feed and "SIMULATED" in sc.title


def _doc(**over):
    doc = {
        "name": "t", "simulated": True,
        "aircraft": [{"icao24": "ae7999", "role": "maritime_patrol", "type_code": "P8"}],
        "sorties": [{"id": "s", "icao24": "ae7999", "departure": {"airfield": "KNTD", "time": "2025-03-01T17:00:00Z"},
                     "route": [{"lat": 33.5, "lon": -119.5, "alt_ft": 10000}], "arrival": {"airfield": "KNTD"}}],
    }
    doc.update(over)
    return doc


@pytest.mark.parametrize("change, message", [
    ({"simulated": False}, "simulated: true"),
    ({"feed": "real feed"}, "SIMULATED"),
    ({"colour": "red"}, "unknown key"),
    ({"aircraft": [{"icao24": "xyz", "role": "sigint"}]}, "6 hex digits"),
    ({"aircraft": [{"icao24": "ae7999", "role": "spy"}]}, "role must be one of"),
])
def test_bad_scenarios_are_refused_with_the_reason(change, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(_doc(**change))


def test_unknown_airfield_and_overlapping_sorties_are_refused(tmp_path):
    bad = _doc()
    bad["sorties"][0]["arrival"] = {"airfield": "ZZZZ"}
    with pytest.raises(ScenarioError, match="unknown airfield 'ZZZZ'"):
        simulate(parse_scenario(bad), tmp_path)
    two = _doc()
    two["sorties"].append(dict(two["sorties"][0], id="s2"))
    with pytest.raises(ScenarioError, match="overlap"):
        simulate(parse_scenario(two), tmp_path)
    with pytest.raises(ScenarioError, match="no bundled scenario"):
        load_scenario("no-such-scenario")
