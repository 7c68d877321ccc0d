"""Civil background traffic in the simulator: a feed that is never silent for hours, apart from the
sorties (which it must not change), civil and SIMULATED, through the same receivers."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from isrwatch.simulate import ScenarioError, load_scenario, parse_scenario, simulate
from isrwatch.simulate import background as bgm
from isrwatch.simulate.scenario import CIVIL_HEX_BLOCKS

WINDOW = (np.datetime64("2025-01-27T00:00:00").astype("datetime64[s]").astype(float),
          np.datetime64("2025-02-10T00:00:00").astype("datetime64[s]").astype(float))


def _load(out: Path, rel: str) -> dict:
    return json.loads(gzip.decompress((out / rel).read_bytes()))


def _times(doc: dict) -> np.ndarray:
    return doc["timestamp"] + np.array([r[0] for r in doc["trace"]], float)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with_bg = tmp_path_factory.mktemp("with-background")
    without = tmp_path_factory.mktemp("without-background")
    t_bg = simulate("mexico-2025", with_bg)
    t_plain = simulate("mexico-2025", without, background=False)
    bg_docs = {f["path"]: _load(with_bg, f["path"]) for f in t_bg.data["background"]["files"]}
    return with_bg, t_bg.to_dict(), without, t_plain.to_dict(), bg_docs


def test_background_changes_no_byte_of_the_sorties(runs):
    with_bg, d_bg, without, d_plain, _ = runs
    plain_files = sorted(str(p.relative_to(without)) for p in without.rglob("trace_full_*.json"))
    assert plain_files == sorted(f["path"] for f in d_plain["files"]) and len(plain_files) > 20
    for rel in plain_files:
        assert (with_bg / rel).read_bytes() == (without / rel).read_bytes(), rel
    # the truth of the scenario is the same; the background is listed apart and counted nowhere else
    assert d_plain["background"] is None
    assert {k: v for k, v in d_bg.items() if k != "background"} == {k: v for k, v in d_plain.items()
                                                                     if k != "background"}
    assert set(d_bg["summary"]) == {"n_sorties", "n_sorties_in_window", "n_isr_sorties_in_window", "n_aircraft",
                                    "n_positions", "n_files", "n_leg_marks_set", "n_leg_marks_missing",
                                    "by_country", "aois"}
    assert d_bg["summary"]["n_sorties"] == 24 and d_bg["summary"]["n_aircraft"] == 8
    on_disk = {str(p.relative_to(with_bg)) for p in with_bg.rglob("trace_full_*.json")}
    bg_files = {f["path"] for f in d_bg["background"]["files"]}
    assert on_disk == set(plain_files) | bg_files and not bg_files & set(plain_files)


def test_the_feed_is_never_silent_for_half_an_hour(runs):
    with_bg, d_bg, without, _, bg_docs = runs
    sortie_t = [_times(_load(without, f["path"])) for f in d_bg["files"]]
    bg_t = np.sort(np.concatenate([_times(doc) for doc in bg_docs.values()]))
    ws, we = WINDOW
    every = np.sort(np.concatenate(sortie_t + [bg_t]))
    every = every[(every >= ws) & (every < we)]
    gaps = np.diff(np.concatenate([[ws], every, [we]]))
    assert gaps.max() < 30 * 60  # what the claims stage counts as a coverage hole
    assert d_bg["background"]["feed_coverage"]["max_gap_s"] == pytest.approx(gaps.max(), abs=1.0)
    # every hour of the window has received civil positions, the sorties alone would leave most empty
    hours = np.arange(ws, we, 3600.0)
    assert np.all(np.histogram(bg_t, bins=np.append(hours, we))[0] > 0)
    sortie_hours = np.histogram(np.concatenate(sortie_t), bins=np.append(hours, we))[0]
    assert np.count_nonzero(sortie_hours == 0) > 200


def test_background_is_modest_in_size(runs):
    with_bg, d_bg, *_ = runs
    bg = d_bg["background"]
    assert 80_000 < bg["n_positions"] <= 150_000
    total = sum(p.stat().st_size for p in with_bg.rglob("*") if p.is_file())
    assert total < 8 * 1024 * 1024
    assert bg["n_files"] < 300  # rotations: a few aircraft fly all day (files are per aircraft and day)


def test_background_traces_are_civil_simulated_readsb(runs):
    with_bg, d_bg, _, _, bg_docs = runs
    bg = d_bg["background"]
    military = {a["icao24"] for a in d_bg["aircraft"]}
    lo, hi = CIVIL_HEX_BLOCKS["US"]
    prefixes = tuple(bg["airlines"])
    sc = load_scenario("mexico-2025")
    types = {t for a in sc.background.airlines for t in a.types}
    n = 0
    for rel, doc in bg_docs.items():
        assert doc["simulated"] is True and "SIMULATED" in doc["simulation"] and "SIMULATED" in doc["ownOp"]
        assert lo <= int(doc["icao"], 16) <= hi and doc["icao"] not in military
        assert doc["dbFlags"] == 0 and "r" not in doc and doc["t"] in types
        assert rel.endswith(f"traces/{doc['icao'][-2:]}/trace_full_{doc['icao']}.json")
        for r in doc["trace"]:
            assert len(r) == 14 and r[9] == "adsb_icao"
            assert r[3] == "ground" or isinstance(r[3], int)
            if r[8] and "flight" in r[8]:
                assert r[8]["flight"].strip().startswith(prefixes)
        n += len(doc["trace"])
    assert n == bg["n_positions"] == sum(f["n_positions"] for f in bg["flights"])
    assert bg["n_flights"] == len(bg["flights"]) > 900
    assert bg["n_aircraft"] == len({d["icao"] for d in bg_docs.values()})
    for f in bg["flights"]:
        assert f["origin"] != f["destination"] and f["takeoff_time"] < f["landing_time"]
        assert f["callsign"].startswith(prefixes) and f["type_code"] in types
    # the flights of one aircraft follow each other from where it landed
    by_ac: dict[str, list[dict]] = {}
    for f in bg["flights"]:
        by_ac.setdefault(f["icao24"], []).append(f)
    for fl in by_ac.values():
        for a, b in zip(fl, fl[1:]):
            assert a["destination"] == b["origin"] and a["landing_time"] < b["takeoff_time"]


def test_background_reads_back_through_the_readers(runs):
    from isrwatch.sources import read

    with_bg, d_bg, _, _, bg_docs = runs
    n = legs = rejected = 0
    feeds = set()
    for rel in bg_docs:
        for batch in read(with_bg / rel):
            obs = batch.observations
            n += obs.height
            legs += int(obs["leg_start"].sum())
            rejected += int(batch.rejects["n_rows"].sum()) if batch.rejects.height else 0
            feeds |= set(obs["feed"].unique().to_list())
            assert batch.aircraft["db_flags"].to_list() == [0]
    bg = d_bg["background"]
    assert (n, legs, rejected) == (bg["n_positions"], bg["n_leg_marks_set"], 0)
    assert feeds and all(f.startswith("SIMULATED:readsb:trace_full_") for f in feeds)
    assert bg["n_leg_marks_set"] > bg["n_flights"] / 2  # a new leg at most turnarounds, as readsb marks them


def test_background_stays_out_of_the_avoided_country_and_coverage_ends_offshore(runs):
    from isrwatch import boundaries as regions

    _, d_bg, _, _, bg_docs = runs
    assert d_bg["background"]["routes"]["avoided"] > 0
    pts = np.array([(r[1], r[2]) for doc in bg_docs.values() for r in doc["trace"]])
    assert not shapely.contains_xy(regions.sovereign("MEX"), pts[:, 1], pts[:, 0]).any()
    # received only within the receivers' reach: nothing far out over the Pacific
    assert pts[:, 1].min() > -127.5 and pts[:, 0].min() > 25.0


def test_departures_follow_the_hourly_rates_as_a_timetable():
    sc = load_scenario("mexico-2025")
    bg = sc.background
    t = bgm.departures(bg, np.random.default_rng(1))
    t0, t1 = bg.start.timestamp(), bg.end.timestamp()
    assert np.all(np.diff(t) >= 0) and t[0] >= t0 and t[-1] <= t1
    edges = np.arange(t0, t1 + 1, 3600.0)
    counts = np.histogram(t, bins=edges)[0]
    local = ((edges[:-1] // 3600).astype(int) + int(bg.utc_offset_h)) % 24
    rate = np.asarray(bg.flights_per_hour)[local]
    assert np.all(np.abs(counts - rate) < 2)  # a timetable: never a busy hour's worth at night
    assert abs(len(t) - rate.sum()) <= 1
    night, day = rate.argmin(), rate.argmax()
    assert counts[local == local[night]].mean() < counts[local == local[day]].mean()


# --- small scenarios -----------------------------------------------------------------------------


def _doc(**bg_over):
    bg = {"flights_per_hour": [2.0] * 24, "airports": ["KLAX", "KPHX", "KLAS", "KSFO", "MMHO"],
          "airlines": [{"prefix": "AAL", "country": "US", "types": ["A321"]},
                       {"prefix": "AMX", "country": "MX", "types": ["B38M"]}],
          "start": "2025-03-01T00:00:00Z", "end": "2025-03-01T10:00:00Z", "sample_s": [30, 60]}
    bg.update(bg_over)
    return {
        "name": "bg-small", "simulated": True,
        "window": {"start": "2025-03-01T00:00:00Z", "end": "2025-03-02T00:00:00Z"},
        "receivers": [{"id": "la", "lat": 34.05, "lon": -118.25, "antenna_m": 40},
                      {"id": "phoenix", "lat": 33.45, "lon": -112.07, "antenna_m": 40},
                      {"id": "las_vegas", "lat": 36.17, "lon": -115.14, "antenna_m": 40},
                      {"id": "sf", "lat": 37.77, "lon": -122.42, "antenna_m": 40}],
        "aircraft": [{"icao24": "ae7999", "role": "maritime_patrol", "type_code": "P8"}],
        "sorties": [{"id": "s", "icao24": "ae7999", "departure": {"airfield": "KNTD", "time": "2025-03-01T17:00:00Z"},
                     "route": [{"lat": 33.5, "lon": -119.5, "alt_ft": 10000}], "arrival": {"airfield": "KNTD"}}],
        "background": bg,
    }


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_small_background_is_deterministic_and_uses_each_airlines_block(tmp_path):
    sc = parse_scenario(_doc())
    a = simulate(sc, tmp_path / "a", seed=3)
    simulate(sc, tmp_path / "b", seed=3)
    c = simulate(sc, tmp_path / "c", seed=4)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    bg_a, bg_c = a.data["background"], c.data["background"]
    assert bg_a["n_files"] > 0 and bg_a["flights"] != bg_c["flights"]
    # other seeds, other background; the sortie is received the same way whatever the background does
    sortie = a.data["files"][0]["path"]
    other = parse_scenario(_doc(flights_per_hour=[5.0] * 24, airports=["KLAX", "KPHX", "KSFO"]))
    simulate(other, tmp_path / "d", seed=3)
    assert (tmp_path / "d" / sortie).read_bytes() == (tmp_path / "a" / sortie).read_bytes()
    # addresses from each airline's country block, callsigns from its prefix, types from its list
    mx_lo, mx_hi = CIVIL_HEX_BLOCKS["MX"]
    us_lo, us_hi = CIVIL_HEX_BLOCKS["US"]
    seen = set()
    for f in bg_a["flights"]:
        h = int(f["icao24"], 16)
        if f["callsign"].startswith("AMX"):
            assert mx_lo <= h <= mx_hi and f["type_code"] == "B38M"
        else:
            assert f["callsign"].startswith("AAL") and us_lo <= h <= us_hi and f["type_code"] == "A321"
        seen.add(f["callsign"][:3])
    assert seen == {"AAL", "AMX"}
    assert abs(bg_a["n_flights"] - 20) <= 1  # 2 an hour for 10 hours


def test_rerun_without_background_removes_its_traces(tmp_path):
    sc = parse_scenario(_doc())
    t = simulate(sc, tmp_path)
    assert t.data["background"]["n_files"] > 0
    assert len(list(tmp_path.rglob("trace_full_*.json"))) == 1 + t.data["background"]["n_files"]
    simulate(sc, tmp_path, background=False)
    assert len(list(tmp_path.rglob("trace_full_*.json"))) == 1


def test_avoided_country_removes_routes_and_can_leave_an_airport_without_any(tmp_path):
    t = simulate(parse_scenario(_doc(airports=["KLAX", "KPHX", "KLAS", "KSFO"], avoid=["MEX"])), tmp_path)
    assert t.data["background"]["routes"]["avoided"] == 0  # these routes stay in the US
    with pytest.raises(ScenarioError, match="no route from MMHO"):
        simulate(parse_scenario(_doc(avoid=["MEX"])), tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"flights_per_hour": [1.0] * 23}, "24 numbers"),
    ({"flights_per_hour": [1.0] * 23 + [0]}, "above 0"),
    ({"airports": ["KLAX", "ZZZZ"]}, "unknown airfield 'ZZZZ'"),
    ({"airlines": [{"prefix": "KLM", "country": "NL"}]}, "hex_range"),
    ({"airlines": [{"prefix": "AAL", "hex_range": ["a00010", "a00001"]}]}, "low is above high"),
    ({"colour": "red"}, "unknown key"),
    ({"end": "2025-02-28T00:00:00Z"}, "not after its start"),
    ({"route_km": [3000, 4000]}, "no route from"),
])
def test_bad_background_is_refused_with_the_reason(tmp_path, change, message):
    with pytest.raises(ScenarioError, match=message):
        simulate(parse_scenario(_doc(**change)), tmp_path)


def test_scenarios_without_background_need_none():
    sc = load_scenario("stress-near-miss")
    assert sc.background is None
    mx = load_scenario("mexico-2025")
    assert mx.background is not None and min(mx.background.flights_per_hour) > 0
    assert dataclasses.replace(mx, background=None).sorties == mx.sorties
