"""identify(): one row per address, every fact with its source, disagreements recorded."""

from __future__ import annotations

import polars as pl
import pytest

from isrwatch import schema
from isrwatch.identify import NO_DATABASE, identify, identify_all
from isrwatch.identify.catalogue import isr_rules, plane_alert_rules
from isrwatch.identify.databases import normalise_aircraft_db, normalise_plane_alert


def _feed(rows: list[dict]) -> pl.DataFrame:
    return schema.conform(pl.DataFrame(rows), schema.FEED_AIRCRAFT) if rows else schema.empty(schema.FEED_AIRCRAFT)


def _db(rows: list[tuple]) -> pl.DataFrame:
    return normalise_aircraft_db(
        pl.DataFrame(rows, schema=["icao24", "registration", "typecode", "dbflags", "description"], orient="row")
    )


def _pa(rows: list[tuple]) -> pl.DataFrame:
    cols = ["$ICAO", "$Registration", "$Operator", "$Type", "$ICAO Type", "#CMPG", "$Tag 1", "$#Tag 2", "$#Tag 3", "Category", "$#Link"]
    return normalise_plane_alert(pl.DataFrame(rows, schema=cols, orient="row"))


def _by(df: pl.DataFrame) -> dict[str, dict]:
    return {r["icao24"]: r for r in df.iter_rows(named=True)}


def test_schema_one_row_per_distinct_address_and_empty_input():
    out = identify(pl.Series(["AE01CC", "ae01cc ", "0d0123", None, ""]), None)
    assert out.schema == pl.Schema(schema.AIRCRAFT)
    assert out["icao24"].to_list() == ["ae01cc", "0d0123"]
    empty = identify(pl.Series([], dtype=pl.String), _feed([]), aircraft_db=_db([]), plane_alert=None)
    assert empty.height == 0 and empty.schema == pl.Schema(schema.AIRCRAFT)
    frame_in = identify(pl.DataFrame({"icao24": ["0d0123"], "x": [1]}), None)
    assert frame_in["country"].to_list() == ["Mexico"]


def test_without_any_database_facts_stay_unknown_and_say_why():
    res = identify_all(pl.Series(["ae01cc", "a00c4b"]), None)
    a = _by(res.aircraft)
    assert res.status["aircraft_db"] == "missing" and res.status["warnings"]
    assert a["ae01cc"]["military"] is True and a["ae01cc"]["military_source"] == "hex_block"
    assert a["a00c4b"]["military"] is None and a["a00c4b"]["military_source"] == NO_DATABASE
    for col in ("registration_source", "type_source", "operator_source", "isr_role_source"):
        assert a["a00c4b"][col] == NO_DATABASE
    assert a["a00c4b"]["isr_role"] is None  # unknown, not "none"
    assert a["a00c4b"]["country_iso2"] == "US" and a["a00c4b"]["country_source"] == "hex_block"


def test_feed_facts_alone_identify_a_rivet_joint():
    feed = _feed([{"icao24": "ae01cc", "registration": "62-4131", "type_code": "r135", "db_flags": 1, "source": "adsbx"}])
    a = _by(identify(pl.Series(["ae01cc"]), feed))["ae01cc"]
    assert (a["registration"], a["type_code"]) == ("62-4131", "R135")
    assert a["registration_source"] == "feed:adsbx" and a["type_source"] == "feed:adsbx"
    assert a["isr_role"] == "sigint" and a["isr_variant"] == "RC-135W Rivet Joint"
    assert a["isr_role_source"] == "catalogue:registration"
    assert a["military"] is True and a["military_source"] == "feed:adsbx+hex_block"


def test_type_precedence_feed_over_tar1090_over_plane_alert_with_conflicts_recorded():
    feed = _feed([{"icao24": "ae5c77", "type_code": "B350", "registration": "169319", "source": "x"}])
    db = _db([("ae5c77", "169319", "BE20", "10", "BEECH 200 Super King Air")])
    pa = _pa([("AE5C77", "169319", "USMC", "King Air", "BE9L", "Mil", "", "", "", "United States Marine Corps", "")])
    res = identify_all(pl.Series(["ae5c77"]), feed, aircraft_db=db, plane_alert=pa)
    a = _by(res.aircraft)["ae5c77"]
    assert a["type_code"] == "B350"
    assert a["type_source"] == "feed:x; description db:tar1090"
    assert a["type_description"] == "BEECH 200 Super King Air"
    c = res.conflicts.filter(pl.col("fact") == "type_code")
    assert sorted(zip(c["other_value"], c["other_source"])) == [("BE20", "db:tar1090"), ("BE9L", "db:plane-alert")]
    assert set(c["value"]) == {"B350"} and set(c["source"]) == {"feed:x"}
    # registrations agree (after normalising case/spaces/dashes): no conflict row
    assert res.conflicts.filter(pl.col("fact") == "registration").height == 0


