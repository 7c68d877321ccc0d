"""Per flight: every entry into a region, and the closest approach of flights that never entered.

Input: observations with flight_id (from the segmentation stage), time, lat, lon, icao24.
Output: schema.AIRSPACE_EVENTS rows, one per (flight, region) entry, plus one row with
entered=false per flight that never entered.

Definitions (printed with results, so counts can be reconciled):

- Within a flight consecutive positions are joined by straight segments in lon/lat. With
  max_gap_s set, segments longer than that are not drawn: nothing is inferred across them
  (no crossing time, no gap-only entry), and inside positions on either side of such a gap are
  separate entries. Segments crossing the antimeridian are not drawn either.
- An "observed" entry is a maximal run of consecutive positions inside the region; it enters on
  the segment before the run and exits on the segment after it. The crossing times are
  interpolated linearly in time at the point where that segment crosses the boundary (found by
  bisection along the segment to ~1e-7 of its length). A flight that starts (ends) inside has a
  null entry_time (exit_time): no crossing was observed.
- A "gap_only" entry rests only on a straight line drawn between two positions that are both
  outside but whose segment crosses the region (typically across a coverage gap). Its times are
  where that line enters and leaves the region; it has no observed position inside. The two kinds
  are never merged into one entry.
- over_land: any observed inside position over land (Natural Earth 1:10m); for gap-only entries
  the inferred line's inside part is sampled instead.
- max_depth_km: deepest penetration, the geodesic distance (WGS84) from the boundary of the
  deepest observed inside position (for gap-only entries: of the deepest point of the line).
- closest_km: for flights that never entered, the smallest geodesic distance from an observed
  position to the region, with that position's time and place; 0 for entries (their closest_*
  columns then give the boundary crossing, or the first inside position when none was observed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import shapely

from isrwatch import paths, schema
from isrwatch.airspace.catalog import Region, get_region
from isrwatch.airspace.classify import land_index, region_index
from isrwatch.airspace.geodesy import BoundaryDistance, geodesic_km_fast

BISECT_STEPS = 24
REFINE_TOP_K = 4  # positions per entry / flight whose exact geodesic distance is computed
MAX_REFINE_ROUNDS = 12  # rounds are cheap now: the open candidates shrink fast under exact bounds
ESTIMATE_SLACK_KM = 5.0  # candidates: estimate within this of the group's best estimate
GAP_SAMPLES = 32  # points sampled along a gap-only line's inside part for depth / over_land (twice)

_DIST: dict[tuple[str, int], tuple[object, BoundaryDistance]] = {}  # geometry kept: see classify


def _boundary_distance(region: Region) -> BoundaryDistance:
    key = (region.id, id(region.geometry))
    hit = _DIST.get(key)
    if hit is not None and hit[0] is region.geometry:
        return hit[1]
    # the cell answers of a boundary are kept in the user cache between processes
    bd = BoundaryDistance(region.geometry, cell_cache=paths.cache_dir() / "boundary-cells")
    if len(_DIST) > 16:
        for _, old in _DIST.values():
            old.save_cells()  # their cell answers, before they go
        _DIST.clear()
    _DIST[key] = (region.geometry, bd)
    return bd


def _as_region(region: Any, region_id: str | None) -> Region:
    if isinstance(region, Region):
        return region
    if isinstance(region, str):
        return get_region(region)
    if isinstance(region, shapely.Geometry):
        if not region_id:
            raise ValueError("a bare geometry needs region_id=")
        return Region(id=region_id, name=region_id, kind="aoi", geometry=region)
    raise TypeError(f"region must be a country code / region id, a Region or a shapely geometry, not {type(region).__name__}")


def _bisect(idx, x0, y0, x1, y1, start_state: np.ndarray) -> np.ndarray:
    """Fraction along each segment (0 at x0,y0) where the inside state first differs from the
    start state, by bisection (vectorised over segments)."""
    lo = np.zeros(len(x0))
    hi = np.ones(len(x0))
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        s = idx.contains(x0 + mid * (x1 - x0), y0 + mid * (y1 - y0))
        same = s == start_state
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)


def _crossing(bd: BoundaryDistance, idx, seg, x0, y0, x1, y1, *, first: bool) -> np.ndarray:
    """Fraction along each segment where it crosses the boundary: the first crossing of an
    entering segment, the last of a leaving one (so the time inside is never cut short).
    Exact segment intersections; bisection where rounding leaves none."""
    lo, hi = bd.crossings(x0[seg], y0[seg], x1[seg], y1[seg])
    f = lo if first else hi
    miss = ~np.isfinite(f)
    if miss.any():
        m = seg[miss]
        f[miss] = _bisect(idx, x0[m], y0[m], x1[m], y1[m], np.full(len(m), not first))
    return f


def _group_top(group: np.ndarray, value: np.ndarray, *, largest: bool, k: int, slack: float = np.inf) -> np.ndarray:
    """Indices of the k largest (smallest) values per group, vectorised; with `slack`, only
    values within slack of their group's best are considered (cheaper for long groups)."""
    n = len(group)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    idx = np.arange(n)
    ordered = n < 2 or bool(np.all(group[1:] >= group[:-1]))
    if ordered:  # every caller's groups are contiguous: one compiled pass instead of sorting
        from isrwatch.airspace import _kernels

        return _kernels.group_top_sorted(
            np.ascontiguousarray(group, dtype=np.int64), np.ascontiguousarray(value, dtype=np.float64), largest, int(k), float(slack)
        )
    if k == 1 and ordered:  # the best per group without sorting: its first position
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        v = np.where(np.isnan(value), -np.inf if largest else np.inf, value)
        best = (np.maximum if largest else np.minimum).reduceat(v, starts)
        hit = np.flatnonzero(v == np.repeat(best, np.diff(np.r_[starts, n])))
        return hit[np.r_[True, group[hit[1:]] != group[hit[:-1]]]]
    if np.isfinite(slack) and ordered:
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        v = np.where(np.isfinite(value), value, -np.inf if largest else np.inf)
        best = (np.maximum if largest else np.minimum).reduceat(v, starts)
        ref = np.repeat(best, np.diff(np.r_[starts, n]))
        near = v >= ref - slack if largest else v <= ref + slack
        idx = np.flatnonzero(near | (v == ref))
    g, val = group[idx], value[idx]
    order = np.lexsort((-val if largest else val, g))
    g = g[order]
    new = np.r_[True, g[1:] != g[:-1]]
    start = np.maximum.accumulate(np.where(new, np.arange(len(g)), 0))
    return idx[order[(np.arange(len(g)) - start) < k]]


