"""Compiled row kernels of the airspace stage (numba): one pass over the positions where numpy
needed many full-length passes. Imported lazily by the modules that use them, so `import
isrwatch` does not pay for numba; compiled code is cached on disk (cache=True).

Every kernel here has a numpy twin it replaces, and tests compare the two on random input.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def cell_estimate(lon, lat, blk, cbx, cby, per, radius_km, out):
    """Great-circle km from each point to its cell's cached boundary point (see
    BoundaryDistance.estimate_km), written to out; NaN where the cell is not filled yet.
    Returns how many points had no filled cell."""
    n = len(lon)
    nx = 360 * per
    ny = 180 * per
    pp = per * per
    missing = 0
    k = math.pi / 360.0
    for i in range(n):
        x = lon[i]
        y = lat[i]
        ix = int((x + 180.0) * per)  # truncation as numpy's astype (the value is >= 0)
        iy = int((y + 90.0) * per)
        ix = min(max(ix, 0), nx - 1)
        iy = min(max(iy, 0), ny - 1)
        b = blk[(iy // per) * 360 + ix // per]
        if b < 0:
            out[i] = np.nan
            missing += 1
            continue
        slot = b * pp + (iy % per) * per + ix % per
        bx = cbx[slot]
        if math.isnan(bx):
            out[i] = np.nan
            missing += 1
            continue
        by = cby[slot]
        h = math.sin((by - y) * k)
        g = math.sin((bx - x) * k)
        a = h * h + g * g * math.cos(math.radians(y)) * math.cos(math.radians(by))
        a = min(max(a, 0.0), 1.0)
        out[i] = 2.0 * radius_km * math.asin(math.sqrt(a))
    return missing


@numba.njit(cache=True, nogil=True)
def group_top_sorted(group, value, largest, k, slack):
    """Indices of the k largest (smallest) values of each group, groups given as contiguous runs
    (group sorted); with a finite slack only values within slack of the group's best count.
    Non-finite values rank last (a group of only non-finite values still yields its first
    positions, as the numpy version does). Ordered by group, then value best first, ties by index."""
    n = len(group)
    out = np.empty(n, dtype=np.int64)
    m = 0
    sign = 1.0 if largest else -1.0
    bv = np.empty(k, dtype=np.float64)
    bi = np.empty(k, dtype=np.int64)
    s = 0
    while s < n:
        e = s
        g = group[s]
        while e < n and group[e] == g:
            e += 1
        best = -np.inf
        for i in range(s, e):
            v = value[i]
            if math.isfinite(v) and sign * v > best:
                best = sign * v
        cnt = 0
        for i in range(s, e):
            v = value[i]
            w = sign * v if math.isfinite(v) else -np.inf
            if w < best - slack and not (w == best):
                continue
            # insertion into the k best kept so far (stable: an equal value goes after)
            if cnt < k:
                j = cnt
                cnt += 1
            elif w > bv[k - 1]:
                j = k - 1
            else:
                continue
            while j > 0 and bv[j - 1] < w:
                bv[j] = bv[j - 1]
                bi[j] = bi[j - 1]
                j -= 1
            bv[j] = w
            bi[j] = i
        for j in range(cnt):
            out[m] = bi[j]
            m += 1
        s = e
    return out[:m]


@numba.njit(cache=True, nogil=True)
def still_open(group, est, factor, best, exact):
    """Positions whose upper bound est * factor + 0.05 km may still beat their group's best
    exact value (deepest point) and that have no exact value yet."""
    n = len(group)
    out = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if est[i] * factor > best[group[i]] and not math.isfinite(exact[i]):
            out[m] = i
            m += 1
    return out[:m]


@numba.njit(cache=True, nogil=True)
def cell_slots(lon, lat, blk, cbx, per, out):
    """Cache slot of each point's CELL_DEG cell (as BoundaryDistance._cell_points places it), -1
    where the cell is not filled yet; returns how many such points."""
    nx = 360 * per
    ny = 180 * per
    pp = per * per
    missing = 0
    for i in range(len(lon)):
        ix = min(max(int((lon[i] + 180.0) * per), 0), nx - 1)
        iy = min(max(int((lat[i] + 90.0) * per), 0), ny - 1)
        b = blk[(iy // per) * 360 + ix // per]
        slot = -1
        if b >= 0:
            slot = b * pp + (iy % per) * per + ix % per
            if math.isnan(cbx[slot]):
                slot = -1
        if slot < 0:
            missing += 1
        out[i] = slot
    return missing


@numba.njit(cache=True, nogil=True, inline="always")
def _haversine(x, y, bx, by, radius_km):
    k = math.pi / 360.0
    h = math.sin((by - y) * k)
    g = math.sin((bx - x) * k)
    a = h * h + g * g * math.cos(math.radians(y)) * math.cos(math.radians(by))
    a = min(max(a, 0.0), 1.0)
    return 2.0 * radius_km * math.asin(math.sqrt(a))


@numba.njit(cache=True, nogil=True)
def top_by_estimate(group, lon, lat, slots, cbx, cby, cbd, radius_km, rcell, largest, k, slack, est):
    """group_top_sorted(group, estimate) without estimating every position.

    A position's estimate (great-circle km to its cell's boundary point) lies within rcell of its
    cell's value cbd (the same for the cell's centre), so per group only positions whose interval
    reaches the k-th best lower end can be among the k best: only those are estimated (written
    to est, which starts as NaN). The selection is then the same as over all estimates."""
    n = len(group)
    out = np.empty(n, dtype=np.int64)
    m = 0
    sign = 1.0 if largest else -1.0
    lk = np.empty(k, dtype=np.float64)
    bv = np.empty(k, dtype=np.float64)
    bi = np.empty(k, dtype=np.int64)
    s = 0
    while s < n:
        e = s
        g = group[s]
        while e < n and group[e] == g:
            e += 1
        # k-th largest lower end of the (signed) estimate's interval
        cnt = 0
        for i in range(s, e):
            w = sign * cbd[slots[i]] - rcell
            if cnt < k:
                j = cnt
                cnt += 1
            elif w > lk[k - 1]:
                j = k - 1
            else:
                continue
            while j > 0 and lk[j - 1] < w:
                lk[j] = lk[j - 1]
                j -= 1
            lk[j] = w
        floor = lk[cnt - 1] if cnt == k else -np.inf
        best = -np.inf
        for i in range(s, e):
            sl = slots[i]
            if sign * cbd[sl] + rcell >= floor:
                v = _haversine(lon[i], lat[i], cbx[sl], cby[sl], radius_km)
                est[i] = v
                if sign * v > best:
                    best = sign * v
        cnt = 0
        for i in range(s, e):
            v = est[i]
            if math.isnan(v):
                continue
            w = sign * v
            if w < best - slack and not (w == best):
                continue
            if cnt < k:
                j = cnt
                cnt += 1
            elif w > bv[k - 1]:
                j = k - 1
            else:
                continue
            while j > 0 and bv[j - 1] < w:
                bv[j] = bv[j - 1]
                bi[j] = bi[j - 1]
                j -= 1
            bv[j] = w
            bi[j] = i
        for j in range(cnt):
            out[m] = bi[j]
            m += 1
        s = e
    return out[:m]


@numba.njit(cache=True, nogil=True)
def open_by_estimate(group, lon, lat, slots, cbx, cby, cbd, radius_km, rcell, est, factor, best, exact, gbx, gby):
    """Positions without an exact value whose great-circle distance to their cell's boundary point
    and to their group's boundary point (gbx, gby; NaN: none), the smaller, times factor
    exceeds their group's best: still_open with estimates made only where the cell's bound
    cannot settle the position."""
    n = len(group)
    out = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if math.isfinite(exact[i]):
            continue
        g = group[i]
        b = best[g]
        v = est[i]
        if math.isnan(v):
            sl = slots[i]
            if (cbd[sl] + rcell) * factor <= b:
                continue
            v = _haversine(lon[i], lat[i], cbx[sl], cby[sl], radius_km)
            est[i] = v
        if v * factor <= b:
            continue
        if not math.isnan(gbx[g]) and _haversine(lon[i], lat[i], gbx[g], gby[g], radius_km) * factor <= b:
            continue
        out[m] = i
        m += 1
    return out[:m]
