"""Ground truth from the dense true tracks: sovereign-airspace entries, closest approaches, AOIs, gaps.

Computed independently of the airspace stage: point-in-polygon with shapely on every true second
(the scenario's ``truth.step_s``) against the shipped sovereign-area layer (land + territorial sea +
internal waters, © OpenStreetMap contributors). Distances: the nearest boundary point is found in a
spherical azimuthal-equidistant projection centred on the measured point (distances from the centre
are true there), and the distance to it is measured on the WGS84 ellipsoid (pyproj.Geod). A coarse
pass over 30 s samples picks candidates; the reported figures come from a fine pass over the 1 s
track around them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import shapely
from pyproj import Geod

from isrwatch.simulate import geo

from isrwatch.simulate.flightpath import TrueTrack, utc
from isrwatch.simulate.observe import CAUSES, RX_OK, SRC_MLAT, Observed
from isrwatch.simulate.scenario import Aoi

COARSE_S = 30
GAP_MIN_S = 120.0


@cache
def _countries():
    from isrwatch import boundaries as regions

    codes, geoms = regions.sovereign_all()
    tree = shapely.STRtree(geoms)
    return codes, geoms, tree


def country_geometry(iso3: str):
    codes, geoms, _ = _countries()
    hit = np.flatnonzero(codes == iso3)
    if not len(hit):
        raise KeyError(f"no sovereign area for {iso3!r} in the boundary layer")
    g = geoms[int(hit[0])]
    shapely.prepare(g)
    return g


@cache
def _boundary(iso3: str):
    return shapely.boundary(country_geometry(iso3))


@cache
def _geod() -> Geod:
    return Geod(ellps="WGS84")


def _to_local(geom, lat0: float, lon0: float):
    """A geometry in spherical azimuthal-equidistant km around (lat0, lon0)."""
    return shapely.transform(geom, lambda xy: np.column_stack(geo.to_local(lat0, lon0, xy[:, 1], xy[:, 0])))


def _clip_near(boundary, lon0: float, lat0: float, radius_km: float):
    """The part of a boundary within a lon/lat box that surely holds everything within radius_km."""
    dlat = radius_km / 110.0 + 0.05
    dlon = radius_km / (111.3 * max(np.cos(np.radians(min(abs(lat0) + dlat, 89.0))), 0.02)) + 0.05
    box = shapely.box(lon0 - dlon, lat0 - dlat, lon0 + dlon, lat0 + dlat)
    return shapely.intersection(boundary, box)


def _distances_coarse(boundary, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Distance (km) of each point to the boundary, in one projection around the points' centre
    (a few per cent off far from the centre: only used to pick candidates)."""
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    b = _to_local(boundary, lat0, lon0)
    x, y = geo.to_local(lat0, lon0, lat, lon)
    return shapely.distance(shapely.points(x, y), b)


def _refine(boundary, lat: np.ndarray, lon: np.ndarray, centre: int, approx_km: float) -> np.ndarray:
    """Accurate distances (km) for points near lat[centre], lon[centre]: the nearest boundary point is
    found in an azimuthal-equidistant projection centred there, the distance to it measured on the
    WGS84 ellipsoid."""
    lat0, lon0 = float(lat[centre]), float(lon[centre])
    near = _clip_near(boundary, lon0, lat0, approx_km * 1.1 + 30.0)
    if near.is_empty:
        near = boundary
    b = _to_local(near, lat0, lon0)
    x, y = geo.to_local(lat0, lon0, lat, lon)
    lines = shapely.shortest_line(shapely.points(x, y), b)
    ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)[:, 1, :]
    blat, blon = geo.from_local(lat0, lon0, ends[:, 0], ends[:, 1])
    _, _, d_m = _geod().inv(lon, lat, blon, blat)
    return np.asarray(d_m) / 1000.0


