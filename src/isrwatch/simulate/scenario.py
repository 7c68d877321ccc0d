"""Scenario files: what the simulator flies, who receives it, and what the truth file reports.

A scenario is a YAML mapping (see the bundled ``isrwatch/data/scenarios/*.yaml`` for complete,
commented examples). Top-level keys:

- ``name``, ``title``, ``description``, ``simulated: true`` (required: a scenario is never data),
  ``feed`` (the name written into every trace), ``seed`` (default seed), ``window`` {start, end};
- ``sources``: the public reporting a reconstruction rests on (outlet, date, what was reported);
- ``receivers``: ADS-B feeder sites {id, lat, lon, antenna_m, range_factor?, mlat?};
- ``coverage``: reception model parameters (see :class:`Coverage`);
- ``wind``: {from_deg, kt} default for every sortie;
- ``aircraft``: {icao24, registration, type_code, description, operator, db_flags, role, ...};
- ``ships``: moving decks {id, lat, lon, time, heading_deg, speed_kt};
- ``sorties``: {id, icao24, callsigns, departure, route, arrival, gaps, adsb_off, wind?};
- ``aois``: named polygons [[lon, lat], ...] whose presence the truth reports (not sovereignty);
- ``truth``: {closest_to: [MEX], within_km: [30, 50, 100, 200], step_s: 1};
- ``background``: civil traffic a real feed also holds (see :class:`Background` and
  ``isrwatch.simulate.background``): {flights_per_hour: [24 rates by local hour], utc_offset_h,
  airports: [ICAO...], airlines: [{prefix, country: US|MX, weight, types}], types, route_km,
  avoid: [ISO3...], sample_s, taxi_min, turnaround_min, schedule_jitter, start, end, note}.

Route elements: ``{lat, lon, alt_ft[, tas_kt]}`` (great-circle leg to a waypoint),
``{orbit: {lat, lon, radius_km, minutes, alt_ft[, clockwise, tas_kt]}}``,
``{racetrack: {lat, lon, heading_deg, length_km, width_km, minutes, alt_ft[, tas_kt]}}``,
``{touch_and_go: ICAO}``.
Departure / arrival: ``{airfield: ICAO[, time][, ground_min]}`` or ``{ship: id[, time][, deck_min]}``;
the departure time is the take-off (lift-off) time, UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from isrwatch import paths

ROLES = ("sigint", "maritime_patrol", "imint", "aew", "uav_isr", "multi_int", "other_isr", "none")
ISR_ROLES = frozenset(ROLES) - {"none"}


class ScenarioError(ValueError):
    """A scenario file that cannot be flown, with where the problem is."""


def scenarios_dir() -> Path:
    return paths.package_data("scenarios")


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package, sorted."""
    d = scenarios_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.yaml"))


# --- parsed scenario -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Receiver:
    id: str
    lat: float
    lon: float
    antenna_m: float = 30.0  # antenna height above the surrounding terrain/sea, metres
    range_factor: float | None = None  # share of the radio horizon actually received (site quality)
    mlat: bool = True  # takes part in multilateration


@dataclass(frozen=True)
class Coverage:
    """Reception model. Ranges are radio horizons d_km = 4.12 (sqrt(h_ant_m) + sqrt(h_ac_m))."""

    range_factor: float = 0.75  # real receivers hear less than the radio horizon
    edge_fraction: float = 0.08  # outer share of the range where reception flickers
    dropout_per_hour: float = 1.0  # random reception dropouts (Poisson), per sortie hour
    dropout_s: tuple[float, float] = (20.0, 180.0)
    min_mlat_receivers: int = 4
    mlat_range_factor: float = 0.8  # MLAT needs a stronger signal than plain decoding
    sample_s: tuple[float, float] = (6.0, 16.0)  # readsb trace spacing in steady flight
    manoeuvre_sample_s: tuple[float, float] = (3.0, 9.0)  # climbing, descending, turning
    ground_sample_s: tuple[float, float] = (3.0, 10.0)  # taxiing
    parked_sample_s: tuple[float, float] = (30.0, 90.0)  # readsb drops repeated positions
    mlat_sample_s: tuple[float, float] = (12.0, 40.0)
    noise_m: float = 8.0  # ADS-B position noise (1 sigma)
    mlat_noise_m: float = 150.0
    mlat_outlier_rate: float = 0.0  # share of MLAT positions that jump away
    mlat_outlier_km: tuple[float, float] = (3.0, 15.0)
    leg_mark_miss: float = 0.15  # share of leg marks readsb would set that the feed lacks
    callsign_dropout: float = 0.04  # share of aircraft objects without "flight"
    stale_after_s: float = 20.0
    baro_missing_rate: float = 0.004  # rows whose altitude is geometric (flag 8)


