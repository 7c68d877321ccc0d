"""`isrwatch regions` and `isrwatch airspace` from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from isrwatch.cli import app
from tests.conftest import shared_file

runner = CliRunner()


def run(*args: str):
    res = runner.invoke(app, list(args))
    return res


def test_regions_list_json():
    res = run("regions", "list", "--kind", "aoi", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["id"] for r in doc["regions"]] == ["us-mex-border", "baja-pacific", "gulf-of-california"]
    assert all("© OpenStreetMap contributors (ODbL)" in r["attribution"] for r in doc["regions"])
    assert set(doc["regions"][0]) == {"id", "name", "kind", "source", "version", "licence", "attribution"}


def test_regions_show_writes_geojson_with_attribution(tmp_path):
    out = tmp_path / "mex.geojson"
    res = run("regions", "show", "MEX", "--geojson", str(out), "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["id"] == "MEX" and info["kind"] == "sovereign" and info["licence"] == "ODbL"
    fc = json.loads(out.read_text())
    assert fc["attribution"] == ["© OpenStreetMap contributors (ODbL)"]
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"
    text = run("regions", "show", "gulf-of-california")
    assert text.exit_code == 0 and "Cabo San Lucas" in text.stdout and "OpenStreetMap" in text.stdout


def test_regions_errors():
    res = run("regions", "show", "atlantis")
    assert res.exit_code == 1 and "unknown region 'atlantis'" in res.output
    res = run("regions", "list", "--kind", "moon")
    assert res.exit_code == 1 and "unknown kind" in res.output


def test_regions_context_file(shared):
    faa = shared_file("geo", "airspace", "faa", "faa-airspaces.json")
    res = run("regions", "show", "adiz:CONTIGUOUS-U.S.-ADIZ", "--airspace", str(faa), "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["kind"] == "adiz" and info["attribution"] == ["FAA aeronautical data (public domain)"]
    assert "ring" not in info["properties"]["first_sector"]


def test_airspace_needs_one_region_and_a_store(tmp_path):
    res = run("airspace", "--json")
    assert res.exit_code == 1 and "exactly one" in res.output
    res = run("airspace", "--country", "MEX", "--db", str(tmp_path / "none.duckdb"))
    assert res.exit_code == 1 and "no store" in res.output
    res = run("airspace", "--country", "gulf-of-california", "--db", str(tmp_path / "none.duckdb"))
    assert res.exit_code == 1 and "alpha-3" in res.output


@pytest.fixture
def store_with_trace(shared, tmp_path):
    from isrwatch import store

    db = tmp_path / "s.duckdb"
    con = store.open_store(db)
    store.ingest(con, shared_file("adsb", "readsb", "trace_full_ac671b.json"))
    con.close()
    return db


def test_airspace_command_on_real_trace(store_with_trace):
    res = run("airspace", "--country", "MEX", "--db", str(store_with_trace), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["region"]["id"] == "MEX"
    assert doc["attribution"][0] == "© OpenStreetMap contributors (ODbL)"
    assert doc["summary"]["flights_entered"] == 1 and doc["summary"]["entries_observed"] >= 1
    entered = [e for e in doc["events"] if e["entered"]]
    assert entered and all(e["basis"] == "observed" and e["callsign"] for e in entered)
    assert all(e["closest_km"] > 0 for e in doc["events"] if not e["entered"])
    # the window filter keeps only flights overlapping it
    res = run("airspace", "--country", "MEX", "--db", str(store_with_trace), "--since", "2030-01-01", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["events"] == []
    res = run("airspace", "--country", "MEX", "--db", str(store_with_trace))
    assert res.exit_code == 0 and "Mexico sovereign airspace" in res.stdout
