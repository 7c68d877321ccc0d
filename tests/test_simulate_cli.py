"""`isrwatch simulate`: output files, --json keys, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from isrwatch.cli import app

runner = CliRunner()

KEYS = {"scenario", "title", "simulated", "label", "seed", "out_dir", "truth_file", "n_files", "n_positions",
        "n_sorties", "n_aircraft", "n_leg_marks_set", "n_leg_marks_missing", "window", "by_country", "aois",
        "files", "background"}


def test_simulate_json_keys_and_files(tmp_path):
    res = runner.invoke(app, ["simulate", "stress-near-miss", "--out", str(tmp_path), "--seed", "3", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload) == KEYS
    assert payload["simulated"] is True and payload["seed"] == 3 and payload["n_sorties"] == 1
    assert payload["by_country"]["MEX"]["sorties_entered"] == 0
    assert payload["background"] is None  # the stress scenarios fly no background traffic
    for rel in payload["files"]:
        assert (tmp_path / rel).is_file()
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["simulated"] is True and truth["summary"]["n_positions"] == payload["n_positions"]


def test_simulate_a_scenario_file_in_plain_text(tmp_path):
    from isrwatch.simulate.scenario import scenarios_dir

    src = scenarios_dir() / "stress-touch-and-go.yaml"
    res = runner.invoke(app, ["simulate", str(src), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "SIMULATED" in res.stdout and "not real data" in res.stdout
    assert (tmp_path / "o" / "truth.json").is_file()


def test_simulate_list_and_errors(tmp_path):
    res = runner.invoke(app, ["simulate", "--list", "--json"])
    assert res.exit_code == 0
    assert "mexico-2025" in json.loads(res.stdout)["scenarios"]
    res = runner.invoke(app, ["simulate", "stress-near-miss"])
    assert res.exit_code == 1 and "--out" in res.output
    res = runner.invoke(app, ["simulate", "no-such", "--out", str(tmp_path)])
    assert res.exit_code == 1 and "no bundled scenario" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsimulated: false\naircraft: []\nsorties: []\n")
    res = runner.invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "simulated: true" in res.output


def test_simulate_with_and_without_background(tmp_path):
    import yaml

    doc = {
        "name": "cli-bg", "simulated": True,
        "window": {"start": "2025-03-01T00:00:00Z", "end": "2025-03-02T00:00:00Z"},
        "receivers": [{"id": "la", "lat": 34.05, "lon": -118.25, "antenna_m": 40},
                      {"id": "phoenix", "lat": 33.45, "lon": -112.07, "antenna_m": 40}],
        "aircraft": [{"icao24": "ae7999", "role": "maritime_patrol", "type_code": "P8"}],
        "sorties": [{"id": "s", "icao24": "ae7999",
                     "departure": {"airfield": "KNTD", "time": "2025-03-01T17:00:00Z"},
                     "route": [{"lat": 33.5, "lon": -119.5, "alt_ft": 10000}], "arrival": {"airfield": "KNTD"}}],
        "background": {"flights_per_hour": [1.5] * 24, "airports": ["KLAX", "KPHX", "KLAS"],
                       "airlines": ["SWA"], "start": "2025-03-01T00:00:00Z", "end": "2025-03-01T06:00:00Z"},
    }
    src = tmp_path / "bg.yaml"
    src.write_text(yaml.safe_dump(doc))
    out = tmp_path / "o"
    res = runner.invoke(app, ["simulate", str(src), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    bg = json.loads(res.stdout)["background"]
    assert set(bg) == {"n_flights", "n_aircraft", "n_positions", "n_files", "max_feed_gap_s", "files"}
    assert bg["n_flights"] == 9 and bg["n_files"] == len(bg["files"]) > 0
    assert all((out / rel).is_file() for rel in bg["files"])
    res = runner.invoke(app, ["simulate", str(src), "--out", str(out)])
    assert res.exit_code == 0 and "background traffic (not counted)" in res.stdout
    res = runner.invoke(app, ["simulate", str(src), "--out", str(out), "--no-background", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["background"] is None
    assert sorted(str(p.relative_to(out)) for p in out.rglob("trace_full_*.json")) == payload["files"]
