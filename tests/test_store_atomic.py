"""An ingest killed mid-file (SIGKILL, no cleanup) leaves the store as it was before that file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from isrwatch.store import ingest, load_ingest_log, open_store, summary

CHILD = r"""
import sys, time
import isrwatch.store.ingestion as store_ingest
from isrwatch.store import ingest, open_store

store_ingest.CHUNK_ROWS = 10_000  # insert every batch, so rows are written before the kill
db, path, marker, storage = sys.argv[1:5]
if storage == "parts":
    store_ingest.PART_MIN_ROWS = 1  # every batch a Parquet part, written before the kill
con = open_store(db)
calls = 0

def progress(rows):
    global calls
    calls += 1
    if calls == 4:  # 40,000 rows inserted in the open transaction: say how many it holds
        held = con.execute("SELECT count(*) FROM observations WHERE icao24 = 'def456'").fetchall()[0][0]
        with open(marker, "w") as fh:
            fh.write(f"{rows} {held}")
        time.sleep(120)  # wait to be killed

ingest(con, path, progress=progress, batch_rows=10_000)
print("finished without being killed")
"""


def write_trace(path: Path, icao: str, n: int) -> Path:
    points = [[i * 1.0, 10 + i * 1e-4, 20 + i * 1e-4, 30000, 400.0, 45.0, 0, 0, None, "adsb_icao"] for i in range(n)]
    path.write_text(json.dumps({"icao": icao, "r": "N1", "timestamp": 1_700_000_000.0, "trace": points}))
    return path


def part_files(db: Path) -> list[Path]:
    return sorted((db.parent / (db.name + ".parts")).glob("day=*/*.parquet"))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
@pytest.mark.parametrize("storage", ["table", "parts"])
def test_ingest_killed_mid_file_leaves_the_store_as_before(tmp_path, storage, monkeypatch):
    import isrwatch.store.ingestion as store_ingest

    if storage == "parts":
        monkeypatch.setattr(store_ingest, "PART_MIN_ROWS", 1)
    db = tmp_path / "s.duckdb"
    before_file = write_trace(tmp_path / "trace_full_abc123.json", "abc123", 1000)
    big = write_trace(tmp_path / "trace_full_def456.json", "def456", 100_000)
    con = open_store(db)
    assert ingest(con, before_file).rows_stored == 1000
    before = summary(con)
    parts_before = part_files(db)
    assert len(parts_before) == (1 if storage == "parts" else 0)
    con.close()

    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(big), str(marker), storage],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never reached the middle of the file"
            time.sleep(0.05)
        assert marker.read_text() == "40000 40000"  # read and already inserted, uncommitted
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    if storage == "parts":  # the killed ingest's parts are on disk, named by no committed row
        assert len(part_files(db)) > len(parts_before)

    con = open_store(db)
    assert part_files(db) == parts_before  # orphans deleted by the writable open
    assert summary(con) == before
    assert load_ingest_log(con)["path"].to_list() == [str(before_file)]
    n_def = con.execute("SELECT count(*) FROM observations WHERE icao24 = 'def456'").fetchall()[0][0]
    assert n_def == 0
    # the store is intact and takes the file on the next attempt
    again = ingest(con, big)
    assert again.error is None and again.rows_stored == 100_000 and not again.skipped_already_ingested
    assert summary(con)["n_obs"] == 101_000
    con.close()
