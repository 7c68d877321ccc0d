"""What a crowd-sourced ADS-B network would have received of a true track.

Reception: an aircraft is heard by a receiver within the radio horizon
d_km = 4.12 (sqrt(h_antenna_m) + sqrt(h_aircraft_m)), scaled by the site's range factor, with a
flickering outer edge, random dropouts and forced gaps. Aircraft that do not broadcast ADS-B
positions (or switch them off) are positioned by multilateration only where at least
``min_mlat_receivers`` MLAT receivers hear them — coarser, wider spaced, no callsign.

Samples are spaced as readsb spaces trace points: a few seconds when taxiing, turning or climbing,
6-16 s in steady flight, rarely when parked (readsb drops repeated positions), wider in MLAT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isrwatch.simulate import geo
from isrwatch.simulate.flightpath import TrueTrack
from isrwatch.simulate.scenario import Aircraft, Scenario, Sortie

# why a true second was not received (ground truth for coverage gaps)
RX_OK, RX_FORCED, RX_DROPOUT, RX_RANGE, RX_NO_MLAT = 0, 1, 2, 3, 4
CAUSES = {RX_OK: "edge_of_coverage", RX_FORCED: "forced_gap", RX_DROPOUT: "dropout",
          RX_RANGE: "out_of_range", RX_NO_MLAT: "mlat_unavailable"}

SRC_ADSB, SRC_MLAT = 0, 1
SOURCE_NAMES = {SRC_ADSB: "adsb_icao", SRC_MLAT: "mlat"}


@dataclass
class Observed:
    """Rows a readsb trace would hold for one sortie (before leg marks and file splitting)."""

    sortie_id: str
    icao24: str
    t: np.ndarray  # float epoch seconds
    lat: np.ndarray
    lon: np.ndarray
    source: np.ndarray  # SRC_ADSB / SRC_MLAT
    on_ground: np.ndarray
    alt_baro: np.ndarray  # feet (float; rounded on output)
    alt_geom: np.ndarray  # feet, NaN for MLAT
    gs: np.ndarray
    track: np.ndarray
    vrate: np.ndarray  # baro rate ft/min, NaN when unknown
    geom_rate: np.ndarray
    ias: np.ndarray
    roll: np.ndarray
    baro_missing: np.ndarray  # altitude field carries the geometric altitude (flag 8)
    callsign: np.ndarray  # object array: callsign in use, or None
    flight_ok: np.ndarray  # the aircraft object (if written) carries "flight"
    outlier: np.ndarray  # MLAT position that jumped away from the true one
    squawk: str
    true_index: np.ndarray  # index of the true second the row was taken at
    rx_cause: np.ndarray  # per true second: RX_* why it could not be received (RX_OK if it could)


def _windows_mask(track: TrueTrack, windows, t_ref: float) -> np.ndarray:
    m = np.zeros(len(track.t), bool)
    for w in windows:
        a = t_ref + w.start * 60.0
        b = a + w.minutes * 60.0
        m |= (track.t >= a) & (track.t < b)
    return m


def horizon_ratio(lat: np.ndarray, lon: np.ndarray, alt_ft: np.ndarray, on_ground: np.ndarray,
                  scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per position: distance to the best-placed receiver as a share of its reception range
    (< 1: heard), and how many MLAT receivers hear it well enough to multilaterate."""
    cov = scenario.coverage
    n = len(lat)
    h_ac = np.where(on_ground, 3.0, np.maximum(alt_ft * geo.FT_M, 3.0))
    best = np.full(n, np.inf)
    n_mlat = np.zeros(n, np.int32)
    for r in scenario.receivers:
        rf = r.range_factor if r.range_factor is not None else cov.range_factor
        horizon = rf * 4.12 * (np.sqrt(r.antenna_m) + np.sqrt(h_ac))
        d = geo.haversine_km(r.lat, r.lon, lat, lon)
        ratio = d / horizon
        best = np.minimum(best, ratio)
        if r.mlat:
            n_mlat += ratio < cov.mlat_range_factor
    return best, n_mlat


