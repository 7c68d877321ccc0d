"""The true, dense (1 s) track of each sortie, from its flight plan.

The horizontal path is built first as vertices about 200 m apart: parking, taxi, take-off roll,
climb-out, great-circle legs, orbits, racetracks, touch-and-goes, final approach, landing roll, taxi-in.
Corners are rounded with a moving average about one turn diameter long (so the aircraft banks
instead of turning on the spot). Altitude is a function of distance: each piece's altitude reached
at the aircraft's climb/descent rate, capped by climb and descent envelopes from every ground
contact. Time follows from true airspeed and the wind; the result is resampled at whole seconds.
Decks move: a ship's position is dead-reckoned, and an approach to a deck is re-planned until
the deck is where the aircraft lands.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from isrwatch.simulate import geo
from isrwatch.simulate.scenario import (
    Aircraft,
    Orbit,
    Racetrack,
    Scenario,
    ScenarioError,
    Ship,
    Sortie,
    TouchAndGo,
    Waypoint,
)

STEP_KM = 0.2
G = 9.80665


@dataclass
class TrueTrack:
    """A sortie's true state at every whole second (epoch seconds, UTC)."""

    sortie_id: str
    icao24: str
    t: np.ndarray  # int64 epoch seconds
    lat: np.ndarray
    lon: np.ndarray
    alt_ft: np.ndarray  # pressure altitude, feet (the field or deck elevation on the ground)
    on_ground: np.ndarray
    gs_kt: np.ndarray
    track_deg: np.ndarray
    vrate_fpm: np.ndarray
    tas_kt: np.ndarray
    roll_deg: np.ndarray
    takeoff_time: int
    landing_time: int
    takeoff_airfield: str  # ICAO code or "at_sea"
    landing_airfield: str
    touch_and_go: list[tuple[str, int]] = field(default_factory=list)


@cache
def _airports() -> dict:
    import airportsdata

    return airportsdata.load("ICAO")


def airfield(code: str) -> tuple[float, float, float]:
    """(lat, lon, elevation ft) of an airfield by ICAO code, from the airportsdata package."""
    a = _airports().get(code.upper())
    if a is None:
        raise ScenarioError(f"unknown airfield {code!r} (not in the airportsdata ICAO table)")
    return float(a["lat"]), float(a["lon"]), float(a["elevation"] or 0.0)


def runway_heading(code: str, wind_from_deg: float) -> float:
    """A fixed runway orientation per airfield (stable, not surveyed), used in the direction
    facing the wind, as pilots do."""
    base = float((zlib.crc32(code.upper().encode()) % 18) * 10)
    other = (base + 180.0) % 360.0

    def off(h):
        return abs((h - wind_from_deg + 180.0) % 360.0 - 180.0)

    return base if off(base) <= off(other) else other


def ship_position(ship: Ship, t: np.ndarray | float):
    """Dead-reckoned ship position at epoch seconds t."""
    t0 = ship.time.timestamp()
    dist = (np.asarray(t, float) - t0) / 3600.0 * ship.speed_kt * geo.KT_KMH
    lat, lon = geo.destination(np.full_like(dist, ship.lat), np.full_like(dist, ship.lon), ship.heading_deg, dist)
    return lat, lon


