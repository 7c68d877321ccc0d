"""Civil background traffic: the airliners a real feed holds besides the aircraft a scenario is about.

A readsb globe_history day holds every aircraft the network received, so the feed is never silent
for hours; a scenario of eight military aircraft alone would be (every night would look like a
coverage hole). This module flies a timetable of civil flights between real airports (positions
from the ``airportsdata`` package) and receives them through the scenario's receiver model, so the
feed's coverage ends where the scenario's does (offshore, far into Mexico).

Model, kept simple on purpose (these flights are context, never counted):

- Timetable: departures at a rate by local hour of day (see ``scenario.Background``), spread as a
  timetable rather than at random, so every hour has flights.
- Rotations: each departure takes the aircraft that has been ready the longest (landed, taxied in,
  turned around); with none ready a new aircraft joins the fleet, of an airline drawn by weight,
  at a random airport. The aircraft flies from where it is to a random airport of the list whose
  route (great circle) is within ``route_km`` and does not enter a country in ``avoid``.
- Profile: taxi out (straight, from a gate point to the airport reference point), lift-off, climb at
  the type's rate to a cruise level that grows with the route's length, cruise, descent, landing,
  taxi in. Ground speed ramps linearly between 160 kt near the ground and the type's cruise speed;
  no wind. Positions are sampled straight from this profile every ``sample_s`` seconds (coarser
  than a readsb trace, to keep the output small), with the scenario's ADS-B noise.
- Reception: the scenario's receivers and radio horizons (``observe.horizon_ratio``), the flickering
  edge and random dropouts of its coverage; no MLAT (airliners broadcast ADS-B).
- Addresses: drawn at random, without repeats, from the airline's country block (US: A00001-ADF7C7,
  the N-number range; Mexico: 0D0000-0D7FFF), never one of the scenario's own aircraft. They are
  not looked up in any registry, so one may belong to a real aircraft: like everything here the
  traces say ``"simulated": true``, carry no registration, and their operator says SIMULATED, so
  they are never mistaken for data about that aircraft.

Every random draw comes from streams of their own (seed, scenario, "background", ...): adding or
changing the background never changes a byte of the scenario's own sorties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isrwatch.simulate import geo
from isrwatch.simulate.flightpath import airfield, utc
from isrwatch.simulate.observe import SRC_ADSB, Observed, horizon_ratio
from isrwatch.simulate.scenario import Aircraft, Background, Scenario, ScenarioError

KT_KMS = geo.KT_KMH / 3600.0  # 1 knot in km/s
LOW_KT = 160.0  # ground speed at lift-off and touchdown
TAXI_KM = 1.5  # gate to runway
OPERATOR = "SIMULATED: civil background traffic (isrwatch simulate)"


@dataclass(frozen=True)
class TypePerf:
    description: str
    cruise_kt: float  # true airspeed in cruise (= ground speed: no wind)
    ceiling_ft: float  # highest cruise level flown
    climb_fpm: float  # average to cruise level
    descent_fpm: float
    category: str = "A3"


# Rounded figures for common airliners (typical, not any operator's).
TYPES: dict[str, TypePerf] = {
    "B737": TypePerf("BOEING 737-700", 445, 37000, 2200, 1900),
    "B738": TypePerf("BOEING 737-800", 450, 37000, 2100, 1900),
    "B739": TypePerf("BOEING 737-900", 450, 37000, 2000, 1900),
    "B38M": TypePerf("BOEING 737 MAX 8", 450, 39000, 2200, 1900),
    "B39M": TypePerf("BOEING 737 MAX 9", 450, 39000, 2100, 1900),
    "B752": TypePerf("BOEING 757-200", 460, 39000, 2500, 2000, "A4"),
    "B763": TypePerf("BOEING 767-300", 470, 39000, 2000, 2000, "A5"),
    "A319": TypePerf("AIRBUS A-319", 445, 37000, 2300, 1900),
    "A320": TypePerf("AIRBUS A-320", 447, 37000, 2100, 1900),
    "A20N": TypePerf("AIRBUS A-320neo", 450, 39000, 2200, 1900),
    "A321": TypePerf("AIRBUS A-321", 450, 37000, 1900, 1900),
    "A21N": TypePerf("AIRBUS A-321neo", 450, 39000, 2000, 1900),
    "E75L": TypePerf("EMBRAER ERJ-170-200 (long wing)", 430, 37000, 2300, 1900),
    "CRJ9": TypePerf("BOMBARDIER CRJ-900", 445, 37000, 2400, 2000),
    "DH8D": TypePerf("DE HAVILLAND CANADA DHC-8-400", 300, 25000, 1500, 1500, "A2"),
}
DEFAULT_PERF = TypePerf("airliner", 440, 37000, 2000, 1900)


def perf(type_code: str) -> TypePerf:
    return TYPES.get(type_code, DEFAULT_PERF)


@dataclass
class BackgroundTraffic:
    """What was flown and received: per flight, per aircraft, and the received rows by aircraft."""

    flights: list[dict]  # one per flight: id, icao24, callsign, type, origin, destination, times
    aircraft: dict[str, Aircraft]  # by icao24
    observed: dict[str, list[Observed]]  # by icao24, time-ordered flights with received rows
    routes: dict  # {"allowed": n, "avoided": n, "too_short_or_long": n}


def _rng(seed: int, scenario: Scenario, *keys: str) -> np.random.Generator:
    from isrwatch.simulate import _rng as stream

    return stream(seed, scenario.name, "background", *keys)


def departures(bg: Background, rng: np.random.Generator) -> np.ndarray:
    """Take-off times (epoch s, sorted) following the hourly rates as a timetable."""
    t0, t1 = bg.start.timestamp(), bg.end.timestamp()
    h0 = np.floor(t0 / 3600.0)
    edges = np.arange(h0, np.ceil(t1 / 3600.0) + 1) * 3600.0
    edges = np.clip(edges, t0, t1)
    hours = (np.floor(edges[:-1] / 3600.0).astype(np.int64) + int(round(bg.utc_offset_h))) % 24
    rate = np.asarray(bg.flights_per_hour)[hours]
    lam = np.concatenate([[0.0], np.cumsum(rate * np.diff(edges) / 3600.0)])
    n = int(np.floor(lam[-1]))
    slots = np.arange(n) + 0.5 + bg.schedule_jitter * (rng.random(n) - 0.5)
    return np.sort(np.interp(slots, lam, edges))


def _routes(bg: Background, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Distance matrix (km) and allowed-route mask between the airports."""
    lat, lon = coords[:, 0], coords[:, 1]
    d = geo.haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    ok = (d >= bg.route_km[0]) & (d <= bg.route_km[1])
    n_len = int(np.count_nonzero(~ok) - len(lat))  # the diagonal is no route
    n_avoid = 0
    if bg.avoid:
        import shapely

        from isrwatch.simulate.truth import country_geometry

        geoms = []
        for iso3 in bg.avoid:
            try:
                geoms.append(country_geometry(iso3))
            except KeyError as exc:
                raise ScenarioError(f"background.avoid: {exc.args[0]}") from None
        for i, j in zip(*np.nonzero(np.triu(ok))):
            la, lo = geo.great_circle(lat[i], lon[i], lat[j], lon[j], 5.0)
            if any(shapely.contains_xy(g, lo, la).any() for g in geoms):
                ok[i, j] = ok[j, i] = False
                n_avoid += 2
    return d, ok, {"allowed": int(np.count_nonzero(ok)), "avoided": n_avoid, "out_of_route_km": n_len}