@dataclass(frozen=True)
class Aircraft:
    icao24: str
    registration: str | None
    type_code: str | None
    description: str | None
    operator: str | None
    db_flags: int
    role: str
    year: str | None = None
    adsb: bool = True  # broadcasts ADS-B positions (else Mode S only: MLAT positions at best)
    helicopter: bool = False
    cruise_kt: float = 440.0
    loiter_kt: float | None = None
    approach_kt: float = 150.0
    taxi_kt: float = 14.0
    climb_fpm: float = 2500.0
    descent_fpm: float = 2000.0
    bank_deg: float = 25.0
    category: str = "A5"
    reported: bool | None = None  # for reconstructions: does public reporting name this type?
    note: str | None = None


@dataclass(frozen=True)
class Ship:
    id: str
    lat: float
    lon: float
    time: dt.datetime  # when the ship is at lat/lon
    heading_deg: float
    speed_kt: float
    name: str | None = None


@dataclass(frozen=True)
class Waypoint:
    lat: float
    lon: float
    alt_ft: float
    tas_kt: float | None = None


@dataclass(frozen=True)
class Orbit:
    lat: float
    lon: float
    radius_km: float
    minutes: float
    alt_ft: float
    clockwise: bool = True
    tas_kt: float | None = None


@dataclass(frozen=True)
class Racetrack:
    lat: float
    lon: float
    heading_deg: float
    length_km: float
    width_km: float
    minutes: float
    alt_ft: float
    tas_kt: float | None = None


@dataclass(frozen=True)
class TouchAndGo:
    airfield: str


RouteElement = Waypoint | Orbit | Racetrack | TouchAndGo


@dataclass(frozen=True)
class Endpoint:
    airfield: str | None = None
    ship: str | None = None
    time: dt.datetime | None = None
    ground_min: float = 15.0  # at an airfield: parked + taxi time before take-off / after landing
    deck_min: float = 10.0  # on a deck: time before take-off / after landing


@dataclass(frozen=True)
class Window:
    start: float  # epoch seconds (UTC) of the minute the window starts at
    minutes: float  # length of the window


@dataclass(frozen=True)
class Sortie:
    id: str
    icao24: str
    callsigns: tuple[tuple[float, str | None], ...]  # (minutes after take-off, callsign or None)
    departure: Endpoint
    arrival: Endpoint
    route: tuple[RouteElement, ...]
    gaps: tuple[Window, ...] = ()  # forced reception gaps, minutes after take-off
    adsb_off: tuple[Window, ...] = ()  # ADS-B positions off (MLAT only where receivers allow)
    wind_from_deg: float | None = None
    wind_kt: float | None = None
    squawk: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Aoi:
    id: str
    name: str
    polygon: tuple[tuple[float, float], ...]  # (lon, lat)
    note: str | None = None


@dataclass(frozen=True)
class TruthOptions:
    closest_to: tuple[str, ...] = ("MEX",)
    within_km: tuple[float, ...] = (30.0, 50.0, 100.0, 200.0)
    step_s: int = 1


# ICAO 24-bit address blocks background airlines draw their (random, simulated) addresses from
CIVIL_HEX_BLOCKS = {
    "US": (0xA00001, 0xADF7C7),  # the N-number range of the US block (N1 ... N99999)
    "MX": (0x0D0000, 0x0D7FFF),  # Mexico's block
}


@dataclass(frozen=True)
class Airline:
    prefix: str  # ICAO airline designator, the callsign prefix (AAL, SWA, AMX, ...)
    country: str  # whose address block its aircraft use (a CIVIL_HEX_BLOCKS key, or hex_range)
    hex_range: tuple[int, int]
    weight: float = 1.0  # share of the fleet
    types: tuple[str, ...] = ()  # ICAO type designators; empty: the background's types


