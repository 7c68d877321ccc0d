"""Patterns on real tracks from ../shared: loiter and survey flights, and straight ones."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import shared_file
from isrwatch import sources
from isrwatch.patterns import detect_patterns
from isrwatch.segment import assign_sorties

SURVEYS = [
    "georeal_fyn_island",
    "ign_fontainebleau",
    "ign_lot_et_garonne",
    "ign_mercantour",
    "indiana",
    "liguria",
    "mecsek_mountains",
    "pixair_toulouse",
    "texas",
]


def patterns(*parts: str) -> pl.DataFrame:
    obs = pl.concat([b.observations for b in sources.read(shared_file(*parts))])
    return detect_patterns(assign_sorties(obs))


def _kinds(p: pl.DataFrame) -> pl.Series:
    return p["kind"].cast(pl.String)


def test_border_patrol_orbits():
    p = patterns("adsb", "traffic-samples", "surveillance", "border_control.json.gz")
    orbits = p.filter(pl.col("kind") == "orbit")
    assert orbits.height >= 3
    assert orbits["n_orbits"].sum() >= 6
    assert set(_kinds(p)) <= {"orbit", "none"}
    # over the Strait of Dover / Calais coast
    assert orbits["centre_lat"].is_between(50.8, 51.2).all()
    assert orbits["centre_lon"].is_between(0.9, 1.7).all()
    assert (orbits["radius_km"] < 10).all()


@pytest.mark.parametrize("name", SURVEYS)
def test_photo_survey_flights_fly_survey_lines(name):
    p = patterns("adsb", "traffic-samples", "surveys", f"{name}.json.gz")
    lines = p.filter(pl.col("kind") == "survey")
    assert lines.height >= 1
    assert lines["n_legs"].max() >= 5
    assert lines["loiter_minutes"].sum() >= 50


def test_liguria_racetrack_before_its_survey():
    p = patterns("adsb", "traffic-samples", "surveys", "liguria.json.gz")
    race = p.filter(pl.col("kind") == "racetrack")
    assert race.height == 1 and race["n_orbits"][0] >= 3


def test_airliner_legs_have_no_pattern():
    p = patterns("adsb", "readsb", "trace_full_ac671b.json")
    assert _kinds(p).to_list() == ["none"] * 4


def test_overflights_almost_never_show_a_pattern():
    p = patterns("adsb", "traffic-samples", "collections", "switzerland.json.gz")
    share = (p["kind"] != "none").mean()
    assert share < 0.01