def _flight_time_s(d_km, alt_c, elev_d, elev_a, p: TypePerf):
    """Climb, cruise and descent times (s) and the cruise level actually reached, for routes d_km."""
    v_c, v_lo = p.cruise_kt * KT_KMS, LOW_KT * KT_KMS
    tc = (alt_c - elev_d) / p.climb_fpm * 60.0
    td = (alt_c - elev_a) / p.descent_fpm * 60.0
    sc, sd = (v_lo + v_c) / 2 * tc, (v_lo + v_c) / 2 * td
    # too short to reach the level: climb and descend less (both shrink by the same factor)
    k = np.minimum(1.0, d_km / np.maximum(sc + sd, 1e-9))
    tc, td, sc, sd = tc * k, td * k, sc * k, sd * k
    alt = elev_d + (alt_c - elev_d) * k
    tcr = (d_km - sc - sd) / v_c
    return tc, tcr, td, alt


def schedule(scenario: Scenario, seed: int) -> tuple[list[dict], dict[str, Aircraft], dict]:
    """The timetable flown: one dict per flight (times in epoch s), the fleet, and route counts."""
    bg = scenario.background
    codes = list(bg.airports)
    coords = np.array([airfield(c) for c in codes], float)  # lat, lon, elevation ft
    dist, ok, route_counts = _routes(bg, coords)
    lonely = [codes[i] for i in range(len(codes)) if not ok[i].any()]
    if lonely:
        raise ScenarioError(f"background: no route from {', '.join(lonely)} within route_km {list(bg.route_km)}"
                            f"{' avoiding ' + ', '.join(bg.avoid) if bg.avoid else ''}")

    rng = _rng(seed, scenario, "timetable")
    t_dep = departures(bg, rng)
    n = len(t_dep)
    taxi_out = rng.uniform(*bg.taxi_min, size=n) * 60.0
    taxi_in = rng.uniform(*bg.taxi_min, size=n) * 60.0
    turn = rng.uniform(*bg.turnaround_min, size=n) * 60.0
    pick_dest = rng.random(n)
    level_draw = rng.random(n)
    numbers = rng.integers(10, 3000, size=n)

    fleet_rng = _rng(seed, scenario, "fleet")
    weights = np.array([a.weight for a in bg.airlines], float)
    weights /= weights.sum()
    taken = set(scenario.aircraft)
    fleet: list[dict] = []  # icao24, airline, type, at (airport index), ready (epoch s)
    flights: list[dict] = []
    for k in range(n):
        # the aircraft ready the longest (a per-departure loop: the fleet's state is sequential)
        ready = [a for a in fleet if a["ready"] + taxi_out[k] <= t_dep[k]]
        if ready:
            ac = min(ready, key=lambda a: a["ready"])
        else:
            airline = bg.airlines[int(fleet_rng.choice(len(bg.airlines), p=weights))]
            types = airline.types or bg.types
            lo, hi = airline.hex_range
            while True:
                icao = f"{int(fleet_rng.integers(lo, hi + 1)):06x}"
                if icao not in taken:
                    break
            taken.add(icao)
            ac = {"icao24": icao, "airline": airline, "type": types[int(fleet_rng.integers(len(types)))],
                  "at": int(fleet_rng.integers(len(codes))), "ready": -np.inf}
            fleet.append(ac)
        i = ac["at"]
        dests = np.flatnonzero(ok[i])
        j = int(dests[min(int(pick_dest[k] * len(dests)), len(dests) - 1)])
        p = perf(ac["type"])
        d_km = float(dist[i, j])
        # longer routes fly higher; the type's ceiling caps it (FL rounded to 1,000 ft)
        alt_c = min(p.ceiling_ft - 2000.0 * np.floor(level_draw[k] * 3), 12000.0 + 40.0 * d_km)
        alt_c = float(np.round(max(alt_c, 10000.0) / 1000.0) * 1000.0)
        tc, tcr, td, alt = _flight_time_s(d_km, alt_c, coords[i, 2], coords[j, 2], p)
        t_land = float(t_dep[k] + tc + tcr + td)
        flights.append({
            "flight_id": f"bg-{k:05d}", "icao24": ac["icao24"], "type_code": ac["type"],
            "callsign": f"{ac['airline'].prefix}{int(numbers[k])}", "origin": codes[i], "destination": codes[j],
            "o": i, "d": j, "km": d_km, "cruise_ft": float(alt), "tc": float(tc), "tcr": float(tcr), "td": float(td),
            "takeoff": float(t_dep[k]), "landing": t_land, "taxi_out": float(taxi_out[k]), "taxi_in": float(taxi_in[k]),
        })
        ac["at"] = j
        ac["ready"] = t_land + taxi_in[k] + turn[k]
    aircraft = {
        a["icao24"]: Aircraft(icao24=a["icao24"], registration=None, type_code=a["type"],
                              description=perf(a["type"]).description, operator=OPERATOR, db_flags=0, role="none",
                              category=perf(a["type"]).category, note=f"civil background ({a['airline'].prefix})")
        for a in fleet
    }
    return flights, aircraft, route_counts


