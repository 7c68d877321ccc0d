"""The airfield table and the vectorised radius search behind take-off / landing airfields."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from isrwatch.segment import load_airfields, nearest_airfield
from isrwatch.geo import haversine_km
from isrwatch.segment.airfields import AirfieldIndex


def _brute(lat, lon, alat, alon, radius):
    d = haversine_km(lat[:, None], lon[:, None], alat[None, :], alon[None, :])
    return {(int(q), int(a)) for q, a in zip(*np.nonzero(d <= radius[:, None]))}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    centre=st.tuples(st.floats(-85, 85), st.floats(-180, 180)),
    radius=st.floats(0.5, 300.0),
)
def test_radius_search_finds_exactly_what_brute_force_finds(seed, centre, radius):
    rng = np.random.default_rng(seed)
    # airfields and points scattered around a centre (which may sit on the antimeridian)
    alat = np.clip(centre[0] + rng.normal(0, 3, 200), -89.9, 89.9)
    alon = (centre[1] + rng.normal(0, 3, 200) + 180) % 360 - 180
    lat = np.clip(centre[0] + rng.normal(0, 3, 50), -89.9, 89.9)
    lon = (centre[1] + rng.normal(0, 3, 50) + 180) % 360 - 180
    af = pl.DataFrame({"icao": [f"X{i:03d}" for i in range(200)], "lat": alat, "lon": alon})
    radii = np.full(50, radius)
    q, a, d = AirfieldIndex(af).pairs_within(lat, lon, radii)
    assert set(zip(q.tolist(), a.tolist())) == _brute(lat, lon, alat, alon, radii)
    assert np.allclose(d, haversine_km(lat[q], lon[q], alat[a], alon[a]))


def test_nearest_airfield_names_military_bases():
    pts = pl.DataFrame({"lat": [32.70, 41.12, 26.35, 0.0], "lon": [-117.21, -95.91, 127.77, -30.0]})
    out = nearest_airfield(pts, radius_km=5.0)
    assert out["airfield"].to_list() == ["KNZY", "KOFF", "RODN", None]
    assert out["airfield_km"][3] is None
    assert load_airfields().filter(pl.col("icao").is_in(["KRIV", "KBAB", "KDMA", "KNIP", "KNUW"])).height == 5


def test_empty_airfield_table_finds_nothing():
    af = pl.DataFrame({"icao": [], "lat": [], "lon": []}, schema={"icao": pl.String, "lat": pl.Float64, "lon": pl.Float64})
    best, dist = AirfieldIndex(af).nearest(np.array([10.0]), np.array([10.0]), 50.0)
    assert best.tolist() == [-1] and np.isnan(dist[0])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    centre=st.tuples(st.floats(-85, 85), st.floats(-180, 180)),
    radius=st.floats(0.5, 300.0),
    ties=st.booleans(),
)
def test_nearest_is_the_brute_force_nearest_with_ties_to_the_first_code(seed, centre, radius, ties):
    rng = np.random.default_rng(seed)
    alat = np.clip(centre[0] + rng.normal(0, 3, 120), -89.9, 89.9)
    alon = (centre[1] + rng.normal(0, 3, 120) + 180) % 360 - 180
    if ties:  # airfields sharing one position: the first code in sorted order wins
        alat[60:], alon[60:] = alat[:60], alon[:60]
    lat = np.clip(centre[0] + rng.normal(0, 3, 40), -89.9, 89.9)
    lon = (centre[1] + rng.normal(0, 3, 40) + 180) % 360 - 180
    codes = [f"X{(i * 37) % 120:03d}" for i in range(120)]  # not in table order
    af = pl.DataFrame({"icao": codes, "lat": alat, "lon": alon})
    best, dist = AirfieldIndex(af).nearest(lat, lon, radius)
    d = haversine_km(lat[:, None], lon[:, None], alat[None, :], alon[None, :])
    for q in range(len(lat)):
        within = np.flatnonzero(d[q] <= radius)
        if len(within) == 0:
            assert best[q] == -1 and np.isnan(dist[q])
            continue
        nearest = within[d[q, within] <= d[q, within].min() + 1e-9]
        expected = min(nearest, key=lambda a: codes[a])
        assert codes[best[q]] == codes[expected]
        assert abs(dist[q] - d[q, expected]) < 1e-6
