"""Airspace stage: per-point classification and per-flight entries, checked against geography
and against pyproj geodesic distances computed independently here."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import numpy as np
import polars as pl
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from isrwatch import schema
from isrwatch import boundaries as regions
from isrwatch.airspace import catalog
from isrwatch.airspace.classify import aoi_column, classify_points, sovereign_index
from isrwatch.airspace.events import airspace_events, summarize
from isrwatch.airspace.geodesy import GEOD, BoundaryDistance, geodesic_km
from isrwatch.airspace.index import PolygonIndex
from tests.conftest import shared_file

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
BOX = shapely.box(10.0, 10.0, 11.0, 11.0)  # a test region with edges we can reason about


def flight(fid: str, lonlat, *, step_s: float | list[float] = 60.0, icao24: str = "ae1234", t0=T0) -> pl.DataFrame:
    n = len(lonlat)
    steps = [step_s] * (n - 1) if np.isscalar(step_s) else list(step_s)
    offs = np.concatenate([[0.0], np.cumsum(steps)])
    return pl.DataFrame(
        {
            "flight_id": [fid] * n,
            "icao24": [icao24] * n,
            "time": [t0 + dt.timedelta(seconds=float(o)) for o in offs],
            "lat": [float(p[1]) for p in lonlat],
            "lon": [float(p[0]) for p in lonlat],
        },
        schema_overrides={"time": schema.UTC_US},
    )


def brute_distance_km(lon, lat, geom, step_deg=0.0005) -> float:
    """Geodesic distance from a point to a geometry's boundary, densified every ~50 m."""
    b = shapely.boundary(geom) if geom.geom_type in ("Polygon", "MultiPolygon") else geom
    pts = shapely.get_coordinates(shapely.segmentize(shapely.clip_by_rect(b, lon - 5, lat - 5, lon + 5, lat + 5), step_deg))
    return float(geodesic_km(lon, lat, pts[:, 0], pts[:, 1]).min())


def seconds(t: dt.datetime) -> float:
    return (t - T0).total_seconds()


# --- classify_points -----------------------------------------------------------------------------


KNOWN = [
    # lat, lon, sovereign, over_land, what
    (30.5, -113.8, "MEX", False, "northern Gulf of California, internal waters"),
    (31.857, -116.764, "MEX", False, "15 km off Ensenada"),
    (31.857, -117.240, None, False, "60 km off Ensenada"),
    (32.68, -115.50, "USA", True, "Calexico, US side of the land border"),
    (32.60, -115.50, "MEX", True, "Mexicali"),
    (29.0, -118.45, "MEX", False, "Isla Guadalupe's waters"),
    (19.43, -99.13, "MEX", True, "Mexico City"),
    (32.7157, -117.1611, "USA", True, "San Diego"),
]


def test_classify_known_points():
    obs = pl.DataFrame({"lat": [k[0] for k in KNOWN], "lon": [k[1] for k in KNOWN], "tag": [k[4] for k in KNOWN]})
    out = classify_points(obs)
    assert out.columns == ["lat", "lon", "tag", "sovereign", "over_land"]
    assert out["sovereign"].to_list() == [k[2] for k in KNOWN]
    assert out["over_land"].to_list() == [k[3] for k in KNOWN]


def test_classify_nulls_order_and_subset():
    obs = pl.DataFrame({"lat": [30.5, None, 95.0, 32.68], "lon": [-113.8, -110.0, 0.0, -115.5]})
    out = classify_points(obs, countries=["MEX"])
    assert out.height == 4  # nothing dropped, order kept
    assert out["sovereign"].to_list() == ["MEX", None, None, None]
    assert out["over_land"].to_list() == [False, None, None, True]


def test_classify_overlap_smallest_area_wins_unless_asked():
    # American Samoa lies inside the USA's OSM area too
    pago = pl.DataFrame({"lat": [-14.28], "lon": [-170.70]})
    assert classify_points(pago)["sovereign"][0] == "ASM"
    assert classify_points(pago, countries=["USA"])["sovereign"][0] == "USA"