def _sample_times(span0: np.ndarray, span1: np.ndarray, lo: float, hi: float, rng: np.random.Generator):
    """(flight index, seconds after span0) of samples every U(lo, hi) s through each flight's span."""
    m = np.ceil((span1 - span0) / lo).astype(np.int64) + 1
    fi = np.repeat(np.arange(len(span0)), m)
    step = lo + (hi - lo) * rng.random(len(fi))
    first = np.concatenate([[0], np.cumsum(m)[:-1]])
    step[first] = rng.random(len(span0)) * lo  # where in the first interval sampling starts
    cs = np.cumsum(step)
    tau = cs - np.repeat(cs[first] - step[first], m)
    keep = tau <= (span1 - span0)[fi]
    return fi[keep], tau[keep]


def _in_dropout(fi, t, span0, span1, per_hour, lengths_s, rng):
    """Whether each sample (flight fi, time t) falls in one of its flight's random reception dropouts."""
    k = rng.poisson(per_hour * (span1 - span0) / 3600.0)
    owner = np.repeat(np.arange(len(span0)), k)
    start = rng.uniform(span0[owner], span1[owner])
    length = rng.uniform(lengths_s[0], lengths_s[1], size=len(owner))
    if not len(owner):
        return np.zeros(len(t), bool)
    base = span0.min()
    big = float(np.ceil((span1.max() - base) + 1.0))  # keeps each flight's keys apart
    key0 = owner * big + (start - base)
    order = np.argsort(key0, kind="stable")
    key0 = key0[order]
    key1 = np.maximum.accumulate((owner * big + (start - base) + length)[order])
    q = fi * big + (t - base)
    at = np.searchsorted(key0, q, side="right") - 1
    return (at >= 0) & (key1[np.clip(at, 0, None)] > q)


