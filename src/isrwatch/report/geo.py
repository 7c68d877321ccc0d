"""Map geometry for the report: a Mercator projection fitted to the data, boundaries clipped and
simplified for display, tracks as SVG path data (one path per flight), gap lines, entry overlays.

The map is drawn as inline SVG, not with a web map library: no tiles, no CDN, nothing to fetch,
and it stays a few MB even with world boundaries because boundaries are clipped to the area
around the data before they are simplified. Coordinates live in a viewBox 1000 units wide.
Flights that cross the antimeridian are not unwrapped (a known limit, written in the report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import shapely

WIDTH = 1000.0
MAX_LAT = 85.0
# display tolerances in viewBox units (1 unit = 1 px at 1000 px map width)
TRACK_TOLERANCE = 0.03
REGION_TOLERANCE = 0.08
DIGITS = 2
# at most this many track vertices in the page (about 2 MB of path data): beyond it the
# display tolerance doubles until the tracks fit; the exports keep every position
MAX_TRACK_VERTICES = 150_000


def _merc(lat: np.ndarray | float) -> np.ndarray | float:
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    return np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def _inv_merc(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


@dataclass
class Projection:
    """Mercator around an extent; x right, y down, viewBox 0 0 WIDTH height."""

    lon0: float
    lat0: float
    lon1: float
    lat1: float
    width: float = WIDTH
    k: float = field(init=False)
    height: float = field(init=False)
    _ytop: float = field(init=False)

    def __post_init__(self) -> None:
        self.k = self.width / math.radians(self.lon1 - self.lon0)
        self._ytop = float(_merc(self.lat1))
        self.height = (self._ytop - float(_merc(self.lat0))) * self.k

    def xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        x = np.radians(lon - self.lon0) * self.k
        y = (self._ytop - _merc(lat)) * self.k
        return x, y

    def coords(self, c: np.ndarray) -> np.ndarray:
        """For shapely.transform: (n, 2) lon/lat -> (n, 2) x/y."""
        x, y = self.xy(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    def km_per_unit(self) -> float:
        """Ground km per viewBox unit at the centre latitude (Mercator scale varies with latitude)."""
        lat_c = _inv_merc(self._ytop - self.height / 2 / self.k)
        return 6371.0088 / self.k * math.cos(math.radians(lat_c))

    def to_json(self) -> dict:
        return {
            "lon0": self.lon0,
            "lat0": self.lat0,
            "lon1": self.lon1,
            "lat1": self.lat1,
            "width": self.width,
            "height": round(self.height, 3),
            "k": self.k,
            "ytop": self._ytop,
            "km_per_unit": self.km_per_unit(),
        }


def fit(lons: np.ndarray, lats: np.ndarray, fallback: tuple[float, float, float, float] | None) -> Projection:
    """A projection showing every position with a margin, in a landscape frame (height/width 0.45..0.75)."""
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    ok = np.isfinite(lons) & np.isfinite(lats)
    if ok.any():
        lon0, lon1 = float(lons[ok].min()), float(lons[ok].max())
        lat0, lat1 = float(lats[ok].min()), float(lats[ok].max())
    elif fallback is not None:
        lon0, lat0, lon1, lat1 = fallback
    else:
        lon0, lat0, lon1, lat1 = -180.0, -60.0, 180.0, 75.0
    # at least half a degree across, then a 10% margin on each side
    for lo, hi, idx in ((lon0, lon1, 0), (lat0, lat1, 1)):
        if hi - lo < 0.5:
            mid = (lo + hi) / 2
            lo, hi = mid - 0.25, mid + 0.25
        pad = (hi - lo) * 0.10
        if idx == 0:
            lon0, lon1 = max(lo - pad, -180.0), min(hi + pad, 180.0)
        else:
            lat0, lat1 = max(lo - pad, -MAX_LAT), min(hi + pad, MAX_LAT)
    y0, y1 = float(_merc(lat0)), float(_merc(lat1))
    xspan, yspan = math.radians(lon1 - lon0), y1 - y0
    aspect = yspan / xspan
    if aspect < 0.45:  # very wide: add latitude
        grow = (0.45 * xspan - yspan) / 2
        lat0, lat1 = max(_inv_merc(y0 - grow), -MAX_LAT), min(_inv_merc(y1 + grow), MAX_LAT)
    elif aspect > 0.75:  # tall: add longitude, as the page's map frame is landscape
        grow = math.degrees(yspan / 0.75 - xspan) / 2
        lon0, lon1 = max(lon0 - grow, -180.0), min(lon1 + grow, 180.0)
    return Projection(lon0, lat0, lon1, lat1)


# ---------------------------------------------------------------------------------------------
# path data


def _fmt(arr: np.ndarray) -> str:
    """'x,y x,y ...' with DIGITS decimals, trailing zeros dropped to keep the file small."""
    out = []
    for x, y in np.round(arr, DIGITS).tolist():
        out.append(f"{x:g},{y:g}")
    return " ".join(out)


def _line_d(coords: np.ndarray) -> str:
    if len(coords) == 1:  # one position: a zero-length segment drawn as a dot by round caps
        return f"M{_fmt(coords)}l0,0"
    return "M" + _fmt(coords)


def display_geometry(geom: shapely.Geometry, proj: Projection, clip: tuple[float, float, float, float]) -> shapely.Geometry:
    """A boundary clipped to the lon/lat box, projected, and simplified for display."""
    if geom is None or geom.is_empty:
        return shapely.GeometryCollection()
    g = shapely.clip_by_rect(geom, *clip)
    if g.is_empty:
        return g
    g = shapely.transform(g, proj.coords)
    return shapely.simplify(g, REGION_TOLERANCE, preserve_topology=True)


def flat_parts(g: shapely.Geometry) -> list[shapely.Geometry]:
    """Polygons, lines and points of a geometry, collections and multi-parts opened up."""
    out = []
    for part in shapely.get_parts(g):
        if part.geom_type.startswith(("Multi", "GeometryCollection")):
            out.extend(flat_parts(part))
        elif not part.is_empty:
            out.append(part)
    return out


def geometry_d(geom: shapely.Geometry, proj: Projection, clip: tuple[float, float, float, float]) -> str:
    """SVG path data of a boundary, clipped to the lon/lat box and simplified for display."""
    parts = []
    for sub in flat_parts(display_geometry(geom, proj, clip)):
        if sub.geom_type == "Polygon":
            for ring in [sub.exterior, *sub.interiors]:
                c = shapely.get_coordinates(ring)
                if len(c) >= 3:
                    parts.append("M" + _fmt(c[:-1]) + "Z")
        else:
            c = shapely.get_coordinates(sub)
            if len(c):
                parts.append(_line_d(c))
    return "".join(parts)


def _simplified_runs(
    x: np.ndarray, y: np.ndarray, run: np.ndarray, max_vertices: int = MAX_TRACK_VERTICES
) -> list[np.ndarray]:
    """Coordinates of each run (consecutive equal ids in `run`), simplified as lines; the
    tolerance grows from TRACK_TOLERANCE until at most max_vertices remain (or 5 units)."""
    if len(x) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    sizes = np.diff(np.r_[starts, len(run)])
    xy = np.column_stack([x, y])
    out: list[np.ndarray | None] = [None] * len(starts)
    multi = sizes >= 2
    if multi.any():
        member = np.repeat(multi, sizes)
        line_idx = np.repeat(np.cumsum(multi) - 1, sizes)[member]
        lines = shapely.linestrings(xy[member], indices=line_idx)
        # orbits cross themselves: a topology-preserving simplifier would keep nearly every vertex
        tol = TRACK_TOLERANCE
        simple = shapely.simplify(lines, tol, preserve_topology=False)
        while shapely.get_num_coordinates(simple).sum() > max_vertices and tol < 5:
            tol *= 2
            simple = shapely.simplify(lines, tol, preserve_topology=False)
        coords, owner = shapely.get_coordinates(simple, return_index=True)
        cuts = np.flatnonzero(np.diff(owner)) + 1
        pieces = np.split(coords, cuts)
        for run_no, piece in zip(np.flatnonzero(multi), pieces, strict=True):
            out[run_no] = piece
    for run_no in np.flatnonzero(~multi):
        out[run_no] = xy[starts[run_no] : starts[run_no] + 1]
    return out  # type: ignore[return-value]


def track_runs(obs: pl.DataFrame, proj: Projection, gap_s: float) -> dict[str, np.ndarray | list]:
    """Observed stretches and gap segments of every flight, projected and simplified.

    obs has columns i (flight index), time, lon, lat, sorted by i then time. A stretch ends where
    the next position of the same flight comes more than gap_s seconds later: the straight line
    across that gap is not observed. Returns run_flight (flight index of each stretch), runs
    (list of (n, 2) arrays), gap_flight and gaps ((k, 2, 2) segments), bounds (i, x0, y0, x1, y1).
    """
    if obs.height == 0:
        return {
            "run_flight": np.zeros(0, dtype=np.int64),
            "runs": [],
            "gap_flight": np.zeros(0, dtype=np.int64),
            "gaps": np.zeros((0, 2, 2)),
            "bounds": [],
        }
    i = obs["i"].to_numpy()
    t = obs["time"].dt.epoch("us").to_numpy()
    x, y = proj.xy(obs["lon"].to_numpy(), obs["lat"].to_numpy())
    new_flight = np.r_[True, i[1:] != i[:-1]]
    dt = np.r_[0, np.diff(t)]
    gap = ~new_flight & (dt > gap_s * 1e6)
    run = np.cumsum(new_flight | gap)
    k = np.flatnonzero(gap)
    gaps = np.stack([np.column_stack([x[k - 1], y[k - 1]]), np.column_stack([x[k], y[k]])], axis=1)
    bounds = (
        pl.DataFrame({"i": i, "x": x, "y": y})
        .group_by("i")
        .agg(pl.col("x").min().alias("x0"), pl.col("y").min().alias("y0"), pl.col("x").max().alias("x1"), pl.col("y").max().alias("y1"))
        .rows()
    )
    return {
        "run_flight": i[np.flatnonzero(np.r_[True, run[1:] != run[:-1]])],
        "runs": _simplified_runs(x, y, run),
        "gap_flight": i[k],
        "gaps": gaps,
        "bounds": bounds,
    }


def track_paths(obs: pl.DataFrame, proj: Projection, n_flights: int, gap_s: float) -> dict[str, list]:
    """Per flight index 0..n-1: solid path of observed stretches, dashed path across gaps, bbox."""
    tr = track_runs(obs, proj, gap_s)
    solid = [""] * n_flights
    gaps = [""] * n_flights
    bbox: list[list[float] | None] = [None] * n_flights
    for fi, coords in zip(tr["run_flight"].tolist(), tr["runs"], strict=True):
        solid[fi] += _line_d(coords)
    for fi, seg in zip(tr["gap_flight"].tolist(), tr["gaps"], strict=True):
        gaps[fi] += f"M{_fmt(seg[:1])}L{_fmt(seg[1:])}"
    for r in tr["bounds"]:
        bbox[int(r[0])] = [round(v, DIGITS) for v in r[1:]]
    return {"solid": solid, "gaps": gaps, "bbox": bbox}


def entry_runs(obs: pl.DataFrame, entries: pl.DataFrame, proj: Projection) -> list[np.ndarray | None]:
    """Each entry's stretch of track, projected: positions between entry and exit time plus the
    position just before and just after, so the line reaches across the boundary crossing.

    obs: i, time, lon, lat sorted by i, time. entries: e (0..n-1), i, entry_time, exit_time.
    """
    out: list[np.ndarray | None] = [None] * entries.height
    if entries.height == 0 or obs.height == 0:
        return out
    j = (
        entries.select("e", "i", "entry_time", "exit_time")
        .join(obs.select("i", "time", "lon", "lat"), on="i", how="inner")
        .sort("e", "time")
        .with_columns(pl.col("exit_time").fill_null(pl.col("time").max().over("e")).alias("_exit"))
        .with_columns(
            ((pl.col("time") >= pl.col("entry_time")) & (pl.col("time") <= pl.col("_exit"))).alias("_in"),
        )
        .with_columns(
            (
                pl.col("_in")
                | ((pl.col("time") < pl.col("entry_time")) & (pl.col("time").shift(-1).over("e") >= pl.col("entry_time")))
                | ((pl.col("time") > pl.col("_exit")) & (pl.col("time").shift(1).over("e") <= pl.col("_exit")))
            ).alias("_keep")
        )
        .filter(pl.col("_keep"))
    )
    if j.height == 0:
        return out
    e = j["e"].to_numpy()
    x, y = proj.xy(j["lon"].to_numpy(), j["lat"].to_numpy())
    runs = _simplified_runs(x, y, e)
    run_e = e[np.flatnonzero(np.r_[True, e[1:] != e[:-1]])]
    for ei, coords in zip(run_e.tolist(), runs, strict=True):
        out[int(ei)] = coords
    return out


def entry_paths(obs: pl.DataFrame, entries: pl.DataFrame, proj: Projection) -> list[str]:
    """Path data of each entry's stretch of track (see entry_runs); empty when nothing to draw."""
    return ["" if c is None else _line_d(c) for c in entry_runs(obs, entries, proj)]