@dataclass(frozen=True)
class Background:
    """Civil traffic flown alongside the scenario's sorties (never counted among them).

    Departures follow a timetable: ``flights_per_hour`` (24 rates, by local hour of day,
    local = UTC + utc_offset_h) is the rate; the k-th departure falls where the cumulative
    rate reaches k + 1/2, moved by up to +-schedule_jitter/2 of a slot. Every rate must be
    above zero (a real feed is never silent: red-eyes and night cargo fly).
    """

    flights_per_hour: tuple[float, ...]
    airports: tuple[str, ...]
    airlines: tuple[Airline, ...]
    types: tuple[str, ...] = ("B738", "A320", "A321", "B739", "E75L")
    utc_offset_h: float = 0.0
    route_km: tuple[float, float] = (300.0, 3000.0)  # great-circle length of the routes flown
    avoid: tuple[str, ...] = ()  # ISO3: routes whose great circle enters their sovereign area are not flown
    sample_s: tuple[float, float] = (30.0, 60.0)  # trace spacing (coarser than readsb's: smaller output)
    taxi_min: tuple[float, float] = (5.0, 14.0)
    turnaround_min: tuple[float, float] = (35.0, 80.0)
    schedule_jitter: float = 0.8
    start: dt.datetime | None = None  # first departure (default: 4 h before the window starts)
    end: dt.datetime | None = None  # last departure (default: the window's end)
    note: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    feed: str
    seed: int
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    sources: tuple[dict, ...]
    receivers: tuple[Receiver, ...]
    coverage: Coverage
    wind_from_deg: float
    wind_kt: float
    aircraft: dict[str, Aircraft]
    ships: dict[str, Ship]
    sorties: tuple[Sortie, ...]
    aois: tuple[Aoi, ...]
    truth: TruthOptions
    simulated: bool = True
    path: Path | None = field(default=None, compare=False)
    background: Background | None = None


# --- parsing -------------------------------------------------------------------------------------


def _err(where: str, msg: str) -> ScenarioError:
    return ScenarioError(f"{where}: {msg}")


def _mapping(obj: Any, where: str) -> dict:
    if not isinstance(obj, dict):
        raise _err(where, f"expected a mapping, got {type(obj).__name__}")
    return obj


def _check_keys(obj: dict, where: str, allowed: set[str], required: set[str] = frozenset()) -> None:
    unknown = set(obj) - allowed
    if unknown:
        raise _err(where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = set(required) - set(obj)
    if missing:
        raise _err(where, f"missing key(s) {sorted(missing)}")


def _num(obj: dict, key: str, where: str, default: Any = None, lo: float | None = None, hi: float | None = None):
    if key not in obj or obj[key] is None:
        if default is None:
            raise _err(where, f"missing number {key!r}")
        return default
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(where, f"{key} must be a number, got {v!r}")
    v = float(v)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise _err(where, f"{key}={v} out of range [{lo}, {hi}]")
    return v


def _lat(obj, where):
    return _num(obj, "lat", where, lo=-90, hi=90)


def _lon(obj, where):
    return _num(obj, "lon", where, lo=-180, hi=180)


def _time(v: Any, where: str) -> dt.datetime:
    if isinstance(v, dt.datetime):
        t = v
    elif isinstance(v, str):
        try:
            t = dt.datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _err(where, f"not an ISO 8601 time: {v!r}") from None
    else:
        raise _err(where, f"expected a UTC time like 2025-01-31T15:00:00Z, got {v!r}")
    if t.tzinfo is None:  # PyYAML may hand back naive UTC
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc)


def _pair(v: Any, where: str, key: str) -> tuple[float, float]:
    if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
        raise _err(where, f"{key} must be [low, high], got {v!r}")
    lo, hi = float(v[0]), float(v[1])
    if lo > hi or lo < 0:
        raise _err(where, f"{key} must be 0 <= low <= high, got {v!r}")
    return lo, hi


