"""claims.claimsfile: YAML claims files, and their validation errors with line and field."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timedelta, timezone

import pytest

from isrwatch.claims import ClaimsFileError, load_claims
from isrwatch.count import ISR_ANY, Area

GOOD = textwrap.dedent(
    """\
    window: {since: 2025-02-01, until: 2025-02-14}
    region: MEX
    claims:
      - id: milenio-18
        source: Milenio
        words: "al menos 18 vuelos espía de Estados Unidos cerca de México en dos semanas"
        date: 2025-02-14
        language: es
        url: https://example.org/nota
      - id: structured
        source: A think tank
        words: "at least 18 US spy flights near Mexico in two weeks"
        date: 2025-02-15
        meaning:
          comparator: at_least
          n: 18
          kind: sorties
          region: {within_km: 100, of: MEX}
          duration_days: 14
          roles: isr
          military: true
          country: USA
      - id: sheinbaum-none
        source: Presidency of Mexico
        words: "ningún avión entró al espacio aéreo mexicano"
        date: 2025-02-14
        meaning: {predicate: none_entered, region: MEX}
      - id: about
        source: Someone
        words: "about 20 aircraft-days in the Gulf of California"
        window: {since: 2025-02-03, until: 2025-02-04}
        meaning: {comparator: about, n: 20, kind: aircraft-days, region: {aoi: gulf-of-california}}
    """
)


def write(tmp_path, text: str):
    path = tmp_path / "claims.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file(tmp_path):
    claims, defaults = load_claims(write(tmp_path, GOOD))
    assert [c.id for c in claims] == ["milenio-18", "structured", "sheinbaum-none", "about"]
    assert defaults["since"] == datetime(2025, 2, 1, tzinfo=timezone.utc)
    assert defaults["until"] == datetime(2025, 2, 15, tzinfo=timezone.utc)  # bare date: the whole 14th
    assert defaults["region"] == Area.sovereign("MEX")
    milenio, structured, none, about = claims
    assert milenio.meaning is None and milenio.language == "es" and milenio.date == date(2025, 2, 14)
    assert milenio.line == 4
    m = structured.meaning
    assert (m.comparator, m.n, m.kind) == ("at_least", 18, "sorties")
    assert m.region == Area.within(100, "MEX") and m.roles == ISR_ANY and m.military_only and m.countries == ("US",)
    assert m.duration == timedelta(days=14)
    assert none.meaning.predicate == "none_entered" and none.meaning.region == Area.sovereign("MEX")
    assert (none.meaning.comparator, none.meaning.n, none.meaning.kind) == ("at_most", 0, "sovereign_entries")
    assert about.meaning.tolerance == 2.0 and about.meaning.kind == "aircraft_days"
    assert about.since == datetime(2025, 2, 3, tzinfo=timezone.utc) and about.until == datetime(2025, 2, 5, tzinfo=timezone.utc)


def test_a_bare_list_of_claims(tmp_path):
    claims, defaults = load_claims(write(tmp_path, "- {id: a, source: s, words: two flights}\n"))
    assert claims[0].words == "two flights" and defaults["region"] is None


def problems(tmp_path, text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ClaimsFileError) as exc:
        load_claims(write(tmp_path, text))
    return [(p.line, p.field, p.message) for p in exc.value.problems]


def test_every_problem_with_its_line_and_field(tmp_path):
    text = textwrap.dedent(
        """\
        claims:
          - id: one
            source: Somebody
            wrods: "at least 18 flights"
            date: 2025-02-30
          - id: one
            source: Other
            words: "18 flights"
            language: fr
            meaning:
              comparator: greater_than
              n: -3
              kind: landings
          - id: three
            source: Third
            words: "x"
            meaning:
              predicate: none_entered
              region: {within_km: fifty, of: MEX}
              military: "yes"
        """
    )
    got = problems(tmp_path, text)
    by_field = {f: (line, msg) for line, f, msg in got}
    assert by_field["claims[0] (one).wrods"][0] == 4 and "did you mean 'words'" in by_field["claims[0] (one).wrods"][1]
    assert by_field["claims[0] (one).words"] == (2, "missing")
    assert by_field["claims[0] (one).date"][0] == 5 and "not a date" in by_field["claims[0] (one).date"][1]
    assert by_field["claims[1] (one).id"][0] == 6 and "duplicate id 'one' (first on line 2)" in by_field["claims[1] (one).id"][1]
    assert by_field["claims[1] (one).language"][0] == 9
    assert by_field["claims[1] (one).meaning.comparator"][0] == 11 and "greater_than" in by_field["claims[1] (one).meaning.comparator"][1]
    assert by_field["claims[1] (one).meaning.n"][0] == 12
    assert by_field["claims[1] (one).meaning.kind"][0] == 13 and "landings" in by_field["claims[1] (one).meaning.kind"][1]
    assert by_field["claims[2] (three).meaning.region"][0] == 19 and "within_km" in by_field["claims[2] (three).meaning.region"][1]
    assert by_field["claims[2] (three).meaning.military"][0] == 20
    # the message names the file and the line
    with pytest.raises(ClaimsFileError) as exc:
        load_claims(write(tmp_path, text))
    assert "claims.yaml:4: claims[0] (one).wrods: unknown field" in str(exc.value)


def test_yaml_syntax_error_has_a_line(tmp_path):
    got = problems(tmp_path, "claims:\n  - id: a\n    words: [unclosed\n")
    assert got[0][1] == "yaml" and got[0][0] is not None and got[0][0] >= 3


@pytest.mark.parametrize(
    "text, field, message",
    [
        ("", "file", "empty"),
        ("claims: {id: a}\n", "claims", "must be a list"),
        ("window: {since: 2025-02-01}\n", "claims", "missing"),
        ("claims: []\n", "claims", "no claims"),
        ("claims:\n  - just a string\n", "claims[0]", "must be a mapping"),
        ("claims:\n  - {id: a, source: s, words: w, meaning: {n: 3}}\n", "claims[0] (a).meaning.comparator", "missing"),
        ("claims:\n  - {id: a, source: s, words: w, meaning: {predicate: none_entered, n: 3}}\n", "claims[0] (a).meaning.n", "predicate claim takes no n"),
        ("claims:\n  - {id: a, source: s, words: w, meaning: {comparator: exactly, n: 3, kind: sorties, tolerance: 1}}\n", "claims[0] (a).meaning.tolerance", "only to comparator: about"),
        ("claims:\n  - {id: a, source: s, words: w, meaning: {comparator: exactly, n: 3, kind: entries, region: {within_km: 50, of: MEX}}}\n", "claims[0] (a).meaning", "sovereign airspace"),
        ("claims:\n  - {id: a, source: s, words: w, window: {since: 2025-02-05, until: 2025-02-01}}\n", "claims[0] (a).window", "not after"),
        ("claims:\n  - {id: a, source: s, words: w, meaning: {comparator: exactly, n: 3, kind: sorties, roles: [spyish]}}\n", "claims[0] (a).meaning.roles", "unknown ISR role"),
        ("claims:\n  - {id: a, source: s, words: w, region: Narnia}\n", "claims[0] (a).region", "unknown country"),
        ("colour: blue\nclaims:\n  - {id: a, source: s, words: w}\n", "colour", "unknown field"),
    ],
)
def test_single_problems(tmp_path, text, field, message):
    got = problems(tmp_path, text)
    assert any(f == field and message in msg for _line, f, msg in got), got


def test_missing_file_and_not_utf8(tmp_path):
    with pytest.raises(ClaimsFileError, match="no such file"):
        load_claims(tmp_path / "absent.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("claims:\n  - {id: a, source: s, words: 'avi\xf3n'}\n".encode("latin-1"))
    with pytest.raises(ClaimsFileError, match="not UTF-8"):
        load_claims(bad)