def dot_d(lon: float | None, lat: float | None, proj: Projection) -> str:
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return ""
    x, y = proj.xy(lon, lat)
    return f"M{float(x):.{DIGITS}f},{float(y):.{DIGITS}f}l0,0"


def _nice_step(span: float) -> float:
    for step in (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60):
        if span / step <= 8:
            return step
    return 90.0


def graticule(proj: Projection) -> dict[str, list]:
    """Meridians and parallels (straight lines in Mercator) with their labels."""
    lines, labels = [], []
    pad_lon = (proj.lon1 - proj.lon0) * 0.5
    pad_lat = (proj.lat1 - proj.lat0) * 0.5
    lo_lon, hi_lon = max(proj.lon0 - pad_lon, -180), min(proj.lon1 + pad_lon, 180)
    lo_lat, hi_lat = max(proj.lat0 - pad_lat, -MAX_LAT), min(proj.lat1 + pad_lat, MAX_LAT)
    step = _nice_step(max(proj.lon1 - proj.lon0, proj.lat1 - proj.lat0))
    x_lo, y_hi = proj.xy(lo_lon, lo_lat)
    x_hi, y_lo = proj.xy(hi_lon, hi_lat)
    for lon in np.arange(math.ceil(lo_lon / step) * step, hi_lon + 1e-9, step):
        x, _ = proj.xy(lon, 0.0)
        lines.append(f"M{float(x):.2f},{float(y_lo):.2f}V{float(y_hi):.2f}")
        if proj.lon0 <= lon <= proj.lon1:
            labels.append({"x": round(float(x) + 3, 2), "y": round(proj.height - 4, 2), "t": _deg(lon, "E", "W")})
    for lat in np.arange(math.ceil(lo_lat / step) * step, hi_lat + 1e-9, step):
        _, y = proj.xy(0.0, lat)
        lines.append(f"M{float(x_lo):.2f},{float(y):.2f}H{float(x_hi):.2f}")
        if proj.lat0 <= lat <= proj.lat1:
            labels.append({"x": 3, "y": round(float(y) - 3, 2), "t": _deg(lat, "N", "S")})
    return {"d": "".join(lines), "labels": labels}


def _deg(v: float, pos: str, neg: str) -> str:
    v = round(float(v), 2)
    hemi = pos if v > 0 else neg if v < 0 else ""
    return f"{abs(v):g}°{hemi}"


def clip_box(proj: Projection) -> tuple[float, float, float, float]:
    """Lon/lat box boundaries are clipped to: the map plus room to pan out."""
    pad_lon = (proj.lon1 - proj.lon0) * 0.6
    pad_lat = (proj.lat1 - proj.lat0) * 0.6
    return (
        max(proj.lon0 - pad_lon, -180.0),
        max(proj.lat0 - pad_lat, -MAX_LAT),
        min(proj.lon1 + pad_lon, 180.0),
        min(proj.lat1 + pad_lat, MAX_LAT),
    )
