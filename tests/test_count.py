"""count stage: synthetic tables with known answers for every definition and filter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from isrwatch import schema
from isrwatch.count import (
    AREA_PRESENCE,
    Area,
    AreaNotComputed,
    CountDefinition,
    count,
    count_table,
    kind_of,
    presence,
)


def T(day: int, hour: int = 0, minute: int = 0, month: int = 2) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=timezone.utc)


def fid(icao: str, start: datetime) -> str:
    return f"{icao}-{start:%Y%m%dT%H%M%SZ}"


# (icao24, start, end)
FLIGHT_SPECS = {
    "F1": ("ae0001", T(1, 10), T(1, 18)),  # RC-135 sigint, US military
    "F2": ("ae0001", T(2, 10), T(2, 14)),  # same aircraft, next day, short visit
    "F3": ("ae0002", T(3, 23), T(4, 3)),  # P-8 maritime patrol, across midnight, enters MEX
    "F4": ("a00003", T(5, 8), T(5, 12)),  # US airliner, not military, not ISR
    "F5": ("0d0004", T(5, 9), T(5, 11)),  # Mexican military, no ISR role, over Mexico
    "F6": ("ae0005", T(6, 1), T(6, 9)),  # not in the aircraft table; gap-only entry into MEX
    "F7": ("ae0002", T(20, 10), T(20, 16)),  # P-8 again, outside the window
}
FID = {k: fid(icao, start) for k, (icao, start, _end) in FLIGHT_SPECS.items()}

WINDOW = (T(1), T(15))  # 2025-02-01 .. 2025-02-14 inclusive
NEAR = Area.within(100, "MEX")
MEX = Area.sovereign("MEX")


def flights_table() -> pl.DataFrame:
    rows = [
        {"flight_id": FID[k], "icao24": icao, "callsign": None if k == "F6" else f"CS{k}", "start": s, "end": e, "n_obs": 100}
        for k, (icao, s, e) in FLIGHT_SPECS.items()
    ]
    return schema.conform(pl.DataFrame(rows), schema.FLIGHTS)


def aircraft_table() -> pl.DataFrame:
    rows = [
        {"icao24": "ae0001", "registration": "62-4138", "type_code": "R135", "country_iso2": "US", "military": True, "isr_role": "sigint"},
        {"icao24": "ae0002", "registration": "169001", "type_code": "P8", "country_iso2": "US", "military": True, "isr_role": "maritime_patrol"},
        {"icao24": "a00003", "registration": "N1AA", "type_code": "B738", "country_iso2": "US", "military": False, "isr_role": "none"},
        {"icao24": "0d0004", "registration": "3527", "type_code": "C295", "country_iso2": "MX", "military": True, "isr_role": "none"},
    ]
    return schema.conform(pl.DataFrame(rows), schema.AIRCRAFT)


def presence_table() -> pl.DataFrame:
    # (flight, area, minutes, n_obs, first, last)
    rows = [
        ("F1", NEAR.key, 120.0, 50, T(1, 12), T(1, 16)),
        ("F2", NEAR.key, 20.0, 5, T(2, 11), T(2, 11, 20)),
        ("F3", NEAR.key, 90.0, 40, T(3, 23, 30), T(4, 2, 30)),
        ("F3", MEX.key, 12.0, 4, T(4, 0, 10), T(4, 0, 22)),
        ("F4", NEAR.key, 10.0, 3, T(5, 9), T(5, 9, 10)),
        ("F4", MEX.key, 10.0, 3, T(5, 9), T(5, 9, 10)),
        ("F5", NEAR.key, 60.0, 30, T(5, 9, 30), T(5, 10, 30)),
        ("F5", MEX.key, 60.0, 30, T(5, 9, 30), T(5, 10, 30)),
        ("F6", NEAR.key, 45.0, 12, T(6, 2), T(6, 5)),
        ("F7", NEAR.key, 60.0, 20, T(20, 11), T(20, 12)),
    ]
    df = pl.DataFrame(
        [
            {"flight_id": FID[f], "area": a, "minutes_inside": m, "n_obs_inside": n, "first_inside": lo, "last_inside": hi}
            for f, a, m, n, lo, hi in rows
        ]
    )
    return schema.conform(df, AREA_PRESENCE)


def events_table() -> pl.DataFrame:
    rows = [
        {"flight_id": FID["F3"], "icao24": "ae0002", "region": "MEX", "region_kind": "sovereign", "entered": True,
         "entry_index": 0, "entry_time": T(4, 0, 5), "exit_time": T(4, 0, 25), "duration_s": 1200.0,
         "n_obs_inside": 4, "basis": "observed", "max_depth_km": 8.5, "closest_km": 0.0},
        {"flight_id": FID["F4"], "icao24": "a00003", "region": "MEX", "region_kind": "sovereign", "entered": True,
         "entry_index": 0, "entry_time": T(5, 8, 58), "exit_time": T(5, 9, 12), "duration_s": 840.0,
         "n_obs_inside": 3, "basis": "observed", "max_depth_km": 30.0, "closest_km": 0.0},
        {"flight_id": FID["F5"], "icao24": "0d0004", "region": "MEX", "region_kind": "sovereign", "entered": True,
         "entry_index": 0, "entry_time": T(5, 9, 25), "exit_time": T(5, 10, 35), "duration_s": 4200.0,
         "n_obs_inside": 30, "basis": "observed", "max_depth_km": 200.0, "closest_km": 0.0},
        {"flight_id": FID["F6"], "icao24": "ae0005", "region": "MEX", "region_kind": "sovereign", "entered": True,
         "entry_index": 0, "entry_time": T(6, 3), "exit_time": T(6, 4), "duration_s": 3600.0,
         "n_obs_inside": 0, "basis": "gap_only", "max_depth_km": 3.0, "closest_km": 0.0},
        {"flight_id": FID["F1"], "icao24": "ae0001", "region": "MEX", "region_kind": "sovereign", "entered": False,
         "closest_km": 31.0},
        # an entry outside the window must never count
        {"flight_id": FID["F7"], "icao24": "ae0002", "region": "MEX", "region_kind": "sovereign", "entered": True,
         "entry_index": 0, "entry_time": T(20, 11), "exit_time": T(20, 11, 30), "duration_s": 1800.0,
         "n_obs_inside": 10, "basis": "observed", "max_depth_km": 5.0, "closest_km": 0.0},
    ]
    return schema.conform(pl.DataFrame(rows), schema.AIRSPACE_EVENTS)


@pytest.fixture()
def tables():
    return dict(flights=flights_table(), aircraft=aircraft_table(), area_presence=presence_table(), events=events_table())


def run(tables, kind, **kw):
    kw.setdefault("since", WINDOW[0])
    kw.setdefault("until", WINDOW[1])
    return count(CountDefinition(kind, **kw), **tables)


# --- kinds and filters, known answers --------------------------------------------------------


@pytest.mark.parametrize(
    "kind, filters, n, n_upper",
    [
        ("sorties", {}, 6, 6),
        ("sorties", {"roles": ["isr"]}, 3, 4),  # F1 F2 F3; F6 role unknown
        ("sorties", {"roles": ["sigint"]}, 2, 3),
        ("sorties", {"military_only": True}, 4, 5),  # F1 F2 F3 F5
        ("sorties", {"countries": ["USA"]}, 4, 5),  # F1 F2 F3 F4 (ISO3 accepted, stored as US)
        ("sorties", {"countries": ["MX"]}, 1, 2),
        ("sorties", {"roles": ["isr"], "military_only": True, "countries": ["US"]}, 3, 4),
        ("distinct_aircraft", {}, 5, 5),
        ("distinct_aircraft", {"roles": ["isr"]}, 2, 3),
        ("aircraft_days", {"roles": ["isr"]}, 4, 5),  # ae0001: 1st, 2nd; ae0002: 3rd, 4th
        ("missions", {"roles": ["isr"]}, 2, 3),  # >= 30 min: F1 120, F3 90; F6 45 unknown
        ("missions", {"roles": ["isr"], "min_minutes": 60}, 2, 2),
        ("missions", {"min_minutes": 100}, 1, 1),
    ],
)
def test_kinds_and_filters_near_mexico(tables, kind, filters, n, n_upper):
    result = run(tables, kind, area=NEAR, **filters)
    assert (result.n, result.n_upper) == (n, n_upper)
    assert (result.n_unknown_facts > 0) == (result.n_upper > result.n)
    # the flights behind the number are the ones counted
    if kind in ("sorties", "missions"):
        assert result.flights.height == n
        assert result.flights["flight_id"].n_unique() == n


def test_sovereign_area_counts_only_flights_with_positions_inside(tables):
    result = run(tables, "sorties", area=MEX)
    assert sorted(result.flights["flight_id"]) == sorted([FID["F3"], FID["F4"], FID["F5"]])
    assert result.flights.filter(pl.col("flight_id") == FID["F3"])["minutes_in_area"][0] == 12.0


def test_no_area_counts_every_sortie_overlapping_the_window(tables):
    assert run(tables, "sorties").n == 6
    assert run(tables, "sorties", since=None, until=None).n == 7
    # F3 runs 23:00 on the 3rd to 03:00 on the 4th: a window starting on the 4th still holds it
    assert run(tables, "sorties", since=T(4), until=T(5)).n == 1
    # until is exclusive: a window ending exactly when F1 starts excludes it
    assert run(tables, "sorties", since=T(1), until=T(1, 10)).n == 0


def test_bare_date_until_includes_that_day(tables):
    d = CountDefinition("sorties", since="2025-02-01", until="2025-02-05")
    assert d.until == T(6)
    assert count(d, **tables).n == 5  # F1..F5; F6 starts on the 6th


def test_aircraft_days_clip_to_window(tables):
    # ae0002 is inside on the 3rd and 4th; a window from the 4th counts one day for it
    result = run(tables, "aircraft_days", area=NEAR, roles=["maritime_patrol"], since=T(4), until=T(10))
    assert result.n == 1
    # without an area the whole sortie counts, clipped to the window
    assert run(tables, "aircraft_days", roles=["maritime_patrol"]).n == 2
    assert run(tables, "aircraft_days", roles=["maritime_patrol"], since=None, until=None).n == 3


def test_missions_without_area_use_sortie_duration(tables):
    result = run(tables, "missions", min_minutes=300)  # F1 8 h, F6 8 h; the others 2-4 h
    assert sorted(result.flights["flight_id"]) == sorted([FID["F1"], FID["F6"]])
    assert "no area given" in result.sentence


def test_entries_observed_only_and_with_gap_only(tables):
    observed = run(tables, "sovereign_entries", area=MEX)
    assert observed.n == 3  # F3 F4 F5; F6 is gap-only; F7 outside window
    assert observed.n_gap_only == 1
    assert observed.n_upper == 4
    assert any("coverage gap" in note for note in observed.notes)
    with_gap = run(tables, "sovereign_entries", area=MEX, count_gap_only=True)
    assert with_gap.n == 4
    isr = run(tables, "sovereign_entries", area=MEX, roles=["isr"])
    assert isr.n == 1 and isr.flights["flight_id"].to_list() == [FID["F3"]]
    assert isr.flights["n_entries"].to_list() == [1]
    assert isr.flights["minutes_in_area"].to_list() == [20.0]
    # F6's aircraft is unknown and its entry gap-only: possible, not counted
    assert isr.n_upper == 2


def test_entries_need_a_sovereign_area():
    with pytest.raises(ValueError, match="sovereign airspace"):
        CountDefinition("sovereign_entries", area=NEAR)
    with pytest.raises(ValueError, match="sovereign airspace"):
        CountDefinition("sovereign_entries")


def test_area_not_computed_is_not_zero(tables):
    d = CountDefinition("sorties", area=Area.within(200, "MEX"))
    with pytest.raises(AreaNotComputed, match="near:MEX:200"):
        count(d, **tables, areas_computed={NEAR.key, MEX.key})
    assert count(d, **tables).n == 0  # trusted caller: no rows, no sorties


def test_no_aircraft_database_means_roles_unknown(tables):
    tables = dict(tables, aircraft=schema.empty(schema.AIRCRAFT))
    result = run(tables, "sorties", area=NEAR, roles=["isr"])
    assert result.n == 0 and result.n_upper == 6
    assert any("no aircraft database" in note for note in result.notes)
    assert result.unknown.height == 6


def test_empty_inputs_give_zero_and_empty_tables():
    empty = dict(
        flights=schema.empty(schema.FLIGHTS),
        aircraft=schema.empty(schema.AIRCRAFT),
        area_presence=schema.empty(AREA_PRESENCE),
        events=schema.empty(schema.AIRSPACE_EVENTS),
    )
    for d in (
        CountDefinition("sorties", area=NEAR),
        CountDefinition("aircraft_days"),
        CountDefinition("sovereign_entries", area=MEX),
    ):
        result = count(d, **empty)
        assert result.n == 0 and result.flights.height == 0
        assert result.flights.columns[0] == "flight_id"


def test_null_callsign_flights_are_counted(tables):
    # F6 has no callsign; it still counts when its facts allow
    result = run(tables, "sorties", area=NEAR)
    assert FID["F6"] in result.flights["flight_id"].to_list()


def test_count_table_side_by_side(tables):
    table = count_table(WINDOW, NEAR, **tables, roles=["isr"], min_minutes=[30, 60])
    got = dict(zip(table["name"], table["n"]))
    assert got == {
        "sorties": 3,
        "distinct aircraft": 2,
        "aircraft days": 4,
        "missions (>= 30 min)": 2,
        "missions (>= 60 min)": 2,
        "entries (observed)": 1,
        "entries (incl. gap-only)": 1,
    }
    assert dict(zip(table["name"], table["n_upper"]))["entries (incl. gap-only)"] == 2
    # AOIs without a country have no entries rows
    aoi = count_table(WINDOW, Area.aoi("gulf_of_california"), **tables)
    assert "entries (observed)" not in aoi["name"].to_list()
    assert set(aoi["n"].to_list()) == {0}


# --- definitions as data and as sentences ---------------------------------------------------------


def test_definition_round_trips_through_dict():
    d = CountDefinition(
        "missions", since="2025-02-01", until="2025-02-14", area=Area.aoi("baja_pacific"),
        roles=["sigint", "aew"], military_only=True, countries=["USA"], min_minutes=45,
    )
    assert CountDefinition.from_dict(d.to_dict()) == d
    data = d.to_dict()
    assert data["area"] == {"kind": "aoi", "id": "baja_pacific", "key": "baja_pacific"}
    assert Area.within(100, "Mexico").key == "near:MEX:100" and Area.geojson("/x/zone.geojson").key == "user:zone"
    assert data["roles"] == ["sigint", "aew"] and data["countries"] == ["US"]


def test_sentence_spells_out_every_filter():
    d = CountDefinition(
        "sorties", since="2025-02-01", until="2025-02-14", area=NEAR, roles=["isr"], military_only=True, countries=["US"]
    )
    s = d.sentence()
    for part in ("Sorties", "any ISR role", "military", "United States", "100 km of Mexico", "2025-02-01", "2025-02-15"):
        assert part in s
    e = CountDefinition("sovereign_entries", area=MEX).sentence()
    assert "territorial sea" in e and "not counted" in e
    assert "counting also" in CountDefinition("sovereign_entries", area=MEX, count_gap_only=True).sentence()


def test_bad_definitions_are_refused_clearly():
    with pytest.raises(ValueError, match="unknown counting definition"):
        CountDefinition("landings")
    with pytest.raises(ValueError, match="unknown ISR role"):
        CountDefinition("sorties", roles=["spyish"])
    with pytest.raises(ValueError, match="empty window"):
        CountDefinition("sorties", since="2025-02-10", until=T(9))
    with pytest.raises(ValueError, match="unknown country"):
        CountDefinition("sorties", countries=["Narnia"])
    with pytest.raises(ValueError, match="unknown counting definition"):
        kind_of("planes")
    assert kind_of("aircraft-days") == "aircraft_days" and kind_of("entries") == "sovereign_entries"


# --- presence from classified points -------------------------------------------------------------


def test_presence_sums_inside_intervals_and_caps_gaps():
    t0 = T(1, 12)
    times = [t0 + timedelta(seconds=60 * i) for i in range(5)] + [t0 + timedelta(hours=2)]
    inside = [True, True, True, False, True, True]
    pts = pl.DataFrame(
        {"flight_id": ["f"] * 6, "time": times, "area": ["MEX"] * 6, "inside": inside},
        schema_overrides={"time": schema.UTC_US},
    )
    # shuffled input: presence sorts
    out = presence(pts.reverse())
    row = out.row(0, named=True)
    # in-in-in: 2 minutes; out; in at +4 min then in at +2 h: a gap, capped at 10 minutes
    assert row["minutes_inside"] == pytest.approx(12.0)
    assert row["n_obs_inside"] == 5
    assert row["first_inside"] == t0 and row["last_inside"] == t0 + timedelta(hours=2)


def test_presence_omits_flights_never_inside_and_separates_areas():
    t0 = T(1, 12)
    pts = pl.DataFrame(
        {
            "flight_id": ["a", "a", "b", "b", "a", "a"],
            "time": [t0, t0 + timedelta(minutes=1)] * 3,
            "area": ["X", "X", "X", "X", "Y", "Y"],
            "inside": [True, True, False, False, False, True],
        },
        schema_overrides={"time": schema.UTC_US},
    )
    out = presence(pts)
    assert out.select("flight_id", "area", "n_obs_inside").rows() == [("a", "X", 2), ("a", "Y", 1)]
    assert out["minutes_inside"].to_list() == [1.0, 0.0]
    assert presence(pts.clear()).columns == list(AREA_PRESENCE)