class _Builder:
    """Accumulates path vertices with per-vertex kinematic targets."""

    def __init__(self, ac: Aircraft):
        self.ac = ac
        self.lat: list[np.ndarray] = []
        self.lon: list[np.ndarray] = []
        self.ground: list[np.ndarray] = []
        self.speed: list[np.ndarray] = []  # ground speed on the ground (kt); NaN in the air
        self.tas: list[np.ndarray] = []  # target true airspeed in the air (kt)
        self.alt: list[np.ndarray] = []  # target altitude in the air / elevation on the ground (ft)
        self.hold: list[np.ndarray] = []  # seconds spent reaching this vertex (NaN: from speed)
        self.curve: list[np.ndarray] = []  # part of an orbit or racetrack (already smooth: keep its length)
        self.last: tuple[float, float] | None = None
        self.n = 0

    def add(self, lat, lon, *, ground: bool, alt: float, speed=np.nan, tas=np.nan, curve: bool = False) -> None:
        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        if self.last is not None and len(lat) and geo.haversine_km(self.last[0], self.last[1], lat[0], lon[0]) < 1e-3:
            lat, lon = lat[1:], lon[1:]
            speed = speed[1:] if np.ndim(speed) else speed
        if not len(lat):
            return
        k = len(lat)
        self.lat.append(lat)
        self.lon.append(lon)
        self.ground.append(np.full(k, ground))
        self.speed.append(np.broadcast_to(np.asarray(speed, float), (k,)).copy())
        self.tas.append(np.full(k, float(tas)))
        self.alt.append(np.full(k, float(alt)))
        self.hold.append(np.full(k, np.nan))
        self.curve.append(np.full(k, curve))
        self.last = (float(lat[-1]), float(lon[-1]))
        self.n += k

    def stay(self, seconds: float, *, alt: float) -> None:
        """Stand still at the last vertex for `seconds` (parked, holding short)."""
        if seconds <= 0 or self.last is None:
            return
        self.lat.append(np.array([self.last[0]]))
        self.lon.append(np.array([self.last[1]]))
        self.ground.append(np.array([True]))
        self.speed.append(np.array([0.0]))
        self.tas.append(np.array([np.nan]))
        self.alt.append(np.array([alt]))
        self.hold.append(np.array([float(seconds)]))
        self.curve.append(np.array([False]))
        self.n += 1

    def cur_alt(self) -> float:
        """Target altitude of the last airborne vertex (to hold it until the descent envelope bites)."""
        for g, a in zip(reversed(self.ground), reversed(self.alt)):
            if not g[-1]:
                return float(a[-1])
        return 3000.0

    def go_to(self, lat, lon, alt_ft, tas_kt) -> None:
        la, lo = geo.great_circle(self.last[0], self.last[1], lat, lon, STEP_KM)
        self.add(la, lo, ground=False, alt=alt_ft, tas=tas_kt)

    def arrays(self):
        cat = np.concatenate
        return (cat(self.lat), cat(self.lon), cat(self.ground), cat(self.speed), cat(self.tas), cat(self.alt),
                cat(self.hold), cat(self.curve))


def _local_line(lat0, lon0, heading, u_km, v_km):
    """Points at u km along `heading` and v km to its right, around (lat0, lon0)."""
    h = np.radians(heading)
    u, v = np.asarray(u_km, float), np.asarray(v_km, float)
    x = u * np.sin(h) + v * np.cos(h)
    y = u * np.cos(h) - v * np.sin(h)
    return geo.from_local(lat0, lon0, x, y)


def _dense(lat, lon):
    """Densify a short polyline to STEP_KM."""
    outs_la, outs_lo = [np.array([lat[0]])], [np.array([lon[0]])]
    for i in range(len(lat) - 1):
        la, lo = geo.great_circle(lat[i], lon[i], lat[i + 1], lon[i + 1], STEP_KM / 4)
        outs_la.append(la[1:])
        outs_lo.append(lo[1:])
    return np.concatenate(outs_la), np.concatenate(outs_lo)


def _roll_speeds(n: int, v_from: float, v_to: float, accelerate: bool) -> np.ndarray:
    f = np.linspace(0.0, 1.0, n)
    if accelerate:  # constant acceleration: v grows with the square root of distance
        return v_from + (v_to - v_from) * np.sqrt(f)
    return v_from + (v_to - v_from) * (1 - np.sqrt(1 - f))


def _depart_airfield(b: _Builder, code: str, wind_from: float, ground_min: float, first_alt: float) -> None:
    ac = b.ac
    lat0, lon0, elev = airfield(code)
    h = runway_heading(code, wind_from)
    roll_start = -0.05 if ac.helicopter else -1.3
    lift = 0.0 if ac.helicopter else 0.5
    pla, plo = _local_line(lat0, lon0, h, [0.3, 0.3, roll_start, roll_start], [0.7, 0.3, 0.3, 0.0])
    la, lo = _dense(pla, plo)
    taxi_km = float(np.sum(geo.haversine_km(la[:-1], lo[:-1], la[1:], lo[1:])))
    taxi_s = taxi_km / (ac.taxi_kt * geo.KT_KMH) * 3600
    b.add(la[:1], lo[:1], ground=True, alt=elev, speed=0.0)
    b.stay(max(ground_min * 60 - taxi_s, 60.0), alt=elev)
    b.add(la, lo, ground=True, alt=elev, speed=ac.taxi_kt)
    b.stay(30.0, alt=elev)  # lined up on the runway
    rla, rlo = _local_line(lat0, lon0, h, np.linspace(roll_start, lift, 12), np.zeros(12))
    rla, rlo = _dense(rla, rlo)
    v_rot = ac.approach_kt * (0.75 if ac.helicopter else 1.05)
    b.add(rla, rlo, ground=True, alt=elev, speed=_roll_speeds(len(rla), 3.0, v_rot, True))
    out = 2.0 if ac.helicopter else 5.5
    cla, clo = _local_line(lat0, lon0, h, np.linspace(lift, lift + out, 30), np.zeros(30))
    b.add(cla, clo, ground=False, alt=first_alt, tas=ac.cruise_kt)


