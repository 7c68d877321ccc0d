"""build_report() and `isrwatch report`: the store and the stages composed into the evidence pack.

A store is filled here with two synthetic ISR sorties off Baja California (no ../shared): an
RC-135 that stays offshore and a P-8 that flies inland over Baja California, so the airspace
stage finds one observed entry into Mexico's sovereign airspace with the shipped boundaries.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from isrwatch import schema, store
from isrwatch.cli import app
from isrwatch.report.build import ReportBuildError, build_report
from isrwatch.sources import Batch

T0 = datetime(2025, 2, 3, 15, 0, tzinfo=timezone.utc)


def _track(icao, callsign, start, waypoints, n, step_s=20):
    wp = np.asarray(waypoints, dtype=float)
    at = np.linspace(0, len(wp) - 1, n)
    return pl.DataFrame(
        {
            "time": [start + timedelta(seconds=step_s * k) for k in range(n)],
            "icao24": icao,
            "callsign": callsign,
            "lat": np.interp(at, np.arange(len(wp)), wp[:, 1]),
            "lon": np.interp(at, np.arange(len(wp)), wp[:, 0]),
            "alt_baro": np.full(n, 28000.0, dtype=np.float32),
            "on_ground": False,
            "pos_source": "adsb",
            "feed": "test-feed",
        }
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    obs = schema.conform(
        pl.concat(
            [
                _track("ae01ce", "JAKE11", T0, [(-117.6, 32.3), (-117.0, 30.0), (-116.8, 29.0), (-117.0, 30.0), (-117.6, 32.3)], 600),
                _track("ae6890", "PELICAN1", T0 + timedelta(days=1), [(-117.6, 32.3), (-116.9, 31.6), (-116.2, 31.0), (-117.6, 32.3)], 400),
            ]
        ),
        schema.OBSERVATIONS,
    )
    facts = schema.conform(
        pl.DataFrame(
            {"icao24": ["ae01ce", "ae6890"], "registration": ["64-14841", "169001"], "type_code": ["R135", "P8"], "source": "test-feed"}
        ),
        schema.FEED_AIRCRAFT,
    )
    path = tmp_path_factory.mktemp("store") / "isrwatch.duckdb"
    con = store.open_store(path)
    try:
        res = store.ingest_batches(
            con, [Batch(obs, schema.empty(schema.REJECTS), facts, obs.height)], path="synthetic", fmt="generic_parquet", feed="test-feed"
        )
    finally:
        con.close()
    assert res.rows_stored == obs.height
    return path


@pytest.fixture(scope="module")
def built(db, tmp_path_factory):
    return build_report(
        tmp_path_factory.mktemp("out"), db=db, country="MEX",
        claims=["No aircraft entered Mexican airspace"], simulated=True, title="Test <b>pack</b>",
    )


def test_every_output_is_written(built):
    assert set(built.paths) == {"html", "map_png", "timeline_png", "geojson", "kml", "csv", "parquet", "parquet_points"}
    assert all(p.stat().st_size > 0 for p in built.paths.values())
    assert built.n_flights == 2 and built.n_aircraft == 2 and built.country == "MEX"


def test_the_page_shows_the_composed_stages(built):
    page = built.paths["html"].read_text()
    assert len(re.findall(r'<path class="trk" ', page)) == 2
    assert 'class="rg rg-sovereign"' in page and 'class="rg rg-land"' in page and 'class="rg rg-aoi"' in page
    assert "© OpenStreetMap contributors (ODbL)" in page and "Natural Earth" in page
    entries = page[page.index('id="entries-table"') :]
    entries = entries[: entries.index("</table>")]
    assert "PELICAN1" in entries and "JAKE11" not in entries
    assert "SIMULATED RECONSTRUCTION" in page
    assert "Test &lt;b&gt;pack&lt;/b&gt;" in page and "Test <b>pack</b>" not in page


def test_counts_and_verdicts(built):
    counts = {c["name"]: c["n"] for c in built.counts}
    assert counts["sorties"] == 2 and counts["distinct aircraft"] == 2
    assert counts["entries (observed)"] == 1
    assert [v["verdict"] for v in built.verdicts] == ["contradicted"]
    assert json.loads(json.dumps(built.to_dict()))["paths"]["html"].endswith("report.html")


def test_exports_hold_the_counted_flights(built):
    doc = json.loads(built.paths["geojson"].read_text())
    assert len(doc["features"]) == 2
    assert {f["properties"]["callsign"] for f in doc["features"]} == {"JAKE11", "PELICAN1"}
    assert pl.read_csv(built.paths["csv"]).height == 2


def test_bad_options_are_clear_errors(db, tmp_path):
    with pytest.raises(ReportBuildError, match="not after"):
        build_report(tmp_path, db=db, since="2025-02-05", until="2025-02-01")
    with pytest.raises(ReportBuildError, match="no store"):
        build_report(tmp_path, db=tmp_path / "missing.duckdb")
    with pytest.raises(ReportBuildError):
        build_report(tmp_path, db=db, country="Atlantis")


def test_cli_report_json(db, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        app, ["report", "--db", str(db), "--out", str(tmp_path / "pack"), "--country", "MEX", "--since", "2025-02-04", "--no-png", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n_flights"] == 1  # only the P-8 flew on the 4th
    assert out["window"]["since"].startswith("2025-02-04")
    assert "map_png" not in out["paths"] and (tmp_path / "pack" / "report.html").exists()
    assert {c["name"] for c in out["counts"]} >= {"sorties", "entries (observed)"}


def test_cli_report_errors(db, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path)])
    assert res.exit_code != 0 and "no store" in res.output
    res = runner.invoke(app, ["report", "--db", str(db), "--out", str(tmp_path), "--country", "Atlantis"])
    assert res.exit_code != 0 and "error:" in res.output
