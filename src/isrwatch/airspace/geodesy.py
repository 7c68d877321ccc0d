"""Distances and buffers on the WGS84 ellipsoid, good to well under 100 m at regional scale.

- buffer_km: buffer a lon/lat geometry by a distance in km, tile by tile in local azimuthal
  equidistant projections (each tile ≤ TILE_DEG wide, so scale error stays below ~0.1 %).
- BoundaryDistance: distance from many points to a region's boundary. A first pass finds the
  nearest boundary segment in a projection centred on the region (STRtree over segments,
  vectorised); the chosen points are then refined: every boundary vertex near the candidate is put
  into the candidate's own azimuthal-equidistant frame with pyproj.Geod (exact geodesic distance
  and azimuth), the nearest point on each segment is found in that frame and its geodesic distance
  returned. The boundary is densified to ≤ MAX_SEG_KM segments first so straight lon/lat edges
  (e.g. long straight baselines) do not bend away in the local frame. With a bound of each
  distance (hint_km) the same measure runs as a compiled kernel (_kernels.boundary_distance:
  Vincenty geodesics instead of pyproj's, segments found through 3-D bounding spheres); without
  one it runs through the STRtrees and pyproj, which the tests hold the kernel to.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
import weakref
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyproj
import shapely

from isrwatch.airspace.index import locked, polygon_parts
from isrwatch.geo import EARTH_RADIUS_KM as R_EARTH_KM
from isrwatch.geo import haversine_km

GEOD = pyproj.Geod(ellps="WGS84")
TILE_DEG = 4.0
MAX_SEG_KM = 2.0
CELL_DEG = 1.0 / 64  # cache cell for estimate_km (≈1.7 km); the kernels' CELL_PER is the same 64
# what the cell cache files hold; a change to how cells are filled (_nearest_approx, TILE_DEG,
# CELL_DEG) must change it, so that older files are not read
CELL_CACHE_VERSION = "cells-1"
MAX_CACHED_CELLS = 4_000_000
# great-circle km from a cell's centre to its farthest corner, rounded up (the half diagonal of a
# CELL_DEG square at the equator is 1.2286 km on the mean-radius sphere; cells shrink poleward)
CELL_REACH_KM = 1.25
PER_BLOCK = 16  # boundary segments per bounding sphere of the compiled distance
PER_SUPER = 16  # blocks per superblock
CHORD_SLACK_KM = 0.01  # how far a segment's points can lie from its 3-D chord (2 km segments: < 1 m)


def aeqd(lon0: float, lat0: float) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    """(forward, inverse) transformers lon/lat <-> local azimuthal equidistant metres."""
    return _aeqd(round(float(lon0), 6), round(float(lat0), 6))


@lru_cache(maxsize=256)
def _aeqd(lon0: float, lat0: float):
    crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs")
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return fwd, inv


def _project(geom, transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def geodesic_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in km between point arrays (WGS84)."""
    a, b, c, e = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2)))
    if a.size == 0:
        return np.empty(a.shape)
    _, _, d = GEOD.inv(a.ravel().copy(), b.ravel().copy(), c.ravel().copy(), e.ravel().copy())
    return np.asarray(d).reshape(a.shape) / 1000.0


@lru_cache(maxsize=1)
def _stretch() -> np.ndarray:
    from isrwatch.airspace import _kernels

    return _kernels._stretch_table(R_EARTH_KM)


