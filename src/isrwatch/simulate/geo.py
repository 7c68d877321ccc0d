"""Spherical geodesy for the simulator, vectorised over numpy arrays.

A sphere (mean Earth radius) is plenty for building flight paths; the ground truth's distances to
boundaries are measured separately with pyproj on the WGS84 ellipsoid (see truth.py).
"""

from __future__ import annotations

import numpy as np

from isrwatch.geo import EARTH_RADIUS_KM, bearing_deg, haversine_km  # noqa: F401 (simulate.geo API)

EARTH_KM = EARTH_RADIUS_KM
KT_KMH = 1.852  # 1 knot in km/h
FT_M = 0.3048


def destination(lat, lon, bearing, dist_km):
    """Point reached from (lat, lon) after dist_km along the great circle with the given bearing."""
    p1 = np.radians(lat)
    l1 = np.radians(lon)
    b = np.radians(bearing)
    d = np.asarray(dist_km) / EARTH_KM
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


def _xyz(lat, lon):
    p, l = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(l), np.cos(p) * np.sin(l), np.sin(p)], axis=-1)


def great_circle(lat1, lon1, lat2, lon2, step_km: float):
    """Points along the great circle from 1 to 2 (both included), at most step_km apart."""
    d = float(haversine_km(lat1, lon1, lat2, lon2))
    n = max(int(np.ceil(d / step_km)), 1)
    f = np.linspace(0.0, 1.0, n + 1)
    if d < 1e-9:
        return np.full(n + 1, float(lat1)), np.full(n + 1, float(lon1))
    a, b = _xyz(lat1, lon1), _xyz(lat2, lon2)
    omega = d / EARTH_KM
    s = np.sin(omega)
    v = (np.sin((1 - f) * omega)[:, None] * a + np.sin(f * omega)[:, None] * b) / s
    lat = np.degrees(np.arcsin(np.clip(v[:, 2], -1, 1)))
    lon = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    return lat, lon


def from_local(lat0, lon0, x_km, y_km):
    """Inverse azimuthal-equidistant: local east/north km around (lat0, lon0) -> lat/lon."""
    x_km, y_km = np.asarray(x_km, float), np.asarray(y_km, float)
    dist = np.hypot(x_km, y_km)
    brg = np.degrees(np.arctan2(x_km, y_km))
    return destination(np.full_like(dist, lat0), np.full_like(dist, lon0), brg, dist)


def to_local(lat0, lon0, lat, lon):
    """Azimuthal-equidistant: lat/lon -> local east/north km around (lat0, lon0)."""
    d = haversine_km(lat0, lon0, lat, lon)
    b = np.radians(bearing_deg(lat0, lon0, lat, lon))
    return d * np.sin(b), d * np.cos(b)


def resample_polyline(lat, lon, step_km: float):
    """Re-space a dense polyline to (almost) equal step_km by arc length (linear in lat/lon)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if len(lat) < 2:
        return lat.copy(), lon.copy()
    seg = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = s[-1]
    n = max(int(np.ceil(total / step_km)), 1)
    grid = np.linspace(0.0, total, n + 1)
    return np.interp(grid, s, lat), np.interp(grid, s, lon)


def smooth_keep_ends(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that keeps the first and last values (rounds corners of a path)."""
    n = len(values)
    if window < 3 or n < 3:
        return values.copy()
    window = min(window, n if n % 2 else n - 1)
    if window < 3:
        return values.copy()
    half = window // 2
    padded = np.concatenate([np.full(half, values[0]), values, np.full(half, values[-1])])
    c = np.cumsum(np.concatenate([[0.0], padded]))
    out = (c[window:] - c[:-window]) / window
    out = out[:n]
    # blend in over the first/last half-window so the ends stay exactly where they were
    ramp = np.minimum(np.arange(n), np.arange(n)[::-1]).astype(float) / max(half, 1)
    w = np.clip(ramp, 0.0, 1.0)
    return w * out + (1 - w) * values