def _refined_extreme(bd: BoundaryDistance, pos, gfull, lon, lat, *, largest: bool, cap=None):
    """Per group: (group ids, position, geodesic km) of the deepest / closest of the positions
    pos (ascending; their groups gfull[pos] come in contiguous runs).

    Positions are ranked by the cached cell estimate (a near-upper bound, see estimate_km; only
    positions whose cell's value can put them near the top are estimated); the REFINE_TOP_K best
    by that estimate in each group are candidates. Before the exact distance, each candidate
    gets the exact geodesic bound to its cell's boundary point (bound_km): for the deepest point
    it drops candidates that cannot beat the group's best exact value, and as the refinement's
    reach it keeps the searched boundary to a thin ring. For the deepest point, positions whose
    bound (their cell's boundary point, or the boundary point found for their group's best
    position) still beats the group's best exact value by more than 50 m are refined in
    further rounds (branch and bound), so the answer does not hinge on the estimate's ranking.
    cap: optional exact upper bounds of the deepest point's distances, indexed like lon.
    """
    pos = np.ascontiguousarray(pos, dtype=np.int64)
    if len(pos) == 0:
        return np.empty(0, dtype=np.int64), pos, np.empty(0)
    if bd.empty:  # no boundary: every distance is infinite, the first position stands for its group
        g = gfull[pos]
        first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        return g[first], pos[first], np.full(len(first), np.inf)
    with bd._lock:  # the cells looked up below must not be started over by another thread
        return _refined_extreme_locked(bd, pos, np.ascontiguousarray(gfull, dtype=np.int64), lon, lat, largest=largest, cap=cap)