def test_classify_aoi_columns_and_list():
    obs = pl.DataFrame({"lat": [30.5, 31.857, 32.68, None], "lon": [-113.8, -117.24, -115.5, 0.0]})
    out = classify_points(obs, aois=["gulf-of-california", "baja-pacific", "us-mex-border"])
    assert out[aoi_column("gulf-of-california")].to_list() == [True, False, False, None]
    assert out["in_baja_pacific"].to_list() == [False, True, False, None]
    assert out["in_us_mex_border"].to_list() == [False, False, True, None]
    lst = classify_points(obs, aois=["gulf-of-california", "us-mex-border"], aoi_list=True)
    assert lst["aois"].to_list() == [["gulf-of-california"], [], ["us-mex-border"], []]


def test_twelve_nm_buffer_is_not_sovereign_airspace():
    """The classic mistake: a 12 nm coastline buffer misses internal waters behind baselines."""
    from isrwatch.airspace.geodesy import buffer_km

    mex_land = shapely.intersection(shapely.clip_by_rect(regions.land(), -116, 28, -111, 32.8), regions.sovereign("MEX"))
    naive = buffer_km(mex_land, 22.224)
    obs = pl.DataFrame({"lat": [30.5], "lon": [-113.8]})
    assert classify_points(obs)["sovereign"][0] == "MEX"
    assert not shapely.contains_xy(naive, -113.8, 30.5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(-121, -85), st.integers(-121 * 32, -85 * 32).map(lambda v: v / 32)),
            st.one_of(st.floats(12, 35), st.integers(12 * 32, 35 * 32).map(lambda v: v / 32)),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_index_agrees_with_shapely(points):
    """The grid index answers exactly what shapely answers on the full polygons (grid-aligned
    points included, where cell edges meet)."""
    codes, idx = sovereign_index(("MEX", "USA", "GTM", "BLZ", "CUB"))
    pts = np.array(points, dtype=float)
    geoms = [regions.sovereign(c) for c in codes]
    on_edge = np.zeros(len(pts), dtype=bool)
    for g in geoms:
        on_edge |= shapely.intersects_xy(shapely.boundary(g), pts[:, 0], pts[:, 1])
    assume(not on_edge.any())
    got = idx.locate(pts[:, 0], pts[:, 1])
    areas = np.array([g.area for g in geoms])
    for k, (x, y) in enumerate(pts):
        hits = [i for i, g in enumerate(geoms) if shapely.contains_xy(g, x, y)]
        want = min(hits, key=lambda i: areas[i]) if hits else -1
        assert got[k] == want, (x, y, got[k], want)


def test_polygon_index_edge_of_cells():
    idx = PolygonIndex([shapely.box(0.25, 0.25, 3.5, 2.0)])
    x = np.array([0.25 + 1e-9, 1.0, 2.0, 3.0, 3.5 - 1e-9, 3.5 + 1e-9, 1.0, 0.0, np.nan])
    y = np.array([1.0, 1.0, 2.0 - 1e-9, 1.0, 1.0, 1.0, 2.0 + 1e-9, 0.0, 1.0])
    assert idx.contains(x, y).tolist() == [True, True, True, True, True, False, False, False, False]


# --- airspace_events: synthetic flights on a box ------------------------------------------------


def box_events(obs, **kw):
    return airspace_events(obs, BOX, region_id="box", **kw)


