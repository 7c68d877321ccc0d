"""claims.verdict: verdict rules, coverage holes, gap-only entries, reconciling definitions."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

import polars as pl
import pytest

from isrwatch import schema
from isrwatch.claims import (
    Claim,
    ClaimMeaning,
    coverage_holes,
    definition_family,
    judge,
    resolve,
    verify,
)
from isrwatch.count import Area, CountDefinition

from test_count import MEX, NEAR, T, aircraft_table, events_table, flights_table, presence_table

# every area the synthetic presence table was "computed" for, so absent is not zero elsewhere
COMPUTED = {NEAR.key, MEX.key, "near:MEX:50", "near:MEX:200"}


def coverage(days=range(1, 15), gap_s: dict[int, float] | None = None) -> pl.DataFrame:
    gap_s = gap_s or {}
    rows = [
        {"day": date(2025, 2, d), "n_obs": 1000, "n_aircraft": 10, "first": T(d, 0, 5), "last": T(d, 23, 55),
         "max_gap_s": gap_s.get(d, 600.0)}
        for d in days
    ]
    return pl.DataFrame(rows, schema=schema_cov())


def schema_cov():
    from isrwatch.claims import COVERAGE

    return COVERAGE


TABLES = dict(flights=flights_table(), aircraft=aircraft_table(), area_presence=presence_table(), events=events_table())
WINDOW = dict(since="2025-02-01", until="2025-02-14")


def check(words, cov=None, **kw):
    kw = {**WINDOW, "region": "MEX", "areas_computed": COMPUTED, **kw}
    tables = dict(TABLES, **kw.pop("tables", {}))
    claims = words if isinstance(words, list) else [words]
    out = verify(claims, tables["flights"], tables["aircraft"], tables["area_presence"], tables["events"],
                 coverage() if cov is None else cov, **kw)
    return out if isinstance(words, list) else out[0]


# --- coverage holes ------------------------------------------------------------------------------------


def test_full_coverage_has_no_holes():
    assert coverage_holes(coverage(), T(1), T(15)) == []


def test_missing_days_and_gaps_are_holes():
    cov = coverage(days=[1, 2, 4, 5, 6, 10, 11, 12, 13, 14], gap_s={5: 7200.0})
    holes = coverage_holes(cov, T(1), T(15))
    messages = [h.message for h in holes]
    assert "no coverage on 2025-02-03 inside the window" in messages
    assert "no coverage from 2025-02-07 to 2025-02-09 (3 days) inside the window" in messages
    assert "a 2.0 h gap in the data on 2025-02-05" in messages
    assert len(holes) == 3


def test_window_edges_beyond_the_data_are_holes():
    holes = coverage_holes(coverage(days=range(1, 15)), T(1), T(20))
    assert [h.message for h in holes] == ["no coverage from 2025-02-15 to 2025-02-19 (5 days) inside the window"]
    late_start = coverage(days=[1]).with_columns(first=pl.lit(T(1, 9)).cast(schema.UTC_US))
    holes = coverage_holes(late_start, T(1), T(2))
    assert len(holes) == 1 and holes[0].message == "no data for 9.0 h from 2025-02-01 00:00 to 2025-02-01 09:00 UTC"


def test_no_data_at_all_and_no_coverage_table():
    empty = coverage(days=[])
    assert coverage_holes(empty, T(1), T(15))[0].message.startswith("no data at all inside the window")
    assert "no coverage table" in coverage_holes(None, T(1), T(15))[0].message


# --- the comparator rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "comparator, n, lo, hi, verdict",
    [
        ("at_least", 18, 18, math.inf, "supported"),
        ("at_least", 18, 5, math.inf, "not_determinable"),
        ("at_least", 18, 5, 17, "contradicted"),
        ("at_most", 0, 0, 0, "supported"),
        ("at_most", 0, 0, math.inf, "not_determinable"),
        ("at_most", 0, 1, math.inf, "contradicted"),
        ("exactly", 2, 2, 2, "supported"),
        ("exactly", 2, 2, 3, "not_determinable"),
        ("exactly", 2, 3, 3, "contradicted"),
        ("exactly", 2, 0, 1, "contradicted"),
    ],
)
def test_judge(comparator, n, lo, hi, verdict):
    assert judge(ClaimMeaning(comparator, n, "sorties"), lo, hi) == verdict
    assert judge(ClaimMeaning("about", 10, "sorties", tolerance=2), 9, 11) == "supported"
    assert judge(ClaimMeaning("about", 10, "sorties", tolerance=2), 13, 13) == "contradicted"


# --- verdicts --------------------------------------------------------------------------------------------


def test_at_least_reached_is_supported_even_with_coverage_holes():
    holes = coverage(days=[1, 2, 4, 5, 6, 7])
    v = check("at least 3 US spy flights near Mexico", cov=holes)
    assert v.verdict == "supported" and v.observed == 3
    assert "coverage holes cannot lower" in v.reason
    assert sorted(v.flights["icao24"].unique()) == ["ae0001", "ae0002"]


def test_at_least_not_reached_is_not_determinable_with_holes_and_contradicted_without():
    v = check("at least 5 spy flights near Mexico", cov=coverage(days=[1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]))
    assert v.verdict == "not_determinable"
    assert "no coverage on 2025-02-03 inside the window" in v.reason
    # full coverage, but one aircraft's role is unknown: 3 known, 4 possible, 5 claimed -> contradicted
    v = check("at least 5 spy flights near Mexico")
    assert v.verdict == "contradicted" and v.observed == 3 and v.observed_upper == 4


def test_at_most_with_holes_is_not_determinable_unless_the_data_contradicts_it():
    holes = coverage(days=[1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    v = check("at most 10 flights near Mexico", cov=holes)
    assert v.verdict == "not_determinable" and "no coverage on 2025-02-03" in v.reason
    assert check("at most 10 flights near Mexico").verdict == "supported"
    v = check("no more than 2 flights near Mexico", cov=holes)
    assert v.verdict == "contradicted" and v.observed == 6


def test_exactly_needs_full_coverage_and_known_facts():
    assert check("exactly 6 flights near Mexico").verdict == "supported"
    assert check("exactly 6 flights near Mexico", cov=coverage(days=range(2, 15))).verdict == "not_determinable"
    v = check("two spy planes near Mexico")  # 2 known ISR aircraft, a third of unknown role
    assert v.verdict == "not_determinable" and "role is unknown" in v.reason


def test_an_observed_entry_contradicts_none_entered_even_with_holes():
    v = check("ningún avión espía entró al espacio aéreo mexicano", cov=coverage(days=[4, 5]))
    assert v.verdict == "contradicted"
    assert "ae0002" in v.reason and "entered 2025-02-04 00:05 UTC" in v.reason and "8.5 km deep" in v.reason
    assert v.flights["flight_id"].to_list() == [TABLES["flights"].filter(pl.col("icao24") == "ae0002")["flight_id"][0]]


def test_a_gap_only_entry_makes_none_entered_not_determinable_never_contradicted():
    # on the 6th only F6 (role unknown) came near, and its only entry rests on a line across a gap
    day6 = dict(since="2025-02-06", until="2025-02-06")
    v = check("no aircraft entered Mexican airspace", **day6)
    assert v.verdict == "not_determinable"
    assert "straight line drawn across a coverage gap" in v.reason and "neither confirms nor contradicts" in v.reason
    assert v.observed == 0
    # the same claim counting gap-only entries is contradicted: that is a different definition
    counted = Claim("g", "s", "w", meaning=ClaimMeaning.none_entered(MEX, count_gap_only=True))
    assert check(counted, **day6).verdict == "contradicted"


def test_none_entered_is_supported_with_full_coverage_and_nothing_inside():
    v = check("no aircraft entered Mexican airspace", since="2025-02-08", until="2025-02-12")
    assert v.verdict == "supported" and v.observed == 0


def test_no_aircraft_database_means_roles_unknown():
    no_db = {"aircraft": schema.empty(schema.AIRCRAFT)}
    v = check("at most 1 spy flight near Mexico", tables=no_db)
    assert v.verdict == "not_determinable" and "no aircraft database: roles unknown" in v.reason
    # a claim that needs no roles is unaffected
    assert check("at most 10 flights near Mexico", tables=no_db).verdict == "supported"


def test_unparseable_claims_and_missing_regions_are_not_determinable():
    v = check("Several spy planes flew near Mexico")
    assert v.verdict == "not_determinable" and v.reason.startswith("claim could not be parsed: 'Several' is not a number")
    v = check("none entered our airspace", region=None)
    assert v.verdict == "not_determinable" and "--region" in v.reason
    assert check("none entered our airspace").verdict == "contradicted"  # --region MEX


def test_region_outside_the_data_extent():
    bounds = {NEAR.key: (-120.0, 13.0, -85.0, 34.0)}
    far_data = (10.0, 40.0, 20.0, 50.0)  # the data is over Europe
    v = check("at most 10 flights near Mexico", extent=far_data, region_bounds=bounds)
    assert v.verdict == "not_determinable" and "region outside the data's extent" in v.reason
    assert check("at most 10 flights near Mexico", extent=(-118.0, 20.0, -100.0, 33.0), region_bounds=bounds).verdict == "supported"


def test_window_shorter_or_longer_than_the_claimed_span():
    # "in two weeks" checked over 5 days: what was seen is a floor, not a ceiling
    short = dict(since="2025-02-01", until="2025-02-05")
    assert check("at least 3 spy flights near Mexico in two weeks", **short).verdict == "supported"
    v = check("at most 10 flights near Mexico in two weeks", **short)
    assert v.verdict == "not_determinable" and "shorter than the 14 days" in v.reason
    # "in two days" checked over two weeks: the count may hold flights outside the claim's span
    v = check("at least 3 spy flights near Mexico in two days")
    assert v.verdict == "not_determinable" and "longer than the 2 days" in v.reason


def test_relative_span_ends_on_the_claim_date():
    claim = Claim("c", "s", "at least 3 spy flights near Mexico in two weeks", date=date(2025, 2, 14))
    r = resolve(claim)
    assert r.definition.since == datetime(2025, 2, 1, tzinfo=timezone.utc)
    assert r.definition.until == datetime(2025, 2, 15, tzinfo=timezone.utc)
    assert any("up to the claim's date" in n for n in r.notes)


def test_explicit_meaning_is_used_as_given():
    claim = Claim("c", "s", "(words not parsed)", meaning=ClaimMeaning("at_least", 2, "missions", region=NEAR, roles=("isr",), min_minutes=60))
    v = check(claim)
    assert v.verdict == "supported" and v.observed == 2 and v.parse is None


# --- reconciling two claims ----------------------------------------------------------------------------


def test_two_conflicting_claims_are_reconciled_by_their_definitions():
    a, b = check(["at least 3 spy flights near Mexico", "we located only two spy planes near Mexico"])
    assert a.verdict == "supported"
    holds_a = {(h["kind"], h["area"]) for h in a.definitions_that_hold}
    assert ("sorties", NEAR.key) in holds_a
    # b: 2 known ISR aircraft (a third of unknown role) -> not determinable under its own definition,
    # yet it holds on the observed data as distinct aircraft, and as sorties of known ISR aircraft
    # inside Mexico's sovereign airspace... which is 1, so not that one
    holds_b = {(h["kind"], h["area"], h["n"]) for h in b.definitions_that_hold}
    assert ("distinct_aircraft", NEAR.key, 2) in holds_b
    assert ("sorties", NEAR.key, 2) not in holds_b
    assert all(h["n"] == 2 for h in b.definitions_that_hold)
    own = [h for h in b.definitions_that_hold if h["is_claims_own"]]
    assert len(own) == 1 and own[0]["verdict"] == "not_determinable"


def test_a_false_claim_holds_under_no_definition():
    v = check("at least 50 flights near Mexico")
    assert v.verdict == "contradicted"
    assert v.definitions_that_hold == [] and v.definitions_checked > 20


def test_family_spans_kinds_areas_and_filters():
    base = CountDefinition("sorties", since=T(1), until=T(15), area=NEAR, roles=("sigint",))
    fam = definition_family(base, aois=["gulf-of-california"])
    assert fam[0] == base
    areas = {d.area.key for d in fam}
    assert {"MEX", "near:MEX:50", "near:MEX:100", "near:MEX:200", "gulf-of-california"} <= areas
    kinds = {d.kind for d in fam}
    assert kinds == {"sorties", "distinct_aircraft", "aircraft_days", "missions", "sovereign_entries"}
    assert {d.roles for d in fam} >= {("sigint",), ()}
    assert any(d.military_only for d in fam) and len(fam) == len(set(fam))
    # areas not computed are skipped, never counted as zero
    v = check("at most 10 flights near Mexico", areas_computed={NEAR.key, MEX.key}, aois=["gulf-of-california"])
    assert all(h["area"] in (NEAR.key, MEX.key) for h in v.definitions_that_hold)


def test_verdict_to_dict_has_stable_keys():
    d = check("at least 3 US spy flights near Mexico").to_dict()
    for key in ("id", "source", "words", "verdict", "reason", "observed", "observed_upper", "definition",
                "sentence", "definitions_that_hold", "coverage_holes", "notes", "flights", "parse"):
        assert key in d
    assert d["definition"]["area"]["key"] == NEAR.key and d["parse"]["ok"] is True


def test_aoi_claims_are_reconciled_against_their_country():
    fam = definition_family(CountDefinition("sorties", area=Area.aoi("baja-pacific")))
    assert {"baja-pacific", "MEX", "near:MEX:50", "near:MEX:100", "near:MEX:200"} <= {d.area.key for d in fam}
    assert any(d.kind == "sovereign_entries" for d in fam)
