"""`isrwatch count` and `isrwatch verify` end to end: a synthetic store through segment, identify,
airspace, count and claims. The tracks are placed where the answer is not in doubt:

- ae1234 (RC-135, sigint) orbits 10 km around a point ~35 km off Baja California's Pacific coast on
  2025-02-03: within 50 km of Mexico's sovereign airspace, never inside it;
- ae5678 (P-8) flies from the Pacific across the peninsula into the Gulf of California and back on
  2025-02-04: observed entries into Mexico's sovereign airspace;
- ae9999 (P-8) is seen west of Cabo San Lucas, then 40 minutes later east of it on 2025-02-05: only
  the straight line across the gap crosses Mexico (a gap-only entry);
- a00001 (B739) circles over Kansas every 10 minutes for the three days: full feed coverage.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from typer.testing import CliRunner

from isrwatch import schema
from isrwatch.cli import app

runner = CliRunner()


def _utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


def _track(icao: str, callsign: str, t0: datetime, points: list[tuple[float, float]], step_s: int = 30) -> list[dict]:
    """Positions every step_s along straight legs between points, at about 400 kt."""
    rows, t = [], t0
    for (la0, lo0), (la1, lo1) in zip(points, points[1:]):
        km = math.hypot((la1 - la0) * 111, (lo1 - lo0) * 111 * math.cos(math.radians((la0 + la1) / 2)))
        n = max(1, int(km / (740 * step_s / 3600)))
        for i in range(n):
            f = i / n
            rows.append({"time": t, "icao24": icao, "callsign": callsign, "lat": la0 + (la1 - la0) * f,
                         "lon": lo0 + (lo1 - lo0) * f, "alt_baro": 25000.0, "on_ground": False, "gs": 400.0,
                         "pos_source": "adsb", "feed": "synthetic"})
            t += timedelta(seconds=step_s)
    la, lo = points[-1]
    rows.append({"time": t, "icao24": icao, "callsign": callsign, "lat": la, "lon": lo, "alt_baro": 25000.0,
                 "on_ground": False, "gs": 400.0, "pos_source": "adsb", "feed": "synthetic"})
    return rows


def _orbit(lat: float, lon: float, r_km: float, laps: int) -> list[tuple[float, float]]:
    return [
        (lat + r_km / 111 * math.cos(2 * math.pi * k / 12),
         lon + r_km / (111 * math.cos(math.radians(lat))) * math.sin(2 * math.pi * k / 12))
        for k in range(laps * 12 + 1)
    ]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from isrwatch import store
    from isrwatch.sources import Batch

    rows = _track("ae1234", "JAKE11", _utc(2025, 2, 3, 14), [(32.4, -117.6)] + _orbit(30.5, -116.55, 10, 6) + [(32.4, -117.6)])
    rows += _track("ae5678", "PELICAN1", _utc(2025, 2, 4, 15), [(28.0, -117.0), (28.0, -112.0), (28.0, -117.0)])
    west = _track("ae9999", "PELICAN2", _utc(2025, 2, 5, 12), [(23.0, -113.5), (23.0, -111.5)])
    east = _track("ae9999", "PELICAN2", west[-1]["time"] + timedelta(minutes=40), [(23.0, -108.0), (23.0, -106.9)])
    rows += west + east
    t, k = _utc(2025, 2, 3), 0
    while t < _utc(2025, 2, 6):
        rows.append({"time": t, "icao24": "a00001", "callsign": "DAL1", "lat": 38.0 + 0.5 * math.sin(k / 20),
                     "lon": -98.0 + 0.5 * math.cos(k / 20), "alt_baro": 35000.0, "on_ground": False, "gs": 450.0,
                     "pos_source": "adsb", "feed": "synthetic"})
        t, k = t + timedelta(minutes=10), k + 1
    obs = schema.conform(pl.DataFrame(rows), schema.OBSERVATIONS)
    facts = schema.conform(
        pl.DataFrame([
            {"icao24": "ae1234", "registration": "62-4134", "type_code": "RC135", "type_description": "BOEING RC-135"},
            {"icao24": "ae5678", "registration": "168428", "type_code": "P8", "type_description": "BOEING P-8 Poseidon"},
            {"icao24": "ae9999", "registration": "169009", "type_code": "P8", "type_description": "BOEING P-8 Poseidon"},
            {"icao24": "a00001", "registration": "N100DL", "type_code": "B739", "type_description": "BOEING 737-900"},
        ]).with_columns(source=pl.lit("synthetic")),
        schema.FEED_AIRCRAFT,
    )
    path = tmp_path_factory.mktemp("store") / "synthetic.duckdb"
    con = store.open_store(path)
    try:
        result = store.ingest_batches(con, [Batch(obs, schema.empty(schema.REJECTS), facts, obs.height)],
                                      path="synthetic", fmt="test", feed="synthetic")
        assert result.rows_stored == obs.height
    finally:
        con.close()
    return path


def run_json(*args: str):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


WINDOW = ("--since", "2025-02-03", "--until", "2025-02-05")


# --- count ----------------------------------------------------------------------------------------------


def test_count_sorties_near_mexico(db):
    out = run_json("count", "--db", str(db), *WINDOW, "--within-km", "100", "--of", "MEX", "--role", "isr")
    assert out["count"] == 3
    assert sorted(f["icao24"] for f in out["flights"]) == ["ae1234", "ae5678", "ae9999"]
    assert out["definition"]["area"] == {"kind": "within_km", "id": "MEX", "key": "near:MEX:100", "km": 100.0}
    assert out["filters"]["roles"] and "kind" not in out["filters"]
    assert "within 100 km of Mexico" in out["sentence"] and "any ISR role" in out["sentence"]
    assert "© OpenStreetMap contributors (ODbL)" in out["attribution"]
    roles = {f["icao24"]: f["isr_role"] for f in out["flights"]}
    assert roles == {"ae1234": "sigint", "ae5678": "maritime_patrol", "ae9999": "maritime_patrol"}


def test_count_each_definition(db):
    def n(*args):
        return run_json("count", "--db", str(db), *WINDOW, *args)["count"]

    assert n("--country", "MEX") == 1  # only ae5678 has positions inside
    assert n("--within-km", "50", "--of", "MEX") == 3
    assert n() == 4  # no area: every sortie in the window, the airliner too
    assert n("--definition", "aircraft", "--country", "MEX") == 1
    assert n("--definition", "missions", "--within-km", "50", "--of", "MEX", "--min-minutes", "60") == 2  # orbit, gulf crossing
    entries = run_json("count", "--db", str(db), *WINDOW, "--definition", "entries", "--country", "MEX")
    assert entries["count"] >= 1 and {f["icao24"] for f in entries["flights"]} == {"ae5678"}
    assert entries["n_gap_only"] == 1
    with_gap = n("--definition", "entries", "--country", "MEX", "--count-gap-only")
    assert with_gap == entries["count"] + 1
    assert n("--registered", "MX") == 0


def test_count_table_side_by_side(db):
    rows = run_json("count", "--db", str(db), *WINDOW, "--table", "--within-km", "100", "--of", "MEX", "--role", "isr")
    got = {r["name"]: r["n"] for r in rows}
    assert got["sorties"] == 3 and got["distinct aircraft"] == 3 and got["aircraft days"] == 3
    assert got["entries (incl. gap-only)"] == got["entries (observed)"] + 1
    assert all(isinstance(r["definition"], dict) for r in rows)
    text = runner.invoke(app, ["count", "--db", str(db), *WINDOW, "--table", "--country", "MEX"])
    assert text.exit_code == 0 and "entries (observed)" in text.stdout


def test_count_refuses_bad_arguments(db):
    for args, message in [
        (["--country", "MEX", "--area", "gulf-of-california"], "give one area"),
        (["--within-km", "50"], "needs --of"),
        (["--definition", "landings"], "unknown counting definition"),
        (["--definition", "entries", "--within-km", "50", "--of", "MEX"], "sovereign airspace"),
        (["--role", "spyish"], "unknown ISR role"),
        (["--since", "2025-02-05", "--until", "2025-02-01"], "not after"),
        (["--area", "atlantis"], "unknown region"),
    ]:
        result = runner.invoke(app, ["count", "--db", str(db), *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)


def test_no_store_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["count", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and "no store at" in result.output


# --- verify ---------------------------------------------------------------------------------------------

CLAIMS = """\
window: {since: 2025-02-03, until: 2025-02-05}
claims:
  - id: three
    source: "[bold]Outlet[/bold]"
    words: "at least 3 US spy flights near Mexico"
  - id: ninguno
    source: Gobierno
    words: "ningún avión entró al espacio aéreo mexicano"
    language: es
  - id: gap
    source: X
    words: "no aircraft entered Mexican airspace"
    window: {since: 2025-02-05, until: 2025-02-05}
  - id: our
    source: Y
    words: "none entered our airspace"
  - id: vague
    source: Z
    words: "Several spy planes flew near Mexico"
  - id: atmost
    source: W
    words: "at most 5 flights near Mexico"
