"""claims.parse: sentences it must read (EN/ES) and sentences it must refuse, with the reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isrwatch.claims import ParsedClaim, ParseFailure, parse_claim
from isrwatch.count import ISR_ANY, Area

W = ("2025-02-01", "2025-02-14")  # 14 days, until inclusive


def ok(text: str, **kw) -> ParsedClaim:
    result = parse_claim(text, **kw)
    assert isinstance(result, ParsedClaim), f"{text!r} refused: {getattr(result, 'reason', '')}"
    return result


def refused(text: str, part: str, **kw) -> ParseFailure:
    result = parse_claim(text, **kw)
    assert isinstance(result, ParseFailure), f"{text!r} was read as {result.meaning}"
    assert result.part == part, result.reason
    return result


# --- what it reads -------------------------------------------------------------------------------


def test_at_least_18_us_spy_flights_near_mexico_in_two_weeks():
    p = ok("at least 18 US spy flights near Mexico in two weeks", window=W)
    m = p.meaning
    assert (m.comparator, m.n, m.kind) == ("at_least", 18, "sorties")
    assert m.region == Area.within(100, "MEX")
    assert m.roles == ISR_ANY and m.countries == ("US",)
    assert m.duration == timedelta(days=14)
    assert m.since == datetime(2025, 2, 1, tzinfo=timezone.utc) and m.until == datetime(2025, 2, 15, tzinfo=timezone.utc)
    assert p.lang == "en"
    assert p.read["number"] == "at least 18" and p.read["region"] == "near Mexico"
    assert not any("speaks of" in n for n in p.notes)  # 14 days against a 14-day window


def test_relative_span_checked_against_the_window():
    p = ok("18 flights near Mexico in two weeks", window=("2025-02-01", "2025-02-05"))
    assert p.meaning.duration == timedelta(days=14)
    assert p.meaning.comparator == "exactly"
    assert any("speaks of 14 days" in n and "5 days" in n for n in p.notes)


@pytest.mark.parametrize(
    "text, comparator, n",
    [
        ("more than 18 spy flights", "at_least", 19),
        ("over 18 flights", "at_least", 19),
        ("no more than 3 flights", "at_most", 3),
        ("at most three aircraft", "at_most", 3),
        ("fewer than 5 planes", "at_most", 4),
        ("two flights", "exactly", 2),
        ("exactly 7 sorties", "exactly", 7),
        ("18 or more flights", "at_least", 18),
        ("no fewer than 12 missions", "at_least", 12),
        ("a dozen spy planes", "exactly", 12),
        ("dozens of flights", "at_least", 24),
        ("twenty-one flights", "exactly", 21),
        ("al menos 18 vuelos espía", "at_least", 18),
        ("más de 18 vuelos", "at_least", 19),
        ("no más de 5 aviones", "at_most", 5),
        ("menos de 5 aeronaves", "at_most", 4),
        ("una docena de aviones", "exactly", 12),
        ("veintiún vuelos", "exactly", 21),
        ("treinta y dos vuelos militares", "exactly", 32),
        ("por lo menos quince misiones", "at_least", 15),
        ("decenas de vuelos", "at_least", 20),
    ],
)
def test_comparators_and_numbers(text, comparator, n):
    m = ok(text).meaning
    assert (m.comparator, m.n) == (comparator, n)


def test_about_gets_a_tolerance():
    m = ok("about 20 surveillance flights").meaning
    assert (m.comparator, m.n, m.tolerance) == ("about", 20, 2.0)
    assert m.holds(18) and m.holds(22) and not m.holds(23)
    assert ok("unos 5 vuelos").meaning.tolerance == 1.0


@pytest.mark.parametrize(
    "text, kind",
    [
        ("18 flights", "sorties"),
        ("18 sorties", "sorties"),
        ("18 missions", "sorties"),
        ("18 vuelos", "sorties"),
        ("18 misiones", "sorties"),
        ("3 aircraft", "distinct_aircraft"),
        ("3 planes", "distinct_aircraft"),
        ("3 aviones", "distinct_aircraft"),
        ("3 aeronaves", "distinct_aircraft"),
        ("3 incursions into Mexican airspace", "sovereign_entries"),
    ],
)
def test_nouns(text, kind):
    assert ok(text, region="MEX").meaning.kind == kind


def test_solo_hemos_localizado_dos():
    p = ok("solo hemos localizado dos")
    assert (p.meaning.comparator, p.meaning.n, p.meaning.kind) == ("exactly", 2, "sorties")
    assert p.lang == "es"
    assert any("no noun" in n for n in p.notes) and any("solo" in n for n in p.notes)


def test_ningun_avion_entro_al_espacio_aereo_mexicano():
    p = ok("ningún avión entró al espacio aéreo mexicano")
    m = p.meaning
    assert m.predicate == "none_entered"
    assert (m.comparator, m.n, m.kind) == ("at_most", 0, "sovereign_entries")
    assert m.region == Area.sovereign("MEX")
    assert p.read["region"] == "espacio aéreo mexicano"


def test_none_entered_our_airspace_needs_a_region():
    f = refused("none entered our airspace", "region")
    assert "our airspace" in f.reason and "--region" in f.reason
    p = ok("none entered our airspace", region="MEX")
    assert p.meaning.predicate == "none_entered" and p.meaning.region == Area.sovereign("MEX")
    assert ok("nadie entró a nuestro espacio aéreo", region="MEX").meaning.predicate == "none_entered"


@pytest.mark.parametrize(
    "text, area",
    [
        ("18 flights over Mexico", Area.sovereign("MEX")),
        ("18 flights in Mexican airspace", Area.sovereign("MEX")),
        ("18 flights off Mexico", Area.within(100, "MEX")),
        ("18 vuelos cerca de México", Area.within(100, "MEX")),
        ("18 vuelos frente a las costas de México", Area.within(100, "MEX")),
        ("18 flights within 50 km of Mexico", Area.within(50, "MEX")),
        ("18 vuelos a menos de 30 km de México", Area.within(30, "MEX")),
        ("18 flights within 10 nautical miles of Mexico", Area.within(18.52, "MEX")),
        ("18 vuelos sobre México", Area.sovereign("MEX")),
    ],
)
def test_regions(text, area):
    assert ok(text).meaning.region == area


def test_registration_country_is_not_the_region():
    m = ok("al menos 18 vuelos espía de Estados Unidos cerca de México en dos semanas").meaning
    assert m.countries == ("US",) and m.region == Area.within(100, "MEX") and m.duration == timedelta(days=14)
    m = ok("5 aviones militares estadounidenses sobre México").meaning
    assert m.countries == ("US",) and m.military_only and m.region == Area.sovereign("MEX")
    # the speaker is neither the place nor the registration
    m = ok("Mexico says it located 2 flights", region="MEX").meaning
    assert m.countries == () and m.n == 2


def test_specific_roles_and_military():
    assert ok("3 drones near Mexico").meaning.roles == ("uav_isr",)
    assert ok("3 maritime patrol flights").meaning.roles == ("maritime_patrol",)
    assert ok("3 Navy flights").meaning.military_only


def test_entries_with_a_number_and_with_entering_verbs():
    m = ok("no more than 3 aircraft entered Mexican airspace").meaning
    assert (m.comparator, m.n, m.kind, m.predicate) == ("at_most", 3, "sovereign_entries", None)
    m = ok("un avión espía entró a México").meaning
    assert (m.comparator, m.n, m.kind) == ("exactly", 1, "sovereign_entries")


def test_zero_of_something_without_entering():
    m = ok("no spy flights were detected near Mexico").meaning
    assert (m.comparator, m.n, m.kind, m.predicate) == ("at_most", 0, "sorties", None)


def test_dates_in_the_sentence_win_over_the_window():
    m = ok("No US military aircraft violated Mexican airspace between 1 and 14 February 2025", window=("2025-03-01", "2025-03-02")).meaning
    assert m.predicate == "none_entered" and m.military_only and m.countries == ("US",)
    assert m.since == datetime(2025, 2, 1, tzinfo=timezone.utc) and m.until == datetime(2025, 2, 15, tzinfo=timezone.utc)
    m = ok("18 vuelos del 3 al 9 de febrero de 2025").meaning
    assert (m.since.day, m.until.day) == (3, 10)
    m = ok("18 flights from 2025-02-01 to 2025-02-10").meaning
    assert (m.since.day, m.until.day) == (1, 11)
    m = ok("18 flights since February 3", said_on=date(2025, 2, 20)).meaning
    assert m.since == datetime(2025, 2, 3, tzinfo=timezone.utc) and m.until is None


def test_language_is_detected_and_can_be_given():
    assert ok("al menos 18 vuelos").lang == "es"
    assert ok("at least 18 flights").lang == "en"
    # "once" is eleven in Spanish, never in English
    assert isinstance(parse_claim("the plane entered once", lang="en", region="MEX"), ParseFailure)
    assert ok("once vuelos", lang="es").meaning.n == 11


# --- what it refuses, and why ----------------------------------------------------------------------


def test_refuses_vague_quantities():
    f = refused("Several spy planes flew near Mexico", "number")
    assert "'Several' is not a number" in f.reason
    refused("varios vuelos espía cerca de México", "number")


def test_refuses_no_claim_at_all():
    f = refused("The flights complied with international law", "number")
    assert "no number" in f.reason


def test_refuses_unknown_nouns():
    f = refused("18 things happened", "noun")
    assert "things happened" in f.reason


def test_refuses_unknown_places():
    f = refused("18 flights near Narnia", "region")
    assert "Narnia" in f.reason


def test_refuses_two_claims_in_one_sentence():
    f = refused("We located two, and none entered Mexican airspace", "claim")
    assert "two claims" in f.reason and "We located two" in f.reason and "none entered Mexican airspace" in f.reason


def test_refuses_entries_without_a_country():
    f = refused("no aircraft entered the area", "region")
    assert "which country" in f.reason


def test_refuses_empty_and_unread_languages():
    assert refused("   ", "claim").reason == "the claim is empty"
    assert "only English" in refused("18 vols", "claim", lang="fr").reason


def test_refuses_dates_without_a_year_when_none_can_be_had():
    f = refused("18 flights since February 3", "window")
    assert "no year" in f.reason


# --- numbers round-trip ------------------------------------------------------------------------------

EN_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
EN_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}
ES_UNITS = ("cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis "
            "diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés veinticuatro veinticinco "
            "veintiséis veintisiete veintiocho veintinueve").split()
ES_TENS = {3: "treinta", 4: "cuarenta", 5: "cincuenta", 6: "sesenta", 7: "setenta", 8: "ochenta", 9: "noventa"}


def en_words(n: int, sep: str) -> str:
    if n < 20:
        return EN_UNITS[n]
    tens, unit = divmod(n, 10)
    return EN_TENS[tens] + (sep + EN_UNITS[unit] if unit else "")


def es_words(n: int) -> str:
    if n < 30:
        word = ES_UNITS[n]
    else:
        tens, unit = divmod(n, 10)
        word = ES_TENS[tens] + (" y " + ES_UNITS[unit] if unit else "")
    # "uno" shortens before a masculine noun: "veintiún vuelos", "treinta y un vuelos"
    if word.endswith("uno"):
        word = word[:-3] + ("ún" if word == "veintiuno" else "un")
    return word


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=99),
    form=st.sampled_from(["digits", "en-hyphen", "en-space", "es"]),
    comparator=st.sampled_from(["at_least", "at_most", "exactly"]),
)
def test_numbers_round_trip(n, form, comparator):
    if form == "es":
        words = es_words(n)
        lead = {"at_least": "al menos ", "at_most": "como máximo ", "exactly": "exactamente "}[comparator]
        text = f"{lead}{words} vuelos espía cerca de México"
    else:
        words = str(n) if form == "digits" else en_words(n, "-" if form == "en-hyphen" else " ")
        lead = {"at_least": "at least ", "at_most": "at most ", "exactly": "exactly "}[comparator]
        text = f"{lead}{words} spy flights near Mexico"
    m = ok(text).meaning
    assert (m.n, m.comparator, m.kind) == (n, comparator, "sorties")
    assert m.region == Area.within(100, "MEX")


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=0, max_value=99_999))
def test_digits_with_thousands_separators_round_trip(n):
    assert ok(f"at least {n:,} flights").meaning.n == n


@pytest.mark.parametrize(
    "text, key",
    [
        ("at least 18 flights off Baja California", "baja-pacific"),
        ("al menos 18 vuelos de espionaje de EE.UU. frente a las costas de Baja California", "baja-pacific"),
        ("3 flights over the Gulf of California", "gulf-of-california"),
        ("3 vuelos sobre el Mar de Cortés", "gulf-of-california"),
        ("5 spy flights along the US-Mexico border", "us-mex-border"),
        ("2 vuelos sobre Baja California", "MEX"),
    ],
)
def test_named_places_are_areas_of_interest(text, key):
    p = ok(text)
    assert p.meaning.region.key == key
    if key in ("baja-pacific", "MEX") and "Baja" in text:
        assert any("Baja California" in n for n in p.notes)  # the reading is said out loud


def test_registration_survives_a_named_place():
    m = ok("al menos 18 vuelos de espionaje de EE.UU. frente a las costas de Baja California").meaning
    assert m.countries == ("US",) and m.roles == ISR_ANY


def test_unknown_coast_is_refused_not_dropped():
    assert "Narnia" in refused("18 flights off the coast of Narnia", "region").reason
