"""Fast point-in-polygon for many points against a set of (possibly overlapping) polygons.

A two-level grid, filled lazily for the cells points actually fall in:

- coarse cells of 1°: each is "outside every polygon", "inside exactly polygon k", or mixed;
- a mixed coarse cell gets FINE×FINE fine cells classified the same way against the polygons
  clipped to that coarse cell; points in fine cells that a boundary crosses get the exact test
  (shapely.contains_xy against the small clipped pieces, vectorised over point/piece pairs).

So most points are answered by two array look-ups and only points within a few km of a boundary
pay for an exact test. Where polygons overlap (a dependency inside its parent's area, a disputed
area), the answer is the polygon with the lowest priority value (the caller passes area, so the
smallest, most specific area wins).
"""

from __future__ import annotations

import functools
import threading

import numpy as np
import shapely

FINE = 32  # fine cells per coarse degree (≈3.5 km at the equator)
NX, NY = 360, 180

_UNKNOWN = -3
_MIXED = -2
_OUTSIDE = -1


def polygon_parts(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """The non-empty polygonal parts of a geometry (points, lines and empty pieces dropped):
    what every area test of the stage works on."""
    return [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]


def locked(method):
    """Run a method under the instance's lock: the lazily filled caches (grid cells, tiles) are
    updated in several steps, and a thread reading between them would get wrong answers."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


def _fine_states(pieces, owners, x0: float, y0: float) -> np.ndarray:
    """State of each fine cell of the coarse cell at (x0, y0): outside (no piece touches it), the
    owner of the one piece covering it, or mixed. The pieces' rings are rasterised by a compiled
    pass (cells their boundary comes near: mixed; the others inside or outside a piece by their
    centre); _fine_states_reference is the same with shapely's predicates on cell boxes."""
    from isrwatch.airspace import _kernels

    n = FINE * FINE
    if not pieces:
        return np.full(n, _OUTSIDE, dtype=np.int32)
    rings, ring_piece = [], []
    for k, p in enumerate(pieces):
        for r in shapely.get_rings(shapely.get_parts(p)):
            rings.append(shapely.get_coordinates(r))
            ring_piece.append(k)
    sizes = np.array([len(r) for r in rings], dtype=np.int64)
    xy = np.concatenate(rings) if rings else np.empty((0, 2))
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    # 1e-6 of a cell (~3 mm) of margin: a boundary running along a cell's edge marks both cells
    touched, inside = _kernels.fine_cells(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), start,
                                          np.asarray(ring_piece, dtype=np.int64), len(pieces), float(x0), float(y0), FINE, 1e-6)
    hit = touched | inside
    nint = hit.sum(axis=0)
    cov = ~touched & inside
    inside_of = np.full(n, _OUTSIDE, dtype=np.int32)
    for k, owner in enumerate(owners):  # the last covering piece wins, as in the reference
        inside_of[cov[k]] = owner
    fine = np.where(nint == 0, _OUTSIDE, _MIXED).astype(np.int32)
    clean = (nint == 1) & cov.any(axis=0)
    fine[clean] = inside_of[clean]
    return fine


def _fine_states_reference(pieces, owners, x0: float, y0: float) -> np.ndarray:
    """_fine_states with shapely's intersects / contains_properly on the fine cells' boxes."""
    step = 1.0 / FINE
    fx, fy = np.meshgrid(np.arange(FINE), np.arange(FINE))
    fx = x0 + fx.ravel() * step
    fy = y0 + fy.ravel() * step
    fboxes = shapely.box(fx, fy, fx + step, fy + step)
    nint = np.zeros(FINE * FINE, dtype=np.int32)
    inside_of = np.full(FINE * FINE, _OUTSIDE, dtype=np.int32)
    covered_any = np.zeros(FINE * FINE, dtype=bool)
    for p, owner in zip(pieces, owners):
        hit = shapely.intersects(p, fboxes)
        nint += hit
        cov = hit & shapely.contains_properly(p, fboxes)
        inside_of[cov] = owner
        covered_any |= cov
    fine = np.where(nint == 0, _OUTSIDE, _MIXED).astype(np.int32)
    clean = (nint == 1) & covered_any
    fine[clean] = inside_of[clean]
    return fine


