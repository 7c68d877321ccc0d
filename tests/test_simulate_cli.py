"""`isrwatch simulate`: output files, --json keys, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from isrwatch.cli import app

runner = CliRunner()

KEYS = {"scenario", "title", "simulated", "label", "seed", "out_dir", "truth_file", "n_files", "n_positions",
        "n_sorties", "n_aircraft", "n_leg_marks_set", "n_leg_marks_missing", "window", "by_country", "aois",
        "files"}


def test_simulate_json_keys_and_files(tmp_path):
    res = runner.invoke(app, ["simulate", "stress-near-miss", "--out", str(tmp_path), "--seed", "3", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload) == KEYS
    assert payload["simulated"] is True and payload["seed"] == 3 and payload["n_sorties"] == 1
    assert payload["by_country"]["MEX"]["sorties_entered"] == 0
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
