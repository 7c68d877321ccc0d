"""Writing observations as readsb / tar1090 ``trace_full_<hex>.json`` files.

Format, as readsb's json_out.c writes a trace point (checked against readsb's source):
``[dt, lat, lon, alt_baro|"ground"|null, gs, track, flags, vrate, aircraft|null, source, alt_geom,
geom_rate, ias, roll]`` with dt in seconds after the top-level ``timestamp`` (2 decimals),
lat/lon with 6 decimals, and ``flags = alt_geom<<3 | rate_geom<<2 | leg_marker<<1 | stale``.
An aircraft object (readsb's full state) accompanies every 4th point. The files are gzip-compressed
though named .json, one file per aircraft per UTC day, laid out as readsb's globe history:
``YYYY/MM/DD/traces/<last two hex digits>/trace_full_<hex>.json``.

Leg marks follow readsb's mark_legs() rules in simplified form: a long reception gap with little
movement, a long gap on the ground, a stop on the ground of a minute or more between a descent and
a climb, or a low descent and a low climb either side of a reception gap. Some marks readsb would set
are then left out (``coverage.leg_mark_miss``), as real feeds are imperfect.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isrwatch.simulate import geo
from isrwatch.simulate.observe import SOURCE_NAMES, SRC_MLAT, Observed
from isrwatch.simulate.scenario import Aircraft, Scenario

FLAG_STALE, FLAG_LEG, FLAG_RATE_GEOM, FLAG_ALT_GEOM = 1, 2, 4, 8


@dataclass
class AircraftRows:
    """All observed rows of one aircraft across its sorties, time-ordered."""

    icao24: str
    obs: dict  # column name -> array
    leg_marks: list[dict]  # every mark readsb would set, with whether the feed kept it


def _concat(observed: list[Observed]) -> dict:
    cols = ["t", "lat", "lon", "source", "on_ground", "alt_baro", "alt_geom", "gs", "track", "vrate", "geom_rate",
            "ias", "roll", "baro_missing", "callsign", "flight_ok", "outlier", "true_index"]
    out = {c: np.concatenate([getattr(o, c) for o in observed]) for c in cols}
    out["sortie"] = np.concatenate([np.full(len(o.t), o.sortie_id, object) for o in observed])
    out["squawk"] = np.concatenate([np.full(len(o.t), o.squawk, object) for o in observed])
    order = np.argsort(out["t"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def _leg_candidates(obs: dict) -> list[tuple[int, str]]:
    """Row indices where readsb would mark a new leg, with the rule that fired."""
    t, lat, lon, ground, alt = obs["t"], obs["lat"], obs["lon"], obs["on_ground"], obs["alt_baro"]
    n = len(t)
    marks: list[tuple[int, str]] = []
    if n < 2:
        return marks
    el = np.diff(t)
    dist = geo.haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    # a long gap with little movement (aircraft parked, or came back to the same place)
    for i in np.flatnonzero((el > 1800) & (dist < 10.0 * el / 1800.0) & (dist > 0.001)) + 1:
        marks.append((int(i), "gap_little_movement"))
    # a long gap on the ground
    for i in np.flatnonzero((el > 1500) & (ground[:-1] | ground[1:])) + 1:
        marks.append((int(i), "gap_on_ground"))
    # a stop of a minute or more on the ground between a descent and a climb
    d = np.diff(np.concatenate([[0], ground.astype(np.int8), [0]]))
    for g0, g1 in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        if g0 == 0 or g1 >= n:
            continue
        if t[g1 - 1] - t[g0] < 60.0:
            continue  # touch-and-go: no new leg
        mid = (t[g0 - 1] + t[g1]) / 2.0
        k = int(np.searchsorted(t, mid, side="right"))
        marks.append((min(max(k, g0), g1), "ground_stop"))
    # low descent and low climb either side of a reception gap (landing not seen)
    vr = np.nan_to_num(obs["vrate"], nan=0.0)
    low_before = ~ground[:-1] & (alt[:-1] < 10000) & (vr[:-1] < 0)
    low_after = ~ground[1:] & (alt[1:] < 10000) & (vr[1:] > 0)
    for i in np.flatnonzero((el > 12 * 60) & low_before & low_after) + 1:
        marks.append((int(i), "float_gap"))
    marks.sort()
    out: list[tuple[int, str]] = []
    for i, why in marks:  # one mark per event
        if out and t[i] - t[out[-1][0]] < 600:
            continue
        out.append((i, why))
    return out


def aircraft_rows(observed: list[Observed], scenario: Scenario, rng: np.random.Generator, *,
                  stale_after_s: float | None = None) -> AircraftRows:
    """One aircraft's rows with readsb's flags and leg marks. stale_after_s: a row after a longer
    silence is flagged stale (default: the scenario's coverage.stale_after_s; inf: never, for
    traces thinned by the writer rather than by reception)."""
    obs = _concat(observed)
    n = len(obs["t"])
    flags = np.zeros(n, np.int64)
    stale_s = scenario.coverage.stale_after_s if stale_after_s is None else stale_after_s
    if n:
        el = np.diff(obs["t"], prepend=-1e12)
        flags |= np.where(el > stale_s, FLAG_STALE, 0)
        flags |= np.where(obs["baro_missing"], FLAG_ALT_GEOM | FLAG_RATE_GEOM, 0)
    legs = []
    ground, sortie = obs["on_ground"], obs["sortie"]
    air_idx = np.flatnonzero(~ground)
    for i, why in _leg_candidates(obs):
        kept = bool(rng.random() >= scenario.coverage.leg_mark_miss)
        if kept:
            flags[i] |= FLAG_LEG
        before = air_idx[air_idx < i]
        after = air_idx[air_idx >= i]
        boundary = bool(len(before) and len(after) and sortie[before[-1]] != sortie[after[0]])
        legs.append({"time": float(obs["t"][i]), "rule": why, "set": kept, "true_boundary": boundary,
                     "sortie_before": str(sortie[before[-1]]) if len(before) else None,
                     "sortie_after": str(sortie[after[0]]) if len(after) else None})
    obs["flags"] = flags
    return AircraftRows(icao24=observed[0].icao24, obs=obs, leg_marks=legs)


# --- JSON, as readsb prints it ---------------------------------------------------------------------


def _num(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "null"
    return fmt % v


def _object(o: dict, i: int, ac: Aircraft) -> str:
    src = int(o["source"][i])
    ground = bool(o["on_ground"][i])
    obj: dict = {"type": SOURCE_NAMES[src]}
    cs = o["callsign"][i]
    if src == SRC_MLAT:
        obj.update({"track": round(float(o["track"][i]), 2), "squawk": o["squawk"][i], "emergency": "none",
                    "category": ac.category, "nic": 0, "rc": 0, "version": 0, "nac_p": 0, "sil": 0,
                    "sil_type": "unknown", "alert": 0, "spi": 0, "mlat": ["lat", "lon", "track", "gs"], "tisb": []})
        return json.dumps(obj, separators=(",", ":"))
    if cs is not None and o["flight_ok"][i]:
        obj["flight"] = f"{cs:<8}"
    if not math.isnan(o["alt_geom"][i]):
        obj["alt_geom"] = int(o["alt_geom"][i])
    if not ground:
        alt = float(o["alt_baro"][i])
        ias = o["ias"][i]
        tas = ias * (1.0 + 0.02 * max(alt, 0.0) / 1000.0) if not math.isnan(ias) else None
        if not math.isnan(ias):
            obj["ias"] = int(ias)
            obj["tas"] = int(round(tas))
            obj["mach"] = round(tas / (661.5 - 2.6 * min(alt, 36000) / 1000.0), 3)
    obj["track"] = round(float(o["track"][i]), 2)
    if ground:
        obj["true_heading"] = round(float(o["track"][i]), 2)
    elif not math.isnan(o["roll"][i]):
        obj["roll"] = round(float(o["roll"][i]), 2)
    if not math.isnan(o["vrate"][i]):
        obj["baro_rate"] = int(o["vrate"][i])
    if not math.isnan(o["geom_rate"][i]):
        obj["geom_rate"] = int(o["geom_rate"][i])
    obj.update({"squawk": o["squawk"][i], "emergency": "none", "category": ac.category})
    if not ground:
        obj["nav_qnh"] = 1013.2
        obj["nav_altitude_mcp"] = int(round(float(o["alt_baro"][i]) / 1000.0) * 1000)
    obj.update({"nic": 8, "rc": 186, "version": 2, "nic_baro": 1, "nac_p": 9, "nac_v": 1, "sil": 3,
                "sil_type": "perhour", "gva": 2, "sda": 2, "alert": 0, "spi": 0})
    return json.dumps(obj, separators=(",", ":"))


def _row(o: dict, i: int, ref: float, with_object: bool, ac: Aircraft) -> str:
    src = int(o["source"][i])
    ground = bool(o["on_ground"][i])
    flags = int(o["flags"][i])
    if ground:
        alt = '"ground"'
    elif flags & FLAG_ALT_GEOM:
        alt = "%d" % int(o["alt_geom"][i])
    else:
        alt = "%d" % int(o["alt_baro"][i])
    if flags & FLAG_RATE_GEOM:
        rate = _num(o["geom_rate"][i], "%d")
    else:
        rate = _num(o["vrate"][i], "%d")
    obj = _object(o, i, ac) if with_object else "null"
    return "[%.2f,%f,%f,%s,%.1f,%.1f,%d,%s,%s,\"%s\",%s,%s,%s,%s]" % (
        o["t"][i] - ref, o["lat"][i], o["lon"][i], alt, max(float(o["gs"][i]), 0.0), float(o["track"][i]),
        flags, rate, obj, SOURCE_NAMES[src], _num(o["alt_geom"][i], "%d"), _num(o["geom_rate"][i], "%d"),
        _num(o["ias"][i], "%d"), _num(o["roll"][i], "%.1f"),
    )


def _s(v: str) -> str:
    return json.dumps(v, ensure_ascii=False)


def trace_json(rows: AircraftRows, sel: np.ndarray, ac: Aircraft, scenario: Scenario) -> str:
    """One trace_full file's JSON text for the selected rows (indices into rows.obs)."""
    o = rows.obs
    ref = round(float(o["t"][sel[0]]), 3)
    head = [f'{{"icao":{_s(ac.icao24)}']
    if ac.registration:
        head.append(f'"r":{_s(str(ac.registration))}')
    if ac.type_code:
        head.append(f'"t":{_s(str(ac.type_code))}')
    head.append(f'"dbFlags":{int(ac.db_flags)}')
    if ac.description:
        head.append(f'"desc":{_s(str(ac.description))}')
    if ac.operator:
        head.append(f'"ownOp":{_s(str(ac.operator))}')
    if ac.year:
        head.append(f'"year":{_s(str(ac.year))}')
    # readsb ignores unknown keys; these say loudly that nothing here was received from the air
    head.append('"simulated":true')
    head.append(f'"simulation":{_s(scenario.feed + " - isrwatch simulate, scenario " + scenario.name + "; not real data")}')
    head.append(f'"timestamp": {ref:.3f}')
    lines = [_row(o, int(i), ref, int(i) % 4 == 3, ac) for i in sel]
    return ",\n".join(head) + ',\n"trace":[ \n' + ",\n".join(lines) + " ]\n}\n"