def test_entry_exit_interpolated_and_depth():
    # west to east along 10.5N, 60 s apart, crossing lon 10 and 11 at known fractions
    lons = [9.5, 9.8, 10.1, 10.4, 10.7, 11.0 + 0.3 * 0.5, 11.4]
    ev = box_events(flight("F1", [(x, 10.5) for x in lons]))
    assert ev.columns == list(schema.AIRSPACE_EVENTS)
    assert ev.height == 1
    r = ev.row(0, named=True)
    assert r["entered"] and r["basis"] == "observed" and r["entry_index"] == 0
    assert r["region"] == "box" and r["n_obs_inside"] == 3
    # entry on segment 9.8 -> 10.1 at 2/3 of the way: t = 60 + 40 s; exit on 10.7 -> 11.15 at 2/3
    assert abs(seconds(r["entry_time"]) - 100.0) < 0.01
    assert abs(seconds(r["exit_time"]) - 280.0) < 0.01
    assert abs(r["duration_s"] - 180.0) < 0.01
    assert abs(r["closest_lon"] - 10.0) < 1e-6 and r["closest_km"] == 0.0
    # deepest observed position is (10.4, 10.5) or (10.7, 10.5): check against brute force
    want = max(brute_distance_km(x, 10.5, BOX) for x in (10.1, 10.4, 10.7))
    assert abs(r["max_depth_km"] - want) < 0.1
    assert r["max_depth_lon"] in (10.4, 10.7)
    # the box lies over Nigeria / Cameroon: inside positions are over land
    assert r["over_land"] is bool(shapely.contains_xy(regions.land(), [10.1, 10.4, 10.7], 10.5).any()) is True


def test_near_miss_closest_approach_against_pyproj():
    lats = np.arange(9.0, 12.0, 0.01)
    ev = box_events(flight("NM", [(9.95, y) for y in lats], step_s=10))
    r = ev.row(0, named=True)
    assert r["entered"] is False and r["entry_index"] is None and r["basis"] is None
    want = min(brute_distance_km(9.95, y, BOX) for y in lats[(lats > 10.2) & (lats < 10.8)])
    assert abs(r["closest_km"] - want) < 0.1
    assert 5.0 < r["closest_km"] < 5.6  # 0.05 deg of longitude at ~10.5N
    assert r["closest_lon"] == 9.95 and 10.0 <= r["closest_lat"] <= 11.0
    assert r["closest_time"] is not None


def test_gap_only_entry_never_merged_with_observed():
    pts = [(10.3, 9.7), (10.5, 10.5), (10.5, 11.3),  # observed entry through the south edge, out north
           (11.6, 11.2), (9.4, 10.2)]  # a 2 h gap whose straight line crosses the box
    ev = box_events(flight("G", pts, step_s=[60, 60, 600, 7200]))
    assert ev["basis"].to_list() == ["observed", "gap_only"]
    assert ev["entry_index"].to_list() == [0, 1]
    gap = ev.row(1, named=True)
    assert gap["n_obs_inside"] == 0
    # the line (11.6,11.2)->(9.4,10.2) enters at lon 11 and leaves at lon 10 (both inside lat range)
    f_in, f_out = (11.6 - 11.0) / 2.2, (11.6 - 10.0) / 2.2
    t_seg = 60 + 60 + 600
    assert abs(seconds(gap["entry_time"]) - (t_seg + f_in * 7200)) < 0.01
    assert abs(seconds(gap["exit_time"]) - (t_seg + f_out * 7200)) < 0.01
    # its depth: the deepest point of the line inside, against brute force along the line
    ts = np.linspace(f_in, f_out, 2001)
    line_x, line_y = 11.6 + ts * (9.4 - 11.6), 11.2 + ts * (10.2 - 11.2)
    bd = BoundaryDistance(BOX)
    want = bd.distance(line_x, line_y)[0].max()
    assert abs(gap["max_depth_km"] - want) < 0.1
    s = summarize(ev)
    assert s["entries_observed"] == 1 and s["entries_gap_only"] == 1 and s["flights_entered"] == 1


def test_max_gap_s_stops_inference_across_long_gaps():
    pts = [(9.5, 10.5), (11.5, 10.5)]
    assert box_events(flight("L", pts, step_s=3600))["basis"].to_list() == ["gap_only"]
    ev = box_events(flight("L", pts, step_s=3600), max_gap_s=1800)
    assert ev["entered"].to_list() == [False]
    assert abs(ev["closest_km"][0] - brute_distance_km(9.5, 10.5, BOX)) < 0.1
    # inside positions on both sides of an undrawn gap: two entries, crossing times unknown
    pts = [(9.5, 10.5), (10.2, 10.5), (10.8, 10.5), (11.5, 10.5)]
    ev = box_events(flight("S", pts, step_s=[60, 3600, 60]), max_gap_s=1800)
    assert ev["entry_index"].to_list() == [0, 1]
    assert ev["exit_time"][0] is None and ev["entry_time"][1] is None
    assert ev["entry_time"][0] is not None and ev["exit_time"][1] is not None


