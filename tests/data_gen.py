"""Small generators of feed files, good and bad, for the reader tests."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def trace_row(
    dt: float,
    lat: float | None,
    lon: float | None,
    alt: object = 30000,
    *,
    gs: float | None = 450.0,
    track: float | None = 90.0,
    flags: int = 0,
    vrate: float | None = 0,
    ac: dict | None = None,
    kind: str | None = "adsb_icao",
) -> list:
    return [dt, lat, lon, alt, gs, track, flags, vrate, ac, kind, None, None, None, None]


def straight_trace(n: int, *, lat0: float = 40.0, lon0: float = -100.0, step_s: float = 10.0) -> list[list]:
    """n points flying east at about 450 kt (0.0125 degrees of longitude per 10 s at 40N)."""
    return [trace_row(i * step_s, lat0, lon0 + i * 0.0125 * step_s / 10.0) for i in range(n)]


def trace_doc(icao: str, rows: list[list], *, timestamp: float = T0, **top: object) -> dict:
    doc: dict = {"icao": icao, **top, "timestamp": timestamp, "trace": rows}
    return doc


def trace_bytes(doc: dict) -> bytes:
    # readsb writes one point per line, as here
    head = json.dumps({k: v for k, v in doc.items() if k != "trace"})[:-1]
    rows = ",\n".join(json.dumps(r) for r in doc["trace"])
    return (head + ',\n"trace":[\n' + rows + "\n]}").encode()


def write_readsb_trace(
    path: Path,
    icao: str = "abc123",
    n: int = 500,
    *,
    gz: bool = False,
    cut: float | None = None,
    registration: str = "N1",
    flight: str = "TEST1",
    t0: float = T0,
    flight_every: int = 50,
) -> Path:
    """A readsb trace_full file of n points flying north-east (the format the readers detect from
    content), an aircraft object every flight_every points; gz compresses it, cut keeps that share
    of its bytes."""
    points = [
        [i * 2.0, 30 + i * 1e-3, -100 + i * 1e-3, 30000, 400.0, 45.0, 0, 0,
         {"type": "adsb_icao", "flight": flight} if i % flight_every == 0 else None, "adsb_icao", 30500, 0, 280, 0.0]
        for i in range(n)
    ]
    doc = {"icao": icao, "r": registration, "t": "P8", "dbFlags": 1, "timestamp": t0, "trace": points}
    raw = json.dumps(doc).encode()
    if gz:
        raw = gzip.compress(raw)
    if cut is not None:
        raw = raw[: int(len(raw) * cut)]
    path.write_bytes(raw)
    return path


def write(path: Path, data: bytes, *, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def truncate(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def api_response(aircraft: list[dict], *, now_ms: float = T0 * 1000) -> dict:
    return {"ac": aircraft, "msg": "No error", "now": now_ms, "total": len(aircraft), "ctime": now_ms, "ptime": 0}


def api_aircraft(hex_: str, lat: float | None = 35.0, lon: float | None = -120.0, **extra: object) -> dict:
    a: dict = {"hex": hex_, "type": "adsb_icao", "flight": "TEST1   ", "alt_baro": 20000, "gs": 300.0, "track": 45.0}
    if lat is not None:
        a["lat"] = lat
    if lon is not None:
        a["lon"] = lon
    a["seen_pos"] = 1.5
    a.update(extra)
    return a


def traffic_records(n: int, *, icao: str = "4ca1fa", t0_ms: int = int(T0 * 1000)) -> list[dict]:
    return [
        {
            "timestamp": t0_ms + i * 1000,
            "icao24": icao,
            "callsign": "EIN12A",
            "latitude": 53.0 + i * 0.001,
            "longitude": -6.0 + i * 0.001,
            "altitude": 10000.0 + i,
            "groundspeed": 300.0,
            "track": 45.0,
            "vertical_rate": 0.0,
            "onground": False,
            "squawk": "2000",
        }
        for i in range(n)
    ]


def globe_tar(path: Path, members: dict[str, bytes], *, gz_members: bool = True) -> Path:
    """A globe_history-style tar: traces/<xx>/trace_full_<hex>.json, each gzip like readsb writes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            payload = gzip.compress(data, mtime=0) if gz_members else data
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(payload))
    path.write_bytes(buf.getvalue())
    return path


def split(path: Path, n_parts: int) -> list[Path]:
    """Split a file into path.aa, path.ab, ... as `split` does for adsb.lol releases; remove path."""
    data = path.read_bytes()
    size = -(-len(data) // n_parts)
    parts = []
    for i in range(n_parts):
        part = path.with_name(path.name + "." + "a" + chr(ord("a") + i))
        part.write_bytes(data[i * size : (i + 1) * size])
        parts.append(part)
    path.unlink()
    return parts
