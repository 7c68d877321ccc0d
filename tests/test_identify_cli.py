"""`isrwatch identify`, `isrwatch db update`, `isrwatch db status`."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from isrwatch.cli import app
from tests.conftest import shared_file

runner = CliRunner()

TAR1090 = (
    "icao24,registration,typecode,dbflags,description\n"
    "ae01cc,62-4131,R135,10,Boeing RC-135W Rivet Joint\n"
    "a00c4b,\x1b[31mEVIL<b>,C82T,00,CESSNA 182\n"
)
PLANE_ALERT = (
    "$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link\n"
    "A00C4B,N102BR,OTV Leasing (DOJ),Cessna 182T,C182,Gov,Covert,,,Oxcart,\n"
)


@pytest.fixture(autouse=True)
def _no_db_env(monkeypatch):
    monkeypatch.delenv("ISRWATCH_AIRCRAFT_DB", raising=False)
    monkeypatch.delenv("ISRWATCH_PLANE_ALERT_DB", raising=False)


@pytest.fixture
def db_files(tmp_path):
    adb = tmp_path / "flat.csv.gz"
    with gzip.open(adb, "wt", encoding="utf-8") as fh:
        fh.write(TAR1090)
    pdb = tmp_path / "plane-alert-db.csv"
    pdb.write_text(PLANE_ALERT, encoding="utf-8")
    return adb, pdb


def test_identify_without_databases_says_so():
    r = runner.invoke(app, ["identify", "ae01cc", "A00C4B", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["status"]["aircraft_db"] == "missing"
    assert "no aircraft database" in r.stderr
    by = {a["icao24"]: a for a in out["aircraft"]}
    assert by["ae01cc"]["military"] is True and by["ae01cc"]["military_source"] == "hex_block"
    assert by["a00c4b"]["type_source"] == "no database"
    assert list(by["ae01cc"]) == [
        "icao24", "registration", "type_code", "type_description", "operator", "country_iso2", "country",
        "military", "isr_role", "isr_variant", "registration_source", "type_source", "operator_source",
        "country_source", "military_source", "isr_role_source",
    ]


def test_identify_with_database_paths_json_and_conflicts(db_files):
    adb, pdb = db_files
    r = runner.invoke(app, ["identify", "ae01cc", "a00c4b", "--aircraft-db", str(adb), "--plane-alert-db", str(pdb), "--json", "--conflicts"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    by = {a["icao24"]: a for a in out["aircraft"]}
    assert (by["ae01cc"]["isr_role"], by["ae01cc"]["isr_variant"]) == ("sigint", "RC-135W Rivet Joint")
    assert by["a00c4b"]["isr_role"] == "other_isr"
    assert out["status"]["databases"]["tar1090"]["rows"] == 2
    assert {(c["icao24"], c["fact"]) for c in out["conflicts"]} >= {("a00c4b", "registration"), ("a00c4b", "type_code")}


def test_text_output_escapes_control_characters(db_files):
    adb, _ = db_files
    r = runner.invoke(app, ["identify", "a00c4b", "--aircraft-db", str(adb)])
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.stdout
    assert "?[31mEVIL<b>" in r.stdout
    assert "1 aircraft" in r.stdout


def test_isr_only(db_files):
    adb, _ = db_files
    r = runner.invoke(app, ["identify", "ae01cc", "a00c4b", "--aircraft-db", str(adb), "--isr-only", "--json"])
    assert [a["icao24"] for a in json.loads(r.stdout)["aircraft"]] == ["ae01cc"]


def test_bad_input_is_a_clear_error(tmp_path):
    r = runner.invoke(app, ["identify", "ae01cc", "nothex"])
    assert r.exit_code == 1 and "not an ICAO 24-bit address" in r.stderr and "nothex" in r.stderr
    r = runner.invoke(app, ["identify", "ae01cc", "--aircraft-db", str(tmp_path / "missing.csv")])
    assert r.exit_code == 1 and "not found" in r.stderr
    r = runner.invoke(app, ["identify", "--db", str(tmp_path / "nostore.duckdb")])
    assert r.exit_code == 1 and "no store" in r.stderr


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802
        body = self.bodies.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_db_update_and_status(tmp_path):
    tar = gzip.compress(b"ae01cc;62-4131;R135;10;Boeing RC-135W Rivet Joint;;;\n")
    handler = type("H", (_Handler,), {"bodies": {"/a.csv.gz": tar, "/p.csv": PLANE_ALERT.encode()}})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        urls = ["--url", f"tar1090={base}/a.csv.gz", "--url", f"plane-alert={base}/p.csv"]
        r = runner.invoke(app, ["db", "update", *urls, "--sha256", "tar1090=" + "0" * 64])
        assert r.exit_code == 1 and "checksum mismatch" in r.stderr
        r = runner.invoke(app, ["db", "status", "--json"])
        assert not any(d["present"] for d in json.loads(r.stdout)["databases"])
        r = runner.invoke(app, ["db", "update", *urls, "--sha256", "tar1090=" + hashlib.sha256(tar).hexdigest(), "--json"])
        assert r.exit_code == 0, r.output
        assert [u["name"] for u in json.loads(r.stdout)["updated"]] == ["tar1090", "plane-alert"]
        r = runner.invoke(app, ["db", "status", "--verify"])
        assert r.exit_code == 0 and "checksum OK" in r.stdout and "tar1090: 1 aircraft" in r.stdout
        # identify now finds the cached copies by itself
        r = runner.invoke(app, ["identify", "ae01cc", "--json"])
        out = json.loads(r.stdout)
        assert out["status"]["aircraft_db"] == "loaded" and out["status"]["databases"]["tar1090"]["origin"] == "cache"
        assert out["aircraft"][0]["isr_role"] == "sigint"
        r = runner.invoke(app, ["db", "update", "--url", "tar1090"])
        assert r.exit_code == 1 and "NAME=VALUE" in r.stderr
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_identify_stored_aircraft(tmp_path, shared):
    from isrwatch.store import ingest, open_store

    store = tmp_path / "s.duckdb"
    con = open_store(store)
    try:
        ingest(con, shared_file("adsb", "adsbx-v2", "mil_2023-01-24T033421Z.json"))
    finally:
        con.close()
    adb = shared_file("aircraft", "tar1090-db", "flattened_aircraft.csv.gz")
    r = runner.invoke(app, ["identify", "--db", str(store), "--aircraft-db", str(adb), "--isr-only", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["status"]["n_aircraft"] >= 200
    roles = {a["icao24"]: a["isr_role"] for a in out["aircraft"]}
    assert roles["ae01cc"] == "sigint" and roles["ae11e2"] == "aew"