def test_starts_and_ends_inside():
    ev = box_events(flight("I", [(10.5, 10.5), (10.6, 10.5), (11.5, 10.5), (10.5, 10.6)]))
    assert ev.height == 2
    assert ev["entry_time"][0] is None and ev["exit_time"][0] is not None
    assert ev["entry_time"][1] is not None and ev["exit_time"][1] is None


def test_several_flights_sorted_and_unsorted_input():
    a = flight("A", [(9.5, 10.5), (10.5, 10.5), (11.5, 10.5)], icao24="aaaaaa")
    b = flight("B", [(9.0, 9.0), (9.1, 9.1)], icao24="bbbbbb")
    obs = pl.concat([a, b]).sample(fraction=1.0, shuffle=True, seed=4)
    ev = box_events(obs)
    assert ev["flight_id"].to_list() == ["A", "B"] and ev["entered"].to_list() == [True, False]
    assert ev["icao24"].to_list() == ["aaaaaa", "bbbbbb"]
    assert abs(ev["closest_km"][1] - brute_distance_km(9.1, 9.1, BOX)) < 0.1


def test_events_bad_and_empty_input():
    assert box_events(flight("E", [(1.0, 1.0)]).clear()).columns == list(schema.AIRSPACE_EVENTS)
    assert box_events(flight("E", [(1.0, 1.0)]).clear()).height == 0
    with pytest.raises(ValueError, match="segmentation"):
        airspace_events(pl.DataFrame({"time": [T0], "lat": [1.0], "lon": [1.0]}), BOX, region_id="box")
    with pytest.raises(ValueError, match="region_id"):
        airspace_events(flight("E", [(1.0, 1.0)]), BOX)
    # null flight_id / position rows are not placed on any path
    obs = flight("N", [(9.5, 10.5), (10.5, 10.5), (11.5, 10.5)]).with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("lat")).alias("lat")
    )
    ev = box_events(obs)
    assert ev["basis"].to_list() == ["gap_only"]


# --- airspace_events against Mexico -------------------------------------------------------------


def test_mexico_entry_off_ensenada_and_near_miss():
    mex = regions.sovereign("MEX")
    bd = BoundaryDistance(mex)
    # inbound along 31.857N from 120 km out to 10 km off Ensenada, every 30 s (~4 km), then back out
    out_lons = np.linspace(-117.88, -116.72, 30)
    pts = [(x, 31.857) for x in np.r_[out_lons, out_lons[::-1][1:]]]
    ev = airspace_events(flight("IN", pts, step_s=30), "MEX")
    assert ev["entered"].to_list() == [True]
    r = ev.row(0, named=True)
    assert r["region"] == "MEX" and r["region_kind"] == "sovereign" and r["basis"] == "observed"
    assert r["over_land"] is False
    # the interpolated crossing point lies on Mexico's boundary (within 100 m)
    d_cross = bd.distance(np.array([r["closest_lon"]]), np.array([r["closest_lat"]]))[0][0]
    assert d_cross < 0.1
    assert abs(r["max_depth_km"] - brute_distance_km(-116.72, 31.857, mex)) < 0.1
    # same pattern stopping 40 km out: a near miss whose closest approach is geodesic distance
    far = [(x, 31.857) for x in np.linspace(-117.88, -117.35, 15)]
    ev = airspace_events(flight("NM", far, step_s=30), "MEX")
    r = ev.row(0, named=True)
    assert r["entered"] is False
    assert abs(r["closest_km"] - brute_distance_km(-117.35, 31.857, mex)) < 0.1


