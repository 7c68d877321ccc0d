"""`isrwatch flights` against a store built in the test."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from isrwatch import schema, store
from isrwatch.cli import app
from isrwatch.sources import Batch
from test_segment import T0, Track, out_and_back

runner = CliRunner()


def _feed(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "icao24": [r[0] for r in rows],
            "registration": [None] * len(rows),
            "type_code": [r[1] for r in rows],
            "type_description": [None] * len(rows),
            "operator": [None] * len(rows),
            "db_flags": [0] * len(rows),
            "source": ["test"] * len(rows),
        },
        schema=schema.FEED_AIRCRAFT,
    )


@pytest.fixture
def db(tmp_path):
    """A store with an RC-135 flying two sorties (a callsign with markup in it) and an airliner."""
    rc = Track(icao24="ae01ce", callsign="[red]OLIVE11")
    out_and_back(rc, 1200)
    rc.arrival()
    rc.wait(3 * 3600)
    out_and_back(rc, 600)
    rc.arrival()
    jet = Track(icao24="a12345", callsign="SWA1234", start=T0 + timedelta(days=1))
    out_and_back(jet, 900)
    obs = pl.concat([rc.frame(), jet.frame()])
    path = tmp_path / "test.duckdb"
    con = store.open_store(path)
    try:
        batch = Batch(obs, schema.empty(schema.REJECTS), _feed([("ae01ce", "R135"), ("a12345", "B738")]), obs.height)
        store.ingest_batches(con, [batch], path="synthetic", fmt="test", feed="test")
    finally:
        con.close()
    return path


def _json(args) -> dict:
    result = runner.invoke(app, ["flights", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_lists_every_sortie_with_the_flights_columns(db):
    out = _json(["--db", str(db)])
    assert out["n_flights"] == 3
    assert list(out["flights"][0]) == list(schema.FLIGHTS)
    rc = [f for f in out["flights"] if f["icao24"] == "ae01ce"]
    # North Island, then (after taxiing east across the bay in this synthetic track) the
    # nearest field is San Diego International, 3 km away
    assert rc[0]["takeoff_airfield"] == "KNZY"
    assert rc[1]["takeoff_airfield"] in ("KNZY", "KSAN")
    assert rc[0]["start"].endswith("+00:00")


def test_filters_by_aircraft_and_window(db):
    assert _json(["--db", str(db), "--icao24", "A12345"])["n_flights"] == 1
    day2 = _json(["--db", str(db), "--since", (T0 + timedelta(days=1)).isoformat()])
    assert [f["icao24"] for f in day2["flights"]] == ["a12345"]
    first = _json(["--db", str(db), "--until", (T0 + timedelta(hours=1)).isoformat()])
    assert [f["icao24"] for f in first["flights"]] == ["ae01ce"]


def test_isr_only_keeps_the_rc135_and_says_why(db):
    out = _json(["--db", str(db), "--isr-only"])
    assert {f["icao24"] for f in out["flights"]} == {"ae01ce"}
    assert out["flights"][0]["type_code"] == "R135"
    assert out["flights"][0]["isr_role"] not in (None, "none")


def test_text_output_does_not_render_feed_markup(db):
    result = runner.invoke(app, ["flights", "--db", str(db)])
    assert result.exit_code == 0
    assert "[red]OLIVE11" in result.stdout
    assert "3 sorties of 2 aircraft" in result.stdout


def test_clear_errors(tmp_path, db):
    missing = runner.invoke(app, ["flights", "--db", str(tmp_path / "nope.duckdb")])
    assert missing.exit_code == 1 and "no store" in missing.output
    bad = runner.invoke(app, ["flights", "--db", str(db), "--icao24", "xyz"])
    assert bad.exit_code == 1 and "6-hex" in bad.output
    order = runner.invoke(app, ["flights", "--db", str(db), "--since", "2025-03-02", "--until", "2025-03-01"])
    assert order.exit_code == 1 and "--until" in order.output


def test_a_bare_until_date_includes_that_day_as_in_every_command(db):
    day1, day2 = T0.date().isoformat(), (T0 + timedelta(days=1)).date().isoformat()
    only_day1 = _json(["--db", str(db), "--since", day1, "--until", day1])
    assert {f["icao24"] for f in only_day1["flights"]} == {"ae01ce"}
    both = _json(["--db", str(db), "--since", day1, "--until", day2])
    assert {f["icao24"] for f in both["flights"]} == {"ae01ce", "a12345"}
    # an ISO time stays an exclusive end
    before = _json(["--db", str(db), "--until", f"{day2}T00:00:00+00:00"])
    assert {f["icao24"] for f in before["flights"]} == {"ae01ce"}
