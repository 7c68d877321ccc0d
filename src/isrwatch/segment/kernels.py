"""Compiled row passes of the segment stage (numba).

Each kernel walks the rows of a table sorted by (icao24, time) once and replaces several
whole-column numpy passes (a shifted copy, a comparison, a flatnonzero, ...): at ~600k rows
those passes, not the rules' arithmetic, were most of the stage's time. The rules stay in
sorties.py; a kernel only computes what a set of whole-column expressions there computed
before, with the same results.

cache=True keeps the machine code on disk (__pycache__ next to this file, or numba's user
cache when that is read-only), so only the first process on a machine compiles (~1 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# bits of scan_rows' flag column. LONG_GAP and ENDURANCE are compared in integer
# microseconds with a margin, so they flag a superset of the rows the rules' float seconds
# select: the caller keeps the rows whose float dt_fresh (dt) meets the threshold. (The
# float seconds are t_us / 1e6 as everywhere in the stage; three divisions per row would
# cost more than the rest of the pass.)
JUMP = 1  # latitude or longitude changed more than the tolerance since the previous row
LONG_GAP = 2  # dt_fresh (about) at or above the long-gap threshold
ENDURANCE = 4  # dt (about) above the endurance threshold
_MARGIN_US = 2  # float seconds since 1970 are exact to well under a microsecond


@njit(cache=True, nogil=True)
def scan_rows(run, t_us, lat, lon, tol_deg, long_gap_s, endurance_s):
    """One pass over the rows of a table sorted by aircraft (run: an id per aircraft, equal
    on consecutive rows of one) and time (t_us, microseconds). Returns:
    same (the row continues the previous row's aircraft), moved (it brings a position other
    than the previous row's, or is the aircraft's first), the flagged rows of a continuing
    aircraft and their flag bits (JUMP, LONG_GAP, ENDURANCE), starts (each aircraft's first
    row) and ordered (times never decrease within an aircraft)."""
    n = len(run)
    same = np.empty(n, dtype=np.bool_)
    moved = np.empty(n, dtype=np.bool_)
    flags = np.empty(n, dtype=np.uint8)
    long_gap_us = long_gap_s * 1e6 - _MARGIN_US
    endurance_us = endurance_s * 1e6 - _MARGIN_US
    if n == 0:
        return same, moved, np.empty(0, np.int64), np.empty(0, np.uint8), np.empty(0, np.int64), True
    same[0] = False
    moved[0] = True
    flags[0] = 0
    # without branches (the compiler vectorises it): same, moved, and the flags that need
    # only this row and the previous one; a nan position counts as moved, as numpy's != says
    for i in range(1, n):
        s = run[i] == run[i - 1]
        dlat = lat[i] - lat[i - 1]
        dlon = lon[i] - lon[i - 1]
        same[i] = s
        moved[i] = (not s) | (dlat != 0.0) | (dlon != 0.0) | (lat[i] != lat[i]) | (lon[i] != lon[i])
        d_us = t_us[i] - t_us[i - 1]
        f = (
            np.uint8((abs(dlat) > tol_deg) | (abs(dlon) > tol_deg)) * np.uint8(JUMP)
            | np.uint8(d_us >= long_gap_us) * np.uint8(LONG_GAP)
            | np.uint8(d_us > endurance_us) * np.uint8(ENDURANCE)
        )
        flags[i] = f if s else np.uint8(0)
    # in order: a new position after stale repeats of the previous one ends a gap that began
    # when that position first appeared (dt_fresh > dt only there)
    n_starts = 0
    n_flagged = 0
    ordered = True
    last_moved = 0
    for i in range(n):
        if not same[i]:
            n_starts += 1
            last_moved = i
            continue
        if t_us[i] < t_us[i - 1]:
            ordered = False
        if moved[i]:
            if not moved[i - 1] and t_us[i] - t_us[last_moved] >= long_gap_us:
                flags[i] |= LONG_GAP
            last_moved = i
        if flags[i]:
            n_flagged += 1
    starts = np.empty(n_starts, dtype=np.int64)
    flagged = np.empty(n_flagged, dtype=np.int64)
    bits = np.empty(n_flagged, dtype=np.uint8)
    k = 0
    q = 0
    for i in range(n):
        if not same[i]:
            starts[k] = i
            k += 1
        if flags[i]:
            flagged[q] = i
            bits[q] = flags[i]
            q += 1
    return same, moved, flagged, bits, starts, ordered


@njit(cache=True, nogil=True)
def run_heads(run, t_us):
    """First row of each run of equal run ids, and whether times never decrease within one."""
    n = len(run)
    k = 0
    ordered = True
    for i in range(n):
        if i == 0 or run[i] != run[i - 1]:
            k += 1
        elif t_us[i] < t_us[i - 1]:
            ordered = False
    heads = np.empty(k, dtype=np.int64)
    k = 0
    for i in range(n):
        if i == 0 or run[i] != run[i - 1]:
            heads[k] = i
            k += 1
    return heads, ordered


@njit(cache=True, nogil=True)
def last_moved_at(moved, rows):
    """Row where the position of each given row first appeared (itself if it moved); the
    walk back is as long as the stale repeats before each row."""
    out = np.empty(len(rows), dtype=np.int64)
    for k in range(len(rows)):
        i = rows[k]
        while not moved[i]:
            i -= 1
        out[k] = i
    return out


@njit(cache=True, nogil=True)
def last_valid_before(valid, same, rows):
    """For each row, the last row before it of the same aircraft where valid is set; -1 when
    none."""
    out = np.empty(len(rows), dtype=np.int64)
    for k in range(len(rows)):
        i = rows[k]
        found = -1
        while same[i]:
            i -= 1
            if valid[i]:
                found = i
                break
        out[k] = found
    return out


@njit(cache=True, nogil=True)
def rows_within(t_us, same, rows, window_s, most):
    """For each row, how many rows of its aircraft from it on lie within window_s seconds of
    it (seconds as t_us / 1e6), at least 1 and at most most."""
    n = len(t_us)
    out = np.empty(len(rows), dtype=np.int64)
    for k in range(len(rows)):
        i = rows[k]
        limit = t_us[i] / 1e6 + window_s
        j = i + 1
        while j < n and j - i < most and same[j] and t_us[j] / 1e6 <= limit:
            j += 1
        out[k] = j - i
    return out


@njit(cache=True, nogil=True)
def max_fresh_gap(t_us, same, moved, in_sortie, first, last):
    """Largest dt_fresh (seconds) between rows of each sortie [first, last], the step into the
    sortie excluded, rows in no sortie skipped; 0 for a sortie of one row."""
    out = np.zeros(len(first))
    for k in range(len(first)):
        lm = first[k]
        while not moved[lm]:
            lm -= 1
        best = np.nan
        for i in range(first[k] + 1, last[k] + 1):
            if not same[i]:
                lm = i
                continue
            if in_sortie[i]:
                ti = t_us[i] / 1e6
                if moved[i]:
                    v = ti - t_us[lm] / 1e6
                else:
                    v = ti - t_us[i - 1] / 1e6
                if np.isnan(best) or v > best:
                    best = v
            if moved[i]:
                lm = i
        out[k] = 0.0 if np.isnan(best) else best
    return out


@njit(cache=True, nogil=True)
def all_finite(lat, lon):
    """Every latitude and longitude is finite."""
    for i in range(len(lat)):
        if not (np.isfinite(lat[i]) and np.isfinite(lon[i])):
            return False
    return True


@njit(cache=True, nogil=True)
def _state_runs(ground, same):
    """Runs of one state within one aircraft: first rows and states."""
    n = len(ground)
    m = 0
    for i in range(n):
        if i == 0 or not same[i] or ground[i] != ground[i - 1]:
            m += 1
    starts = np.empty(m + 1, dtype=np.int64)  # with n as the end sentinel
    k = 0
    for i in range(n):
        if i == 0 or not same[i] or ground[i] != ground[i - 1]:
            starts[k] = i
            k += 1
    starts[m] = n
    return starts


@njit(cache=True, nogil=True)
def _merge_runs(starts, state, same):
    """The run list with neighbouring runs of one aircraft and one state joined."""
    m = len(starts) - 1
    keep = np.empty(m + 1, dtype=np.bool_)
    for r in range(m):
        keep[r] = r == 0 or not same[starts[r]] or state[r] != state[r - 1]
    keep[m] = True
    return starts[keep], state[keep[:m]]


@njit(cache=True, nogil=True)
def smooth_ground(ground, same, moved, t_us, bounce_max_s, min_positions, glitch_span_s):
    """The flag-noise smoothing of ground states, in place on ground (see
    sorties._ground_states for the why of each step):
    1. rows repeating one position are one state: ground if any of them is;
    2. an airborne run between two ground states of the aircraft spanning at most
       bounce_max_s (row before to row after) is ground;
    3. an airborne run next to a ground state with fewer than min_positions distinct
       positions is ground;
    then returns the (first, last) rows of ground runs between airborne rows spanning at
    most glitch_span_s: the candidates for a ground-flag glitch, decided by the caller.
    Steps 2-4 work on the list of runs (a few per flight), not on rows; each step decides on
    the state the previous one left (marking one run never changes another's neighbours,
    which are of the other state)."""
    n = len(ground)
    # 1. runs of one position start at a moved row (and every aircraft's first row)
    i = 0
    while i < n:
        j = i
        anyg = ground[i]
        while j + 1 < n and not moved[j + 1]:
            j += 1
            anyg = anyg or ground[j]
        if anyg and j > i:
            for m in range(i, j + 1):
                ground[m] = True
        i = j + 1
    starts = _state_runs(ground, same)
    m = len(starts) - 1
    state = np.empty(m, dtype=np.bool_)
    for r in range(m):
        state[r] = ground[starts[r]]
    # 2. bounces: an airborne run with a run of the aircraft (ground) on both sides
    for r in range(m):
        s, e = starts[r], starts[r + 1] - 1
        if not state[r] and same[s] and e + 1 < n and same[e + 1]:
            if t_us[e + 1] / 1e6 - t_us[s - 1] / 1e6 <= bounce_max_s:
                state[r] = True
                for x in range(s, e + 1):
                    ground[x] = True
    starts, state = _merge_runs(starts, state, same)
    m = len(state)
    # 3. airborne runs next to a ground run showing fewer than min_positions positions
    for r in range(m):
        s, e = starts[r], starts[r + 1] - 1
        if state[r] or not (same[s] or (e + 1 < n and same[e + 1])):
            continue
        fresh = 0
        x = s
        while x <= e and fresh < min_positions:
            if moved[x]:
                fresh += 1
            x += 1
        if fresh < min_positions:
            state[r] = True
            for x in range(s, e + 1):
                ground[x] = True
    starts, state = _merge_runs(starts, state, same)
    m = len(state)
    # 4. short ground runs between airborne rows of the aircraft
    k = 0
    for r in range(m):
        s, e = starts[r], starts[r + 1] - 1
        if state[r] and same[s] and e + 1 < n and same[e + 1] and t_us[e + 1] / 1e6 - t_us[s - 1] / 1e6 <= glitch_span_s:
            k += 1
    first = np.empty(k, dtype=np.int64)
    last = np.empty(k, dtype=np.int64)
    k = 0
    for r in range(m):
        s, e = starts[r], starts[r + 1] - 1
        if state[r] and same[s] and e + 1 < n and same[e + 1] and t_us[e + 1] / 1e6 - t_us[s - 1] / 1e6 <= glitch_span_s:
            first[k] = s
            last[k] = e
            k += 1
    return first, last


@njit(cache=True, nogil=True)
def sortie_starts(ground, same):
    """First airborne row of each aircraft and after each ground state, and whether a ground
    row of the same aircraft precedes it."""
    n = len(ground)
    k = 0
    for i in range(n):
        if not ground[i] and (not same[i] or ground[i - 1]):
            k += 1
    out = np.empty(k, dtype=np.int64)
    after = np.empty(k, dtype=np.bool_)
    k = 0
    for i in range(n):
        if not ground[i] and (not same[i] or ground[i - 1]):
            out[k] = i
            after[k] = same[i]
            k += 1
    return out, after


@njit(cache=True, nogil=True)
def sortie_numbers(first, ground):
    """Sortie number per row: how many sortie first rows (first, sorted) there are up to it,
    0 on ground rows; as uint32, Polars' row index type."""
    n = len(ground)
    number = np.empty(n, dtype=np.uint32)
    k = 0
    for i in range(n):
        while k < len(first) and first[k] <= i:
            k += 1
        number[i] = 0 if ground[i] else k
    return number