class PolygonIndex:
    """locate(lon, lat) -> index of the containing polygon or -1, vectorised. Thread-safe."""

    def __init__(self, geoms, priority=None):
        self._lock = threading.RLock()
        geoms = np.asarray(geoms, dtype=object)
        self.geoms = geoms
        self.n = len(geoms)
        prio = np.zeros(self.n) if priority is None else np.asarray(priority, dtype=float)
        # rank 0 = preferred when polygons overlap
        self._rank = np.empty(self.n, dtype=np.int64)
        self._rank[np.argsort(prio, kind="stable")] = np.arange(self.n)
        shapely.prepare(geoms)
        self._tree = shapely.STRtree(geoms)
        self._coarse = np.full(NX * NY, _UNKNOWN, dtype=np.int32)
        self._block = np.full(NX * NY, -1, dtype=np.int32)  # coarse cell -> fine block number
        self._fine = np.empty(0, dtype=np.int32)  # block*FINE*FINE + offset -> state
        # exact-test pieces per coarse cell: contiguous ranges into _piece_geom / _piece_owner
        self._piece_start = np.zeros(NX * NY, dtype=np.int64)
        self._piece_count = np.zeros(NX * NY, dtype=np.int64)
        self._piece_geom: list = []
        self._piece_owner: list[int] = []
        self._pg = np.empty(0, dtype=object)
        self._po = np.empty(0, dtype=np.int64)

    # -- building -------------------------------------------------------------------------------
    def _build(self, cids: np.ndarray) -> None:
        mark = np.zeros(NX * NY, dtype=bool)  # the distinct cells, sorted, without sorting every point's
        mark[cids] = True
        cids = np.flatnonzero(mark)
        cx = (cids % NX).astype(float) - 180.0
        cy = (cids // NX).astype(float) - 90.0
        boxes = shapely.box(cx, cy, cx + 1.0, cy + 1.0)
        # boxes against the tree, then the exact test with the prepared polygons (the tree's own
        # predicate does not use them: several times slower on a large land polygon)
        bi, gi = self._tree.query(boxes)
        hit = shapely.intersects(self.geoms[gi], boxes[bi])
        bi, gi = bi[hit], gi[hit]
        counts = np.bincount(bi, minlength=len(cids))
        state = np.full(len(cids), _OUTSIDE, dtype=np.int32)
        single = counts == 1
        # one candidate: inside it if the box is covered, else mixed
        first = np.full(len(cids), -1, dtype=np.int64)
        first[bi[::-1]] = gi[::-1]
        s_idx = np.flatnonzero(single)
        if len(s_idx):
            covered = shapely.contains_properly(self.geoms[first[s_idx]], boxes[s_idx])
            state[s_idx[covered]] = first[s_idx[covered]]
            state[s_idx[~covered]] = _MIXED
        state[counts > 1] = _MIXED
        self._coarse[cids] = state
        mixed = np.flatnonzero(state == _MIXED)
        if len(mixed):
            order = np.argsort(bi, kind="stable")
            starts = np.concatenate([[0], np.cumsum(counts)])
            for m in mixed:  # one-time work per mixed cell the data touches
                cand = gi[order[starts[m] : starts[m + 1]]]
                self._build_fine(int(cids[m]), cx[m], cy[m], cand)
            self._pg = np.asarray(self._piece_geom, dtype=object)
            self._po = np.asarray(self._piece_owner, dtype=np.int64)

    def _build_fine(self, cid: int, x0: float, y0: float, cand: np.ndarray) -> None:
        pieces, owners = [], []
        for g in cand:
            # a hair wider than the cell so points on the cell's edge are interior to the piece
            e = 1e-7
            clipped = shapely.clip_by_rect(self.geoms[g], x0 - e, y0 - e, x0 + 1.0 + e, y0 + 1.0 + e)
            if clipped.is_empty:
                continue
            for part in polygon_parts(clipped):
                shapely.prepare(part)
                pieces.append(part)
                owners.append(int(g))
        self._piece_start[cid] = len(self._piece_geom)
        self._piece_count[cid] = len(pieces)
        self._piece_geom.extend(pieces)
        self._piece_owner.extend(owners)

        fine = _fine_states(pieces, owners, x0, y0)
        self._block[cid] = len(self._fine) // (FINE * FINE)
        self._fine = np.concatenate([self._fine, fine])

    # -- queries --------------------------------------------------------------------------------
    def _cells(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coarse cell id, cell key, state) per point, building cells on demand; the key numbers
        fine cells after the NX * NY coarse ones (one compiled pass, see _kernels.grid_cells)."""
        from isrwatch.airspace import _kernels

        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        n = len(lon)
        cid = np.empty(n, dtype=np.int64)
        key = np.empty(n, dtype=np.int64)
        state = np.empty(n, dtype=np.int32)
        args = (FINE, NX, NY, _UNKNOWN, _MIXED, _OUTSIDE, cid, key, state)
        if _kernels.grid_cells(lon, lat, self._coarse, self._block, self._fine, *args):
            self._build(cid[state == _UNKNOWN])
            _kernels.grid_cells(lon, lat, self._coarse, self._block, self._fine, *args)
        return cid, key, state

    @locked
    def cells(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coarse cell id, fine cell global id or -1, state) per point; builds cells on demand."""
        cid, key, state = self._cells(lon, lat)
        return cid, np.where(key >= NX * NY, key - NX * NY, -1), state

    @locked
    def locate(self, lon, lat) -> np.ndarray:
        """Index of the containing polygon per point (-1 where none; NaN positions give -1)."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        cid, _, state = self._cells(lon, lat)
        return self._locate(lon, lat, cid, state)

    @locked
    def contains_with_cells(self, lon, lat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(inside, cell key, cell wholly outside) per point in one pass; see surely_outside."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        cid, key, state = self._cells(lon, lat)
        return self._locate(lon, lat, cid, state) >= 0, key, state == _OUTSIDE

    def _locate(self, lon, lat, cid, state) -> np.ndarray:
        out = state.astype(np.int64)
        todo = np.flatnonzero(state == _MIXED)
        if len(todo) == 0:
            return out
        out[todo] = -1
        counts = self._piece_count[cid[todo]]
        pt = np.repeat(todo, counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        piece = self._piece_start[cid[pt]] + offs
        hit = shapely.contains_xy(self._pg[piece], lon[pt], lat[pt])
        pt, owner = pt[hit], self._po[piece[hit]]
        if len(pt):
            # overlapping owners: keep the preferred (lowest rank) per point
            order = np.lexsort((self._rank[owner], pt))
            pt, owner = pt[order], owner[order]
            firsts = np.concatenate([[True], pt[1:] != pt[:-1]])
            out[pt[firsts]] = owner[firsts]
        return out

    @locked
    def any_inside(self, pos, group, lon, lat, ngroups: int) -> np.ndarray:
        """Per group: whether any of the positions pos (groups group[pos]) lies inside a polygon;
        a group is decided by its first position the grid shows inside, so only undecided groups'
        positions near a boundary get the exact test."""
        from isrwatch.airspace import _kernels

        pos = np.ascontiguousarray(pos, dtype=np.int64)
        group = np.ascontiguousarray(group, dtype=np.int64)
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        for _ in range(2):
            flag, todo, ok = _kernels.any_inside(pos, group, lon, lat, self._coarse, self._block, self._fine, FINE, NX, NY,
                                                 _UNKNOWN, _MIXED, int(ngroups))
            if ok:
                break
            self._cells(lon[pos], lat[pos])  # builds the cells not built yet (one-time work)
        todo = todo[~flag[group[todo]]]
        if len(todo):
            cid, _, state = self._cells(lon[todo], lat[todo])
            hit = self._locate(lon[todo], lat[todo], cid, state) >= 0
            flag[group[todo[hit]]] = True
        return flag

    @locked
    def contains(self, lon, lat) -> np.ndarray:
        """Inside any polygon (bool per point)."""
        return self.locate(lon, lat) >= 0

    @locked
    def surely_outside(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """(cell key, outside-flag) per point: points sharing a key whose cell lies wholly outside
        every polygon are joined by segments that cannot touch any polygon (the cell is convex)."""
        _, key, state = self._cells(lon, lat)
        return key, state == _OUTSIDE

    @locked
    def may_cross(self, x0, y0, x1, y1) -> np.ndarray:
        """False where the straight lon/lat segment surely touches no polygon: its ends lie in the
        same or neighbouring fine cells and the (up to) four cells covering its bounding box,
        found through the box's corners, all lie wholly outside (a coarse cell outside counts as
        all its fine cells outside). True otherwise, including for longer segments."""
        x0, y0, x1, y1 = (np.asarray(v, dtype=float) for v in (x0, y0, x1, y1))
        if len(x0) == 0:
            return np.zeros(0, dtype=bool)

        def fine_ix(v, n):  # the fine column / row as cells() places the point
            v = v + (180.0 if n == NX else 90.0)
            i = np.minimum(v.astype(np.int64), n - 1)
            return i * FINE + np.minimum(((v - i) * FINE).astype(np.int64), FINE - 1)

        near = (np.abs(fine_ix(x0, NX) - fine_ix(x1, NX)) <= 1) & (np.abs(fine_ix(y0, NY) - fine_ix(y1, NY)) <= 1)
        out = ~near
        k = np.flatnonzero(near)
        if len(k):
            xs = np.concatenate([x0[k], x1[k], x0[k], x1[k]])
            ys = np.concatenate([y0[k], y1[k], y1[k], y0[k]])
            st = self._cells(xs, ys)[2].reshape(4, len(k))
            out[k] = ~(st == _OUTSIDE).all(axis=0)
        return out

