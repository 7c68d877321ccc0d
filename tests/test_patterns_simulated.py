"""Patterns against the scenario that was flown: the racetracks and orbits of mexico-2025
(SIMULATED data). A pattern flown out of every receiver's range cannot be seen; every one
that was received is found, of the right kind, on the right axis."""

from __future__ import annotations

import polars as pl
import pytest

from isrwatch import simulate, sources
from isrwatch.patterns import detect_patterns
from isrwatch.segment import assign_sorties
from isrwatch.geo import haversine_km


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    out = tmp_path_factory.mktemp("mexico-2025")
    truth = simulate.simulate("mexico-2025", out, background=False)
    obs = pl.concat([b.observations for f in truth.files for b in sources.read(out / f["path"])])
    ids = assign_sorties(obs)
    windows = {
        s["sortie_id"]: (
            pl.Series([s["takeoff_time"]]).str.to_datetime(time_zone="UTC", time_unit="us")[0],
            pl.Series([s["landing_time"]]).str.to_datetime(time_zone="UTC", time_unit="us")[0],
        )
        for s in truth.sorties
    }
    return simulate.load_scenario("mexico-2025"), ids, detect_patterns(ids), windows


def _flown(scenario):
    """(sortie id, icao24, kind, lat, lon, heading or None) of every pattern in the scenario."""
    for s in scenario.sorties:
        for step in s.route:
            kind = type(step).__name__.lower()
            if kind in ("racetrack", "orbit"):
                yield s.id, s.icao24, kind, step.lat, step.lon, getattr(step, "heading_deg", None)


def test_every_received_pattern_is_found_on_its_axis(found):
    scenario, ids, patterns, windows = found
    seen = 0
    for sortie_id, icao24, kind, lat, lon, heading in _flown(scenario):
        t0, t1 = windows[sortie_id]
        near = ids.filter((pl.col("icao24") == icao24) & pl.col("flight_id").is_not_null() & pl.col("time").is_between(t0, t1))
        d = haversine_km(near["lat"].to_numpy(), near["lon"].to_numpy(), lat, lon)
        if (d < 30).sum() < 60:  # hardly received there: nothing to find
            continue
        seen += 1
        mine = patterns.filter((pl.col("icao24") == icao24) & pl.col("start").is_between(t0, t1)).with_columns(
            pl.struct("centre_lat", "centre_lon").map_batches(
                lambda s: pl.Series(haversine_km(s.struct.field("centre_lat").to_numpy(), s.struct.field("centre_lon").to_numpy(), lat, lon))
            ).alias("km")
        ).filter(pl.col("km") < 60)
        assert mine["kind"].cast(pl.String).to_list() and set(mine["kind"].cast(pl.String)) == {kind}, (sortie_id, mine)
        if heading is not None:
            off = abs((mine["axis_deg"][0] - heading) % 180)
            assert min(off, 180 - off) < 5, (sortie_id, mine["axis_deg"][0], heading)
    assert seen >= 12


def test_transit_only_sorties_have_no_pattern(found):
    scenario, _, patterns, _ = found
    with_pattern = {s.icao24 + s.id for s in scenario.sorties if any(type(x).__name__ in ("Racetrack", "Orbit") for x in s.route)}
    assert with_pattern  # the scenario flies patterns
    none = patterns.filter(pl.col("kind") == "none")
    kinds = patterns.group_by("flight_id").agg(pl.col("kind").cast(pl.String))
    # a sortie is either patternless ("none" alone) or has patterns, never both
    assert kinds.filter(pl.col("kind").list.contains("none") & (pl.col("kind").list.len() > 1)).height == 0
    assert none.height > 0