def geodesic_km_fast(lon1, lat1, lon2, lat2) -> np.ndarray:
    """geodesic_km for 1-d arrays through the compiled Vincenty formula (same values to well under
    a metre; pyproj where it does not converge)."""
    from isrwatch.airspace import _kernels

    a, b, c, e = (np.ascontiguousarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    d = _kernels.geodesic_pairs(a, b, c, e)
    bad = np.isnan(d)
    if bad.any():
        d[bad] = geodesic_km(a[bad], b[bad], c[bad], e[bad])
    return d


def _polygonal(geom):
    parts = polygon_parts(geom)
    return shapely.union_all(parts) if parts else shapely.Polygon()


def buffer_km(geom: shapely.Geometry, km: float, *, quad_segs: int = 32) -> shapely.Geometry:
    """Geometry grown by `km` kilometres (geodesic-ish), in lon/lat degrees.

    Works tile by tile: each TILE_DEG tile that could be within reach gets the part of the geometry
    within reach of it, buffered in an azimuthal-equidistant projection centred on the tile, and
    clipped back to the tile; the tiles are unioned. Lines and points become areas.
    """
    if km <= 0:
        return geom
    if geom.is_empty:
        return shapely.Polygon()
    minx, miny, maxx, maxy = geom.bounds
    reach_lat = km / 110.574 + 0.05
    cos_min = max(np.cos(np.radians(min(89.0, max(abs(miny), abs(maxy)) + reach_lat))), 0.01)
    reach_lon = km / (111.320 * cos_min) + 0.05
    x0 = np.floor((minx - reach_lon) / TILE_DEG) * TILE_DEG
    y0 = np.floor((miny - reach_lat) / TILE_DEG) * TILE_DEG
    xs = np.arange(x0, maxx + reach_lon, TILE_DEG)
    ys = np.arange(y0, maxy + reach_lat, TILE_DEG)
    shapely.prepare(geom)
    out = []
    for ty in ys:
        for tx in xs:
            tile = shapely.box(tx, max(ty, -90.0), tx + TILE_DEG, min(ty + TILE_DEG, 90.0))
            near_lat = km / 110.574 + 0.05
            cosm = max(np.cos(np.radians(min(89.0, max(abs(ty), abs(ty + TILE_DEG)) + near_lat))), 0.01)
            near_lon = km / (111.320 * cosm) + 0.05
            piece = shapely.clip_by_rect(geom, tx - near_lon, ty - near_lat, tx + TILE_DEG + near_lon, ty + TILE_DEG + near_lat)
            if piece.is_empty:
                continue
            fwd, inv = aeqd(tx + TILE_DEG / 2, ty + TILE_DEG / 2)
            grown = shapely.buffer(_project(piece, fwd), km * 1000.0, quad_segs=quad_segs)
            back = shapely.make_valid(_project(grown, inv))
            clipped = shapely.intersection(back, tile)
            if not clipped.is_empty:
                out.append(_polygonal(clipped))
    if not out:
        return shapely.Polygon()
    return _polygonal(shapely.make_valid(shapely.union_all(out)))


def _segments(boundary) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Segments (x1, y1, x2, y2 in lon/lat) of a boundary, densified to ≤ MAX_SEG_KM."""
    dense = shapely.segmentize(boundary, MAX_SEG_KM / 111.32)
    xs, ys = [], []
    for line in shapely.get_parts(dense):
        if line.geom_type == "LinearRing" or line.geom_type == "LineString":
            c = shapely.get_coordinates(line)
            if len(c) >= 2:
                xs.append(c[:-1])
                ys.append(c[1:])
    if not xs:
        z = np.empty(0)
        return z, z, z, z
    a = np.concatenate(xs)
    b = np.concatenate(ys)
    keep = (a != b).any(axis=1)
    a, b = a[keep], b[keep]
    return a[:, 0], a[:, 1], b[:, 0], b[:, 1]


def _tile_centre(tx: int, ty: int) -> tuple[float, float]:
    """(lon, lat) centre of a TILE_DEG tile, the latitude kept off the poles."""
    return (tx + 0.5) * TILE_DEG, min(max((ty + 0.5) * TILE_DEG, -89.0), 89.0)


class BoundaryDistance:
    """Geodesic distance (km) from points to the boundary of one region, with the nearest point.

    approx_km() ranks points quickly: per TILE_DEG tile of the points, the boundary is projected
    into an azimuthal-equidistant frame centred on the tile and an STRtree of its segments answers
    nearest-segment queries (error ≈ 0.05 % for boundaries within ~300 km of the tile).
    distance() refines chosen points exactly (see module docstring).
    """

    def __init__(self, region: shapely.Geometry, *, cell_cache: Path | None = None):
        """cell_cache: a directory where the cell answers of this boundary are kept between
        processes (read here, written when the process ends if new cells were filled): the
        first call on a large country otherwise spends seconds filling them."""
        polys = polygon_parts(region)
        lines = [p for p in shapely.get_parts(region) if not p.is_empty and p.geom_type not in ("Polygon", "MultiPolygon")]
        pieces = [shapely.boundary(p) for p in polys] + lines
        boundary = shapely.union_all(pieces) if pieces else shapely.LineString()
        self.x1, self.y1, self.x2, self.y2 = (np.ascontiguousarray(v) for v in _segments(boundary))
        self.empty = len(self.x1) == 0
        # vertex ids of the segment ends (shared between neighbouring segments)
        ends = np.concatenate([np.column_stack([self.x1, self.y1]), np.column_stack([self.x2, self.y2])])
        verts, vid = np.unique(ends, axis=0, return_inverse=True)
        vid = np.asarray(vid).ravel()
        self._vx, self._vy = verts[:, 0].copy(), verts[:, 1].copy()
        self.v1, self.v2 = vid[: len(self.x1)], vid[len(self.x1) :]
        self._lock = threading.RLock()  # the lazy caches below are filled in several steps
        self._tiles: dict[tuple[int, int], tuple] = {}
        self._ll_tree = None  # STRtree of the lon/lat boundary segments, built on first use
        self._blk = np.full(360 * 180, -1, dtype=np.int32)  # 1° square -> block of cached cells
        # per cached cell, in one row (one memory fetch per look-up): its centre's nearest boundary
        # point lon, lat (NaN: not computed yet) and the great-circle km from the centre to it
        self._cb = np.empty((0, 3))
        self._kidx = None  # arrays of the compiled distance, see _kernel_index
        self._boxes = None  # bounding boxes of the compiled crossings, see crossings
        self._cell_file = None if cell_cache is None or self.empty else Path(cell_cache) / f"{self._cell_key()}.npz"
        self._cells_dirty = False
        if self._cell_file is not None:
            self._load_cells()
            _WITH_CELL_FILES.add(self)

    def _cell_key(self) -> str:
        """The boundary (its segments) and the cache's version, hashed: a file name."""
        h = hashlib.sha256(CELL_CACHE_VERSION.encode())
        for v in (self.x1, self.y1, self.x2, self.y2):
            h.update(np.ascontiguousarray(v, dtype=np.float64).tobytes())
        return f"{CELL_CACHE_VERSION}-{h.hexdigest()[:24]}"

    def _load_cells(self) -> None:
        """The cell answers kept by an earlier process, when the file is there and sound."""
        try:
            with np.load(self._cell_file) as f:
                blk, cb = f["blk"], f["cb"]
        except (OSError, ValueError, KeyError):
            return  # no file yet, or an unreadable one: filled again and rewritten
        per = int(round(1.0 / CELL_DEG))
        sound = (
            blk.shape == self._blk.shape and blk.dtype == np.int32 and cb.ndim == 2 and cb.shape[1] == 3
            and len(cb) % (per * per) == 0 and int(blk.max(initial=-1)) < len(cb) // (per * per)
        )
        if sound:
            self._blk, self._cb = blk.copy(), np.ascontiguousarray(cb, dtype=np.float64)

    @locked
    def save_cells(self) -> bool:
        """Write the cell answers to the cache file if new cells were filled (atomically: a
        temporary file renamed over the old one). False when there was nothing to write or the
        directory cannot be written (the cache only saves time)."""
        if self._cell_file is None or not self._cells_dirty:
            return False
        try:
            self._cell_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._cell_file.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.savez_compressed(f, blk=self._blk, cb=self._cb)  # unfilled cells are NaN: they pack well
            os.replace(tmp, self._cell_file)
        except OSError:
            return False
        self._cells_dirty = False
        return True

    @locked
    def crossings(self, x0, y0, x1, y1) -> tuple[np.ndarray, np.ndarray]:
        """(first, last) fraction along each lon/lat segment where it crosses the boundary
        (NaN where it does not), from exact segment-segment intersections (a compiled pass over
        bounding boxes; _crossings_tree is the STRtree version it is tested against)."""
        from isrwatch.airspace import _kernels

        n = len(x0)
        lo = np.full(n, np.nan)
        hi = np.full(n, np.nan)
        if self.empty or n == 0:
            return lo, hi
        if self._boxes is None:
            box = np.column_stack([np.minimum(self.x1, self.x2), np.minimum(self.y1, self.y2),
                                   np.maximum(self.x1, self.x2), np.maximum(self.y1, self.y2)])

            def merge(b, per):  # boxes of consecutive groups of `per` boxes
                starts = np.arange(0, len(b), per)
                return np.column_stack([np.minimum.reduceat(b[:, 0], starts), np.minimum.reduceat(b[:, 1], starts),
                                        np.maximum.reduceat(b[:, 2], starts), np.maximum.reduceat(b[:, 3], starts)])

            blk = merge(box, PER_BLOCK)
            self._boxes = (box, blk, merge(blk, PER_SUPER))
        box, blk, sup = self._boxes
        c = [np.ascontiguousarray(v, dtype=np.float64) for v in (x0, y0, x1, y1)]
        _kernels.segment_crossings(*c, self.x1, self.y1, self.x2, self.y2, box, blk, sup, PER_BLOCK, PER_SUPER, lo, hi)
        return lo, hi

    @locked
    def _crossings_tree(self, x0, y0, x1, y1) -> tuple[np.ndarray, np.ndarray]:
        """crossings() through an STRtree and shapely's intersects (the reference)."""
        n = len(x0)
        lo = np.full(n, np.nan)
        hi = np.full(n, np.nan)
        if self.empty or n == 0:
            return lo, hi
        if self._ll_tree is None:
            self._ll_tree = shapely.STRtree(
                shapely.linestrings(np.stack([np.column_stack([self.x1, self.x2]), np.column_stack([self.y1, self.y2])], axis=-1))
            )
        lines = shapely.linestrings(np.stack([np.column_stack([x0, x1]), np.column_stack([y0, y1])], axis=-1))
        si, bi = self._ll_tree.query(lines, predicate="intersects")
        if len(si) == 0:
            return lo, hi
        # p + t r = q + u s
        px, py = x0[si], y0[si]
        rx, ry = x1[si] - px, y1[si] - py
        qx, qy = self.x1[bi], self.y1[bi]
        sx, sy = self.x2[bi] - qx, self.y2[bi] - qy
        den = rx * sy - ry * sx
        ok = np.abs(den) > 1e-18
        t = np.where(ok, ((qx - px) * sy - (qy - py) * sx) / np.where(ok, den, 1.0), np.nan)
        t = np.clip(t, 0.0, 1.0)
        np.fmin.at(lo, si, t)
        np.fmax.at(hi, si, t)
        return lo, hi

    def _tile(self, key: tuple[int, int]):
        hit = self._tiles.get(key)
        if hit is None:
            fwd, _ = aeqd(*_tile_centre(key[0], key[1]))
            px1, py1 = fwd.transform(self.x1, self.y1)
            px2, py2 = fwd.transform(self.x2, self.y2)
            segs = shapely.linestrings(
                np.stack([np.column_stack([px1, px2]), np.column_stack([py1, py2])], axis=-1)
            )
            hit = (fwd, shapely.STRtree(segs))
            if len(self._tiles) > 64:  # bound memory for very spread-out inputs
                self._tiles.clear()
            self._tiles[key] = hit
        return hit

    def _project(self, lon: np.ndarray, lat: np.ndarray):
        """Points in their tile's frame: (x, y, tile index per point, tile trees)."""
        n = len(lon)
        px = np.full(n, np.nan)
        py = np.full(n, np.nan)
        tx = np.floor(lon / TILE_DEG).astype(np.int64)
        ty = np.floor(lat / TILE_DEG).astype(np.int64)
        uniq, inv = np.unique(tx * 1000 + ty, return_inverse=True)
        trees = []
        for j in range(len(uniq)):  # one pass per tile the points fall in
            sel = np.flatnonzero(inv == j)
            fwd, tree = self._tile((int(tx[sel[0]]), int(ty[sel[0]])))
            px[sel], py[sel] = fwd.transform(lon[sel], lat[sel])
            trees.append(tree)
        return px, py, inv, trees

    def _approx(self, lon: np.ndarray, lat: np.ndarray):
        """(approx distance m, projected x, y, tile index per point, tile trees)."""
        px, py, inv, trees = self._project(lon, lat)
        d = np.full(len(lon), np.inf)
        for j, tree in enumerate(trees):
            sel = np.flatnonzero(inv == j)
            idx, dist = tree.query_nearest(shapely.points(px[sel], py[sel]), return_distance=True, all_matches=False)
            d[sel[idx[0]]] = dist
        return d, px, py, inv, trees

    def _nearest_approx(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest boundary point (lon, lat) per point, found in the tile frames (no refinement:
        good enough for a cache cell's estimate, which only has to be a boundary point)."""
        px, py, inv, trees = self._project(lon, lat)
        bx = np.full(len(lon), np.nan)
        by = np.full(len(lon), np.nan)
        tx = np.floor(lon / TILE_DEG).astype(np.int64)
        ty = np.floor(lat / TILE_DEG).astype(np.int64)
        for j, tree in enumerate(trees):
            sel = np.flatnonzero(inv == j)
            idx = tree.query_nearest(shapely.points(px[sel], py[sel]), all_matches=False)
            pt, seg = sel[idx[0]], idx[1]
            ends = shapely.get_coordinates(tree.geometries[seg]).reshape(-1, 2, 2)
            ax, ay, vx, vy = ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0] - ends[:, 0, 0], ends[:, 1, 1] - ends[:, 0, 1]
            vv = vx * vx + vy * vy
            t = np.clip(((px[pt] - ax) * vx + (py[pt] - ay) * vy) / np.where(vv > 0, vv, 1.0), 0.0, 1.0)
            _, back = aeqd(*_tile_centre(tx[sel[0]], ty[sel[0]]))
            bx[pt], by[pt] = back.transform(ax + t * vx, ay + t * vy)
        return bx, by

    @locked
    def approx_km(self, lon, lat) -> np.ndarray:
        """Distance estimate (km) from the tile projections, for ranking points."""
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        if self.empty or len(lon) == 0:
            return np.full(len(lon), np.inf)
        return self._approx(lon, lat)[0] / 1000.0

    def _cell_points(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cached boundary point (lon, lat) of each point's CELL_DEG cell, filling new cells.

        The cache is a block of cells per 1° square the points touch, found by two array look-ups
        (a sorted-key search per point cost more than the distance estimate itself)."""
        per = int(round(1.0 / CELL_DEG))
        ix = np.clip(((lon + 180.0) * per).astype(np.int64), 0, 360 * per - 1)
        iy = np.clip(((lat + 90.0) * per).astype(np.int64), 0, 180 * per - 1)
        coarse = (iy // per) * 360 + ix // per
        blk = self._blk[coarse]
        if (blk < 0).any():
            new = np.unique(coarse[blk < 0])
            if (len(self._cb) // (per * per) + len(new)) * per * per > MAX_CACHED_CELLS:
                self._blk[:] = -1  # bound memory for very spread-out inputs: start over
                self._cb = np.empty((0, 3))
                new = np.unique(coarse)
            first = len(self._cb) // (per * per)
            self._blk[new] = np.arange(first, first + len(new), dtype=np.int32)
            self._cb = np.concatenate([self._cb, np.full((len(new) * per * per, 3), np.nan)])
            blk = self._blk[coarse]
        slot = blk.astype(np.int64) * (per * per) + (iy % per) * per + ix % per
        bx = self._cb[slot, 0]
        miss = np.isnan(bx)
        if miss.any():
            todo, at = np.unique(slot[miss], return_index=True)
            at = np.flatnonzero(miss)[at]
            cx = (ix[at] + 0.5) / per - 180.0
            cy = (iy[at] + 0.5) / per - 90.0
            nbx, nby = self._nearest_approx(cx, cy)
            self._cb[todo, 0], self._cb[todo, 1] = nbx, nby
            self._cb[todo, 2] = haversine_km(cy, cx, nby, nbx)
            self._cells_dirty = True
            bx = self._cb[slot, 0]
        return bx, self._cb[slot, 1]

    @locked
    def estimate_km(self, lon, lat) -> np.ndarray:
        """A cheap near-upper bound of each point's distance (km): the great-circle distance to the
        boundary point nearest to the centre of its CELL_DEG cell (cell answers cached per region,
        so repeated and dense tracks cost two array look-ups and a haversine per point). Within a
        cell the nearest boundary point rarely changes, so this is also a good ranking estimate.
        The sphere can understate the WGS84 distance by up to 0.6 %: bound_km is the exact bound."""
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        if self.empty or len(lon) == 0:
            return np.full(len(lon), np.inf)
        from isrwatch.airspace import _kernels

        out = np.empty(len(lon))
        if _kernels.cell_estimate(lon, lat, self._blk, self._cb, R_EARTH_KM, out):
            # cells not filled yet: fill them (one-time work per cell), then estimate those points
            miss = np.flatnonzero(np.isnan(out))
            mx, my = lon[miss], lat[miss]
            self._cell_points(mx, my)
            sub = np.empty(len(miss))
            _kernels.cell_estimate(mx, my, self._blk, self._cb, R_EARTH_KM, sub)
            out[miss] = sub
        return out

    @locked
    def cell_slots(self, lon, lat) -> np.ndarray:
        """Cache slot of each point's cell, filling cells not seen yet; for top_by_estimate and
        open_by_estimate. The slots stay valid while the caller holds self._lock."""
        from isrwatch.airspace import _kernels

        slots = np.empty(len(lon), dtype=np.int64)
        if _kernels.cell_slots(lon, lat, self._blk, self._cb, slots):
            self._cell_points(lon[slots < 0], lat[slots < 0])
            # filling may have started the cache over: every slot is looked up again
            _kernels.cell_slots(lon, lat, self._blk, self._cb, slots)
        return slots

    @locked
    def top_by_estimate(self, pos, gfull, lon, lat, *, largest: bool, k: int, slack: float = np.inf) -> np.ndarray:
        """Indices into pos of the k positions per group (gfull[pos], contiguous) with the largest
        (smallest) estimate_km, estimating only positions whose cell can put them there."""
        from isrwatch.airspace import _kernels

        for _ in range(2):
            top, ok = _kernels.top_by_estimate(pos, gfull, lon, lat, self._blk, self._cb,
                                               R_EARTH_KM, CELL_REACH_KM, largest, int(k), float(slack))
            if ok:
                return top
            self.cell_slots(lon[pos], lat[pos])  # fills the cells not seen yet (one-time work)
        raise RuntimeError("cell cache too small for these positions")  # MAX_CACHED_CELLS: cannot happen

    @locked
    def open_by_estimate(self, pos, gfull, lon, lat, best, done, gbx, gby, cap=None) -> np.ndarray:
        """Indices into pos of the positions not done whose distance bound to their cell's
        boundary point and to their group's (gbx, gby per group, NaN for none) exceeds their
        group's best. Their cells must be filled (as top_by_estimate leaves them)."""
        from isrwatch.airspace import _kernels

        return _kernels.open_by_estimate(pos, gfull, lon, lat, self._blk, self._cb, R_EARTH_KM, CELL_REACH_KM,
                                         _stretch(), best, done, gbx, gby, np.empty(0) if cap is None else cap)

    @locked
    def bound_km(self, lon, lat) -> np.ndarray:
        """An exact upper bound of each point's distance (km): the WGS84 geodesic distance to its
        cell's boundary point (as estimate_km, without the sphere's error; one geodesic per point,
        so for candidates, not for every position)."""
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        if self.empty or len(lon) == 0:
            return np.full(len(lon), np.inf)
        bx, by = self._cell_points(lon, lat)
        return geodesic_km_fast(lon, lat, bx, by)

    @locked
    def distance(self, lon, lat, hint_km=None, *, hint_exact: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(geodesic km, nearest boundary lon, nearest boundary lat) per point, refined.

        hint_km: a bound of each distance that saves the ranking pass: estimate_km's (widened by
        the sphere's error here), or with hint_exact=True an exact upper bound such as bound_km's,
        which keeps the candidate segments to a thin ring and so is much cheaper far out. With a
        hint the compiled kernel measures; without, the STRtree and pyproj path (the reference).
        """
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        n = len(lon)
        if self.empty or n == 0:
            nan = np.full(n, np.nan)
            return np.full(n, np.inf), nan, nan.copy()
        if hint_km is not None:
            h = np.asarray(hint_km, float)
            reach = h + 0.01 if hint_exact else h * 1.006 + 0.05
            return self._distance_compiled(lon, lat, reach)
        return self._distance_tree(lon, lat, None, hint_exact=hint_exact)

    def _kernel_index(self):
        """Arrays for _kernels.boundary_distance, built on first use: per vertex its longitude,
        reduced latitude and Earth-centred position; segments in boundary order (neighbours are
        near each other), grouped into blocks and superblocks with bounding spheres."""
        if self._kidx is None:
            from isrwatch.airspace import _kernels

            vxyz = _kernels.ecef_all(self._vx, self._vy)
            u = np.arctan((1.0 - 1.0 / 298.257223563) * np.tan(np.radians(self._vy)))
            ends = np.stack([vxyz[self.v1], vxyz[self.v2]], axis=1)  # segment, end, xyz

            def spheres(pts_per_group):  # list of (m, 3) arrays -> centres, radii
                c = np.array([p.mean(axis=0) for p in pts_per_group])
                r = np.array([np.sqrt(((p - cc) ** 2).sum(axis=1)).max() for p, cc in zip(pts_per_group, c)])
                return c, r + 0.01  # + a segment's bulge over its chord, generously

            nseg = len(self.v1)
            blocks = [ends[k : k + PER_BLOCK].reshape(-1, 3) for k in range(0, nseg, PER_BLOCK)]
            bc, br = spheres(blocks)
            sup = [np.concatenate(blocks[k : k + PER_SUPER]) for k in range(0, len(blocks), PER_SUPER)]
            sc, sr = spheres(sup)
            self._kidx = (self._vx, np.sin(u), np.cos(u), vxyz, self.v1.astype(np.int64), self.v2.astype(np.int64), bc, br, sc, sr)
        return self._kidx

    def _distance_compiled(self, lon, lat, reach):
        from isrwatch.airspace import _kernels

        vlon, vsin, vcos, vxyz, v1, v2, bc, br, sc, sr = self._kernel_index()
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        d, az, ok = _kernels.boundary_distance(lon, lat, np.ascontiguousarray(reach, dtype=np.float64), vlon, vsin, vcos,
                                               vxyz, v1, v2, bc, br, sc, sr, PER_BLOCK, PER_SUPER, CHORD_SLACK_KM)
        blon = np.full(len(lon), np.nan)
        blat = np.full(len(lon), np.nan)
        if not ok.all():  # nearly antipodal to some vertex: pyproj's geodesics instead
            bad = np.flatnonzero(~ok)
            d[bad], blon[bad], blat[bad] = self._distance_tree(lon[bad], lat[bad], reach[bad], hint_exact=True, widen=False)
        good = np.flatnonzero(ok & np.isfinite(d))
        if len(good):
            # the nearest point back to lon/lat from its azimuth and distance in the point's frame
            elon, elat, _ = GEOD.fwd(lon[good], lat[good], np.degrees(az[good]), d[good] * 1000.0)
            blon[good] = elon
            blat[good] = elat
        return d, blon, blat

    def _distance_tree(self, lon, lat, hint_km, *, hint_exact: bool, widen: bool = True):
        """distance() through the tile frames' STRtrees and pyproj's geodesics (the reference
        the compiled path is tested against; also its fallback)."""
        n = len(lon)
        if hint_km is not None:
            px, py, inv, trees = self._project(lon, lat)
            h = np.asarray(hint_km, float)
            reach = (h + 0.01 if hint_exact and widen else h) * 1000.0
        else:
            d0, px, py, inv, trees = self._approx(lon, lat)
            # candidate segments: all those the tile projection's scale error could make the
            # nearest (capped: beyond ~1,000 km distances are good to ~1 %, not 100 m)
            theta = np.clip((d0 + 320e3) / (R_EARTH_KM * 1000.0), 1e-9, np.pi * 0.999)
            k = theta / np.sin(theta) - 1.0
            reach = d0 * (1.0 + np.minimum(3.0 * k + 0.002, 0.01)) + 500.0
        # the reach in the tile frame, widened by the frame's largest scale error within it: the
        # frame is centred on the tile, so that is at the point's offset from the centre + reach
        theta = np.clip((reach + np.hypot(px, py)) / (R_EARTH_KM * 1000.0), 1e-9, np.pi * 0.999)
        reach = reach * (theta / np.sin(theta))
        pts = shapely.points(px, py)
        pis, sis = [], []
        for j, tree in enumerate(trees):
            sel = np.flatnonzero(inv == j)
            a, b = tree.query(pts[sel], predicate="dwithin", distance=reach[sel])
            pis.append(sel[a])
            sis.append(b)
        pi = np.concatenate(pis)
        si = np.concatenate(sis)
        # exact frame per pair: azimuth/distance from the point to both segment ends; neighbouring
        # segments share a vertex, so each (point, vertex) geodesic is computed once
        nv = len(self._vx)
        pv = np.concatenate([pi * nv + self.v1[si], pi * nv + self.v2[si]])
        upv, back = np.unique(pv, return_inverse=True)
        up, uv = upv // nv, upv % nv
        az, _, s_ = GEOD.inv(lon[up], lat[up], self._vx[uv], self._vy[uv])
        az, s_ = np.asarray(az), np.asarray(s_)
        m = len(pi)
        az1, s1, az2, s2 = az[back[:m]], s_[back[:m]], az[back[m:]], s_[back[m:]]
        a1, a2 = np.radians(az1), np.radians(az2)
        ax, ay = s1 * np.sin(a1), s1 * np.cos(a1)
        bx, by = s2 * np.sin(a2), s2 * np.cos(a2)
        vx, vy = bx - ax, by - ay
        vv = vx * vx + vy * vy
        t = np.where(vv > 0, -(ax * vx + ay * vy) / np.where(vv > 0, vv, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        qx, qy = ax + t * vx, ay + t * vy
        dist = np.hypot(qx, qy)
        out = np.full(n, np.inf)
        blon = np.full(n, np.nan)
        blat = np.full(n, np.nan)
        if len(pi) == 0:
            return out, blon, blat
        order = np.lexsort((dist, pi))
        pi_o = pi[order]
        first = np.concatenate([[True], pi_o[1:] != pi_o[:-1]])
        best = order[first]
        p = pi[best]
        out[p] = dist[best] / 1000.0
        # nearest point back to lon/lat from its azimuth and distance in the point's frame
        az = np.degrees(np.arctan2(qx[best], qy[best]))
        elon, elat, _ = GEOD.fwd(lon[p], lat[p], az, dist[best])
        blon[p] = elon
        blat[p] = elat
        return out, blon, blat


# boundaries with a cell cache file still in use: their new cells are written when the process
# ends (a holder that lets one go early saves it first, as airspace.events does)
_WITH_CELL_FILES: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _save_cell_files() -> None:
    for bd in list(_WITH_CELL_FILES):
        bd.save_cells()