def test_entry_over_land_across_the_border():
    pts = [(-110.9, 32.2), (-110.9, 31.6), (-110.9, 31.0), (-110.9, 31.6), (-110.9, 32.2)]  # Tucson south and back
    ev = airspace_events(flight("TUS", pts, step_s=300), "MEX")
    r = ev.row(0, named=True)
    assert r["entered"] and r["over_land"] is True and r["n_obs_inside"] == 1
    assert abs(r["max_depth_km"] - brute_distance_km(-110.9, 31.0, regions.sovereign("MEX"))) < 0.1
    # the 25 km corridor (border at ~31.33N here) lies between positions 30 and 37 km away from
    # the line: both passes rest only on the drawn lines, so they are gap-only entries
    ev = airspace_events(flight("TUS", pts, step_s=300), "us-mex-border:25")
    assert ev["region_kind"].to_list() == ["aoi", "aoi"]
    assert ev["basis"].to_list() == ["gap_only", "gap_only"] and ev["n_obs_inside"].sum() == 0


def test_gulf_point_entry_vs_12nm_buffer_region():
    """A flight over the northern Gulf enters Mexican airspace; the same flight against a 12 nm
    coastline buffer would be reported as a near miss."""
    from isrwatch.airspace.geodesy import buffer_km

    pts = [(-113.8, 29.8), (-113.8, 30.5), (-113.8, 29.8)]
    assert airspace_events(flight("G", pts, step_s=600), "MEX")["entered"][0]
    mex_land = shapely.intersection(shapely.clip_by_rect(regions.land(), -116, 28, -111, 32.8), regions.sovereign("MEX"))
    naive = buffer_km(mex_land, 22.224)
    one = airspace_events(flight("G", [(-113.8, 30.5)]), naive, region_id="naive-12nm")
    assert one["entered"][0] is False


# --- real tracks -------------------------------------------------------------------------------


def _readsb_legs(path) -> pl.DataFrame:
    doc = json.loads(path.read_text())
    tr = doc["trace"]
    base = doc["timestamp"]
    flags = [r[6] or 0 for r in tr]
    leg = np.cumsum([bool(f & 2) for f in flags])
    return pl.DataFrame(
        {
            "flight_id": [f"{doc['icao']}-leg{k}" for k in leg],
            "icao24": [doc["icao"]] * len(tr),
            "time": [dt.datetime.fromtimestamp(base + r[0], tz=dt.timezone.utc) for r in tr],
            "lat": [float(r[1]) for r in tr],
            "lon": [float(r[2]) for r in tr],
        },
        schema_overrides={"time": schema.UTC_US},
    )


def test_real_trace_enters_mexico_on_its_first_leg_only(shared):
    obs = _readsb_legs(shared_file("adsb", "readsb", "trace_full_ac671b.json"))
    ev = airspace_events(obs, "MEX")
    entered = ev.filter(pl.col("entered"))
    assert entered["flight_id"].unique().to_list() == ["ac671b-leg0"]
    assert (entered["basis"] == "observed").all()
    # observed positions inside agree with per-point classification
    cls = classify_points(obs, countries=["MEX"])
    n_in = cls.filter((pl.col("sovereign") == "MEX") & (pl.col("flight_id") == "ac671b-leg0")).height
    assert entered["n_obs_inside"].sum() == n_in > 0
    # crossing times fall between the straddling observations
    leg0 = obs.filter(pl.col("flight_id") == "ac671b-leg0")
    for r in entered.iter_rows(named=True):
        if r["entry_time"] is not None:
            before = leg0.filter(pl.col("time") <= r["entry_time"])["time"].max()
            after = leg0.filter(pl.col("time") >= r["entry_time"])["time"].min()
            assert before is not None and after is not None and (after - before).total_seconds() < 600
    # other legs (US domestic) stay out; their closest approach is far
    others = ev.filter(~pl.col("entered"))
    assert others.height == 3 and (others["closest_km"] > 50).all()


