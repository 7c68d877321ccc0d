"""Sorties against the simulator's ground truth: every bundled scenario (SIMULATED data).

The simulator flies each sortie on a dense true track and writes what a receiver network
would have heard of it as readsb traces, with the truth beside them. A sortie here runs from
take-off to landing, and a touch-and-go is a landing: the truth's sorties are cut at their
touch-and-goes before they are compared.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from isrwatch import simulate, sources
from isrwatch.segment import assign_sorties, flights

SCENARIOS = simulate.bundled_scenarios()


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _truth_legs(sorties: list[dict]) -> pl.DataFrame:
    """The truth's sorties cut at their touch-and-goes: (icao24, take-off, landing, airfields)."""
    rows = []
    for s in sorties:
        cuts = [(s["takeoff_time"], s["takeoff_airfield"])]
        cuts += [(x["time"], x["airfield"]) for x in s["touch_and_go"]]
        cuts += [(s["landing_time"], s["landing_airfield"])]
        for (t0, a0), (t1, a1) in zip(cuts, cuts[1:]):
            rows.append({"sortie_id": s["sortie_id"], "icao24": s["icao24"], "takeoff": _t(t0), "landing": _t(t1),
                         "from_true": a0, "to_true": a1})
    return pl.DataFrame(rows).with_columns(pl.col("takeoff", "landing").dt.cast_time_unit("us"))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """scenario -> (truth, our flights), simulated once for this module."""
    cache = {}

    def get(name: str):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            truth = simulate.simulate(name, out, background=True)
            files = truth.files + ((truth.data.get("background") or {}).get("files") or [])
            obs = pl.concat([b.observations for f in files for b in sources.read(out / f["path"])])
            ids = assign_sorties(obs)
            assert ids.height == obs.height
            cache[name] = (truth, flights(ids))
        return cache[name]

    return get


@pytest.mark.parametrize("name", SCENARIOS)
def test_sorties_match_the_truth_one_to_one(simulated, name):
    truth, fl = simulated(name)
    legs = _truth_legs(truth.sorties)
    ours = fl.filter(pl.col("icao24").is_in(legs["icao24"].implode()))
    pairs = legs.join(ours, on="icao24").filter((pl.col("start") < pl.col("landing")) & (pl.col("end") > pl.col("takeoff")))
    # every true sortie is one of ours, and every one of ours is one true sortie
    assert pairs.height == legs.height == ours.height
    assert pairs["flight_id"].n_unique() == ours.height
    assert pairs.select(pl.struct("sortie_id", "takeoff").n_unique()).item() == legs.height


@pytest.mark.parametrize("name", SCENARIOS)
def test_sortie_boundaries_and_airfields_match_the_truth(simulated, name):
    truth, fl = simulated(name)
    legs = _truth_legs(truth.sorties)
    pairs = legs.join(fl, on="icao24").filter((pl.col("start") < pl.col("landing")) & (pl.col("end") > pl.col("takeoff")))
    ds = (pl.col("start") - pl.col("takeoff")).dt.total_seconds()
    de = (pl.col("end") - pl.col("landing")).dt.total_seconds()
    # our first airborne position comes within two minutes of lift-off; the last one within
    # seven minutes before touch-down (a helicopter hovering slowly over its landing site)
    observed = pairs.filter(pl.col("start_reason") == "takeoff_observed")
    assert observed.select(ds.is_between(-60, 120).all()).item()
    landed = pairs.filter(pl.col("end_reason") == "landing_observed")
    assert landed.select(de.is_between(-420, 60).all()).item()
    # an airfield we name is the true one
    for ours, true in (("takeoff_airfield", "from_true"), ("landing_airfield", "to_true")):
        named = pairs.filter(pl.col(ours).is_not_null())
        assert (named[ours] == named[true]).all(), named.select("sortie_id", ours, true)
    assert pairs["takeoff_airfield"].is_not_null().mean() > 0.7


def test_deck_landing_is_at_sea_both_ways(simulated):
    _, fl = simulated("stress-deck-landing")
    assert fl["landing_airfield"][0] == "at_sea"
    assert fl["takeoff_airfield"][1] == "at_sea"


def test_offshore_gap_stays_one_sortie(simulated):
    truth, fl = simulated("stress-offshore-gap")
    assert fl.height == 1
    gaps = [g for g in truth.sorties[0]["coverage_gaps"] if g["airborne"]]
    longest_s = max(g["minutes"] for g in gaps) * 60
    # the hour-plus hole in coverage is inside the one sortie, not between two
    assert longest_s > 1800
    assert fl["max_gap_s"][0] == pytest.approx(longest_s, rel=0.05)


def test_background_airliners_are_cut_at_their_turnarounds(simulated):
    truth, fl = simulated("mexico-2025")
    bg = truth.data["background"]
    flown = pl.DataFrame([f for f in bg["flights"] if f["n_positions"] > 0]).select(
        "flight_id", "icao24",
        pl.col("takeoff_time").str.to_datetime(time_zone="UTC", time_unit="us").alias("takeoff"),
        pl.col("landing_time").str.to_datetime(time_zone="UTC", time_unit="us").alias("landing"),
    )
    ours = fl.filter(pl.col("icao24").is_in(flown["icao24"].implode())).rename({"flight_id": "ours"})
    pairs = flown.join(ours, on="icao24").filter((pl.col("start") < pl.col("landing")) & (pl.col("end") > pl.col("takeoff")))
    # one of ours per flight flown and received, one flight flown per sortie of ours
    assert pairs.height == flown.height == ours.height