def reception(track: TrueTrack, ac: Aircraft, sortie: Sortie, scenario: Scenario, rng: np.random.Generator):
    """Per true second: (adsb_ok, mlat_ok, edge_probability, cause)."""
    cov = scenario.coverage
    n = len(track.t)
    best, n_mlat = horizon_ratio(track.lat, track.lon, track.alt_ft, track.on_ground, scenario)
    forced = _windows_mask(track, sortie.gaps, track.takeoff_time)
    adsb_off = _windows_mask(track, sortie.adsb_off, track.takeoff_time) | (not ac.adsb)

    dropout = np.zeros(n, bool)
    hours = (track.t[-1] - track.t[0]) / 3600.0
    k = rng.poisson(cov.dropout_per_hour * hours)
    starts = rng.uniform(track.t[0], track.t[-1], size=k)
    lengths = rng.uniform(cov.dropout_s[0], cov.dropout_s[1], size=k)
    for a, L in zip(starts, lengths):
        dropout |= (track.t >= a) & (track.t < a + L)

    in_range = best < 1.0
    adsb_ok = in_range & ~adsb_off & ~forced & ~dropout
    mlat_ok = (n_mlat >= cov.min_mlat_receivers) & adsb_off & ~forced & ~dropout
    edge = np.clip((1.0 - best) / max(cov.edge_fraction, 1e-6), 0.0, 1.0)
    edge = np.where(adsb_ok, np.maximum(edge, 0.05), 1.0)

    cause = np.full(n, RX_OK, np.int8)
    cause[~in_range & ~adsb_off] = RX_RANGE
    cause[adsb_off & (n_mlat < cov.min_mlat_receivers)] = RX_NO_MLAT
    cause[dropout] = RX_DROPOUT
    cause[forced] = RX_FORCED
    return adsb_ok, mlat_ok, edge, cause


def _callsign_at(sortie: Sortie, t: np.ndarray, takeoff: float) -> np.ndarray:
    out = np.empty(len(t), object)
    out[:] = None
    for at_min, cs in sortie.callsigns:  # sorted by at_min: later entries win
        out[t >= takeoff + at_min * 60.0] = cs
    return out


def _squawk(sortie: Sortie, rng: np.random.Generator) -> str:
    if sortie.squawk:
        return sortie.squawk
    return "".join(str(int(x)) for x in rng.integers(0, 8, size=4))