def _icao24(v: Any, where: str) -> str:
    s = str(v).strip().lower()
    if len(s) != 6 or any(c not in "0123456789abcdef" for c in s):
        raise _err(where, f"icao24 must be 6 hex digits, got {v!r}")
    return s


def _windows(v: Any, where: str) -> tuple[Window, ...]:
    if v is None:
        return ()
    if not isinstance(v, list):
        raise _err(where, "expected a list of {start_min, minutes}")
    out = []
    for i, w in enumerate(v):
        wh = f"{where}[{i}]"
        w = _mapping(w, wh)
        _check_keys(w, wh, {"start_min", "minutes", "note"}, {"start_min", "minutes"})
        out.append(Window(_num(w, "start_min", wh, lo=-1e5), _num(w, "minutes", wh, lo=0)))
    return tuple(out)


def _route_element(e: Any, where: str) -> RouteElement:
    e = _mapping(e, where)
    if "orbit" in e:
        _check_keys(e, where, {"orbit"})
        o = _mapping(e["orbit"], where + ".orbit")
        w = where + ".orbit"
        _check_keys(o, w, {"lat", "lon", "radius_km", "minutes", "alt_ft", "clockwise", "tas_kt"},
                    {"lat", "lon", "radius_km", "minutes", "alt_ft"})
        return Orbit(_lat(o, w), _lon(o, w), _num(o, "radius_km", w, lo=0.5, hi=500),
                     _num(o, "minutes", w, lo=0), _num(o, "alt_ft", w, lo=0, hi=80000),
                     bool(o.get("clockwise", True)), o.get("tas_kt"))
    if "racetrack" in e:
        _check_keys(e, where, {"racetrack"})
        o = _mapping(e["racetrack"], where + ".racetrack")
        w = where + ".racetrack"
        _check_keys(o, w, {"lat", "lon", "heading_deg", "length_km", "width_km", "minutes", "alt_ft", "tas_kt"},
                    {"lat", "lon", "heading_deg", "length_km", "width_km", "minutes", "alt_ft"})
        return Racetrack(_lat(o, w), _lon(o, w), _num(o, "heading_deg", w, lo=-360, hi=360),
                         _num(o, "length_km", w, lo=1, hi=1000), _num(o, "width_km", w, lo=1, hi=300),
                         _num(o, "minutes", w, lo=0), _num(o, "alt_ft", w, lo=0, hi=80000), o.get("tas_kt"))
    if "touch_and_go" in e:
        _check_keys(e, where, {"touch_and_go"})
        return TouchAndGo(str(e["touch_and_go"]).strip().upper())
    _check_keys(e, where, {"lat", "lon", "alt_ft", "tas_kt", "note"}, {"lat", "lon", "alt_ft"})
    return Waypoint(_lat(e, where), _lon(e, where), _num(e, "alt_ft", where, lo=0, hi=80000), e.get("tas_kt"))


def _endpoint(e: Any, where: str, need_time: bool) -> Endpoint:
    e = _mapping(e, where)
    _check_keys(e, where, {"airfield", "ship", "time", "ground_min", "deck_min", "note"})
    if ("airfield" in e) == ("ship" in e):
        raise _err(where, "give exactly one of airfield (ICAO code) or ship (id)")
    if need_time and "time" not in e:
        raise _err(where, "missing take-off time")
    return Endpoint(
        airfield=str(e["airfield"]).strip().upper() if "airfield" in e else None,
        ship=str(e["ship"]) if "ship" in e else None,
        time=_time(e["time"], where + ".time") if "time" in e else None,
        ground_min=_num(e, "ground_min", where, default=15.0, lo=0, hi=600),
        deck_min=_num(e, "deck_min", where, default=10.0, lo=0, hi=600),
    )


def _callsign(v: Any, where: str) -> str | None:
    if v is None:  # flown without a callsign
        return None
    cs = str(v).strip().upper()
    if not cs or len(cs) > 8:
        raise _err(where, f"callsign must be 1-8 characters, got {v!r}")
    return cs