def test_tar1090_wins_when_the_feed_has_nothing():
    db = _db([("a00c4b", "N102BR", "C82T", "00", "CESSNA 182")])
    pa = _pa([("A00C4B", "N102BR", "OTV Leasing (DOJ)", "Cessna 182T", "C182", "Gov", "Covert", "", "", "Oxcart", "")])
    res = identify_all(pl.Series(["a00c4b"]), None, aircraft_db=db, plane_alert=pa)
    a = _by(res.aircraft)["a00c4b"]
    assert a["type_code"] == "C82T" and a["type_source"] == "db:tar1090"
    assert a["operator"] == "OTV Leasing (DOJ)" and a["operator_source"] == "db:plane-alert"
    assert a["military"] is False and a["military_source"] == "db:plane-alert+db:tar1090"
    assert a["isr_role"] == "other_isr" and a["isr_role_source"] == "db:plane-alert:category"


def test_most_frequent_feed_value_wins_within_the_feed():
    feed = _feed(
        [
            {"icao24": "ae0413", "type_code": "E6", "source": "a"},
            {"icao24": "ae0413", "type_code": "E6", "source": "b"},
            {"icao24": "ae0413", "type_code": "B703", "source": "c"},
        ]
    )
    res = identify_all(pl.Series(["ae0413"]), feed)
    a = _by(res.aircraft)["ae0413"]
    assert a["type_code"] == "E6" and a["type_source"] == "feed:a"
    assert res.conflicts.filter(pl.col("fact") == "type_code")["other_source"].to_list() == ["feed:c"]


def test_military_is_an_or_of_strong_sources_and_disagreement_is_recorded():
    db = _db([("adf8db", "TWR", "TWR", "00", None), ("3c6444", "D-AIBD", "A319", "00", "AIRBUS A-319")])
    pa = _pa([("3C6444", "D-AIBD", "Lufthansa", "A319", "A319", "Mil", "", "", "", "Governments", "")])
    res = identify_all(pl.Series(["adf8db", "3c6444"]), None, aircraft_db=db, plane_alert=pa)
    a = _by(res.aircraft)
    assert a["adf8db"]["military"] is True and a["adf8db"]["military_source"] == "hex_block"
    assert a["3c6444"]["military"] is True and a["3c6444"]["military_source"] == "db:plane-alert"
    c = res.conflicts.filter(pl.col("fact") == "military")
    assert sorted(zip(c["icao24"], c["value"], c["other_value"], c["other_source"])) == [
        ("3c6444", "true", "false", "db:tar1090"),
        ("adf8db", "true", "false", "db:tar1090"),
    ]


def test_callsign_prefix_is_weak_evidence_only():
    calls = pl.DataFrame({"icao24": ["a12345", "a00c4b", "a54321"], "callsign": ["RCH871 ", "RCH123", "RCHX"]})
    db = _db([("a00c4b", "N102BR", "C82T", "00", "CESSNA 182")])
    res = identify_all(pl.Series(["a12345", "a00c4b", "a54321"]), None, aircraft_db=db, callsigns=calls)
    a = _by(res.aircraft)
    assert a["a12345"]["military"] is True and a["a12345"]["military_source"] == "callsign_prefix"
    assert a["a00c4b"]["military"] is False  # the database speaks; the callsign does not overrule it
    assert a["a54321"]["military"] is None  # "RCHX" is not the prefix followed by a number
    c = res.conflicts.filter((pl.col("icao24") == "a00c4b") & (pl.col("fact") == "military"))
    assert c["other_source"].to_list() == ["callsign_prefix (RCH123)"]