def observe(track: TrueTrack, ac: Aircraft, sortie: Sortie, scenario: Scenario,
            rng: np.random.Generator) -> Observed:
    """Sample the true track as a readsb trace would hold it (positions, values, sources)."""
    cov = scenario.coverage
    adsb_ok, mlat_ok, edge, cause = reception(track, ac, sortie, scenario, rng)
    n = len(track.t)
    t0 = float(track.t[0])
    parked = track.on_ground & (track.gs_kt < 1.0)
    taxi = track.on_ground & ~parked
    manoeuvre = ~track.on_ground & ((np.abs(track.vrate_fpm) > 300) | (np.abs(track.roll_deg) > 5))
    adsb_mode = ~(_windows_mask(track, sortie.adsb_off, track.takeoff_time) | (not ac.adsb))

    # readsb-like spacing: a sequential process, the next gap depending on the current state
    u = rng.random(size=n + 16)
    keep_draw = rng.random(size=n + 16)
    times, idxs, srcs = [], [], []
    tc = t0 + float(u[0]) * 3.0
    j = 1
    while True:
        i = int(tc - t0)
        if i >= n - 1 or j >= len(u):
            break
        if adsb_ok[i] and keep_draw[j] < edge[i]:
            times.append(tc)
            idxs.append(i)
            srcs.append(SRC_ADSB)
        elif mlat_ok[i] and keep_draw[j] < 0.9:
            times.append(tc)
            idxs.append(i)
            srcs.append(SRC_MLAT)
        if not adsb_mode[i]:
            lo, hi = cov.mlat_sample_s
        elif parked[i]:
            lo, hi = cov.parked_sample_s
        elif taxi[i]:
            lo, hi = cov.ground_sample_s
        elif manoeuvre[i]:
            lo, hi = cov.manoeuvre_sample_s
        else:
            lo, hi = cov.sample_s
        tc += lo + (hi - lo) * float(u[j])
        j += 1

    tt = np.round(np.asarray(times, float), 2)
    ii = np.asarray(idxs, np.int64)
    src = np.asarray(srcs, np.int8)
    m = len(tt)
    frac = tt - (t0 + ii)
    i1 = np.minimum(ii + 1, n - 1)

    def lerp(a):
        return a[ii] + (a[i1] - a[ii]) * frac

    lat, lon = lerp(track.lat), lerp(track.lon)
    # position noise: metres -> degrees; MLAT is coarser and sometimes jumps away
    sigma = np.where(src == SRC_MLAT, cov.mlat_noise_m, cov.noise_m) / 1000.0
    dx, dy = rng.normal(size=m) * sigma, rng.normal(size=m) * sigma
    outlier = (src == SRC_MLAT) & (rng.random(size=m) < cov.mlat_outlier_rate)
    jump = rng.uniform(cov.mlat_outlier_km[0], cov.mlat_outlier_km[1], size=m)
    ang = rng.uniform(0, 2 * np.pi, size=m)
    dx = np.where(outlier, jump * np.sin(ang), dx)
    dy = np.where(outlier, jump * np.cos(ang), dy)
    lat = lat + dy / 111.2
    lon = lon + dx / (111.2 * np.cos(np.radians(lat)))

    on_ground = track.on_ground[ii]
    alt = lerp(track.alt_ft)
    alt_baro = np.round(alt / 25.0) * 25.0
    # GNSS height differs from pressure altitude (weather, geoid): a smooth, position-dependent offset
    geo_off = 350.0 + 250.0 * np.sin(np.radians(lat * 7.0)) + 150.0 * np.cos(np.radians(lon * 5.0))
    alt_geom = np.round((alt + geo_off + rng.normal(size=m) * 12.0) / 25.0) * 25.0
    is_mlat = src == SRC_MLAT
    gs = lerp(track.gs_kt) + rng.normal(size=m) * np.where(is_mlat, 4.0, 0.3)
    track_deg = (lerp(track.track_deg) + rng.normal(size=m) * np.where(is_mlat, 3.0, 0.3)) % 360.0
    vr = lerp(track.vrate_fpm)
    vrate = np.where(is_mlat, np.nan, np.round(vr / 64.0) * 64.0)
    geom_rate = np.where(is_mlat | on_ground, np.nan, np.round((vr + rng.normal(size=m) * 40) / 32.0) * 32.0)
    tas = lerp(track.tas_kt)
    ias = np.where(is_mlat | on_ground, np.nan, np.round(tas / (1.0 + 0.02 * np.maximum(alt, 0) / 1000.0)))
    roll = np.where(is_mlat | on_ground, np.nan, np.round(lerp(track.roll_deg) + rng.normal(size=m) * 0.3, 1))
    alt_geom = np.where(is_mlat, np.nan, alt_geom)
    baro_missing = ~is_mlat & ~on_ground & (rng.random(size=m) < cov.baro_missing_rate)

    callsign = _callsign_at(sortie, tt, track.takeoff_time)
    flight_ok = rng.random(size=m) >= cov.callsign_dropout
    return Observed(
        sortie_id=sortie.id, icao24=sortie.icao24, t=tt, lat=lat, lon=lon, source=src, on_ground=on_ground,
        alt_baro=alt_baro, alt_geom=alt_geom, gs=gs, track=track_deg, vrate=vrate, geom_rate=geom_rate, ias=ias,
        roll=roll, baro_missing=baro_missing, callsign=callsign, flight_ok=flight_ok, outlier=outlier,
        squawk=_squawk(sortie, rng), true_index=ii, rx_cause=cause,
    )