def _approach_airfield(b: _Builder, code: str, wind_from: float, through: bool, next_alt: float) -> None:
    """Final approach to a runway; `through` = touch-and-go (roll on and take off again)."""
    ac = b.ac
    lat0, lon0, elev = airfield(code)
    h = runway_heading(code, wind_from)
    faf = 3.0 if ac.helicopter else 18.0
    td = -0.05 if ac.helicopter else -0.9
    fla, flo = _local_line(lat0, lon0, h, [td - faf - 8.0, td - faf], [0.0, 0.0])
    # keep the cruise level: the descent envelope from the touchdown point brings the aircraft down
    hold_alt = b.cur_alt()
    b.go_to(float(fla[0]), float(flo[0]), hold_alt, ac.cruise_kt)
    b.go_to(float(fla[1]), float(flo[1]), hold_alt, ac.approach_kt)
    ala, alo = _local_line(lat0, lon0, h, np.linspace(td - faf, td, 40), np.zeros(40))
    b.add(ala, alo, ground=False, alt=elev, tas=ac.approach_kt)
    if through:
        rla, rlo = _dense(*_local_line(lat0, lon0, h, [td, td + 0.8], [0.0, 0.0]))
        b.add(rla, rlo, ground=True, alt=elev, speed=np.full(len(rla), ac.approach_kt * 0.95))
        cla, clo = _local_line(lat0, lon0, h, np.linspace(td + 0.8, td + 5.8, 30), np.zeros(30))
        b.add(cla, clo, ground=False, alt=next_alt, tas=ac.cruise_kt)
        return
    end = 0.0 if ac.helicopter else 0.5
    rla, rlo = _dense(*_local_line(lat0, lon0, h, [td, end], [0.0, 0.0]))
    b.add(rla, rlo, ground=True, alt=elev,
          speed=_roll_speeds(len(rla), ac.approach_kt * (0.5 if ac.helicopter else 0.95), ac.taxi_kt, False))


def _taxi_in(b: _Builder, code: str, wind_from: float, ground_min: float) -> None:
    ac = b.ac
    lat0, lon0, elev = airfield(code)
    h = runway_heading(code, wind_from)
    end = 0.0 if ac.helicopter else 0.5
    pla, plo = _local_line(lat0, lon0, h, [end, end, 0.3, 0.3], [0.0, 0.3, 0.3, 0.7])
    la, lo = _dense(pla, plo)
    taxi_km = float(np.sum(geo.haversine_km(la[:-1], lo[:-1], la[1:], lo[1:])))
    b.add(la, lo, ground=True, alt=elev, speed=ac.taxi_kt)
    b.stay(max(ground_min * 60 - taxi_km / (ac.taxi_kt * geo.KT_KMH) * 3600, 60.0), alt=elev)


def _orbit(b: _Builder, o: Orbit, tas: float) -> None:
    brg0 = float(geo.bearing_deg(o.lat, o.lon, b.last[0], b.last[1])) if geo.haversine_km(
        o.lat, o.lon, b.last[0], b.last[1]) > 0.01 else 0.0
    ela, elo = geo.destination(o.lat, o.lon, brg0, o.radius_km)
    b.go_to(float(ela), float(elo), o.alt_ft, b.ac.cruise_kt)
    arc = tas * geo.KT_KMH * o.minutes / 60.0
    n = max(int(np.ceil(arc / STEP_KM)), 2)
    dtheta = np.degrees(arc / o.radius_km) * (1 if o.clockwise else -1)
    brg = brg0 + np.linspace(0.0, dtheta, n + 1)
    la, lo = geo.destination(np.full(n + 1, o.lat), np.full(n + 1, o.lon), brg % 360, o.radius_km)
    b.add(la, lo, ground=False, alt=o.alt_ft, tas=tas, curve=True)