def _callsigns(s: dict, where: str) -> tuple[tuple[float, str | None], ...]:
    if "callsigns" in s:
        raw = s["callsigns"]
        if not isinstance(raw, list) or not raw:
            raise _err(where, "callsigns must be a non-empty list of {at_min, callsign}")
        out = []
        for i, c in enumerate(raw):
            wh = f"{where}.callsigns[{i}]"
            c = _mapping(c, wh)
            _check_keys(c, wh, {"at_min", "callsign"}, {"at_min", "callsign"})
            out.append((_num(c, "at_min", wh, lo=-1e5), _callsign(c["callsign"], wh)))
        return tuple(sorted(out, key=lambda x: x[0]))
    return ((-1e5, _callsign(s.get("callsign"), where)),)


def _aircraft(a: Any, where: str) -> Aircraft:
    a = _mapping(a, where)
    fields = {"icao24", "registration", "type_code", "description", "operator", "db_flags", "role", "year",
              "adsb", "helicopter", "cruise_kt", "loiter_kt", "approach_kt", "taxi_kt", "climb_fpm",
              "descent_fpm", "bank_deg", "category", "reported", "note"}
    _check_keys(a, where, fields, {"icao24", "role"})
    role = str(a["role"])
    if role not in ROLES:
        raise _err(where, f"role must be one of {ROLES}, got {role!r}")
    heli = bool(a.get("helicopter", False))
    return Aircraft(
        icao24=_icao24(a["icao24"], where),
        registration=a.get("registration"),
        type_code=a.get("type_code"),
        description=a.get("description"),
        operator=a.get("operator"),
        db_flags=int(a.get("db_flags", 0)),
        role=role,
        year=str(a["year"]) if a.get("year") is not None else None,
        adsb=bool(a.get("adsb", True)),
        helicopter=heli,
        cruise_kt=_num(a, "cruise_kt", where, default=120.0 if heli else 440.0, lo=30, hi=700),
        loiter_kt=a.get("loiter_kt"),
        approach_kt=_num(a, "approach_kt", where, default=40.0 if heli else 150.0, lo=10, hi=250),
        taxi_kt=_num(a, "taxi_kt", where, default=14.0, lo=1, hi=40),
        climb_fpm=_num(a, "climb_fpm", where, default=1200.0 if heli else 2500.0, lo=100, hi=10000),
        descent_fpm=_num(a, "descent_fpm", where, default=1000.0 if heli else 2000.0, lo=100, hi=10000),
        bank_deg=_num(a, "bank_deg", where, default=20.0 if heli else 25.0, lo=5, hi=60),
        category=str(a.get("category", "A7" if heli else "A5")),
        reported=a.get("reported"),
        note=a.get("note"),
    )


def _sortie(s: Any, where: str, aircraft: dict, ships: dict) -> Sortie:
    s = _mapping(s, where)
    _check_keys(s, where, {"id", "icao24", "callsign", "callsigns", "departure", "arrival", "route", "gaps",
                           "adsb_off", "wind", "squawk", "note"}, {"id", "icao24", "departure", "arrival"})
    icao = _icao24(s["icao24"], where)
    if icao not in aircraft:
        raise _err(where, f"icao24 {icao} is not listed under aircraft")
    dep = _endpoint(s["departure"], where + ".departure", need_time=True)
    arr = _endpoint(s["arrival"], where + ".arrival", need_time=False)
    for e, nm in ((dep, "departure"), (arr, "arrival")):
        if e.ship is not None and e.ship not in ships:
            raise _err(f"{where}.{nm}", f"unknown ship {e.ship!r}")
    route_raw = s.get("route") or []
    if not isinstance(route_raw, list):
        raise _err(where, "route must be a list")
    route = tuple(_route_element(e, f"{where}.route[{i}]") for i, e in enumerate(route_raw))
    wind = s.get("wind")
    wf = wk = None
    if wind is not None:
        wind = _mapping(wind, where + ".wind")
        _check_keys(wind, where + ".wind", {"from_deg", "kt"}, {"from_deg", "kt"})
        wf, wk = _num(wind, "from_deg", where, lo=0, hi=360), _num(wind, "kt", where, lo=0, hi=200)
    squawk = s.get("squawk")
    if squawk is not None:
        squawk = str(squawk).zfill(4)
        if len(squawk) != 4 or any(c not in "01234567" for c in squawk):
            raise _err(where, f"squawk must be 4 octal digits, got {s.get('squawk')!r}")
    return Sortie(
        id=str(s["id"]), icao24=icao, callsigns=_callsigns(s, where), departure=dep, arrival=arr, route=route,
        gaps=_windows(s.get("gaps"), where + ".gaps"), adsb_off=_windows(s.get("adsb_off"), where + ".adsb_off"),
        wind_from_deg=wf, wind_kt=wk, squawk=squawk, note=s.get("note"),
    )


