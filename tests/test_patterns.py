"""Orbits, racetracks, survey lines and loiter time on synthetic and real tracks."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from isrwatch.patterns import LOITER, PATTERNS, PatternRules, detect_patterns, loiter

T0 = datetime(2025, 3, 1, 14, 0, tzinfo=timezone.utc)
KM_PER_NM = 1.852


def fly(steps, *, flight_id="ae1234-20250301T140000Z", lat=31.0, lon=-118.0, heading=0.0,
        step_s=5.0, start=T0, emit=None):
    """Rows of a flight from (duration s, ground speed kt, turn rate deg/s[, emit]) steps."""
    rows, t = [], start
    for step in steps:
        dur, gs, turn = step[:3]
        visible = step[3] if len(step) > 3 else True
        n = max(1, round(dur / step_s))
        dt = dur / n
        for _ in range(n):
            heading = (heading + turn * dt) % 360
            d = gs * KM_PER_NM * dt / 3600.0
            lat += d * math.cos(math.radians(heading)) / 111.2
            lon += d * math.sin(math.radians(heading)) / (111.2 * math.cos(math.radians(lat)))
            t += timedelta(seconds=dt)
            if visible:
                rows.append({"flight_id": flight_id, "icao24": flight_id[:6], "time": t, "lat": lat,
                             "lon": lon, "track": heading})
    return pl.DataFrame(rows).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC")))


def racetrack(laps, leg_s=600, gs=300, turn=1.5, sense=1):
    """Transit in, a quarter turn onto the first leg, `laps` laps, a quarter turn out, transit
    out (fly(..., heading=h) then puts the racetrack's axis at h - 90 * sense)."""
    half, quarter = 180.0 / turn, 90.0 / turn
    steps = [(1800, gs, 0.0), (quarter, gs, -sense * turn)]  # transit in, onto the first leg
    for _ in range(laps):
        steps += [(leg_s, gs, 0.0), (half, gs, sense * turn), (leg_s, gs, 0.0), (half, gs, sense * turn)]
    return steps + [(leg_s, gs, 0.0), (quarter, gs, -sense * turn), (1800, gs, 0.0)]


def kinds(p: pl.DataFrame) -> list[str]:
    return p["kind"].cast(pl.String).to_list()


def test_three_circles_are_one_orbit_of_three():
    # 250 kt at 1 deg/s: a 7.6 km radius circle every 6 minutes
    p = detect_patterns(fly([(1200, 250, 0.0), (3 * 360, 250, 1.0), (1200, 250, 0.0)]))
    assert kinds(p) == ["orbit"]
    o = p.row(0, named=True)
    assert o["n_orbits"] == 3
    assert o["loiter_minutes"] == pytest.approx(18.0, abs=1.5)
    assert o["turn"] == "right"
    assert 5.0 < o["radius_km"] < 10.0
    assert p.schema == pl.Schema(PATTERNS)


def test_left_hand_orbit():
    p = detect_patterns(fly([(600, 200, 0.0), (2 * 360 / 1.5, 200, -1.5), (600, 200, 0.0)]))
    assert kinds(p) == ["orbit"]
    assert p["turn"][0] == "left" and p["n_orbits"][0] == 2


def test_racetrack_laps_and_axis():
    p = detect_patterns(fly(racetrack(4), heading=120.0))
    assert kinds(p) == ["racetrack"]
    r = p.row(0, named=True)
    assert r["n_orbits"] == 4
    assert r["axis_deg"] == pytest.approx(30.0, abs=3.0)
    assert r["turn"] == "right"
    # the transit legs to and from the racetrack are not loiter; the 4 laps take ~100 min
    assert 90 < r["loiter_minutes"] < 115


def test_racetrack_entered_straight_from_the_transit_counts_its_laps_within_half_a_lap():
    gs, turn, half = 300, 1.5, 120
    steps = [(1800, gs, 0.0)]  # straight on into the first leg
    for _ in range(4):
        steps += [(600, gs, 0.0), (half, gs, turn), (600, gs, 0.0), (half, gs, turn)]
    steps += [(1800, gs, 0.0)]
    p = detect_patterns(fly(steps))
    assert kinds(p) == ["racetrack"]
    assert p["n_orbits"][0] in (3, 4)


def test_racetrack_partly_out_of_coverage_is_still_a_racetrack():
    # the far end of every lap (the turn) is below the receivers' horizon
    gs, turn = 300, 1.5
    steps = [(1800, gs, 0.0)]
    for _ in range(4):
        steps += [(600, gs, 0.0), (120, gs, turn), (600, gs, 0.0), (120, gs, turn, False)]
    steps += [(1800, gs, 0.0)]
    obs = fly(steps)
    assert obs["time"].diff().max() > timedelta(seconds=120)
    p = detect_patterns(obs)
    assert kinds(p) == ["racetrack"]
    assert p["n_orbits"][0] >= 3


def test_lawnmower_is_survey_lines():
    # lines 12 minutes long, 3 km apart, turning alternately right and left
    gs = 140
    steps = [(900, gs, 0.0)]
    for i in range(8):
        sense = 1 if i % 2 == 0 else -1
        steps += [(720, gs, 0.0), (60, gs, sense * 3.0)]
    steps += [(720, gs, 0.0), (900, gs, 0.0)]
    p = detect_patterns(fly(steps, heading=90.0))
    assert kinds(p) == ["survey"]
    s = p.row(0, named=True)
    # 9 lines; the first and last run on into the transit legs and are not counted as loiter
    assert s["n_orbits"] == 0 and s["n_legs"] >= 7 and s["turn"] == "mixed"
    assert s["axis_deg"] == pytest.approx(90.0, abs=3.0)


def test_racetrack_style_survey_stepping_sideways_is_survey():
    # always turning right, but wider at the north end than at the south end: every lap
    # steps ~3 km east (150 kt: 2.9 km radius at 1.5 deg/s, 1.5 km at 3 deg/s)
    gs = 150
    steps = [(900, gs, 0.0)]
    for _ in range(6):
        steps += [(600, gs, 0.0), (120, gs, 1.5), (600, gs, 0.0), (60, gs, 3.0)]
    steps += [(900, gs, 0.0)]
    p = detect_patterns(fly(steps))
    assert kinds(p) == ["survey"]
    assert p["turn"][0] == "right"


@pytest.mark.parametrize(
    "steps",
    [
        [(7200, 450, 0.0)],  # straight
        [(1800, 450, 0.0), (90, 450, 1.0), (1800, 450, 0.0), (45, 450, -1.0), (1800, 450, 0.0)],  # airway doglegs
        [(3600, 300, 0.0), (120, 300, 1.5), (3600, 300, 0.0)],  # out and back: one reversal
        [(900, 300, 0.1), (1800, 300, 0.0)],  # a slow turn through 90 degrees
    ],
)
def test_transit_flights_have_no_pattern(steps):
    p = detect_patterns(fly(steps))
    assert kinds(p) == ["none"]
    assert p["loiter_minutes"][0] == 0.0 and p["centre_lat"][0] is None


def test_every_flight_gets_a_row_and_ground_rows_are_ignored():
    a = fly([(1200, 250, 0.0), (720, 250, 1.0)], flight_id="aaaaaa-20250301T140000Z")
    b = fly([(3600, 400, 0.0)], flight_id="bbbbbb-20250301T140000Z")
    ground = pl.DataFrame({"flight_id": [None, None], "icao24": ["cccccc"] * 2, "time": [T0, T0 + timedelta(seconds=5)],
                           "lat": [30.0, 30.0], "lon": [-117.0, -117.0], "track": [0.0, 0.0]},
                          schema=a.schema)
    p = detect_patterns(pl.concat([b, ground, a]))
    assert p.select("flight_id", pl.col("kind").cast(pl.String)).rows() == [
        ("aaaaaa-20250301T140000Z", "orbit"),
        ("bbbbbb-20250301T140000Z", "none"),
    ]


def test_heading_from_positions_when_the_feed_gives_no_track():
    obs = fly([(1200, 250, 0.0), (3 * 360, 250, 1.0), (1200, 250, 0.0)]).with_columns(pl.lit(None, dtype=pl.Float32).alias("track"))
    p = detect_patterns(obs)
    assert kinds(p) == ["orbit"] and p["n_orbits"][0] == 3


def test_empty_and_missing_columns():
    empty = fly([(60, 250, 0.0)]).clear()
    assert detect_patterns(empty).schema == pl.Schema(PATTERNS)
    with pytest.raises(ValueError, match="flight_id"):
        detect_patterns(empty.drop("flight_id"))
    with pytest.raises(ValueError):
        PatternRules(min_leg_s=-1)


@settings(max_examples=30, deadline=None)
@given(heading=st.floats(0, 359), gs=st.floats(120, 500), wobble=st.floats(-0.1, 0.1), seed=st.integers(0, 100))
def test_no_pattern_on_a_straight_line_whatever_its_direction(heading, gs, wobble, seed):
    steps = [(600 + seed, gs, wobble), (600, gs, -wobble), (600, gs, wobble)]
    p = detect_patterns(fly(steps, heading=heading))
    assert kinds(p) == ["none"]


@settings(max_examples=15, deadline=None)
@given(laps=st.integers(2, 5), leg_s=st.floats(180, 900), heading=st.floats(0, 359), sense=st.sampled_from([-1, 1]))
def test_racetracks_are_found_in_any_direction(laps, leg_s, heading, sense):
    p = detect_patterns(fly(racetrack(laps, leg_s=leg_s, sense=sense), heading=heading))
    assert kinds(p) == ["racetrack"]
    assert p["n_orbits"][0] == laps
    axis, want = p["axis_deg"][0], (heading - 90 * sense) % 180
    assert min(abs(axis - want), 180 - abs(axis - want)) < 5


# ---- loiter ----------------------------------------------------------------------------

def test_loiter_within_a_radius():
    obs = fly([(1200, 250, 0.0), (3 * 360, 250, 1.0), (1200, 250, 0.0)])
    circling = pl.col("time").is_between(T0 + timedelta(seconds=1200), T0 + timedelta(seconds=2280))
    centre = obs.filter(circling).select(pl.col("lat").mean(), pl.col("lon").mean()).row(0)
    out = loiter(obs, centre=centre, radius_km=12.0)
    assert out.schema == pl.Schema(LOITER)
    assert out["loiter_minutes"][0] == pytest.approx(18.0, abs=3.0)
    assert out["n_obs_inside"][0] > 0


def test_loiter_inside_a_region_and_gaps_count_nothing():
    steps = [(600, 250, 0.0), (1800, 250, 0.0, False), (600, 250, 0.0)]
    obs = fly(steps, lat=31.0, lon=-118.0)
    box = shapely.box(-119.0, 30.0, -117.0, 40.0)  # everything
    out = loiter(obs, region=box)
    # only the observed 20 minutes count, not the 30 minutes unseen in between
    assert out["loiter_minutes"][0] == pytest.approx(20.0, abs=0.5)
    nowhere = loiter(obs, region=shapely.box(0, 0, 1, 1))
    assert nowhere["loiter_minutes"][0] == 0.0 and nowhere["first_inside"][0] is None


def test_loiter_needs_one_area():
    obs = fly([(60, 250, 0.0)])
    with pytest.raises(ValueError):
        loiter(obs)
    with pytest.raises(ValueError):
        loiter(obs, centre=(31.0, -118.0))