def _racetrack(b: _Builder, r: Racetrack, tas: float) -> None:
    half_l, rad = r.length_km / 2, r.width_km / 2
    n_leg = max(int(np.ceil(r.length_km / STEP_KM)), 2)
    n_arc = max(int(np.ceil(np.pi * rad / STEP_KM)), 4)
    u1 = np.linspace(-half_l, half_l, n_leg, endpoint=False)
    v1 = np.full(n_leg, -rad)
    a = np.linspace(-np.pi / 2, np.pi / 2, n_arc, endpoint=False)
    u2, v2 = half_l + rad * np.cos(a), rad * np.sin(a)
    u3 = np.linspace(half_l, -half_l, n_leg, endpoint=False)
    v3 = np.full(n_leg, rad)
    a = np.linspace(np.pi / 2, 3 * np.pi / 2, n_arc, endpoint=False)
    u4, v4 = -half_l + rad * np.cos(a), rad * np.sin(a)
    u = np.concatenate([u1, u2, u3, u4])
    v = np.concatenate([v1, v2, v3, v4])
    la, lo = _local_line(r.lat, r.lon, r.heading_deg, u, v)
    start = int(np.argmin(geo.haversine_km(b.last[0], b.last[1], la, lo)))
    la, lo = np.roll(la, -start), np.roll(lo, -start)
    loop_km = 2 * r.length_km + 2 * np.pi * rad
    total = tas * geo.KT_KMH * r.minutes / 60.0
    reps = int(np.ceil(total / loop_km)) + 1
    la, lo = np.tile(la, reps), np.tile(lo, reps)
    seg = geo.haversine_km(la[:-1], lo[:-1], la[1:], lo[1:])
    s = np.concatenate([[0.0], np.cumsum(seg)])
    keep = s <= total
    b.go_to(float(la[0]), float(lo[0]), r.alt_ft, b.ac.cruise_kt)
    b.add(la[keep], lo[keep], ground=False, alt=r.alt_ft, tas=tas, curve=True)


def _first_alt(sortie: Sortie) -> float:
    for e in sortie.route:
        if isinstance(e, (Waypoint, Orbit, Racetrack)):
            return e.alt_ft
    return 3000.0