def _background(b: Any, where: str, ws: dt.datetime | None, we: dt.datetime | None) -> Background:
    b = _mapping(b, where)
    _check_keys(b, where, {"flights_per_hour", "utc_offset_h", "airports", "airlines", "types", "route_km",
                           "avoid", "sample_s", "taxi_min", "turnaround_min", "schedule_jitter", "start", "end",
                           "note"}, {"flights_per_hour", "airports", "airlines"})
    rates = b["flights_per_hour"]
    if (not isinstance(rates, list) or len(rates) != 24
            or not all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in rates)):
        raise _err(where, "flights_per_hour must be a list of 24 numbers (flights per hour, by local hour 0-23)")
    if min(rates) <= 0:
        raise _err(where, "every hour's rate in flights_per_hour must be above 0: a real feed is never silent "
                          "(red-eyes and night cargo fly); give a small rate instead")
    airports = b["airports"]
    if not isinstance(airports, list) or len(airports) < 2:
        raise _err(where, "airports must list at least two ICAO codes")
    airports = tuple(dict.fromkeys(str(a).strip().upper() for a in airports))
    from isrwatch.simulate.flightpath import airfield

    for a in airports:
        airfield(a)  # ScenarioError naming the code when airportsdata does not know it
    default_types = b.get("types", list(Background.types))
    if not isinstance(default_types, list) or not default_types:
        raise _err(where, "types must be a non-empty list of ICAO type designators")
    default_types = tuple(str(t).strip().upper() for t in default_types)
    raw = b["airlines"]
    if not isinstance(raw, list) or not raw:
        raise _err(where, "airlines must be a non-empty list of {prefix, country, weight, types}")
    airlines = []
    for i, a in enumerate(raw):
        wh = f"{where}.airlines[{i}]"
        if isinstance(a, str):
            a = {"prefix": a}
        a = _mapping(a, wh)
        _check_keys(a, wh, {"prefix", "country", "hex_range", "weight", "types", "note"}, {"prefix"})
        prefix = str(a["prefix"]).strip().upper()
        if not (3 <= len(prefix) <= 4 and prefix.isalnum()):
            raise _err(wh, f"prefix must be a 3-letter airline designator, got {a['prefix']!r}")
        country = str(a.get("country", "US")).strip().upper()
        if "hex_range" in a:
            hr = a["hex_range"]
            if not (isinstance(hr, list) and len(hr) == 2):
                raise _err(wh, f"hex_range must be [low, high] 6-hex-digit addresses, got {hr!r}")
            lo, hi = (int(_icao24(x, wh), 16) for x in hr)
            if lo > hi:
                raise _err(wh, "hex_range low is above high")
        elif country in CIVIL_HEX_BLOCKS:
            lo, hi = CIVIL_HEX_BLOCKS[country]
        else:
            raise _err(wh, f"no address block known for country {country!r} (known: "
                           f"{', '.join(CIVIL_HEX_BLOCKS)}); give hex_range: [low, high]")
        types = a.get("types")
        if types is not None and (not isinstance(types, list) or not types):
            raise _err(wh, "types must be a non-empty list")
        airlines.append(Airline(prefix, country, (lo, hi), _num(a, "weight", wh, default=1.0, lo=0.0),
                                tuple(str(t).strip().upper() for t in types) if types else ()))
    if sum(a.weight for a in airlines) <= 0:
        raise _err(where, "airline weights add up to 0")
    route = _pair(b["route_km"], where, "route_km") if "route_km" in b else Background.route_km
    jitter = _num(b, "schedule_jitter", where, default=0.8, lo=0.0, hi=1.0)
    start = _time(b["start"], where + ".start") if "start" in b else (ws - dt.timedelta(hours=4) if ws else None)
    end = _time(b["end"], where + ".end") if "end" in b else we
    if start is None or end is None:
        raise _err(where, "give start and end (or a scenario window) for the background traffic")
    if end <= start:
        raise _err(where, "background end is not after its start")
    avoid = b.get("avoid") or []
    if not isinstance(avoid, list):
        raise _err(where, "avoid must be a list of ISO3 country codes")
    sample = _pair(b["sample_s"], where, "sample_s") if "sample_s" in b else Background.sample_s
    if sample[0] < 1:
        raise _err(where, "sample_s must be at least 1 second")
    return Background(
        flights_per_hour=tuple(float(r) for r in rates), airports=airports, airlines=tuple(airlines),
        types=default_types, utc_offset_h=_num(b, "utc_offset_h", where, default=0.0, lo=-14, hi=14),
        route_km=route, avoid=tuple(str(x).strip().upper() for x in avoid), sample_s=sample,
        taxi_min=_pair(b["taxi_min"], where, "taxi_min") if "taxi_min" in b else Background.taxi_min,
        turnaround_min=(_pair(b["turnaround_min"], where, "turnaround_min") if "turnaround_min" in b
                        else Background.turnaround_min),
        schedule_jitter=jitter, start=start, end=end, note=b.get("note"),
    )