def _refined_extreme_locked(bd: BoundaryDistance, pos, gfull, lon, lat, *, largest: bool, cap):
    from isrwatch.airspace import _kernels

    # the deepest point has further rounds below, the closest does not: it starts wider
    k = REFINE_TOP_K if not largest else 1
    cand = bd.top_by_estimate(pos, gfull, lon, lat, largest=largest, k=k, slack=ESTIMATE_SLACK_KM)
    p = pos[cand]
    ub_c = bd.bound_km(lon[p], lat[p])
    if not largest:
        # the estimate bounds from above: the closest by estimate are refined, the least wins
        d, _, _ = bd.distance(lon[p], lat[p], hint_km=ub_c, hint_exact=True)
        g = gfull[p]
        top = _kernels.group_top_sorted(g, d, False, 1, np.inf)
        return g[top], p[top], d[top]
    n = len(pos)
    group = gfull[pos]  # per position of pos (the rounds below index it often)
    ng = int(group[-1]) + 1
    best = np.full(ng, -np.inf)
    done = np.zeros(n, dtype=bool)  # refined exactly
    ub = np.empty(n)  # exact upper bounds, written for candidates and open positions only
    ub[cand] = ub_c if cap is None else np.minimum(ub_c, cap[p])
    got_i, got_d = [], []
    live = None  # positions that may still beat their group's best (after the first round)
    for rnd in range(MAX_REFINE_ROUNDS):
        # a candidate whose exact bound cannot beat its group's best is settled
        cand = cand[ub[cand] > best[group[cand]] + 0.05]
        if len(cand) == 0:
            break
        d, nbx, nby = bd.distance(lon[pos[cand]], lat[pos[cand]], hint_km=ub[cand], hint_exact=True)
        done[cand] = True
        got_i.append(cand)
        got_d.append(d)
        np.maximum.at(best, group[cand], d)
        top = d == best[group[cand]]  # each group's best so far
        if live is None:
            # one pass over every position: great-circle bounds (stretched by the ellipsoid's
            # largest scale at their latitudes) to its cell's and its group's boundary point, then
            # the exact bound of the few left, so later rounds only revisit positions that can win
            gbx = np.full(ng, np.nan)
            gby = np.full(ng, np.nan)
            gbx[group[cand[top]]] = nbx[top]
            gby[group[cand[top]]] = nby[top]
            live = bd.open_by_estimate(pos, gfull, lon, lat, best + 0.05, done, gbx, gby, cap)
            ub[live] = bd.bound_km(lon[pos[live]], lat[pos[live]])
            if cap is not None:
                ub[live] = np.minimum(ub[live], cap[pos[live]])
            live = live[ub[live] > best[group[live]] + 0.05]
        else:
            live = live[~done[live]]
        if len(live):
            # the boundary points just found bound their group's other positions too, and more
            # tightly than a cell's point where two stretches of boundary compete (the deepest
            # point of a line lies where they do)
            sb = _shared_bound(group, live, cand[top], nbx[top], nby[top], lon, lat, pos)
            ub[live] = np.minimum(ub[live], sb)
            live = live[ub[live] > best[group[live]] + 0.05]  # within 50 m: settled
        # more per round as rounds go on: what is still open sits on a flat stretch (a line's samples)
        cand = live[_group_top(group[live], ub[live], largest=True, k=REFINE_TOP_K << rnd)]
    if not got_i:  # no candidate had a finite bound (cannot happen with a boundary): no answer
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    gi = np.concatenate(got_i)
    gd = np.concatenate(got_d)
    order = np.argsort(gi, kind="stable")  # back to position order: groups contiguous again
    gi, gd = gi[order], gd[order]
    top = _kernels.group_top_sorted(group[gi], gd, True, 1, np.inf)
    return group[gi[top]], pos[gi[top]], gd[top]