def fly(scenario: Scenario, seed: int) -> BackgroundTraffic:
    """Fly the background timetable and receive it through the scenario's receivers."""
    bg = scenario.background
    cov = scenario.coverage
    flights, aircraft, route_counts = schedule(scenario, seed)
    if not flights:
        return BackgroundTraffic([], aircraft, {}, route_counts)
    rng = _rng(seed, scenario, "received")
    codes = list(bg.airports)
    coords = np.array([airfield(c) for c in codes], float)

    col = {k: np.array([f[k] for f in flights], float) for k in
           ("o", "d", "km", "cruise_ft", "tc", "tcr", "td", "takeoff", "landing", "taxi_out", "taxi_in")}
    o, d = col["o"].astype(np.int64), col["d"].astype(np.int64)
    types = [perf(f["type_code"]) for f in flights]
    v_c = np.array([p.cruise_kt for p in types]) * KT_KMS
    v_lo = LOW_KT * KT_KMS
    span0 = col["takeoff"] - col["taxi_out"]
    span1 = col["landing"] + col["taxi_in"]
    fi, tau = _sample_times(span0, span1, bg.sample_s[0], bg.sample_s[1], rng)
    t = span0[fi] + tau
    rel = t - col["takeoff"][fi]  # seconds after lift-off
    tc, tcr, td, km = col["tc"][fi], col["tcr"][fi], col["td"][fi], col["km"][fi]
    vc = v_c[fi]
    air_t = tc + tcr + td
    la_o, lo_o, el_o = coords[o[fi], 0], coords[o[fi], 1], coords[o[fi], 2]
    la_d, lo_d, el_d = coords[d[fi], 0], coords[d[fi], 1], coords[d[fi], 2]
    alt_c = col["cruise_ft"][fi]

    # along-track distance (km) and altitude (ft) through climb, cruise and descent
    x = np.clip(rel, 0.0, air_t)
    in_climb, in_desc = x < tc, x > tc + tcr
    u = np.clip(x - tc - tcr, 0.0, None)
    s_climb = v_lo * x + (vc - v_lo) * x ** 2 / (2 * np.maximum(tc, 1e-9))
    sc = (v_lo + vc) / 2 * tc
    s_desc = sc + vc * tcr + vc * u - (vc - v_lo) * u ** 2 / (2 * np.maximum(td, 1e-9))
    s = np.where(in_climb, s_climb, np.where(in_desc, s_desc, sc + vc * (x - tc)))
    s = np.clip(s, 0.0, km)
    gs_air = np.where(in_climb, v_lo + (vc - v_lo) * x / np.maximum(tc, 1e-9),
                      np.where(in_desc, vc - (vc - v_lo) * u / np.maximum(td, 1e-9), vc)) / KT_KMS
    alt = np.where(in_climb, el_o + (alt_c - el_o) * x / np.maximum(tc, 1e-9),
                   np.where(in_desc, alt_c - (alt_c - el_d) * u / np.maximum(td, 1e-9), alt_c))
    vr = np.where(in_climb, (alt_c - el_o) / np.maximum(tc, 1e-9) * 60.0,
                  np.where(in_desc, -(alt_c - el_d) / np.maximum(td, 1e-9) * 60.0, 0.0))

    # position on the great circle: spherical interpolation by the share of the route flown
    f = s / np.maximum(km, 1e-9)
    a, b = geo._xyz(la_o, lo_o), geo._xyz(la_d, lo_d)
    omega = km / geo.EARTH_KM
    sin_o = np.sin(omega)
    v = (np.sin((1 - f) * omega)[:, None] * a + np.sin(f * omega)[:, None] * b) / sin_o[:, None]
    lat = np.degrees(np.arcsin(np.clip(v[:, 2], -1, 1)))
    lon = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    trk = geo.bearing_deg(lat, lon, la_d, lo_d)

    # taxiing: a straight line between a gate point and the airport reference point
    gate_brg = rng.uniform(0.0, 360.0, size=len(flights))[fi]
    out_ = rel < 0
    in_ = rel > air_t
    g_frac = np.where(out_, np.clip(-rel / col["taxi_out"][fi], 0, 1),
                      np.clip((rel - air_t) / col["taxi_in"][fi], 0, 1))  # 1 at the gate
    ground = out_ | in_
    g_lat0 = np.where(out_, la_o, la_d)
    g_lon0 = np.where(out_, lo_o, lo_d)
    gla, glo = geo.destination(g_lat0, g_lon0, gate_brg, TAXI_KM * g_frac)
    lat = np.where(ground, gla, lat)
    lon = np.where(ground, glo, lon)
    taxi_kt = TAXI_KM / np.where(out_, col["taxi_out"][fi], col["taxi_in"][fi]) / KT_KMS
    gs = np.where(ground, taxi_kt, gs_air)
    trk = np.where(out_, (gate_brg + 180.0) % 360.0, np.where(in_, gate_brg, trk))
    alt = np.where(out_, el_o, np.where(in_, el_d, alt))
    vr = np.where(ground, 0.0, vr)

    # reception through the scenario's receivers: range, flickering edge, dropouts
    best, _ = horizon_ratio(lat, lon, alt, ground, scenario)
    edge = np.maximum(np.clip((1.0 - best) / max(cov.edge_fraction, 1e-6), 0.0, 1.0), 0.05)
    heard = (best < 1.0) & (rng.random(len(t)) < edge)
    heard &= ~_in_dropout(fi, t, span0, span1, cov.dropout_per_hour, cov.dropout_s, rng)

    m = len(t)
    noise = cov.noise_m / 1000.0
    lat = lat + rng.normal(size=m) * noise / 111.2
    lon = lon + rng.normal(size=m) * noise / (111.2 * np.cos(np.radians(lat)))
    geo_off = 350.0 + 250.0 * np.sin(np.radians(lat * 7.0)) + 150.0 * np.cos(np.radians(lon * 5.0))
    alt_geom = np.round((alt + geo_off + rng.normal(size=m) * 12.0) / 25.0) * 25.0
    gs = gs + rng.normal(size=m) * 0.3
    trk = (trk + rng.normal(size=m) * 0.3) % 360.0
    ias = np.where(ground, np.nan, np.round(gs / (1.0 + 0.02 * np.maximum(alt, 0) / 1000.0)))
    roll = np.where(ground, np.nan, np.round(rng.normal(size=m) * 0.3, 1))
    geom_rate = np.where(ground, np.nan, np.round((vr + rng.normal(size=m) * 40) / 32.0) * 32.0)
    baro_missing = ~ground & (rng.random(size=m) < cov.baro_missing_rate)
    flight_ok = rng.random(size=m) >= cov.callsign_dropout
    squawks = ["".join(str(int(x)) for x in q) for q in rng.integers(0, 8, size=(len(flights), 4))]

    t = np.round(t, 2)
    cols = {
        "t": t, "lat": lat, "lon": lon, "on_ground": ground, "alt_baro": np.round(alt / 25.0) * 25.0,
        "alt_geom": alt_geom, "gs": gs, "track": trk, "vrate": np.round(vr / 64.0) * 64.0, "geom_rate": geom_rate,
        "ias": ias, "roll": roll, "baro_missing": baro_missing, "flight_ok": flight_ok,
    }
    keep = np.flatnonzero(heard)
    counts = np.bincount(fi[keep], minlength=len(flights))
    observed: dict[str, list[Observed]] = {}
    bounds = np.concatenate([[0], np.cumsum(counts)])
    # samples are generated flight by flight in time order, so each flight's rows are one run
    for k, fl in enumerate(flights):
        fl["n_positions"] = int(counts[k])
        if not counts[k]:
            continue
        sel = keep[bounds[k]:bounds[k + 1]]
        cs = np.empty(len(sel), object)
        cs[:] = fl["callsign"]
        observed.setdefault(fl["icao24"], []).append(Observed(
            sortie_id=fl["flight_id"], icao24=fl["icao24"], t=cols["t"][sel], lat=cols["lat"][sel],
            lon=cols["lon"][sel], source=np.full(len(sel), SRC_ADSB, np.int8), on_ground=cols["on_ground"][sel],
            alt_baro=cols["alt_baro"][sel], alt_geom=cols["alt_geom"][sel], gs=cols["gs"][sel],
            track=cols["track"][sel], vrate=cols["vrate"][sel], geom_rate=cols["geom_rate"][sel],
            ias=cols["ias"][sel], roll=cols["roll"][sel], baro_missing=cols["baro_missing"][sel],
            callsign=cs, flight_ok=cols["flight_ok"][sel], outlier=np.zeros(len(sel), bool),
            squawk=squawks[k], true_index=np.zeros(len(sel), np.int64), rx_cause=np.zeros(0, np.int8),
        ))
    return BackgroundTraffic(flights, aircraft, observed, route_counts)


def flight_record(fl: dict) -> dict:
    """A flight as truth.json lists it."""
    return {"flight_id": fl["flight_id"], "icao24": fl["icao24"], "callsign": fl["callsign"],
            "type_code": fl["type_code"], "origin": fl["origin"], "destination": fl["destination"],
            "takeoff_time": utc(fl["takeoff"]), "landing_time": utc(np.ceil(fl["landing"])),
            "km": round(fl["km"], 1), "cruise_ft": int(fl["cruise_ft"]), "n_positions": fl["n_positions"]}