# ---- airfield look-ups (segment.airfields.AirfieldIndex) ---------------------------------


@njit(cache=True, nogil=True, inline="always")
def _haversine_km(lat1, lon1, lat2, lon2, radius_km):
    # the formula of isrwatch.geo.haversine_km, one pair at a time
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    a = min(max(a, 0.0), 1.0)
    return 2 * radius_km * np.arcsin(np.sqrt(a))


@njit(cache=True, nogil=True, inline="always")
def _window(qlat, qrad, km_per_deg_lat):
    """Latitude cells and longitude half-width (degrees) a search radius spans."""
    dlat = qrad / km_per_deg_lat
    coslat = np.cos(np.radians(min(abs(qlat) + dlat, 89.9)))
    dlon = min(dlat / max(coslat, 1e-6), 180.0)
    return int(np.floor(qlat - dlat)), int(np.floor(qlat + dlat)), dlon


@njit(cache=True, nogil=True, inline="always")
def _cell_span(key, cell, lon, dlon):
    """Index entries of one latitude cell within dlon degrees of lon."""
    base = cell * 1000.0 + lon + 360.0
    return np.searchsorted(key, base - dlon, "left"), np.searchsorted(key, base + dlon, "right")


@njit(cache=True, nogil=True, inline="always")
def _km_within(lat, lon, a, radius, af_lat, af_lon, km_per_deg_lat, earth_km):
    """Distance to airfield a, or inf when it is certainly farther than radius: the latitude
    difference alone is a lower bound of the distance (with a margin for rounding), and it
    rules out most of a cell's airfields without the trigonometry."""
    if abs(af_lat[a] - lat) * km_per_deg_lat > radius * (1 + 1e-9) + 1e-9:
        return np.inf
    return _haversine_km(lat, lon, af_lat[a], af_lon[a], earth_km)


