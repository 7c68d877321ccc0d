"""`isrwatch ingest`, `store info|files|aircraft|rejects|coverage`, `export`, `import`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data_gen import write_readsb_trace as write_trace
from isrwatch.cli import app

INGEST_KEYS = {"db", "files", "skipped", "n_files", "n_errors", "rows_read", "rows_stored", "rows_rejected",
               "rows_duplicate", "rejected_by_reason", "error"}
FILE_KEYS = {"path", "format", "feed", "rows_read", "rows_stored", "rows_rejected", "rows_duplicate",
             "rejected_by_reason", "error", "sha256", "skipped_already_ingested", "ingest_id", "seconds"}


def run(*args: str, env: dict | None = None):
    return CliRunner(env={"COLUMNS": "200", **(env or {})}).invoke(app, list(args))


def run_json(*args: str, env: dict | None = None, code: int = 0) -> dict:
    result = run(*args, "--json", env=env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


@pytest.fixture
def feeds(tmp_path) -> Path:
    d = tmp_path / "feeds"
    (d / "sub").mkdir(parents=True)
    write_trace(d / "trace_full_abc123.json", "abc123")
    write_trace(d / "sub" / "trace_full_def456.json", "def456", n=300, gz=True)
    (d / "README.txt").write_text("notes, not a feed\n")
    (d / ".hidden.json").write_text("{}")
    return d


def test_ingest_json_keys_counts_and_directory_recursion(feeds, tmp_path):
    db = tmp_path / "s.duckdb"
    out = run_json("ingest", str(feeds), "--db", str(db))
    assert INGEST_KEYS <= set(out)
    assert out["db"] == str(db) and db.exists()
    assert out["n_files"] == 2 and out["n_errors"] == 0 and out["error"] is None
    assert [Path(s["path"]).name for s in out["skipped"]] == ["README.txt"]
    assert out["skipped"][0]["reason"] == "unknown_format"
    for f in out["files"]:
        assert FILE_KEYS <= set(f)
        assert f["rows_read"] == f["rows_stored"] + f["rows_rejected"] + f["rows_duplicate"]
    assert (out["rows_read"], out["rows_stored"], out["rows_duplicate"]) == (800, 800, 0)

    again = run_json("ingest", str(feeds), "--db", str(db))
    assert again["rows_stored"] == 0 and again["rows_duplicate"] == again["rows_read"] == 800
    assert all(f["skipped_already_ingested"] for f in again["files"])


def test_isrwatch_db_env_and_db_option(feeds, tmp_path):
    env_db = tmp_path / "env.duckdb"
    opt_db = tmp_path / "opt.duckdb"
    trace = str(feeds / "trace_full_abc123.json")
    out = run_json("ingest", trace, env={"ISRWATCH_DB": str(env_db)})
    assert out["db"] == str(env_db) and env_db.exists()
    out = run_json("ingest", trace, "--db", str(opt_db), env={"ISRWATCH_DB": str(env_db)})  # --db wins
    assert out["db"] == str(opt_db) and out["rows_stored"] == 500
    info = run_json("store", "info", env={"ISRWATCH_DB": str(env_db)})
    assert info["db"] == str(env_db) and info["n_obs"] == 500 and info["files_ingested"] == 1


def test_default_store_is_in_the_user_data_dir(feeds, tmp_path, monkeypatch):
    data_home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    out = run_json("ingest", str(feeds / "trace_full_abc123.json"))
    assert out["db"] == str(data_home / "isrwatch" / "isrwatch.duckdb")
    assert Path(out["db"]).exists()


def test_truncated_file_keeps_rows_then_exits_nonzero_with_one_line(tmp_path):
    db = tmp_path / "s.duckdb"
    good = write_trace(tmp_path / "trace_full_abc123.json")
    cut = write_trace(tmp_path / "trace_full_def456.json", "def456", n=20000, gz=True, cut=0.6)
    result = run("ingest", str(good), str(cut), "--db", str(db))
    assert result.exit_code == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: 1 of 2 file(s) could not be read completely")
    assert "truncated_gzip" in err[0] and "trace_full_def456.json" in err[0]
    assert "trace_full_def456.json" in result.stdout and "truncated_gzip" in result.stdout  # counts printed first

    out = run_json("ingest", str(cut), "--db", str(db), code=1)
    assert out["n_errors"] == 1 and out["error"].startswith("1 of 1 file(s)")
    f = out["files"][0]
    assert f["error"].startswith("truncated_gzip:") and f["rows_read"] > 0
    assert f["rejected_by_reason"]["truncated_gzip"] == 0
    info = run_json("store", "info", "--db", str(db))
    assert 500 < info["n_obs"] < 20500 and info["files_with_error"] == 1
    files = run_json("store", "files", "--db", str(db))["files"]
    assert [r["status"] for r in files] == ["completed", "error", "error"]


def test_named_unknown_file_is_an_error(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = run("ingest", str(notes), "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 1 and "unknown_format" in result.stderr
    result = run("ingest", str(notes), "--format", "nonsense", "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 1 and "unknown --format" in result.stderr


def test_store_listings_json_keys(feeds, tmp_path):
    db = str(tmp_path / "s.duckdb")
    run_json("ingest", str(feeds), "--db", db)
    info = run_json("store", "info", "--db", db)
    assert {"db", "schema_version", "n_obs", "n_aircraft", "first", "last", "per_feed", "per_day", "files_ingested",
            "files_with_error", "ingests", "rows_read", "rows_stored", "rows_rejected", "rows_duplicate",
            "rejected_by_reason"} <= set(info)
    assert info["n_aircraft"] == 2
    files = run_json("store", "files", "--db", db)["files"]
    assert {"ingest_id", "path", "sha256", "size_bytes", "format", "feed", "started", "finished", "status",
            "rows_read", "rows_stored", "rows_rejected", "rows_duplicate", "error"} <= set(files[0])
    aircraft = run_json("store", "aircraft", "--db", db)["aircraft"]
    assert [a["icao24"] for a in aircraft] == ["abc123", "def456"]
    assert {"registration", "type_code", "source", "first_seen", "last_seen"} <= set(aircraft[0])
    rejects = run_json("store", "rejects", "--db", db)
    assert set(rejects) == {"db", "rejected_by_reason", "rejects"}
    days = run_json("store", "coverage", "--db", db)["days"]
    assert {"day", "n_obs", "n_aircraft", "first", "last", "max_gap_s"} == set(days[0])
    assert sum(d["n_obs"] for d in days) == info["n_obs"]


def test_markup_from_the_feed_is_shown_verbatim(tmp_path):
    db = str(tmp_path / "s.duckdb")
    write_trace(tmp_path / "trace_full_abc123.json", registration="[bold red]N1[/]", flight="[link]X")
    run_json("ingest", str(tmp_path / "trace_full_abc123.json"), "--db", db)
    result = run("store", "aircraft", "--db", db)
    assert result.exit_code == 0
    assert "[bold red]N1[/]" in result.stdout
    from isrwatch.store import load_observations, open_store

    con = open_store(db, read_only=True)
    assert set(load_observations(con)["callsign"].drop_nulls()) == {"[link]X"}
    con.close()


def test_store_commands_on_a_missing_store_fail_clearly(tmp_path):
    result = run("store", "info", "--db", str(tmp_path / "absent.duckdb"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: no store at {tmp_path / 'absent.duckdb'} (run `isrwatch ingest` first)"


def test_export_then_import_round_trip(feeds, tmp_path):
    db = str(tmp_path / "s.duckdb")
    run_json("ingest", str(feeds), "--db", db)
    out_dir = tmp_path / "exp"
    done = run_json("export", str(out_dir), "--db", db)
    assert done["rows"] == 800 and done["days"] >= 1 and done["files"] >= 1
    assert run("export", str(out_dir), "--db", db).exit_code == 1  # not empty
    other = str(tmp_path / "other.duckdb")
    imported = run_json("import", str(out_dir), "--db", other)
    assert imported["rows_stored"] == 800 and imported["rows_read"] == 800 and imported["n_errors"] == 0
    assert run_json("store", "info", "--db", other)["n_obs"] == 800
    again = run_json("import", str(out_dir), "--db", other)
    assert again["rows_stored"] == 0 and again["rows_duplicate"] == 800


@pytest.mark.shared
def test_human_output_has_counts_and_reasons(tmp_path, shared):
    db = str(tmp_path / "s.duckdb")
    log = shared / "adsb" / "adsbx-v2"
    result = run("ingest", str(log), "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "mil_poll_log_2023-01-24.raw.txt" in result.stdout
    assert "no_position" in result.stdout and "api_error_body" in result.stdout
    out = run_json("ingest", str(log), "--db", db)
    assert out["rows_stored"] == 0 and out["rows_read"] == out["rows_duplicate"] + out["rows_rejected"]


def test_coverage_shows_days_without_observations(tmp_path):
    db = str(tmp_path / "s.duckdb")
    write_trace(tmp_path / "trace_full_abc123.json", "abc123", t0=1_700_000_000.0)  # 2023-11-14
    write_trace(tmp_path / "trace_full_def456.json", "def456", t0=1_700_000_000.0 + 3 * 86400)
    run_json("ingest", str(tmp_path), "--db", db)
    days = run_json("store", "coverage", "--db", db)["days"]
    assert [d["n_obs"] for d in days] == [500, 0, 0, 500]
    result = run("store", "coverage", "--db", db)
    assert result.exit_code == 0
    assert "2023-11-15 … 2023-11-16 (2 days)" in result.stdout and "no observations" in result.stdout


def test_bulk_ingest_as_parquet_parts_through_the_cli(feeds, tmp_path, monkeypatch):
    import isrwatch.store.ingestion as ingestion

    monkeypatch.setattr(ingestion, "PART_MIN_ROWS", 100)  # both traces are bulk writes here
    db = tmp_path / "s.duckdb"
    out = run_json("ingest", str(feeds), "--db", str(db))
    assert (out["rows_read"], out["rows_stored"]) == (800, 800)
    parts = sorted((tmp_path / "s.duckdb.parts").glob("day=*/part-*.parquet"))
    assert len(parts) == 2
    info = run_json("store", "info", "--db", str(db))
    assert info["n_obs"] == 800 and info["n_aircraft"] == 2
    forced = run_json("ingest", str(feeds), "--db", str(db), "--force")
    assert forced["rows_duplicate"] == 800 and forced["rows_stored"] == 0
    assert sorted((tmp_path / "s.duckdb.parts").glob("day=*/part-*.parquet")) == parts
    exported = run_json("export", str(tmp_path / "exp"), "--db", str(db))
    assert exported["rows"] == 800
    other = tmp_path / "other.duckdb"
    assert run_json("import", str(tmp_path / "exp"), "--db", str(other))["rows_stored"] == 800
    assert run_json("store", "info", "--db", str(other))["per_day"] == info["per_day"]
    # a store separated from its parts says so instead of counting fewer observations
    for p in parts:
        p.unlink()
    result = run("store", "info", "--db", str(db))
    assert result.exit_code == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and "Parquet parts are missing" in err[0]