"""


@pytest.fixture()
def claims_file(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text(CLAIMS, encoding="utf-8")
    return path


def test_verify_claims_file(db, claims_file):
    out = run_json("verify", str(claims_file), "--db", str(db), "--region", "MEX")
    v = {c["id"]: c for c in out["claims"]}
    assert v["three"]["verdict"] == "supported" and v["three"]["observed"] == 3
    assert any(h["is_claims_own"] for h in v["three"]["definitions_that_hold"])
    assert v["ninguno"]["verdict"] == "contradicted" and "ae5678" in v["ninguno"]["reason"]
    assert v["ninguno"]["definitions_that_hold"] == []
    assert v["gap"]["verdict"] == "not_determinable" and "coverage gap" in v["gap"]["reason"]
    # "none entered" still holds if "entered" means "was seen inside" on that day
    assert any(h["kind"] == "sorties" and h["area"] == "MEX" for h in v["gap"]["definitions_that_hold"])
    assert v["our"]["verdict"] == "contradicted"
    assert v["vague"]["verdict"] == "not_determinable" and v["vague"]["reason"].startswith("claim could not be parsed")
    assert v["atmost"]["verdict"] == "supported"
    assert out["window"] == {"since": "2025-02-03T00:00:00+00:00", "until": "2025-02-06T00:00:00+00:00"}


def test_verify_without_region_cannot_read_our(db, claims_file):
    out = run_json("verify", str(claims_file), "--db", str(db))
    our = next(c for c in out["claims"] if c["id"] == "our")
    assert our["verdict"] == "not_determinable" and "--region" in our["reason"]


def test_verify_rich_table_escapes_feed_and_claim_text(db, claims_file):
    result = runner.invoke(app, ["verify", str(claims_file), "--db", str(db), "--region", "MEX"])
    assert result.exit_code == 0, result.output
    assert "[bold]Outlet[/bold]" in result.stdout  # shown literally, not as markup
    assert "contradicted" in result.stdout and "not determinable" in result.stdout
    assert "holds under" in result.stdout


def test_verify_sentence_from_the_command_line(db):
    out = run_json("verify", "--claim", "at least 2 spy flights near Mexico", "--db", str(db), *WINDOW)
    assert out["claims"][0]["verdict"] == "supported" and out["claims"][0]["source"] == "(command line)"


def test_verify_writes_the_report(db, claims_file, tmp_path):
    report = tmp_path / "report.html"
    out = run_json("verify", str(claims_file), "--db", str(db), "--region", "MEX", "--report", str(report))
    assert out["report"] == str(report)
    html = report.read_text(encoding="utf-8")
    assert "ninguno" in html and "contradicted" in html
    assert "<td>[bold]Outlet[/bold]</td>" in html  # claim text is shown as written


def test_verify_reports_claims_file_errors_with_lines(db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims:\n  - id: a\n    source: s\n    wrods: x\n", encoding="utf-8")
    result = runner.invoke(app, ["verify", str(bad), "--db", str(db)])
    assert result.exit_code == 2
    assert "bad.yaml:4: claims[0] (a).wrods: unknown field (did you mean 'words'?)" in result.output
    assert "bad.yaml:2: claims[0] (a).words: missing" in result.output
    assert runner.invoke(app, ["verify", "--db", str(db)]).exit_code == 1


def test_verify_unreadable_claims_need_no_store(tmp_path):
    out = run_json("verify", "--claim", "several planes", "--db", str(tmp_path / "absent.duckdb"))
    assert out["claims"][0]["verdict"] == "not_determinable"
    assert out["claims"][0]["reason"].startswith("claim could not be parsed: 'several' is not a number")