@njit(cache=True, nogil=True)
def airfield_pairs(key, ids, af_lat, af_lon, qlat, qlon, qrad, km_per_deg_lat, earth_km):
    """The airfields within qrad km of each query point, as (query, airfield, km) in query
    order then key order. The index key/ids is sorted by latitude cell * 1000 + longitude +
    360 (copies shifted by 360 degrees near the antimeridian). The index entries each query's
    window holds bound the number of pairs, so one pass measures and writes them."""
    nq = len(qlat)
    ok = np.empty(nq, dtype=np.bool_)
    bound = 0
    for q in range(nq):
        la, lo, rad = qlat[q], qlon[q], qrad[q]
        ok[q] = np.isfinite(la) and np.isfinite(lo) and np.isfinite(rad) and rad >= 0
        if not ok[q]:
            continue
        c_lo, c_hi, dlon = _window(la, rad, km_per_deg_lat)
        for cell in range(c_lo, c_hi + 1):
            j0, j1 = _cell_span(key, cell, lo, dlon)
            bound += j1 - j0
    q_out = np.empty(bound, dtype=np.int64)
    a_out = np.empty(bound, dtype=np.int64)
    d_out = np.empty(bound, dtype=np.float64)
    k = 0
    for q in range(nq):
        if not ok[q]:
            continue
        la, lo, rad = qlat[q], qlon[q], qrad[q]
        c_lo, c_hi, dlon = _window(la, rad, km_per_deg_lat)
        for cell in range(c_lo, c_hi + 1):
            j0, j1 = _cell_span(key, cell, lo, dlon)
            for j in range(j0, j1):
                a = ids[j]
                d = _km_within(la, lo, a, rad, af_lat, af_lon, km_per_deg_lat, earth_km)
                if d <= rad:
                    q_out[k] = q
                    a_out[k] = a
                    d_out[k] = d
                    k += 1
    return q_out[:k].copy(), a_out[:k].copy(), d_out[:k].copy()


@njit(cache=True, nogil=True)
def airfield_nearest(key, ids, af_lat, af_lon, code_rank, qlat, qlon, radius, km_per_deg_lat, earth_km):
    """Nearest airfield (-1 when none) and its distance (km, nan) within radius km of each
    query point; ties in distance go to the lower code_rank."""
    n = len(qlat)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    for q in range(n):
        la, lo = qlat[q], qlon[q]
        if not (np.isfinite(la) and np.isfinite(lo) and np.isfinite(radius) and radius >= 0):
            continue
        c_lo, c_hi, dlon = _window(la, radius, km_per_deg_lat)
        for cell in range(c_lo, c_hi + 1):
            j0, j1 = _cell_span(key, cell, lo, dlon)
            for j in range(j0, j1):
                a = ids[j]
                d = _km_within(la, lo, a, radius, af_lat, af_lon, km_per_deg_lat, earth_km)
                if d <= radius and (
                    best[q] < 0 or d < dist[q] or (d == dist[q] and code_rank[a] < code_rank[best[q]])
                ):
                    best[q] = a
                    dist[q] = d
    return best, dist