def test_real_military_positions_near_tijuana(shared):
    rows = []
    for name in ("mil_2023-01-24T033421Z.json", "mil_2023-01-24T034310Z.json"):
        doc = json.loads(shared_file("adsb", "adsbx-v2", name).read_text())
        for a in doc["ac"]:
            if "lat" in a and 32.4 < a["lat"] < 32.8 and -117.4 < a["lon"] < -116.9:
                rows.append({"lat": a["lat"], "lon": a["lon"], "hex": a["hex"]})
    assert rows, "expected aircraft near the Tijuana / San Diego border in the snapshots"
    out = classify_points(pl.DataFrame(rows))
    # all of them are on the US side (San Diego, Imperial Beach), not in Mexico
    assert set(out["sovereign"].to_list()) == {"USA"}
    bd = BoundaryDistance(regions.sovereign("MEX"))
    d, _, _ = bd.distance(out["lon"].to_numpy(), out["lat"].to_numpy())
    for (lon, lat), dk in zip(out.select("lon", "lat").rows(), d):
        assert abs(dk - brute_distance_km(lon, lat, regions.sovereign("MEX"))) < 0.1
        assert 0 < dk < 30  # all within 30 km of the border, none inside


def test_real_coastal_tracks_match_exact_test(shared):
    """Jamaica calibration flights hug the coast: grid answers equal shapely's exact answers."""
    d = json.loads(gzip.open(shared_file("adsb", "traffic-samples", "calibration", "kingston.json.gz")).read())
    obs = pl.DataFrame({"lat": [r["latitude"] for r in d], "lon": [r["longitude"] for r in d]}).drop_nulls()
    out = classify_points(obs)
    jam = regions.sovereign("JAM")
    exact = shapely.contains_xy(jam, obs["lon"].to_numpy(), obs["lat"].to_numpy())
    assert ((out["sovereign"] == "JAM").to_numpy() == exact).all()
    land = shapely.contains_xy(regions.land(), obs["lon"].to_numpy(), obs["lat"].to_numpy())
    assert (out["over_land"].to_numpy() == land).all()
    assert 0 < land.sum() < len(land)  # some over land, some over the sea


def test_antimeridian_segment_not_drawn_the_long_way():
    # two positions either side of 180°: the short way crosses no land box at 0°-1°E; the long
    # way round (a 359° wide segment) would cross it if it were drawn
    wide = shapely.box(0.0, -1.0, 1.0, 1.0)
    ev = airspace_events(flight("AM", [(179.9, 0.0), (-179.9, 0.0)]), wide, region_id="wide")
    assert ev["entered"].to_list() == [False]


def test_bare_geometry_cache_is_not_fooled_by_a_reused_id():
    for k in range(5):
        box = shapely.box(10.0 + k, 10.0, 11.0 + k, 11.0)
        ev = airspace_events(flight("R", [(10.5 + k, 10.5)]), box, region_id="same-id")
        assert ev["entered"].to_list() == [True]
        del box


def test_boundary_cell_answers_kept_between_processes(tmp_path, monkeypatch):
    """The cells a boundary's distance estimates fill are written to the cache directory and
    read by the next BoundaryDistance of the same boundary, which then fills nothing; a
    damaged file is ignored and rewritten; another boundary gets its own file."""
    from isrwatch.airspace import geodesy

    mex = catalog.sovereign_region("MEX").geometry
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(-118, -106, 400), rng.uniform(22, 33, 400)
    first = BoundaryDistance(mex, cell_cache=tmp_path)
    est = first.estimate_km(lon, lat)
    assert first.save_cells() and not first.save_cells()  # written once, nothing new after
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1

    def no_fill(*args, **kwargs):
        raise AssertionError("a cell was filled again")

    second = BoundaryDistance(mex, cell_cache=tmp_path)
    monkeypatch.setattr(second, "_nearest_approx", no_fill)
    assert np.array_equal(second.estimate_km(lon, lat), est)
    assert not second.save_cells()
    monkeypatch.undo()

    files[0].write_bytes(b"not a numpy file")
    third = BoundaryDistance(mex, cell_cache=tmp_path)
    assert np.array_equal(third.estimate_km(lon, lat), est) and third.save_cells()

    box = BoundaryDistance(BOX, cell_cache=tmp_path)
    box.estimate_km(lon[:5], lat[:5])
    geodesy._save_cell_files()  # what runs when the process ends, for those still in use
    assert len(list(tmp_path.glob("*.npz"))) == 2