def _extreme_distance(boundary, lat, lon, t, pick: str, step_s: int):
    """(km, index) of the smallest (pick='min') or largest ('max') distance to the boundary."""
    n = len(lat)
    stride = max(COARSE_S // step_s, 1)
    coarse_idx = np.unique(np.concatenate([np.arange(0, n, stride), [n - 1]]))
    d = _distances_coarse(boundary, lat[coarse_idx], lon[coarse_idx])
    best = float(d.min() if pick == "min" else d.max())
    # anything within the projection's error and one coarse step of the best may hold the true extreme
    slack = 0.03 * best + 10.0
    cand = np.flatnonzero(d <= best + slack) if pick == "min" else np.flatnonzero(d >= best - slack)
    order = np.argsort(d[cand]) if pick == "min" else np.argsort(-d[cand])
    cand = cand[order][:12]
    out_km, out_i = (np.inf, -1) if pick == "min" else (-np.inf, -1)
    for c in cand:
        ci = int(coarse_idx[c])
        lo, hi = max(ci - stride - 1, 0), min(ci + stride + 2, n)
        fine = _refine(boundary, lat[lo:hi], lon[lo:hi], ci - lo, float(d[c]))
        k = int(np.argmin(fine) if pick == "min" else np.argmax(fine))
        if (pick == "min" and fine[k] < out_km) or (pick == "max" and fine[k] > out_km):
            out_km, out_i = float(fine[k]), lo + k
    return out_km, out_i


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _candidates(track: TrueTrack, step: int) -> list[str]:
    codes, geoms, tree = _countries()
    line = shapely.linestrings(np.column_stack([track.lon[::step * 10], track.lat[::step * 10]])) \
        if len(track.lon[::step * 10]) > 1 else shapely.points(track.lon[0], track.lat[0])
    hits = tree.query(shapely.envelope(line))
    return sorted({str(codes[h]) for h in hits})


def sovereign_entries(track: TrueTrack, obs: Observed, step_s: int) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Entries into any country's sovereign area along the true track, and inside masks by country."""
    lat, lon, t = track.lat[::step_s], track.lon[::step_s], track.t[::step_s]
    ground = track.on_ground[::step_s]
    entries: list[dict] = []
    masks: dict[str, np.ndarray] = {}
    for iso3 in _candidates(track, step_s):
        g = country_geometry(iso3)
        inside = shapely.contains_xy(g, lon, lat)
        if not inside.any():
            continue
        masks[iso3] = inside
        obs_inside = shapely.contains_xy(g, obs.lon, obs.lat) if len(obs.t) else np.zeros(0, bool)
        for k, (a, b) in enumerate(_runs(inside)):
            t_in = int(t[a])
            t_out = int(t[b]) if b < len(t) else None
            t_last_inside = int(t[b - 1])
            depth_km, di = _extreme_distance(_boundary(iso3), lat[a:b], lon[a:b], t[a:b], "max", step_s)
            in_window = (obs.t >= t_in - 0.5) & (obs.t <= t_last_inside + step_s + 0.5)
            n_in = int(np.count_nonzero(obs_inside & in_window))
            e = {
                "iso3": iso3, "entry_index": k,
                "entry_time": utc(t_in), "exit_time": utc(t_out) if t_out is not None else None,
                "duration_s": float((t_out if t_out is not None else t_last_inside + step_s) - t_in),
                "starts_inside": bool(a == 0), "ends_inside": bool(b == len(t)),
                "airborne_inside": bool((~ground[a:b]).any()),
                "max_depth_km": round(depth_km, 3), "max_depth_time": utc(int(t[a + di])),
                "max_depth_lat": round(float(lat[a + di]), 6), "max_depth_lon": round(float(lon[a + di]), 6),
                "n_observed_inside": n_in, "basis": "observed" if n_in else "gap_only",
            }
            if not n_in:
                e["gap_line_crosses"] = _gap_line_crosses(g, obs, t_in, t_last_inside)
            entries.append(e)
    return entries, masks


def _gap_line_crosses(g, obs: Observed, t_in: int, t_last: int) -> bool | None:
    """Does the straight line between the last observed point before and the first after cross?"""
    before = np.flatnonzero(obs.t < t_in)
    after = np.flatnonzero(obs.t > t_last)
    if not len(before) or not len(after):
        return None
    i, j = before[-1], after[0]
    line = shapely.linestrings([[obs.lon[i], obs.lat[i]], [obs.lon[j], obs.lat[j]]])
    return bool(shapely.intersects(g, line))


def closest_approach(track: TrueTrack, iso3: str, step_s: int) -> dict:
    lat, lon, t = track.lat[::step_s], track.lon[::step_s], track.t[::step_s]
    km, i = _extreme_distance(_boundary(iso3), lat, lon, t, "min", step_s)
    return {"km": round(km, 3), "time": utc(int(t[i])), "lat": round(float(lat[i]), 6), "lon": round(float(lon[i]), 6)}


def aoi_presence(track: TrueTrack, aois: tuple[Aoi, ...], step_s: int) -> dict:
    out = {}
    lat, lon, t = track.lat[::step_s], track.lon[::step_s], track.t[::step_s]
    for a in aois:
        poly = shapely.Polygon(a.polygon)
        inside = shapely.contains_xy(poly, lon, lat)
        first = int(t[np.argmax(inside)]) if inside.any() else None
        out[a.id] = {"inside": bool(inside.any()), "minutes": round(float(inside.sum() * step_s / 60.0), 1),
                     "first_time": utc(first) if first is not None else None}
    return out


def coverage_gaps(track: TrueTrack, obs: Observed) -> list[dict]:
    """Stretches of the sortie of GAP_MIN_S or more without a received position, and why."""
    t0, t1 = float(track.t[0]), float(track.t[-1])
    times = np.concatenate([[t0], obs.t, [t1]])
    el = np.diff(times)
    out = []
    for k in np.flatnonzero(el >= GAP_MIN_S):
        a, b = times[k], times[k + 1]
        ia, ib = int(a - t0), min(int(b - t0) + 1, len(track.t))
        causes = obs.rx_cause[ia:ib]
        not_ok = causes[causes != RX_OK]
        cause = CAUSES[int(np.bincount(not_ok).argmax())] if len(not_ok) else CAUSES[RX_OK]
        ground = track.on_ground[ia:ib]
        out.append({
            "start": utc(int(a)), "end": utc(int(np.ceil(b))), "minutes": round((b - a) / 60.0, 1),
            "cause": cause, "airborne": bool((~ground).all()), "max_alt_ft": int(np.max(track.alt_ft[ia:ib])),
            "before_first_position": bool(k == 0), "after_last_position": bool(k == len(el) - 1),
        })
    return out


def mlat_stretches(obs: Observed) -> list[dict]:
    out = []
    for a, b in _runs(obs.source == SRC_MLAT):
        if obs.t[b - 1] - obs.t[a] < 120:
            continue
        out.append({"start": utc(int(obs.t[a])), "end": utc(int(np.ceil(obs.t[b - 1]))),
                    "minutes": round((obs.t[b - 1] - obs.t[a]) / 60.0, 1), "n_positions": int(b - a),
                    "n_outliers": int(np.count_nonzero(obs.outlier[a:b]))})
    return out