def _shared_bound(group, pts, cand, bx, by, lon, lat, pos) -> np.ndarray:
    """Per index in pts: the least geodesic km from its position (pos[pts]) to the boundary points
    (bx, by) found for the candidates cand of its own group (inf where its group had none)."""
    cg = group[cand]
    order = np.argsort(cg, kind="stable")
    cg, bx, by = cg[order], bx[order], by[order]
    g = group[pts]
    first = np.searchsorted(cg, g, "left")
    cnt = np.searchsorted(cg, g, "right") - first
    pi = np.repeat(np.arange(len(pts)), cnt)
    ci = np.repeat(first - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))
    out = np.full(len(pts), np.inf)
    if len(pi):
        p = pos[pts[pi]]
        np.minimum.at(out, pi, geodesic_km_fast(lon[p], lat[p], bx[ci], by[ci]))
    return out


def _sample(seg, lo, hi, x0, y0, x1, y1, t, dt, idx):
    """GAP_SAMPLES points per segment between fractions lo and hi: x, y, time µs, segment,
    inside, fraction along the segment."""
    k = np.linspace(0.0, 1.0, GAP_SAMPLES)
    sf = lo[:, None] + (hi - lo)[:, None] * k[None, :]
    sg = np.repeat(np.arange(len(seg)), GAP_SAMPLES)
    sx = (x0[seg][:, None] + sf * (x1[seg] - x0[seg])[:, None]).ravel()
    sy = (y0[seg][:, None] + sf * (y1[seg] - y0[seg])[:, None]).ravel()
    st = (t[seg][:, None] + sf * dt[seg][:, None]).ravel()
    return sx, sy, st, sg, idx.contains(sx, sy), sf.ravel()


def _path_km(x0, y0, x1, y1) -> np.ndarray:
    """An upper bound of the WGS84 length (km) of straight lon/lat segments: along one, the
    ellipsoid's radii are at most the prime-vertical radius N at its largest |latitude|, and
    cos(latitude) at most that of its smallest."""
    a, f = 6378.137, 1.0 / 298.257223563
    top = np.radians(np.maximum(np.abs(y0), np.abs(y1)))
    low = np.where(y0 * y1 <= 0, 0.0, np.radians(np.minimum(np.abs(y0), np.abs(y1))))
    n = a / np.sqrt(1.0 - f * (2.0 - f) * np.sin(top) ** 2)
    return n * np.hypot(np.radians(y1 - y0), np.cos(low) * np.radians(x1 - x0)) * (1.0 + 1e-9)


def _line_cap(sf, sg, lo, hi, length_km) -> np.ndarray:
    """Per sample of a gap line: an exact upper bound of its distance to the boundary, the path
    along the line to the nearer of the line's two boundary crossings (+10 m for the boundary's
    segments being straight in each point's own frame rather than in lon/lat)."""
    return np.minimum(sf - lo[sg], hi[sg] - sf) * length_km[sg] + 0.01


def _empty() -> pl.DataFrame:
    return schema.empty(schema.AIRSPACE_EVENTS)