@pytest.mark.parametrize(
    "type_code, description, registration, role, variant_part, source",
    [
        ("R135", "Boeing RC-135V Rivet Joint", "99-0001", "sigint", "Rivet Joint", "catalogue:description"),
        ("R135", "Boeing RC-135S Cobra Ball", "99-0002", "other_isr", "Cobra Ball", "catalogue:description"),
        ("R135", "Boeing TC-135W", "99-0003", "none", None, "catalogue:description"),
        ("R135", None, "99-0004", "other_isr", "variant not determined", "catalogue:type"),
        ("C135", "Boeing OC-135B", "99-0005", "imint", "Open Skies", "catalogue:description"),
        ("C135", "Boeing WC-135W", "99-0006", "other_isr", "Constant Phoenix", "catalogue:description"),
        ("R135", "BOEING RC-135", "64-14849", "sigint", "Combat Sent", "catalogue:registration"),
        ("P3", "Lockheed EP-3E Orion", "156511", "sigint", "EP-3E", "catalogue:description"),
        ("P3", "LOCKHEED P-3 Orion", "160610", "maritime_patrol", "P-3 Orion", "catalogue:type"),
        ("P3", "Lockheed CP-140 Aurora", "140101", "maritime_patrol", "CP-140", "catalogue:description"),
        ("P3", "P-3B AEW Orion", "N145CS", "aew", "AEW", "catalogue:description"),
        ("E3TF", "Boeing E-3B Sentry", "77-0355", "aew", "E-3", "catalogue:description"),
        ("E6", "Boeing E-6B Mercury", "164386", "none", None, "catalogue:description"),
        ("E6", None, "164407", "none", None, "catalogue:type"),
        ("B703", "Boeing E-8C Joint STARS", "96-0042", "imint", "Joint STARS", "catalogue:description"),
        ("B703", "BOEING 707-300", "X-707", "none", None, "catalogue:unlisted_type"),
        ("U2", "Lockheed U-2S", "80-1070", "multi_int", "U-2S", "catalogue:description"),
        ("U2", "Lockheed TU-2S", "80-1064", "none", None, "catalogue:description"),
        ("Q4", "Northrop Grumman MQ-4C Triton", "169804", "uav_isr", "Triton", "catalogue:description"),
        ("Q4", "NORTHROP GRUMMAN RQ-4 Global Hawk", "04-2015", "uav_isr", "Global Hawk", "catalogue:description"),
        ("Q9", None, "19-4500", "uav_isr", "MQ-9", "catalogue:type"),
        ("P8", "Boeing P-8A Poseidon", "168428", "maritime_patrol", "P-8", "catalogue:description"),
        ("BE20", "Beech RC-12X Huron", "92-13124", "sigint", "Guardrail", "catalogue:description"),
        ("B350", "Beech MC-12W Liberty", "09-0364", "multi_int", "MC-12", "catalogue:description"),
        ("DH8C", "Bombardier RO-6A", "N1234A", "multi_int", "Airborne Reconnaissance Low", "catalogue:description"),
        ("DH8C", "DHC-8-315 MPA", "N801MR", "maritime_patrol", "DHC-8", "catalogue:description"),
        ("DH8C", "DE HAVILLAND DHC-8-300 Dash 8", "C-GABC", "none", None, "catalogue:unlisted_type"),
        ("PC12", "Pilatus U-28A Draco", "07-0711", "multi_int", "U-28A", "catalogue:description"),
        ("GLEX", "Bombardier E-11A", "11-9355", "none", None, "catalogue:description"),
        ("C172", "CESSNA 172 Skyhawk", "N12345", "none", None, "catalogue:unlisted_type"),
        ("B06", "ZENAIR CRICKET MC-12", "N999", "none", None, "catalogue:unlisted_type"),  # not an MC-12W
        ("C130", "AIRBUS HELICOPTERS EC-130", "N130", "none", None, "catalogue:unlisted_type"),  # not EC-130H
        ("ULAC", "MITCHELL U-2", "N2U", "none", None, "catalogue:unlisted_type"),  # an ultralight, not a U-2S
        ("ZZZZ", "PrecisHawk Hawkeye Mark III", "N3H", "none", None, "catalogue:unlisted_type"),
        ("ULAC", "ISR-ONE", "N4I", "none", None, "catalogue:unlisted_type"),
        ("CL60", "Bombardier Challenger 604 Artemis ISR", "N5A", "multi_int", "ARTEMIS", "catalogue:description"),
        ("C208", "Cessna 208 ISR", "N6I", "other_isr", "ISR", "catalogue:description"),
    ],
)
def test_catalogue_variants(type_code, description, registration, role, variant_part, source):
    feed = _feed([{"icao24": "abcdef", "type_code": type_code, "type_description": description, "registration": registration, "source": "t"}])
    a = identify(pl.Series(["abcdef"]), feed).row(0, named=True)
    assert a["isr_role"] == role
    assert a["isr_role_source"] == source
    if variant_part is None:
        assert a["isr_variant"] is None
    else:
        assert variant_part in a["isr_variant"]