def parse_scenario(doc: Any, path: Path | None = None) -> Scenario:
    """Validate a parsed YAML document into a Scenario (ScenarioError says what and where)."""
    where = str(path) if path else "scenario"
    doc = _mapping(doc, where)
    top = {"name", "title", "description", "simulated", "feed", "seed", "window", "sources", "receivers",
           "coverage", "wind", "aircraft", "ships", "sorties", "aois", "truth", "background"}
    _check_keys(doc, where, top, {"name", "simulated", "aircraft", "sorties"})
    if doc.get("simulated") is not True:
        raise _err(where, "a scenario must say simulated: true (its output is never real data)")
    name = str(doc["name"])
    title = str(doc.get("title") or name)
    description = str(doc.get("description") or "")
    feed = str(doc.get("feed") or f"SIMULATED {name}")
    if "SIMULATED" not in feed.upper():
        raise _err(where, f"feed must say SIMULATED, got {feed!r}")

    window = doc.get("window") or {}
    window = _mapping(window, where + ".window")
    _check_keys(window, where + ".window", {"start", "end"})
    ws = _time(window["start"], where + ".window.start") if "start" in window else None
    we = _time(window["end"], where + ".window.end") if "end" in window else None

    sources = doc.get("sources") or []
    if not isinstance(sources, list) or not all(isinstance(x, dict) for x in sources):
        raise _err(where, "sources must be a list of mappings")

    receivers = []
    for i, r in enumerate(doc.get("receivers") or []):
        wh = f"{where}.receivers[{i}]"
        r = _mapping(r, wh)
        _check_keys(r, wh, {"id", "lat", "lon", "antenna_m", "range_factor", "mlat", "note"}, {"id", "lat", "lon"})
        receivers.append(Receiver(str(r["id"]), _lat(r, wh), _lon(r, wh),
                                  _num(r, "antenna_m", wh, default=30.0, lo=1, hi=5000),
                                  r.get("range_factor"), bool(r.get("mlat", True))))

    cov_raw = _mapping(doc.get("coverage") or {}, where + ".coverage")
    base = Coverage()
    kwargs: dict[str, Any] = {}
    for k, v in cov_raw.items():
        if not hasattr(base, k):
            raise _err(where + ".coverage", f"unknown key {k!r}")
        default = getattr(base, k)
        if isinstance(default, tuple):
            kwargs[k] = _pair(v, where + ".coverage", k)
        elif isinstance(default, int) and not isinstance(default, bool):
            kwargs[k] = int(v)
        else:
            kwargs[k] = float(v)
    coverage = Coverage(**kwargs)

    wind = _mapping(doc.get("wind") or {"from_deg": 270, "kt": 25}, where + ".wind")
    wf = _num(wind, "from_deg", where + ".wind", lo=0, hi=360)
    wk = _num(wind, "kt", where + ".wind", lo=0, hi=200)

    aircraft: dict[str, Aircraft] = {}
    for i, a in enumerate(doc.get("aircraft") or []):
        ac = _aircraft(a, f"{where}.aircraft[{i}]")
        if ac.icao24 in aircraft:
            raise _err(f"{where}.aircraft[{i}]", f"duplicate icao24 {ac.icao24}")
        aircraft[ac.icao24] = ac

    ships: dict[str, Ship] = {}
    for i, sh in enumerate(doc.get("ships") or []):
        wh = f"{where}.ships[{i}]"
        sh = _mapping(sh, wh)
        _check_keys(sh, wh, {"id", "name", "lat", "lon", "time", "heading_deg", "speed_kt", "note"},
                    {"id", "lat", "lon", "time", "heading_deg", "speed_kt"})
        ships[str(sh["id"])] = Ship(str(sh["id"]), _lat(sh, wh), _lon(sh, wh), _time(sh["time"], wh + ".time"),
                                    _num(sh, "heading_deg", wh, lo=0, hi=360),
                                    _num(sh, "speed_kt", wh, lo=0, hi=40), sh.get("name"))

    sorties = []
    seen: set[str] = set()
    for i, s in enumerate(doc.get("sorties") or []):
        so = _sortie(s, f"{where}.sorties[{i}]", aircraft, ships)
        if so.id in seen:
            raise _err(f"{where}.sorties[{i}]", f"duplicate sortie id {so.id!r}")
        seen.add(so.id)
        sorties.append(so)
    if not sorties:
        raise _err(where, "no sorties")

    aois = []
    for i, a in enumerate(doc.get("aois") or []):
        wh = f"{where}.aois[{i}]"
        a = _mapping(a, wh)
        _check_keys(a, wh, {"id", "name", "polygon", "note"}, {"id", "polygon"})
        poly = a["polygon"]
        if not isinstance(poly, list) or len(poly) < 3:
            raise _err(wh, "polygon must be a list of at least 3 [lon, lat] pairs")
        pts = []
        for p in poly:
            if not (isinstance(p, list) and len(p) == 2):
                raise _err(wh, f"polygon vertex must be [lon, lat], got {p!r}")
            pts.append((float(p[0]), float(p[1])))
        aois.append(Aoi(str(a["id"]), str(a.get("name") or a["id"]), tuple(pts), a.get("note")))

    tr = _mapping(doc.get("truth") or {}, where + ".truth")
    _check_keys(tr, where + ".truth", {"closest_to", "within_km", "step_s"})
    truth = TruthOptions(
        closest_to=tuple(str(x).upper() for x in tr.get("closest_to", ["MEX"])),
        within_km=tuple(float(x) for x in tr.get("within_km", [30, 50, 100, 200])),
        step_s=int(tr.get("step_s", 1)),
    )
    if truth.step_s < 1 or truth.step_s > 10:
        raise _err(where + ".truth", "step_s must be 1..10 seconds")

    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _err(where, f"seed must be a non-negative integer, got {seed!r}")

    background = (_background(doc["background"], where + ".background", ws, we)
                  if doc.get("background") is not None else None)

    return Scenario(
        name=name, title=title, description=description, feed=feed, seed=seed, window_start=ws, window_end=we,
        sources=tuple(sources), receivers=tuple(receivers), coverage=coverage, wind_from_deg=wf, wind_kt=wk,
        aircraft=aircraft, ships=ships, sorties=tuple(sorties), aois=tuple(aois), truth=truth, path=path,
        background=background,
    )


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load a scenario from a YAML file, or a bundled one by name (see bundled_scenarios())."""
    p = Path(path_or_name)
    if not p.exists():
        name = str(path_or_name)
        candidate = scenarios_dir() / f"{name.removesuffix('.yaml')}.yaml"
        if candidate.exists() and "/" not in name:
            p = candidate
        else:
            raise ScenarioError(
                f"no scenario file {str(path_or_name)!r} and no bundled scenario of that name "
                f"(bundled: {', '.join(bundled_scenarios()) or 'none'})"
            )
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{p}: not valid YAML: {exc}") from None
    return parse_scenario(doc, p)