def airspace_events(
    obs: pl.DataFrame,
    region: str | Region | shapely.Geometry,
    *,
    region_id: str | None = None,
    max_gap_s: float | None = None,
) -> pl.DataFrame:
    """Entries of every flight into `region` (country code, region id, Region or geometry + region_id).

    Returns schema.AIRSPACE_EVENTS rows (see the module docstring for the definitions); flights
    are ordered by flight_id, entries by entry_index. Rows without flight_id or position are not
    used (they cannot be placed on a flight's path).
    """
    reg = _as_region(region, region_id)
    for c in ("flight_id", "time", "lat", "lon"):
        if c not in obs.columns:
            raise ValueError(
                f"airspace_events needs column {c!r}" + (" (run the segmentation stage first)" if c == "flight_id" else "")
            )
    kind = reg.kind
    cols = [pl.col("flight_id").cast(pl.String), pl.col("time").cast(schema.UTC_US),
            pl.col("lat").cast(pl.Float64), pl.col("lon").cast(pl.Float64)]
    cols.append(pl.col("icao24").cast(pl.String) if "icao24" in obs.columns else pl.lit(None, pl.String).alias("icao24"))
    df = (
        obs.select(cols)
        .filter(
            pl.col("flight_id").is_not_null() & pl.col("time").is_not_null()
            & pl.col("lat").is_finite() & pl.col("lon").is_finite()
            & (pl.col("lat").abs() <= 90) & (pl.col("lon").abs() <= 180)
        )
    )
    n = df.height
    if n == 0:
        return _empty()

    def flight_codes(df: pl.DataFrame) -> np.ndarray:
        return df["flight_id"].rle_id().to_numpy().astype(np.int64)  # a new code where the id changes

    # each flight's rows must be together and in time order; input from the segmentation stage
    # usually is, which the cheap check below confirms without sorting every row (flights' order
    # does not matter: the result is sorted by flight_id)
    fcode = flight_codes(df)
    t = df["time"].dt.epoch("us").to_numpy().astype(np.int64)
    firsts = np.flatnonzero(np.r_[True, fcode[1:] != fcode[:-1]])
    if df["flight_id"].gather(firsts).n_unique() != len(firsts) or np.any((t[1:] < t[:-1]) & (fcode[1:] == fcode[:-1])):
        df = df.sort(["flight_id", "time"], maintain_order=True)
        fcode = flight_codes(df)
        t = df["time"].dt.epoch("us").to_numpy().astype(np.int64)
    nflights = int(fcode[-1]) + 1
    lon = df["lon"].to_numpy()
    lat = df["lat"].to_numpy()
    idx = region_index(reg)

    inside, key, out_cell = idx.contains_with_cells(lon, lat)

    # segments i -> i+1
    same = fcode[1:] == fcode[:-1]
    dt = (t[1:] - t[:-1]).astype(np.float64)
    # a segment more than 180° of longitude wide would be drawn the long way round: it crosses
    # the antimeridian, and nothing is inferred along it
    drawn = same & (np.abs(lon[1:] - lon[:-1]) <= 180.0)
    if max_gap_s is not None:
        drawn &= dt <= max_gap_s * 1e6
    a_in, b_in = inside[:-1], inside[1:]
    x0, y0, x1, y1 = lon[:-1], lat[:-1], lon[1:], lat[1:]

    # --- observed entries: runs of inside positions joined by drawn segments
    linked_prev = np.zeros(n, dtype=bool)
    linked_prev[1:] = drawn & a_in  # previous position inside and joined to this one
    linked_next = np.zeros(n, dtype=bool)
    linked_next[:-1] = drawn & b_in
    starts = np.flatnonzero(inside & ~linked_prev)
    ends = np.flatnonzero(inside & ~linked_next)
    nrun = len(starts)

    # entry crossing on segment s-1 (outside -> inside), exit crossing on segment e (inside -> outside)
    has_entry = np.zeros(nrun, dtype=bool)
    has_entry[starts > 0] = drawn[starts[starts > 0] - 1]
    has_exit = np.zeros(nrun, dtype=bool)
    has_exit[ends < n - 1] = drawn[ends[ends < n - 1]]
    seg_in = starts[has_entry] - 1
    seg_out = ends[has_exit]
    bd = _boundary_distance(reg)
    f_in = _crossing(bd, idx, seg_in, x0, y0, x1, y1, first=True)
    f_out = _crossing(bd, idx, seg_out, x0, y0, x1, y1, first=False)

    entry_t = np.full(nrun, np.nan)
    entry_x = lon[starts].astype(float).copy()
    entry_y = lat[starts].astype(float).copy()
    entry_t[has_entry] = t[seg_in] + f_in * dt[seg_in]
    entry_x[has_entry] = x0[seg_in] + f_in * (x1[seg_in] - x0[seg_in])
    entry_y[has_entry] = y0[seg_in] + f_in * (y1[seg_in] - y0[seg_in])
    exit_t = np.full(nrun, np.nan)
    exit_t[has_exit] = t[seg_out] + f_out * dt[seg_out]

    run_of = np.cumsum(inside & ~linked_prev) - 1  # run number per inside position
    in_pos = np.flatnonzero(inside)
    run_land = land_index().any_inside(in_pos, run_of, lon, lat, nrun)

    depth_km = np.full(nrun, np.nan)
    depth_i = np.full(nrun, -1, dtype=np.int64)
    if nrun:
        g, p, d = _refined_extreme(bd, in_pos, run_of, lon, lat, largest=True)
        depth_km[g] = d
        depth_i[g] = p

    obs_rows = pl.DataFrame(
        {
            "_f": fcode[starts],
            "basis": ["observed"] * nrun,
            "entry_us": entry_t,
            "exit_us": exit_t,
            "first_us": t[starts].astype(np.float64),
            "last_us": t[ends].astype(np.float64),
            "n_obs_inside": (ends - starts + 1).astype(np.int64),
            "over_land": run_land,
            "max_depth_km": depth_km,
            "depth_us": t[depth_i].astype(np.float64),
            "max_depth_lat": lat[depth_i],
            "max_depth_lon": lon[depth_i],
            "cross_lat": entry_y,
            "cross_lon": entry_x,
        },
        schema_overrides={"basis": pl.String},
    )

    # --- gap-only entries: both ends outside, the straight segment crosses the region
    cand = np.flatnonzero(drawn & ~a_in & ~b_in & ~((key[:-1] == key[1:]) & out_cell[:-1]))
    cand = cand[idx.may_cross(x0[cand], y0[cand], x1[cand], y1[cand])]  # cheap before exact crossings
    gap_rows = None
    if len(cand):
        # exact crossings with the boundary's segments: the line is inside between its first
        # and its last crossing (a line that only touches the boundary is not an entry)
        c_lo, c_hi = bd.crossings(x0[cand], y0[cand], x1[cand], y1[cand])
        hit = np.isfinite(c_lo) & (c_hi - c_lo > 1e-9)
        seg = cand[hit]
        if len(seg):
            lo, hi = c_lo[hit], c_hi[hit]
            # sample the inside part for depth and land, then sample again around the deepest
            # sample so the line's deepest point is found to ~1/1000 of its inside length
            sx, sy, st, sg, ins, sf = _sample(seg, lo, hi, x0, y0, x1, y1, t, dt, idx)
            # the crossings are boundary points: no sample lies deeper than its way to the nearer
            length = _path_km(x0[seg], y0[seg], x1[seg], y1[seg])
            gland = land_index().any_inside(np.flatnonzero(ins), sg, sx, sy, len(seg))
            gdepth = np.full(len(seg), 0.0)
            gdi = np.full(len(seg), -1, dtype=np.int64)
            if ins.any():
                si = np.flatnonzero(ins)
                g, i, _ = _refined_extreme(bd, si, sg, sx, sy, largest=True, cap=_line_cap(sf, sg, lo, hi, length))
                step = (hi - lo) / (GAP_SAMPLES - 1)
                f_best = np.zeros(len(seg))
                f_best[g] = lo[g] + (i - g * GAP_SAMPLES) * step[g]
                lo2 = np.clip(f_best - step, lo, hi)
                hi2 = np.clip(f_best + step, lo, hi)
                has = np.zeros(len(seg), dtype=bool)
                has[g] = True
                sx, sy, st, sg, ins, sf = _sample(seg, lo2, hi2, x0, y0, x1, y1, t, dt, idx)
                ins &= has[sg]
                si = np.flatnonzero(ins)
                g, i, d = _refined_extreme(bd, si, sg, sx, sy, largest=True, cap=_line_cap(sf, sg, lo, hi, length))
                gdepth[g] = d
                gdi[g] = i
            mid = np.where(gdi >= 0, gdi, np.arange(len(seg)) * GAP_SAMPLES + GAP_SAMPLES // 2)
            gap_rows = pl.DataFrame(
                {
                    "_f": fcode[seg],
                    "basis": ["gap_only"] * len(seg),
                    "entry_us": t[seg] + lo * dt[seg],
                    "exit_us": t[seg] + hi * dt[seg],
                    "first_us": t[seg] + lo * dt[seg],
                    "last_us": t[seg] + hi * dt[seg],
                    "n_obs_inside": np.zeros(len(seg), dtype=np.int64),
                    "over_land": gland,
                    "max_depth_km": gdepth,
                    "depth_us": st[mid],
                    "max_depth_lat": sy[mid],
                    "max_depth_lon": sx[mid],
                    "cross_lat": y0[seg] + lo * (y1[seg] - y0[seg]),
                    "cross_lon": x0[seg] + lo * (x1[seg] - x0[seg]),
                },
                schema_overrides={"basis": pl.String},
            )
    entries = pl.concat([obs_rows, gap_rows]) if gap_rows is not None else obs_rows

    # --- flights that never entered: closest observed approach
    entered_f = np.zeros(nflights, dtype=bool)
    entered_f[entries["_f"].to_numpy()] = True
    miss_pos = np.flatnonzero(~entered_f[fcode])
    miss_rows = None
    if len(miss_pos):
        g, p, d = _refined_extreme(bd, miss_pos, fcode, lon, lat, largest=False)
        miss_rows = pl.DataFrame(
            {"_f": g, "closest_km": d, "closest_us": t[p].astype(np.float64), "closest_lat": lat[p], "closest_lon": lon[p]}
        )

    flights = pl.DataFrame({"_f": np.arange(nflights), "flight_id": df["flight_id"].gather(np.flatnonzero(np.r_[True, ~same])),
                            "icao24": df["icao24"].gather(np.flatnonzero(np.r_[True, ~same]))})

    def ts(c: str) -> pl.Expr:
        return pl.when(pl.col(c).is_nan()).then(None).otherwise(pl.col(c)).round(0).cast(pl.Int64).cast(schema.UTC_US)

    ent = (
        entries.with_columns(pl.coalesce(pl.col("entry_us").fill_nan(None), pl.col("first_us")).alias("_start"))
        .sort(["_f", "_start"])
        .with_columns(pl.int_range(pl.len()).over("_f").cast(pl.Int32).alias("entry_index"))
        .join(flights, on="_f", how="left")
        .select(
            "flight_id",
            "icao24",
            pl.lit(True).alias("entered"),
            "entry_index",
            ts("entry_us").alias("entry_time"),
            ts("exit_us").alias("exit_time"),
            ((pl.coalesce(pl.col("exit_us").fill_nan(None), pl.col("last_us")) - pl.col("_start")) / 1e6).alias("duration_s"),
            "n_obs_inside",
            "basis",
            "over_land",
            "max_depth_km",
            ts("depth_us").alias("max_depth_time"),
            "max_depth_lat",
            "max_depth_lon",
            pl.lit(0.0).alias("closest_km"),
            ts("_start").alias("closest_time"),
            pl.col("cross_lat").alias("closest_lat"),
            pl.col("cross_lon").alias("closest_lon"),
        )
    )
    parts = [ent]
    if miss_rows is not None:
        parts.append(
            miss_rows.join(flights, on="_f", how="left").select(
                "flight_id",
                "icao24",
                pl.lit(False).alias("entered"),
                pl.lit(None, pl.Int32).alias("entry_index"),
                "closest_km",
                ts("closest_us").alias("closest_time"),
                "closest_lat",
                "closest_lon",
            )
        )
    out = pl.concat([schema.conform(p, schema.AIRSPACE_EVENTS).drop("region", "region_kind") for p in parts], how="vertical")
    out = out.with_columns(pl.lit(reg.id).alias("region"), pl.lit(kind).alias("region_kind"))
    return schema.conform(out.sort(["flight_id", "entry_index"], nulls_last=True), schema.AIRSPACE_EVENTS)


def summarize(events: pl.DataFrame) -> dict:
    """Counts with their definitions, for printing next to the events."""
    e = events.filter(pl.col("entered"))
    return {
        "flights": events["flight_id"].n_unique(),
        "flights_entered": e["flight_id"].n_unique(),
        "flights_entered_observed": e.filter(pl.col("basis") == "observed")["flight_id"].n_unique(),
        "entries": e.height,
        "entries_observed": e.filter(pl.col("basis") == "observed").height,
        "entries_gap_only": e.filter(pl.col("basis") == "gap_only").height,
        "entries_over_land": e.filter(pl.col("over_land")).height,
    }