def test_any_source_description_can_tell_the_variant():
    # tar1090-db says only "BEECH 200"; plane-alert-db's $Type names the RC-12X
    db = _db([("ae10e2", "92-13124", "BE20", "10", "BEECH 200 Super King Air")])
    pa = _pa([("AE10E2", "92-13124", "US Army", "Beech RC-12X Huron", "BE20", "Mil", "Guardrail", "SIGINT", "", "Oxcart", "")])
    res = identify_all(pl.Series(["ae10e2"]), None, aircraft_db=db, plane_alert=pa)
    a = _by(res.aircraft)["ae10e2"]
    assert (a["isr_role"], a["isr_role_source"]) == ("sigint", "catalogue:description")
    assert res.conflicts.filter(pl.col("fact") == "isr_role").height == 0  # plane-alert agrees: sigint


def test_catalogue_beats_plane_alert_and_the_disagreement_is_recorded():
    db = _db([("ae4de1", "11-9355", "GLEX", "10", "Bombardier E-11A"), ("a0c462", "N149CS", "P3", "00", "LOCKHEED P-3 Orion")])
    pa = _pa(
        [
            ("AE4DE1", "11-9355", "USAF", "Bombardier E-11A", "GLEX", "Mil", "BACN", "Quarterback", "Comms", "Oxcart", ""),
            ("A0C462", "N149CS", "CBP", "Lockheed P-3 Orion", "P3", "Gov", "Eye In The Sky", "Surveillance", "", "Oxcart", ""),
            ("A1B2C3", "N1", "Museum", "Lockheed U-2A", "U2", "Civ", "Reconnaissance", "", "", "Historic", ""),
        ]
    )
    res = identify_all(pl.Series(["ae4de1", "a0c462", "a1b2c3"]), None, aircraft_db=db, plane_alert=pa)
    a = _by(res.aircraft)
    assert a["ae4de1"]["isr_role"] == "none"
    assert a["a0c462"]["isr_role"] == "maritime_patrol"
    c = res.conflicts.filter(pl.col("fact") == "isr_role")
    assert sorted(zip(c["icao24"], c["value"], c["other_value"])) == [
        ("a0c462", "maritime_patrol", "other_isr"),
        ("a1b2c3", "multi_int", "none"),
        ("ae4de1", "none", "other_isr"),
    ]
    # a museum U-2: plane-alert's "Historic" rule says none, the catalogue's U2 type says multi_int;
    # the catalogue wins and the disagreement is on record
    assert a["a1b2c3"]["isr_role"] == "multi_int"


def test_plane_alert_tags_and_categories():
    pa = _pa(
        [
            ("A00001", "N1", "X", "Cessna 206", "C206", "Gov", "Covert", "", "", "Oxcart", ""),
            ("A00002", "N2", "X", "Some drone", "DRON", "Mil", "", "", "", "UAV", ""),
            ("A00003", "N3", "Coast Guard", "AW139", "A139", "Gov", "Maritime Patrol", "", "", "Coastguard", ""),
            ("A00004", "N4", "Navy", "Something", "ZZZZ", "Mil", "Maritime Patrol", "", "", "Other Navies", ""),
            ("A00005", "N5", "X", "Something", None, "Civ", "SIGINT", "", "", "Oxcart", ""),
        ]
    )
    a = _by(identify(pl.Series(["a00001", "a00002", "a00003", "a00004", "a00005"]), None, plane_alert=pa))
    assert a["a00001"]["isr_role"] == "other_isr" and a["a00001"]["isr_role_source"] == "db:plane-alert:category"
    assert a["a00002"]["isr_role"] == "uav_isr"
    assert a["a00003"]["isr_role"] == "none"  # a coast-guard helicopter is not maritime patrol ISR
    assert a["a00004"]["isr_role"] == "maritime_patrol" and a["a00004"]["isr_role_source"] == "db:plane-alert:tags"
    assert a["a00005"]["isr_role"] == "sigint"


def test_catalogue_files_are_well_formed():
    rules = isr_rules()
    assert set(rules["match"]) == {"registration", "description", "type"}
    assert rules["source"].str.len_chars().min() > 10  # every row names its source
    assert set(rules["isr_role"]) <= set(schema.ISR_ROLES)
    # no serial appears in two registration rows
    serials = rules.filter(pl.col("match") == "registration")["pattern"].str.split("|").explode()
    assert serials.n_unique() == serials.len()
    assert plane_alert_rules().height > 10
