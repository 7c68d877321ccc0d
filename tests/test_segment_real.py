"""Sorties on real feeds from ../shared (each test skips with the reason when it is absent)."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import shared_file
from isrwatch import schema, sources
from isrwatch.segment import assign_sorties, flights


def read(*parts: str) -> pl.DataFrame:
    batches = list(sources.read(shared_file(*parts)))
    return pl.concat([b.observations for b in batches])


def sortied(*parts: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    obs = read(*parts)
    ids = assign_sorties(obs)
    fl = flights(ids)
    assert ids.height == obs.height
    assert fl["n_obs"].sum() + ids[schema.FLIGHT_ID].null_count() == obs.height
    return obs, ids, fl


def _legs_vs_sorties(ids: pl.DataFrame) -> pl.DataFrame:
    """For every sortie, the readsb legs (numbered by the source's own leg marks) it spans."""
    return (
        ids.with_columns(pl.col("leg_start").cast(pl.Int32).cum_sum().alias("leg"))
        .filter(pl.col(schema.FLIGHT_ID).is_not_null())
        .group_by(schema.FLIGHT_ID, maintain_order=True)
        .agg(pl.col("leg").unique().alias("legs"))
    )


def test_readsb_trace_sorties_match_readsbs_own_legs():
    obs, ids, fl = sortied("adsb", "readsb", "trace_full_ac671b.json")
    assert obs["leg_start"].sum() == 3  # readsb's marks: four legs
    legs = _legs_vs_sorties(ids)
    # one sortie per leg, each sortie inside one leg
    assert legs["legs"].to_list() == [[0], [1], [2], [3]]
    assert fl["takeoff_airfield"].to_list() == [None, "KMSP", None, "KMSP"]
    assert fl["landing_airfield"].to_list() == ["KMSP", None, "KMSP", "KDEN"]
    # the 48-minute hole over the Gulf of Mexico at FL320-340 is not a landing
    assert fl["max_gap_s"][0] > 2800


def test_readsb_trace_without_its_leg_marks_gives_the_same_sorties():
    obs = read("adsb", "readsb", "trace_full_ac671b.json")
    marked = flights(assign_sorties(obs))
    unmarked = flights(assign_sorties(obs.with_columns(pl.lit(False).alias("leg_start"))))
    assert unmarked["flight_id"].to_list() == marked["flight_id"].to_list()
    # the leg readsb marked after an 8-hour silence near Spokane is found from the shape of
    # the gap: last seen descending, next seen climbing out, an airfield within reach
    assert unmarked["start_reason"][2] == "gap_reappears_climbing"


def test_savan_calibration_campaign_one_sortie_per_callsign():
    # a month of French flight-inspection sorties (SAVAN01..17), no ground data between
    # most of them: lunch stops and nights are found from the gaps alone
    _, _, fl = sortied("adsb", "traffic-samples", "collections", "savan.json.gz")
    assert fl.height == 17
    assert fl["callsigns"].list.len().to_list() == [1] * 17
    assert fl["callsign"].n_unique() == 17


def test_quickstart_sorties_never_mix_two_flight_numbers():
    _, _, fl = sortied("adsb", "traffic-samples", "collections", "quickstart.json.gz")
    assert fl.height > 200
    assert fl.filter(pl.col("callsigns").list.len() > 1).height == 0
    # no sliver sorties made of flag noise on the ground
    assert fl["duration_min"].min() > 1.0
    assert set(fl["takeoff_airfield"].drop_nulls()) >= {"LFPG", "LFPO", "LFPB"}


@pytest.mark.parametrize(
    ("name", "takeoff", "landing"),
    [("noisy_takeoff", "LSZH", None), ("noisy_landing", None, "LSZH"), ("noisy_ground", "LSZH", None)],
)
def test_noisy_ground_flags_and_positions_around_an_airport(name, takeoff, landing):
    _, _, fl = sortied("adsb", "traffic-samples", "noisy", f"{name}.json.gz")
    assert fl.height == 1
    assert (fl["takeoff_airfield"][0], fl["landing_airfield"][0]) == (takeoff, landing)


def test_opensky_turnaround_at_toulouse_is_two_sorties():
    _, _, fl = sortied("adsb", "opensky", "state_vectors_ezy158t_2017-02-05.parquet")
    assert fl["landing_airfield"].to_list()[0] == "LFBO"
    assert fl["takeoff_airfield"].to_list()[1] == "LFBO"
    assert fl.height == 2


def test_overflights_with_new_flight_numbers_after_hours_are_new_sorties():
    # Switzerland overflights at cruise level only: no ground data at all. An aircraft seen
    # again hours later under another flight number is on another sortie.
    _, _, fl = sortied("adsb", "traffic-samples", "collections", "switzerland.json.gz")
    assert fl.height > fl["icao24"].n_unique()
    assert "gap_callsign_change" in fl["start_reason"].to_list()
    assert fl["takeoff_airfield"].null_count() == fl.height