def _plan(sortie: Sortie, ac: Aircraft, scenario: Scenario, wind_from: float, arrival_fix=None) -> _Builder:
    b = _Builder(ac)
    dep = sortie.departure
    first_alt = _first_alt(sortie)
    if dep.airfield:
        _depart_airfield(b, dep.airfield, wind_from, dep.ground_min, first_alt)
    else:
        ship = scenario.ships[dep.ship]
        la, lo = ship_position(ship, dep.time.timestamp())
        b.add([float(la)], [float(lo)], ground=True, alt=0.0, speed=ship.speed_kt)
        cla, clo = geo.destination(np.full(10, float(la)), np.full(10, float(lo)), ship.heading_deg,
                                   np.linspace(0.2, 2.0, 10))
        b.add(cla, clo, ground=False, alt=first_alt, tas=ac.cruise_kt)
    loiter = ac.loiter_kt or ac.cruise_kt
    route = list(sortie.route)
    for i, e in enumerate(route):
        if isinstance(e, Waypoint):
            b.go_to(e.lat, e.lon, e.alt_ft, e.tas_kt or ac.cruise_kt)
        elif isinstance(e, Orbit):
            _orbit(b, e, e.tas_kt or loiter)
        elif isinstance(e, Racetrack):
            _racetrack(b, e, e.tas_kt or loiter)
        elif isinstance(e, TouchAndGo):
            nxt = next((x.alt_ft for x in route[i + 1:] if not isinstance(x, TouchAndGo)), 3000.0)
            _approach_airfield(b, e.airfield, wind_from, True, nxt)
    arr = sortie.arrival
    if arr.airfield:
        _approach_airfield(b, arr.airfield, wind_from, False, 0.0)
        _taxi_in(b, arr.airfield, wind_from, arr.ground_min)
    else:
        ship = scenario.ships[arr.ship]
        td_lat, td_lon = arrival_fix
        ala, alo = geo.destination(td_lat, td_lon, (ship.heading_deg + 180) % 360, 3.0)
        b.go_to(float(ala), float(alo), b.cur_alt(), ac.cruise_kt)
        la, lo = geo.great_circle(float(ala), float(alo), td_lat, td_lon, STEP_KM)
        b.add(la[:-1], lo[:-1], ground=False, alt=0.0, tas=ac.approach_kt)
        b.add([td_lat], [td_lon], ground=True, alt=0.0, speed=ship.speed_kt)
    return b


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of a boolean array."""
    if not len(mask):
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _kinematics(b: _Builder, wind_from: float, wind_kt: float):
    ac = b.ac
    lat, lon, ground, speed, tas, target, hold, curve = b.arrays()
    air = ~ground
    # round the corners of every airborne stretch (about one turn diameter); orbits and racetracks
    # are smooth already and keep their shape (and so their duration) except where they are joined
    for s0, s1 in _runs(air):
        v = np.nanmean(tas[s0:s1]) * geo.KT_KMH / 3.6
        radius_km = v * v / (G * np.tan(np.radians(ac.bank_deg))) / 1000.0
        win = int(2.5 * radius_km / STEP_KM) | 1
        w = np.ones(s1 - s0)
        for c0, c1 in _runs(curve[s0:s1]):
            p = np.arange(c0, c1)
            w[c0:c1] = np.clip(1.0 - np.minimum(p - c0, c1 - 1 - p) / win, 0.0, 1.0)
        raw_la, raw_lo = lat[s0:s1].copy(), lon[s0:s1].copy()
        sm_la, sm_lo = raw_la, raw_lo
        for _ in range(2):  # two box passes = a triangular kernel: curvature builds up smoothly
            sm_la = geo.smooth_keep_ends(sm_la, win)
            sm_lo = geo.smooth_keep_ends(sm_lo, win)
        lat[s0:s1] = w * sm_la + (1 - w) * raw_la
        lon[s0:s1] = w * sm_lo + (1 - w) * raw_lo
    seg = geo.haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    s = np.concatenate([[0.0], np.cumsum(seg)])
    idx = np.arange(len(s))

    # altitude: per-piece targets reached at the aircraft's rates, capped by ground-contact envelopes
    climb_v = (ac.approach_kt + ac.cruise_kt) / 2 * geo.KT_KMH / 60.0  # km per minute
    climb_grad = ac.climb_fpm / climb_v  # ft per km
    desc_grad = ac.descent_fpm / climb_v
    alt = target.copy()
    prev_g = np.maximum.accumulate(np.where(ground, idx, -1))
    next_g = np.minimum.accumulate(np.where(ground, idx, len(s))[::-1])[::-1]
    for s0, s1 in _runs(air):
        start_alt = target[s0 - 1] if s0 > 0 else 0.0
        a0 = start_alt
        # pieces of constant target within the run
        tg = target[s0:s1]
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(tg) != 0) + 1, [s1 - s0]])
        for c0, c1 in zip(cuts[:-1], cuts[1:]):
            p0, p1 = s0 + c0, s0 + c1
            dist = s[p0:p1] - (s[p0 - 1] if p0 > 0 else s[p0])
            want = tg[c0]
            delta = np.clip(want - a0, -desc_grad * dist, climb_grad * dist)
            alt[p0:p1] = a0 + delta
            a0 = alt[p1 - 1]
    elev_prev = np.where(prev_g >= 0, target[np.clip(prev_g, 0, None)], np.nan)
    elev_next = np.where(next_g < len(s), target[np.clip(next_g, None, len(s) - 1)], np.nan)
    env_c = np.where(prev_g >= 0, elev_prev + climb_grad * (s - s[np.clip(prev_g, 0, None)]), np.inf)
    env_d = np.where(next_g < len(s), elev_next + desc_grad * (s[np.clip(next_g, None, len(s) - 1)] - s), np.inf)
    alt = np.where(air, np.minimum(alt, np.minimum(env_c, env_d)), target)

    # airspeed: the piece's speed, slowed to approach speed close to the ground
    ramp = 300.0 if ac.helicopter else 8000.0
    elev_near = np.fmin(elev_prev, elev_next)
    agl = alt - np.nan_to_num(elev_near, nan=0.0)
    tas_t = np.where(air, ac.approach_kt + (np.nan_to_num(tas, nan=ac.cruise_kt) - ac.approach_kt)
                     * np.clip(agl / ramp, 0, 1), np.nan)
    for s0, s1 in _runs(air):
        tas_t[s0:s1] = geo.smooth_keep_ends(tas_t[s0:s1], int(10.0 / STEP_KM) | 1)

    # ground speed from true airspeed and the wind, along each segment's course
    course = np.concatenate([geo.bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:]), [0.0]])
    course[-1] = course[-2] if len(course) > 1 else 0.0
    toward = np.radians((wind_from + 180.0) - course)
    wa, wc = wind_kt * np.cos(toward), wind_kt * np.sin(toward)
    tas_v = np.nan_to_num(tas_t, nan=0.0)
    gs_air = wa + np.sqrt(np.maximum(tas_v ** 2 - wc ** 2, (0.3 * tas_v) ** 2))
    gs_air = np.maximum(gs_air, 0.3 * tas_v)
    vspeed = np.where(air, gs_air, speed)
    seg_speed = np.maximum((vspeed[:-1] + vspeed[1:]) / 2, 1.0)
    seg_t = seg[:] / (seg_speed * geo.KT_KMH) * 3600.0
    seg_t = np.where(np.isnan(hold[1:]), seg_t, hold[1:])
    tv = np.concatenate([[0.0], np.cumsum(seg_t)])
    return lat, lon, ground, alt, tas_t, tv


def _resample(tv, lat, lon, alt, ground, tas, t0_abs: float):
    """Whole-second samples of a vertex path whose vertex times are tv (+ t0_abs)."""
    ta = tv + t0_abs
    grid = np.arange(np.ceil(ta[0]), np.floor(ta[-1]) + 1).astype(np.int64)
    la = np.interp(grid, ta, lat)
    lo = np.interp(grid, ta, lon)
    al = np.interp(grid, ta, alt)
    gr = np.interp(grid, ta, ground.astype(float)) >= 0.5
    tt = np.interp(grid, ta, np.nan_to_num(tas, nan=0.0))
    return grid, la, lo, al, gr, tt


def _deck(ship: Ship, t_from: int, t_to: int):
    grid = np.arange(t_from, t_to + 1, dtype=np.int64)
    la, lo = ship_position(ship, grid.astype(float))
    return grid, la, lo


def build_track(sortie: Sortie, scenario: Scenario) -> TrueTrack:
    """The dense true track of one sortie (1 s steps), with take-off and landing times."""
    ac = scenario.aircraft[sortie.icao24]
    wind_from = sortie.wind_from_deg if sortie.wind_from_deg is not None else scenario.wind_from_deg
    wind_kt = sortie.wind_kt if sortie.wind_kt is not None else scenario.wind_kt
    t_takeoff = float(int(sortie.departure.time.timestamp()))
    arr_ship = scenario.ships.get(sortie.arrival.ship) if sortie.arrival.ship else None

    fix = None
    if arr_ship is not None:  # land on a moving deck: re-plan until the deck is where we land
        guess = t_takeoff + 3600.0
        for _ in range(6):
            la, lo = ship_position(arr_ship, guess)
            fix = (float(la), float(lo))
            b = _plan(sortie, ac, scenario, wind_from, fix)
            lat, lon, ground, alt, tas, tv = _kinematics(b, wind_from, wind_kt)
            lift = _liftoff_index(ground)
            t_td = t_takeoff + tv[-1] - tv[lift]
            if abs(t_td - guess) < 1.0:
                break
            guess = t_td
    b = _plan(sortie, ac, scenario, wind_from, fix)
    lat, lon, ground, alt, tas, tv = _kinematics(b, wind_from, wind_kt)
    lift = _liftoff_index(ground)
    t0_abs = t_takeoff - tv[lift]
    grid, la, lo, al, gr, tt = _resample(tv, lat, lon, alt, ground, tas, t0_abs)

    runs_g = _runs(ground)
    touchdown_v = runs_g[-1][0]
    landing_time = int(round(t0_abs + tv[touchdown_v]))
    tgo = []
    route_tg = [e.airfield for e in sortie.route if isinstance(e, TouchAndGo)]
    for k, (g0, _g1) in enumerate(runs_g[1:-1]):
        tgo.append((route_tg[k] if k < len(route_tg) else "unknown", int(round(t0_abs + tv[g0]))))

    parts_t, parts_la, parts_lo, parts_al, parts_gr, parts_tt = [grid], [la], [lo], [al], [gr], [tt]
    if sortie.departure.ship:
        ship = scenario.ships[sortie.departure.ship]
        g, dla, dlo = _deck(ship, int(t_takeoff - sortie.departure.deck_min * 60), int(grid[0]) - 1)
        parts_t.insert(0, g)
        parts_la.insert(0, dla)
        parts_lo.insert(0, dlo)
        parts_al.insert(0, np.zeros(len(g)))
        parts_gr.insert(0, np.ones(len(g), bool))
        parts_tt.insert(0, np.zeros(len(g)))
    if arr_ship is not None:
        g, dla, dlo = _deck(arr_ship, int(grid[-1]) + 1, int(grid[-1] + sortie.arrival.deck_min * 60))
        parts_t.append(g)
        parts_la.append(dla)
        parts_lo.append(dlo)
        parts_al.append(np.zeros(len(g)))
        parts_gr.append(np.ones(len(g), bool))
        parts_tt.append(np.zeros(len(g)))
    t = np.concatenate(parts_t)
    lat_s = np.concatenate(parts_la)
    lon_s = np.concatenate(parts_lo)
    alt_s = np.concatenate(parts_al)
    gr_s = np.concatenate(parts_gr)
    tas_s = np.concatenate(parts_tt)

    gs, trk = _velocity(lat_s, lon_s)
    vr = np.gradient(alt_s) * 60.0
    vr = np.where(gr_s, 0.0, geo.smooth_keep_ends(vr, 15))
    rate = np.gradient(np.degrees(np.unwrap(np.radians(trk))))
    rate = geo.smooth_keep_ends(rate, 9)
    v_ms = gs * geo.KT_KMH / 3.6
    roll = np.where(gr_s, 0.0, np.clip(np.degrees(np.arctan(v_ms * np.radians(rate) / G)), -45, 45))
    tas_s = np.where(gr_s, gs, np.maximum(tas_s, 1.0))

    dep_code = sortie.departure.airfield or "at_sea"
    arr_code = sortie.arrival.airfield or "at_sea"
    return TrueTrack(
        sortie_id=sortie.id, icao24=sortie.icao24, t=t, lat=lat_s, lon=lon_s, alt_ft=alt_s, on_ground=gr_s,
        gs_kt=gs, track_deg=trk, vrate_fpm=vr, tas_kt=tas_s, roll_deg=roll, takeoff_time=int(t_takeoff),
        landing_time=landing_time, takeoff_airfield=dep_code, landing_airfield=arr_code, touch_and_go=tgo,
    )


def _liftoff_index(ground: np.ndarray) -> int:
    runs = _runs(ground)
    return int(runs[0][1] - 1) if runs else 0


def _velocity(lat, lon):
    """Ground speed (kt) and track (deg) from 1 s positions; track held while standing still."""
    n = len(lat)
    if n < 2:
        return np.zeros(n), np.zeros(n)
    i0 = np.clip(np.arange(n) - 1, 0, n - 1)
    i1 = np.clip(np.arange(n) + 1, 0, n - 1)
    span = (i1 - i0).astype(float)
    d = geo.haversine_km(lat[i0], lon[i0], lat[i1], lon[i1])
    gs = d / span * 3600.0 / geo.KT_KMH
    trk = geo.bearing_deg(lat[i0], lon[i0], lat[i1], lon[i1])
    moving = d > 0.002
    idx = np.where(moving, np.arange(n), -1)
    last = np.maximum.accumulate(idx)
    first_moving = np.flatnonzero(moving)
    fill = trk[first_moving[0]] if len(first_moving) else 0.0
    trk = np.where(last >= 0, trk[np.clip(last, 0, None)], fill)
    return gs, trk


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