def write_gzip(path: Path, text: str) -> None:
    """gzip with mtime 0 and no file name in the header: same input, same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def trace_path(icao24: str, day_start: float) -> str:
    import datetime as dt

    d = dt.datetime.fromtimestamp(day_start, dt.timezone.utc)
    return f"{d:%Y/%m/%d}/traces/{icao24[-2:]}/trace_full_{icao24}.json"


def write_traces(rows: AircraftRows, ac: Aircraft, scenario: Scenario, out_dir: Path) -> list[dict]:
    """Write one gzip trace per UTC day; returns [{path, day, n_positions, n_leg_marks}]."""
    o = rows.obs
    if not len(o["t"]):
        return []
    day = np.floor(o["t"] / 86400.0).astype(np.int64)
    files = []
    for d in np.unique(day):
        sel = np.flatnonzero(day == d)
        rel = trace_path(ac.icao24, float(d) * 86400.0)
        write_gzip(out_dir / rel, trace_json(rows, sel, ac, scenario))
        files.append({"path": rel, "icao24": ac.icao24, "n_positions": int(len(sel)),
                      "n_leg_marks": int(np.count_nonzero(o["flags"][sel] & FLAG_LEG)),
                      "n_mlat": int(np.count_nonzero(o["source"][sel] == SRC_MLAT)),
                      "first": float(o["t"][sel[0]]), "last": float(o["t"][sel[-1]])})
    return files
