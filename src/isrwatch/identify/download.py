"""`isrwatch db update` / `db status`: download the aircraft databases into the cache.

Files land in ``paths.cache_dir()/aircraft-db/`` next to ``manifest.json``, which records for
each file its URL, sha256, size, row count and the UTC time it was downloaded. A download is
written to a ``.part`` file, checked (HTTP status, Content-Length, the expected sha256 when the
caller pins one, and that the file parses as the database it claims to be) and only then moved
over the previous copy, so a failed or tampered download never leaves a partial file and never
destroys the copy that was there.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx

from isrwatch import paths

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Source:
    name: str  # "tar1090" or "plane-alert"
    url: str
    filename: str
    licence: str
    homepage: str


SOURCES: dict[str, Source] = {
    "tar1090": Source(
        "tar1090",
        # the upstream README's download link for the current aircraft.csv.gz (csv branch)
        "https://raw.githubusercontent.com/wiedehopf/tar1090-db/csv/aircraft.csv.gz",
        "aircraft.csv.gz",
        "see https://github.com/wiedehopf/tar1090-db (data from the Mictronics aircraft database)",
        "https://github.com/wiedehopf/tar1090-db",
    ),
    "plane-alert": Source(
        "plane-alert",
        "https://raw.githubusercontent.com/sdr-enthusiasts/plane-alert-db/main/plane-alert-db.csv",
        "plane-alert-db.csv",
        "ODbL 1.0 (c) SDR-Enthusiasts and contributors",
        "https://github.com/sdr-enthusiasts/plane-alert-db",
    ),
}


class DownloadError(RuntimeError):
    """A database download failed; the cache keeps whatever it held before."""


def db_dir() -> Path:
    return paths.cache_dir() / "aircraft-db"


def manifest_path() -> Path:
    return db_dir() / "manifest.json"


def read_manifest() -> dict:
    p = manifest_path()
    if not p.is_file():
        return {"version": MANIFEST_VERSION, "files": {}}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": MANIFEST_VERSION, "files": {}, "error": f"unreadable manifest {p}"}
    data.setdefault("files", {})
    return data


def _write_manifest(data: dict) -> None:
    p = manifest_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".json.part")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, p)


def cached_file(kind: str) -> Path | None:
    """The downloaded file of this kind, if the manifest names one that exists."""
    entry = read_manifest()["files"].get(kind)
    if not entry:
        return None
    p = db_dir() / entry.get("file", "")
    return p if p.is_file() else None


def _fetch(client: httpx.Client, url: str, part: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with client.stream("GET", url) as resp:
        if resp.status_code != 200:
            raise DownloadError(f"{url}: HTTP {resp.status_code}")
        expected_len = resp.headers.get("content-length")
        encoded = resp.headers.get("content-encoding", "identity") not in ("", "identity")
        with open(part, "wb") as fh:
            for chunk in resp.iter_bytes():
                fh.write(chunk)
                h.update(chunk)
                size += len(chunk)
        # Content-Length counts encoded bytes; only comparable when the body was not re-encoded
        if not encoded and expected_len is not None and expected_len.isdigit() and int(expected_len) != size:
            raise DownloadError(f"{url}: truncated download ({size} of {expected_len} bytes)")
    return h.hexdigest(), size


def update(
    names: list[str] | None = None,
    *,
    urls: dict[str, str] | None = None,
    expected_sha256: dict[str, str] | None = None,
    timeout: float = 120.0,
    client: httpx.Client | None = None,
) -> list[dict]:
    """Download the named databases (default: all) into the cache; return one record per file.

    urls overrides a source's URL (mirrors, tests); expected_sha256 pins a file's checksum, and a
    mismatch is an error. Raises DownloadError on the first failure, after cleaning up.
    """
    from isrwatch.identify.databases import DatabaseError, read_aircraft_db, read_plane_alert

    readers = {"tar1090": read_aircraft_db, "plane-alert": read_plane_alert}
    names = list(names or SOURCES)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise DownloadError(f"unknown database {unknown}; known: {sorted(SOURCES)}")
    urls, expected_sha256 = urls or {}, expected_sha256 or {}
    target_dir = db_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=timeout, headers={"User-Agent": "isrwatch"})
    records = []
    try:
        for name in names:
            src = SOURCES[name]
            url = urls.get(name, src.url)
            final = target_dir / src.filename
            part = target_dir / (src.filename + ".part")
            try:
                try:
                    digest, size = _fetch(client, url, part)
                except httpx.HTTPError as exc:
                    raise DownloadError(f"{url}: {type(exc).__name__}: {exc}") from exc
                want = expected_sha256.get(name)
                if want and want.lower() != digest:
                    raise DownloadError(
                        f"{name}: checksum mismatch for {url}: expected sha256 {want.lower()}, got {digest}"
                    )
                try:
                    loaded = readers[name](part)
                except (DatabaseError, OSError, ValueError) as exc:
                    raise DownloadError(f"{name}: downloaded file does not parse: {exc}") from exc
                if loaded.table.height == 0:
                    raise DownloadError(f"{name}: downloaded file holds no aircraft")
                os.replace(part, final)
            finally:
                part.unlink(missing_ok=True)
            record = {
                "name": name,
                "file": src.filename,
                "path": str(final),
                "url": url,
                "sha256": digest,
                "bytes": size,
                "rows": loaded.table.height,
                "rejected": int(loaded.rejects["n_rows"].sum()) if loaded.rejects.height else 0,
                "downloaded_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                "licence": src.licence,
            }
            manifest = read_manifest()
            manifest["version"] = MANIFEST_VERSION
            manifest["files"][name] = {k: v for k, v in record.items() if k not in ("name", "path")}
            _write_manifest(manifest)
            records.append(record)
    finally:
        if own_client:
            client.close()
    return records


def status(verify: bool = False) -> dict:
    """What is cached: one entry per known database (present or not), from the manifest.

    verify=True re-hashes each file and reports whether it still matches its recorded sha256.
    """
    from isrwatch.identify.databases import sha256_file

    manifest = read_manifest()
    out = {"cache_dir": str(db_dir()), "manifest": str(manifest_path()), "databases": []}
    if "error" in manifest:
        out["error"] = manifest["error"]
    for name, src in SOURCES.items():
        entry = manifest["files"].get(name)
        p = db_dir() / entry["file"] if entry else None
        item = {
            "name": name,
            "present": bool(p and p.is_file()),
            "path": str(p) if p else None,
            "url": entry.get("url") if entry else src.url,
            "sha256": entry.get("sha256") if entry else None,
            "bytes": entry.get("bytes") if entry else None,
            "rows": entry.get("rows") if entry else None,
            "downloaded_at": entry.get("downloaded_at") if entry else None,
            "licence": src.licence,
        }
        env_var = {"tar1090": "ISRWATCH_AIRCRAFT_DB", "plane-alert": "ISRWATCH_PLANE_ALERT_DB"}[name]
        if os.environ.get(env_var):
            item["env_override"] = os.environ[env_var]
        if verify and item["present"]:
            item["verified"] = sha256_file(p) == item["sha256"]
        out["databases"].append(item)
    return out
