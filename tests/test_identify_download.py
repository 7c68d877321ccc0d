"""`db update` / `db status` against an HTTP server on 127.0.0.1 started by the test."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from isrwatch.identify import download
from isrwatch.identify.databases import load_aircraft_db, load_plane_alert
from isrwatch.identify.download import DownloadError, status, update

TAR1090 = gzip.compress(
    b"ae01cc;62-4131;R135;10;Boeing RC-135W Rivet Joint;;;\n"
    b"a00c4b;N102BR;C82T;00;CESSNA 182;;;\n"
    b"ae0413;164386;E6;10;Boeing E-6B Mercury;;;\n"
)
PLANE_ALERT = (
    b"$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link\n"
    b"AE01CC,62-4131,USAF,Boeing RC-135W,R135,Mil,Eye In The Sky,SIGINT,Rivet Joint,Oxcart,\n"
)


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 (http.server API)
        code, body, headers = self.routes.get(self.path, (404, b"not found", {}))
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    routes: dict = {}
    handler = type("H", (_Handler,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    routes["/aircraft.csv.gz"] = (200, TAR1090, {})
    routes["/plane-alert-db.csv"] = (200, PLANE_ALERT, {})
    try:
        yield base, routes
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_db_env(monkeypatch):
    monkeypatch.delenv("ISRWATCH_AIRCRAFT_DB", raising=False)
    monkeypatch.delenv("ISRWATCH_PLANE_ALERT_DB", raising=False)


def _urls(base):
    return {"tar1090": f"{base}/aircraft.csv.gz", "plane-alert": f"{base}/plane-alert-db.csv"}


def _leftovers():
    return sorted(p.name for p in download.db_dir().glob("*.part"))


def test_update_downloads_both_with_checksums_and_dates(server):
    base, _ = server
    records = update(urls=_urls(base))
    assert [r["name"] for r in records] == ["tar1090", "plane-alert"]
    by = {r["name"]: r for r in records}
    assert by["tar1090"]["sha256"] == hashlib.sha256(TAR1090).hexdigest()
    assert by["tar1090"]["rows"] == 3 and by["plane-alert"]["rows"] == 1
    manifest = json.loads(download.manifest_path().read_text())
    assert manifest["files"]["tar1090"]["sha256"] == hashlib.sha256(TAR1090).hexdigest()
    assert manifest["files"]["plane-alert"]["downloaded_at"].endswith("+00:00")
    assert _leftovers() == []
    # the cached copies are what the loaders find when nothing else is given
    adb, pdb = load_aircraft_db(), load_plane_alert()
    assert adb.origin == "cache" and adb.table.height == 3
    assert pdb.origin == "cache" and pdb.table["icao24"].to_list() == ["ae01cc"]
    st = status(verify=True)
    assert [d["present"] for d in st["databases"]] == [True, True]
    assert all(d["verified"] for d in st["databases"])


def test_status_before_any_download_says_nothing_is_cached():
    st = status()
    assert [d["name"] for d in st["databases"]] == ["tar1090", "plane-alert"]
    assert not any(d["present"] for d in st["databases"])
    assert st["databases"][0]["url"].startswith("https://raw.githubusercontent.com/wiedehopf/tar1090-db/")


def test_checksum_mismatch_is_a_clear_error_and_keeps_the_previous_copy(server):
    base, routes = server
    update(["tar1090"], urls=_urls(base))
    before = (download.db_dir() / "aircraft.csv.gz").read_bytes()
    manifest_before = download.manifest_path().read_text()
    routes["/aircraft.csv.gz"] = (200, gzip.compress(b"ae01cc;TAMPERED;R135;10;x;;;\n" * 3), {})
    with pytest.raises(DownloadError, match="checksum mismatch.*expected sha256 0{64}"):
        update(["tar1090"], urls=_urls(base), expected_sha256={"tar1090": "0" * 64})
    assert _leftovers() == []
    assert (download.db_dir() / "aircraft.csv.gz").read_bytes() == before
    assert download.manifest_path().read_text() == manifest_before


def test_pinned_checksum_that_matches_is_accepted(server):
    base, _ = server
    rec = update(["plane-alert"], urls=_urls(base), expected_sha256={"plane-alert": hashlib.sha256(PLANE_ALERT).hexdigest().upper()})
    assert rec[0]["rows"] == 1


def test_mismatch_on_first_download_leaves_no_file_at_all(server):
    base, _ = server
    with pytest.raises(DownloadError, match="checksum mismatch"):
        update(["tar1090"], urls=_urls(base), expected_sha256={"tar1090": "ab" * 32})
    assert sorted(p.name for p in download.db_dir().iterdir()) == []
    assert load_aircraft_db() is None


@pytest.mark.parametrize(
    "route, match",
    [
        ((429, b"Too many requests", {}), "HTTP 429"),
        ((200, b"<html>You are not subscribed</html>", {}), "does not parse"),
        ((200, b"", {}), "does not parse"),
        ((200, gzip.compress(b"ae01cc;62-4131;R135;10;x;;;\n" * 4000)[:300], {}), "does not parse.*unreadable"),
    ],
)
def test_bad_responses_are_refused_without_partial_files(server, route, match):
    base, routes = server
    routes["/aircraft.csv.gz"] = route
    with pytest.raises(DownloadError, match=match):
        update(["tar1090"], urls=_urls(base))
    assert _leftovers() == []
    assert not (download.db_dir() / "aircraft.csv.gz").exists()


def test_truncated_body_is_refused(server):
    base, routes = server
    routes["/aircraft.csv.gz"] = (200, TAR1090[:20], {"Content-Length": str(len(TAR1090))})
    with pytest.raises(DownloadError):
        update(["tar1090"], urls=_urls(base), timeout=5)
    assert _leftovers() == []


def test_unknown_database_name():
    with pytest.raises(DownloadError, match="unknown database"):
        update(["flightradar"])
