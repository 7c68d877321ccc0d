"""Sorties: split each aircraft's positions into flights from take-off to landing.

Decisions (see SortieRules for the thresholds):

- A sortie is the airborne stretch between a take-off and a landing. Rows in a ground
  state -- on the ground (trusted on_ground flag), low and slow near an airfield, or slow
  just above the sea away from any airfield (a deck) -- belong to no sortie: they keep
  flight_id = null. They are never dropped, so rows in = rows in sorties + ground rows.
  Taxiing, parking and the landing roll are therefore not part of a sortie's duration;
  start and end are the first and last airborne positions. A touch-and-go and a deck
  landing are landings. Flag noise is smoothed first: repeats of a stale position, bounces,
  garbage rows among taxiing ones, ground-flag glitches in flight (see _ground_states).
- A sortie starts at the first airborne row of an aircraft in the table, after a ground
  state, or after a gap the same flight cannot explain: longer than any endurance, an
  impossible speed across it, a landing-and-take-off shape around it near an airfield, or
  hours out of coverage followed by another callsign. A coverage gap alone never splits:
  ISR aircraft routinely vanish from receivers for an hour far offshore. The source's own
  leg marks (readsb's leg flag) split only low down: higher up readsb marks a leg after any
  long gap with little movement, which a loitering aircraft trips without landing.
- A callsign change within a sortie never splits, and rows with a null callsign are kept.
  Rows without a position (or time) are kept too, in no sortie; they decide nothing.
- flight_id is "<icao24>-<start %Y%m%dT%H%M%SZ>" of the sortie's first airborne row; the
  rare second sortie of one aircraft starting in the same second gets "-2", "-3", ...
  The input is sorted by (icao24, time, lat, lon), so the same rows in any order give the
  same ids.

Everything is vectorised over the whole table: one sort, shifted columns compared within
an aircraft, sortie numbers counted from the split flags, and reductions over each
sortie's row range for the flights table. Each rule is tried only on the few rows that
could meet it (a jump in position, a long gap, a slow row, a ground state's edges), found
with whole-column comparisons. Airfield look-ups go through a numpy index
(segment.airfields), only for those rows.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import polars as pl

from isrwatch import schema
from isrwatch.segment import kernels
from isrwatch.geo import haversine_km
from isrwatch.segment.airfields import AirfieldIndex, airfield_index
from isrwatch.segment.rules import SortieRules

SPLIT_REASON = "split_reason"

# why a sortie starts / ends where it does (schema.FLIGHTS start_reason / end_reason)
TAKEOFF_OBSERVED = "takeoff_observed"
LANDING_OBSERVED = "landing_observed"
COVERAGE_START = "coverage_start"
COVERAGE_END = "coverage_end"
LEG_MARK = "leg_mark"
GAP_ENDURANCE = "gap_endurance"
GAP_IMPOSSIBLE_SPEED = "gap_impossible_speed"
GAP_REAPPEARS_CLIMBING = "gap_reappears_climbing"
# not in the schema.FLIGHTS comment's list: a gap of hours with another callsign after it
GAP_CALLSIGN_CHANGE = "gap_callsign_change"
REASONS = [
    TAKEOFF_OBSERVED,
    LANDING_OBSERVED,
    COVERAGE_START,
    COVERAGE_END,
    LEG_MARK,
    GAP_ENDURANCE,
    GAP_IMPOSSIBLE_SPEED,
    GAP_REAPPEARS_CLIMBING,
    GAP_CALLSIGN_CHANGE,
]
GAP_REASONS = (GAP_ENDURANCE, GAP_IMPOSSIBLE_SPEED, GAP_REAPPEARS_CLIMBING, GAP_CALLSIGN_CHANGE, LEG_MARK)

AT_SEA = "at_sea"
REQUIRED = ("time", "icao24", "lat", "lon")
# highest airfield in the world is ~14,500 ft: rows above this plus the "low" band are
# never low over any airfield, so they need no airfield look-up
_MAX_AIRFIELD_ELEV_FT = 15_000.0
_KM_PER_NM = 1.852
_ID_FORMAT = "%Y%m%dT%H%M%SZ"


def _check_columns(obs: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in REQUIRED if c not in obs.columns]
    if missing:
        raise ValueError(f"observations lack required columns {missing} (see schema.OBSERVATIONS)")
    add = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in schema.OBSERVATIONS.items()
        if name not in obs.columns
    ]
    return obs.with_columns(add) if add else obs


def _sorted(obs: pl.DataFrame) -> pl.DataFrame:
    """Sorted by (icao24, time, lat, lon): lat/lon break ties between rows of one aircraft at
    the same instant, so the order (and every decision taken from it) does not depend on
    the input order. icao24 is sorted as its rank among the distinct addresses: an integer
    sort is several times faster than a string one."""
    distinct = obs["icao24"].drop_nulls().unique().sort()
    rank = obs["icao24"].replace_strict(
        distinct, pl.int_range(len(distinct), eager=True, dtype=pl.UInt32), default=None, return_dtype=pl.UInt32
    )
    fast = _order_by_one_key(rank, obs["time"])
    if fast is not None:
        return obs[fast]
    order = (
        pl.DataFrame({"k": rank, "t": obs["time"], "la": obs["lat"], "lo": obs["lon"]})
        .with_row_index("i")
        .sort(["k", "t", "la", "lo"])["i"]
    )
    return obs[order]


def _order_by_one_key(rank: pl.Series, time: pl.Series) -> np.ndarray | None:
    """The (icao24 rank, time) order as one argsort of a single int64 key, rank * (time
    span + 1) + microseconds since the first row: a sort on four keys is ~40 times slower.
    None when it does not apply -- nulls, a key that would overflow, or two rows of one
    aircraft at the same instant (those need lat, lon to break the tie)."""
    if rank.null_count() or time.null_count() or len(rank) == 0:
        return None
    t = time.dt.epoch("us").to_numpy()
    t0, t1 = int(t.min()), int(t.max())
    k = rank.to_numpy()
    if (int(k.max()) + 1) * (t1 - t0 + 1) >= 2**63:
        return None
    key = k.astype(np.int64)
    key *= t1 - t0 + 1
    key += t - t0
    order = np.argsort(key, kind="stable")
    ranked = key[order]
    if (ranked[1:] == ranked[:-1]).any():
        return None
    return order


def _sorted_times(obs: pl.DataFrame) -> np.ndarray | None:
    """The times in microseconds if the table is sorted by (icao24, time), else None. (Ties on
    both may be in any order.)

    Aircraft are told apart by a hash of icao24 (several times cheaper than comparing the
    strings): a change of hash is a change of aircraft, and the rare two neighbouring
    aircraft with one hash would only hide a first row from this list -- the table is
    still sorted exactly when the listed addresses increase and times increase between
    them. The exact aircraft runs are made where they are used."""
    icao = obs["icao24"]
    if icao.null_count() or obs["time"].null_count():
        return None
    t_us = obs["time"].dt.epoch("us").to_numpy()
    heads, ordered = kernels.run_heads(icao.hash().to_numpy(), t_us)
    # sorted iff the addresses of successive runs increase: ~1,000 strings compared, not 600k
    if not ordered or not icao.gather(heads).is_sorted():
        return None
    return t_us


def _in_order(obs: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray | None]:
    """The table sorted by (icao24, time), with its times in microseconds when it already was.
    (Each part of a long table is checked by its row scan instead: _Rows.ordered.)"""
    t_us = _sorted_times(obs)
    return (obs, t_us) if t_us is not None else (_sorted(obs), None)


# ---- row-level arrays (numpy, over a table sorted by icao24, time) ----------------------



class _Rows:
    """The columns the rules read, as numpy arrays, and neighbours within an aircraft.

    Whole-length arrays are few and made once (lat, lon, time in microseconds, one byte per
    row for same / moved / flags, all from one compiled pass); everything else is computed
    at the rows asked for. (A fresh full-length float array costs more in page faults than
    the arithmetic on it.)"""

    def __init__(self, df: pl.DataFrame, run: np.ndarray | None = None, t_us: np.ndarray | None = None, *,
                 rules: SortieRules | None = None):
        """run, t_us: aircraft run ids and times in microseconds, when known. rules: the thresholds of the flag bits (JUMP,
        LONG_GAP, ENDURANCE); without them no row is flagged."""
        self.df = df
        self.n = df.height
        self._run = run
        self.rules = rules
        self._cols: dict[str, np.ndarray] = {}
        if t_us is not None:
            self.t_us = t_us

    def _native(self, name: str) -> tuple[np.ndarray, np.ndarray | None, int]:
        """A numeric column's values in their own type, its Arrow validity bitmap (None
        without nulls) and the bitmap's bit offset: views of the column, not copies, so that
        reading a few rows costs a few rows (filling the nulls of the whole column first
        cost more than all the reads)."""
        col = self._cols.get(name)
        if col is None:
            s = self.df[name]
            if not s.dtype.is_float():
                s = s.cast(pl.Float64)
            if s.n_chunks() > 1:
                s = s.rechunk()
            if s.null_count() == 0:
                col = (s.to_numpy(), None, 0)
            else:
                arr = s.to_arrow()
                validity, values = arr.buffers()
                dtype = np.float32 if s.dtype == pl.Float32 else np.float64
                data = np.frombuffer(values, dtype=dtype, count=len(arr) + arr.offset)[arr.offset :]
                col = (data, np.frombuffer(validity, dtype=np.uint8), arr.offset)
            self._cols[name] = col
        return col

    def _scan(self) -> None:
        run = self._run if self._run is not None else self.df["icao24"].rle_id().to_numpy()
        rules = self.rules
        if rules is None:
            thresholds = (np.inf, np.inf, np.inf)
        else:
            thresholds = (rules.position_tolerance_km / 111.32 * 0.99, self.long_gap_s, rules.max_gap_h * 3600.0)
        same, moved, flagged, bits, starts, ordered = kernels.scan_rows(run, self.t_us, self.lat, self.lon, *thresholds)
        self.__dict__.update(same=same, moved=moved, flags=(flagged, bits), starts_idx=starts, ordered=ordered)

    def _scanned(self, name: str) -> np.ndarray:
        if name not in self.__dict__:
            self._scan()
        return self.__dict__[name]

    @property
    def long_gap_s(self) -> float:
        """The shortest gap any gap rule looks at (reappear or callsign change)."""
        return min(self.rules.reappear_min_gap_s, self.rules.callsign_gap_h * 3600.0)

    @cached_property
    def same(self) -> np.ndarray:
        """This row's aircraft is the previous row's."""
        return self._scanned("same")

    @cached_property
    def moved(self) -> np.ndarray:
        """This row brings a position other than the previous row's (or is the first)."""
        return self._scanned("moved")

    @cached_property
    def flags(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows with a kernels.JUMP | LONG_GAP | ENDURANCE bit set (thresholds from the
        rules), and their bits."""
        return self._scanned("flags")

    @cached_property
    def starts_idx(self) -> np.ndarray:
        """First row of each aircraft."""
        return self._scanned("starts_idx")

    @cached_property
    def ordered(self) -> bool:
        """The rows are in (icao24, time) order: addresses increase from one aircraft to the
        next, times within each -- and each run holds one address (run ids made from a hash
        of icao24 could, in theory, join two neighbouring aircraft: their first and last
        addresses would then differ)."""
        if not self._scanned("ordered"):
            return False
        starts = self.starts_idx
        # one gather of ~2 strings per aircraft, compared in Python (cheaper than several
        # Polars calls)
        ends = np.append(starts[1:] - 1, self.n - 1)
        both = self.df["icao24"].gather(np.concatenate([starts, ends])).to_list()
        first, last = both[: len(starts)], both[len(starts) :]
        return first == last and all(a < b for a, b in zip(first, first[1:]))

    def marked(self, rules: SortieRules) -> dict[str, np.ndarray]:
        """Rows of three kinds, found by Polars in one pass: trusted ground flags ("og": on
        the ground and not faster than on_ground_max_gs_kt -- faster is a flag glitch; unknown
        speed is trusted), slow rows not flagged on the ground ("slow": candidates for
        low-and-slow or deck; unknown speed is not slow) and the feed's leg marks ("leg").
        (A compiled pass over the Arrow bitmaps was measured 2-3 times slower.)"""
        if "_marked" not in self.__dict__:
            og = pl.col("on_ground").fill_null(False)
            gs = pl.col("gs")
            exprs = {
                "og": og & (gs.is_null() | gs.is_nan() | (gs <= rules.on_ground_max_gs_kt)),
                "slow": ~og & (gs < max(rules.slow_gs_kt, rules.deck_gs_kt)),
                "leg": pl.col("leg_start").fill_null(False),
            }
            found = self.df.select(e.arg_true().implode().alias(k) for k, e in exprs.items())
            self.__dict__["_marked"] = {k: found[k][0].to_numpy().astype(np.int64) for k in exprs}
        return self.__dict__["_marked"]

    def same_next(self, rows: np.ndarray) -> np.ndarray:
        """The next row continues this row's aircraft."""
        nxt = np.minimum(rows + 1, self.n - 1)
        return (rows < self.n - 1) & self.same[nxt]

    @cached_property
    def t_us(self) -> np.ndarray:
        return self.df["time"].dt.epoch("us").to_numpy()

    def t(self, rows: np.ndarray) -> np.ndarray:
        """Seconds since the epoch at rows."""
        return self.t_us[rows] / 1e6

    @cached_property
    def lat(self) -> np.ndarray:
        return self._f64("lat")

    @cached_property
    def lon(self) -> np.ndarray:
        return self._f64("lon")

    def _f64(self, name: str) -> np.ndarray:
        """A whole column as float64, nan for null."""
        s = self.df[name].cast(pl.Float64)
        return (s.fill_null(np.nan) if s.null_count() else s).to_numpy()

    def at(self, name: str, rows: np.ndarray) -> np.ndarray:
        """A numeric column at rows, as float64 (nan for null)."""
        values, validity, offset = self._native(name)
        out = values[rows].astype(np.float64)
        if validity is not None:
            bit = rows + offset
            out[((validity[bit >> 3] >> (bit & 7)) & 1) == 0] = np.nan
        return out

    def alt(self, rows: np.ndarray) -> np.ndarray:
        """Altitude (ft) at rows: GNSS height where known (height above an airfield is better
        from it: baro altitude is uncorrected for local pressure), else barometric."""
        baro = self.at("alt_baro", rows)
        if self.df["alt_geom"].null_count() == self.n:
            return baro
        geom = self.at("alt_geom", rows)
        return np.where(np.isnan(geom), baro, geom)

    def vrate(self, rows: np.ndarray) -> np.ndarray:
        return self.at("vrate", rows)

    def gs(self, rows: np.ndarray) -> np.ndarray:
        """Ground speed (kt) at rows."""
        return self.at("gs", rows)

    def dt(self, rows: np.ndarray) -> np.ndarray:
        """Seconds since the previous row of the aircraft at rows (nan on its first row)."""
        prev = np.maximum(rows - 1, 0)
        with np.errstate(invalid="ignore"):
            return np.where(self.same[rows], self.t(rows) - self.t(prev), np.nan)

    def dt_next_at(self, rows: np.ndarray) -> np.ndarray:
        """Seconds to the next row of the aircraft at rows (nan on its last row)."""
        return np.where(rows < self.n - 1, self.dt(np.minimum(rows + 1, self.n - 1)), np.nan)

    def last_moved_at(self, rows: np.ndarray) -> np.ndarray:
        """Row where the position of each given row first appeared (itself if it moved)."""
        return kernels.last_moved_at(self.moved, np.asarray(rows, dtype=np.int64))

    def group_start_at(self, rows: np.ndarray) -> np.ndarray:
        g = self.starts_idx
        return g[np.searchsorted(g, rows, "right") - 1]

    def group_end_at(self, rows: np.ndarray) -> np.ndarray:
        """Last row of each given row's aircraft."""
        g = self.starts_idx
        nxt = np.searchsorted(g, rows, "right")
        return np.where(nxt < len(g), g[np.minimum(nxt, len(g) - 1)] - 1, self.n - 1)

    def dt_fresh_at(self, rows: np.ndarray) -> np.ndarray:
        """Seconds since the previous row's position first appeared, at rows that bring a new
        position; dt elsewhere (nan on an aircraft's first row). Feeds and resampled tracks
        repeat a stale position while no new one comes in; the time that position has been
        stale is part of the gap."""
        prev = np.maximum(rows - 1, 0)
        fresh = self.t(rows) - self.t(self.last_moved_at(prev))
        return np.where(self.moved[rows] & self.same[rows], fresh, self.dt(rows))

    def vr_back(self, rows: np.ndarray) -> np.ndarray:
        """Vertical rate (ft/min) at rows; from the previous altitude where the source gave
        none."""
        d = self.dt(rows)
        prev_alt = self.alt(np.maximum(rows - 1, 0))
        with np.errstate(invalid="ignore", divide="ignore"):
            est = np.where((d >= 1) & (d <= 120), (self.alt(rows) - prev_alt) / d * 60.0, np.nan)
        vr = self.vrate(rows)
        return np.where(np.isnan(vr), est, vr)

    def vr_fwd(self, rows: np.ndarray) -> np.ndarray:
        """Vertical rate (ft/min) at rows; from the next altitude where the source gave none."""
        d = self.dt_next_at(rows)
        next_alt = self.alt(np.minimum(rows + 1, self.n - 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            est = np.where((d >= 1) & (d <= 120), (next_alt - self.alt(rows)) / d * 60.0, np.nan)
        vr = self.vrate(rows)
        return np.where(np.isnan(vr), est, vr)

    def last_where(self, mask_idx: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each row, the last index in mask_idx (sorted) at or before it within the same
        aircraft, -1 when none."""
        pos = np.searchsorted(mask_idx, rows, "right") - 1
        found = np.where(pos >= 0, mask_idx[np.maximum(pos, 0)], -1)
        return np.where(found >= self.group_start_at(rows), found, -1)

    def first_where(self, mask_idx: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each row, the first index in mask_idx (sorted) at or after it within the same
        aircraft, -1 when none."""
        pos = np.searchsorted(mask_idx, rows, "left")
        found = np.where(pos < len(mask_idx), mask_idx[np.minimum(pos, len(mask_idx) - 1)], -1)
        return np.where((found >= 0) & (found <= self.group_end_at(rows)), found, -1)


def _nearest(index: AirfieldIndex, lat: np.ndarray, lon: np.ndarray, radius_km: float):
    """(found mask, airfield index (-1: none), distance km, elevation ft) of the nearest
    airfield within radius_km."""
    best, dist = index.nearest(lat, lon, radius_km)
    found = best >= 0
    elev = np.where(found, index.elev[np.maximum(best, 0)], np.nan) if len(index) else np.full(len(best), np.nan)
    return found, best, dist, elev


def _mark(n: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Boolean rows covered by the runs [starts, ends] (work in proportion to those rows)."""
    out = np.zeros(n, dtype=bool)
    lengths = ends - starts + 1
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    if len(starts):
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[np.repeat(starts, lengths) + offsets] = True
    return out


def _ground_states(r: _Rows, index: AirfieldIndex, rules: SortieRules) -> np.ndarray:
    """Boolean per row: a ground state (no sortie) -- on the ground, low and slow near an
    airfield, or a deck -- with flag noise and garbage rows smoothed out."""
    # the trusted ground flags, and the candidates for low-and-slow or deck: few rows,
    # filtered step by step
    marked = r.marked(rules)
    ground = np.zeros(r.n, dtype=bool)
    ground[marked["og"]] = True
    cand = marked["slow"]
    with np.errstate(invalid="ignore"):
        a, g = r.alt(cand), r.gs(cand)
        cand = cand[
            ((g < rules.slow_gs_kt) & (a <= rules.low_alt_agl_ft + _MAX_AIRFIELD_ELEV_FT))
            | ((g < rules.deck_gs_kt) & (a <= rules.deck_alt_ft))
        ]
    rows = cand
    if len(rows):
        alt, gs = r.alt(rows), r.gs(rows)
        radius = max(rules.near_airfield_km, rules.at_sea_min_km)
        found, _, dist, elev = _nearest(index, r.lat[rows], r.lon[rows], radius)
        near = found & (dist <= rules.near_airfield_km)
        low_slow = near & (alt - np.nan_to_num(elev) <= rules.low_alt_agl_ft) & (gs < rules.slow_gs_kt)
        deck = ~found & (gs < rules.deck_gs_kt) & (alt <= rules.deck_alt_ft)
        ground[rows] |= low_slow | deck
    # the flag noise, smoothed in one compiled pass (kernels.smooth_ground):
    # - rows repeating one position exactly (resampled tracks and stale feeds repeat the last
    #   position while flags, speed and altitude drift or turn to garbage) are one state: on
    #   the ground if any of them says so, since an aircraft in flight moves;
    # - an airborne stretch too short to be a sortie between two ground states is ground: a
    #   bounce, a slow final approach, or garbage rows among taxiing ones;
    # - an airborne stretch next to a ground state with fewer than min_positions distinct
    #   positions shows no flight: a ground state whose flags went bad.
    # It returns the short ground stretches between airborne rows, decided here: high on both
    # sides, or entered climbing, or left descending, the ground flag is wrong (a
    # touch-and-go has low rows around it, descending into it and climbing out of it)
    s, e = kernels.smooth_ground(
        ground, r.same, r.moved, r.t_us, rules.bounce_max_s, rules.min_positions, 2 * rules.glitch_window_s
    )
    if len(s):
        p, n = s - 1, e + 1
        agl_p = _agl(r, index, p, rules)
        agl_n = _agl(r, index, n, rules)
        with np.errstate(invalid="ignore"):
            glitch = (
                ((agl_p > rules.glitch_agl_ft) & (agl_n > rules.glitch_agl_ft))
                | (r.vr_back(p) >= rules.glitch_vrate_fpm)
                | (r.vr_fwd(n) <= -rules.glitch_vrate_fpm)
            )
        ground &= ~_mark(r.n, s[glitch], e[glitch])
    return ground


def _agl(r: _Rows, index: AirfieldIndex, rows: np.ndarray, rules: SortieRules) -> np.ndarray:
    """Height (ft) above the nearest airfield within near_airfield_km, else above sea level."""
    found, _, _, elev = _nearest(index, r.lat[rows], r.lon[rows], rules.near_airfield_km)
    return r.alt(rows) - np.where(found, elev, 0.0)


def _reach_km(agl: np.ndarray, vr: np.ndarray, gs: np.ndarray, rules: SortieRules, sign: float):
    """How far from an airfield an aircraft this high can be while descending to it
    (sign=-1) or after climbing out of it (sign=+1)."""
    agl = np.maximum(agl, 0.0)
    glide = agl / 1000.0 * rules.reach_km_per_1000ft
    with np.errstate(invalid="ignore"):
        moving = np.isfinite(vr) & (sign * vr > 0) & np.isfinite(gs)
    rate = np.where(moving, np.abs(vr), 1.0)
    # minutes to (from) the ground at the observed rate, times ground speed
    by_rate = np.where(moving, agl / np.maximum(rate, 500.0) * np.nan_to_num(gs) * _KM_PER_NM / 60.0, 0.0)
    return rules.near_airfield_km + np.minimum(rules.reach_max_km, np.maximum(glide, by_rate))


def _reappear_splits(r: _Rows, c: np.ndarray, index: AirfieldIndex, rules: SortieRules) -> np.ndarray:
    """gap_reappears_climbing for candidate rows c (the row after a gap; p = c - 1)."""
    out = np.zeros(len(c), dtype=bool)
    if len(c) == 0 or len(index) == 0:
        return out
    p = c - 1
    vr_p = r.vr_back(p)
    vr_c = r.vr_fwd(c)
    dt = r.dt_fresh_at(c)
    down_p = np.nan_to_num(vr_p, nan=0.0) <= -rules.descent_fpm
    up_c = np.nan_to_num(vr_c, nan=0.0) >= rules.climb_fpm

    def pairs(rows, vr, sign):
        # search with the reach over the lowest plausible airfield, then the exact one
        alt = r.alt(rows)
        gs = r.gs(rows)
        radius = _reach_km(alt + 1_500.0, vr, gs, rules, sign)
        q, a, d = index.pairs_within(r.lat[rows], r.lon[rows], radius)
        agl = alt[q] - index.elev[a]
        reach = _reach_km(agl, vr[q], gs[q], rules, sign)
        ok = (d <= reach) & (agl <= rules.reappear_max_agl_ft)
        return q[ok], a[ok], d[ok], agl[ok]

    qp, ap, dp, aglp = pairs(p, vr_p, -1.0)
    qc, ac, dc, aglc = pairs(c, vr_c, +1.0)
    low = rules.low_alt_agl_ft
    near = rules.near_airfield_km

    # (b) last seen low near an airfield
    out[qp[(dp <= near) & (aglp <= low)]] = True
    # (c) reappears low and climbing near an airfield after being last seen descending
    out[qc[(dc <= near) & (aglc <= low) & up_c[qc] & down_p[qc]]] = True
    # (a) one airfield within descent reach before and climb reach after, time for both
    if len(qp) and len(qc):
        # (query, airfield) pairs found on both sides (a pair twice on one side has one agl)
        width = len(index.lat)
        _, ip, ic = np.intersect1d(qp * width + ap, qc * width + ac, return_indices=True)
        if len(ip):
            q = qp[ip]
            agl_p = np.maximum(aglp[ip], 0.0)
            agl_c = np.maximum(aglc[ic], 0.0)
            rate_p = np.maximum(np.nan_to_num(np.abs(vr_p[q]), nan=0.0), rules.default_vrate_fpm)
            rate_c = np.maximum(np.nan_to_num(np.abs(vr_c[q]), nan=0.0), rules.default_vrate_fpm)
            need_s = (agl_p / rate_p + agl_c / rate_c) * 60.0
            shape = (down_p[q] | (agl_p <= low)) & (up_c[q] | (agl_c <= low))
            out[q[shape & (dt[q] >= need_s)]] = True
    return out


def _callsign_changes(r: _Rows, rows: np.ndarray, rules: SortieRules) -> np.ndarray:
    """Of the rows after a gap, those where a callsign other than the last known one before
    the gap is heard within callsign_window_s after it. (Transponders keep sending the last
    flight's callsign for a while after take-off; rows without a callsign are skipped, never
    dropped.)"""
    if len(rows) == 0:
        return rows
    callsign = r.df["callsign"]
    if callsign.null_count():
        before = kernels.last_valid_before(callsign.is_not_null().to_numpy(), r.same, rows)
        rows, before = rows[before >= 0], before[before >= 0]
    else:  # rows follow a row of the same aircraft
        before = rows - 1
    if len(rows) == 0:
        return rows
    # the rows heard within the window after each gap (at most 500 of them), in one gather
    lengths = kernels.rows_within(r.t_us, r.same, rows, rules.callsign_window_s, 500)
    owner = np.repeat(np.arange(len(rows)), lengths)
    idx = np.repeat(rows, lengths) + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    heard, last = pl.lit(callsign).gather(pl.lit(pl.Series(idx))), pl.lit(callsign).gather(pl.lit(pl.Series(before[owner])))
    other = pl.select((heard.is_not_null() & (heard != last)).fill_null(False)).to_series().to_numpy()
    return rows[np.bincount(owner[other], minlength=len(rows)) > 0]


def _excursions(r: _Rows, c: np.ndarray, rules: SortieRules) -> np.ndarray:
    """Of the rows c (sorted) with an impossible jump before them, those that are part of an
    excursion: a jump away and, within excursion_max_s, a jump back to where the aircraft
    could have been all along. The rows between are bad positions (a decoding error, a short
    spoof), not another flight; neither jump splits."""
    out = np.zeros(len(c), dtype=bool)
    if len(c) < 2:
        return out
    away, back = c[:-1], c[1:]
    p = away - 1
    ok = r.same[back] & (r.group_start_at(away) == r.group_start_at(back))
    ok &= r.t(back) - r.t(away) <= rules.excursion_max_s
    d = haversine_km(r.lat[p], r.lon[p], r.lat[back], r.lon[back])
    elapsed = np.maximum(r.t(back) - r.t(r.last_moved_at(p)), 1.0)
    ok &= (d - rules.position_tolerance_km) / elapsed * 3600.0 <= rules.max_speed_kt * _KM_PER_NM
    out[:-1] |= ok
    out[1:] |= ok
    return out


def _gap_distance_km(r: _Rows, rows: np.ndarray) -> np.ndarray:
    return haversine_km(r.lat[rows - 1], r.lon[rows - 1], r.lat[rows], r.lon[rows])


# split reason codes (0: not a sortie's first row)
_CODES = [
    None,
    TAKEOFF_OBSERVED,
    COVERAGE_START,
    GAP_IMPOSSIBLE_SPEED,
    GAP_ENDURANCE,
    GAP_REAPPEARS_CLIMBING,
    GAP_CALLSIGN_CHANGE,
    LEG_MARK,
]


def assign_sorties(
    obs: pl.DataFrame,
    *,
    airfields: pl.DataFrame | None = None,
    rules: SortieRules | None = None,
) -> pl.DataFrame:
    """The observations sorted by (icao24, time) with flight_id and split_reason added.

    flight_id (schema.FLIGHT_ID) is "<icao24>-<start %Y%m%dT%H%M%SZ>" for airborne rows
    and null for ground-state rows (taxiing, parked, landing roll, deck): those are kept,
    never dropped. split_reason is set on the first row of each sortie (one of
    takeoff_observed, coverage_start, leg_mark, gap_endurance, gap_impossible_speed,
    gap_reappears_climbing, gap_callsign_change) and null elsewhere.

    airfields: a table with icao, lat, lon, elevation_ft (default: every airfield in
    airportsdata). rules: SortieRules (defaults documented there).
    """
    rules = rules or SortieRules()
    obs = _check_columns(obs)
    out_columns = [c for c in obs.columns if c not in (schema.FLIGHT_ID, SPLIT_REASON)]
    if len(out_columns) < len(obs.columns):
        obs = obs.select(out_columns)
    if obs.height == 0:
        return obs.with_columns(
            pl.lit(None, dtype=pl.String).alias(schema.FLIGHT_ID),
            pl.lit(None, dtype=pl.String).alias(SPLIT_REASON),
        )
    index = airfield_index(airfields)
    # the usual case first: a long table already in (icao24, time) order, every row with a
    # position -- split between aircraft, each half checked for order and decided in its own
    # thread (every rule looks within one aircraft; the kernels and Polars release the GIL)
    if obs.height >= _PARALLEL_MIN_ROWS and _CPUS > 1:
        out = _in_parts(obs, index, rules)
        if out is not None:
            return out
    df, t_us = _in_order(obs)
    # rows without a position are kept but belong to no sortie and decide nothing
    valid = _has_position(df)
    all_valid = valid is None
    if all_valid and df is not obs and df.height >= _PARALLEL_MIN_ROWS and _CPUS > 1:
        out = _in_parts(df, index, rules)  # sorted now
        if out is not None:
            return out
    dv = df if all_valid else df.filter(pl.Series(valid))
    t_us = t_us if all_valid else None
    if dv.height == 0:
        return df.with_columns(
            pl.lit(None, dtype=pl.String).alias(schema.FLIGHT_ID),
            pl.lit(None, dtype=pl.String).alias(SPLIT_REASON),
        )
    ids, pick, reason = _sortie_rows(dv, t_us, index, rules)
    if not all_valid:  # back onto every row, position-less rows in no sortie
        full_pick = np.zeros(df.height, dtype=pick.dtype)
        full_reason = np.zeros(df.height, dtype=reason.dtype)
        full_pick[valid] = pick
        full_reason[valid] = reason
        pick, reason = full_pick, full_reason
    return df.with_columns(*_gather_ids(ids, pick, reason))


# assign_sorties splits a table this long between two threads (below it, the second thread
# costs more than it saves)
_PARALLEL_MIN_ROWS = 100_000
# in this many parts (cut between aircraft). More parts than threads would even out a large
# aircraft near a cut, but each part costs ~1 ms more: 4 parts were slower than 2 on 617k points
_PARTS = 2
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _aircraft_start_near(run: np.ndarray, i: int, step: int = 65_536) -> int:
    """The row nearest i (either way) whose run id differs from the row before it (0: none):
    the cut that shares the rows most evenly between aircraft. Looked for in a window around
    i first, widened until one is found."""
    n = len(run)
    width = step
    while True:
        lo, hi = max(i - width, 1), min(i + width, n)
        starts = np.flatnonzero(run[lo:hi] != run[lo - 1 : hi - 1]) + lo
        if len(starts):
            return int(starts[np.argmin(np.abs(starts - i))])
        if lo == 1 and hi == n:
            return 0
        width *= 4


def _in_parts(df: pl.DataFrame, index: AirfieldIndex, rules: SortieRules) -> pl.DataFrame | None:
    """assign_sorties' result computed in _PARTS parts (cut between aircraft) on two threads,
    or None when the table is not in (icao24, time) order, has rows without a position, or
    cannot be cut."""
    if df["icao24"].null_count() or df["time"].null_count():
        return None
    # aircraft runs from a hash of icao24 (several times cheaper than comparing the strings;
    # each part's order check makes sure no run joins two aircraft), in one Polars pass with
    # the times
    cols = df.select(pl.col("icao24").hash(), pl.col("time").dt.epoch("us"))
    run, t_us = cols["icao24"].to_numpy(), cols["time"].to_numpy()
    cuts = sorted({_aircraft_start_near(run, df.height * k // _PARTS) for k in range(1, _PARTS)} - {0})
    icao = df["icao24"]
    if not cuts or not all(icao[c - 1] < icao[c] for c in cuts):
        return None
    bounds = [0, *cuts, df.height]

    def part(k: int) -> tuple[pl.Series, pl.Series] | None:
        sl = slice(bounds[k], bounds[k + 1])
        piece = df[sl]
        if _has_position(piece) is not None:  # rows without a position: the general path
            return None
        rows = _sortie_rows(piece, t_us[sl], index, rules, run=run[sl], check_order=True)
        return None if rows is None else _gather_ids(*rows)

    with ThreadPoolExecutor(max_workers=min(_CPUS, 2)) as pool:
        # largest parts first: the thread that finishes early takes the next one
        order = sorted(range(len(bounds) - 1), key=lambda k: bounds[k] - bounds[k + 1])
        done = dict(zip(order, pool.map(part, order)))
    results = [done[k] for k in range(len(bounds) - 1)]
    if any(r is None for r in results):
        return None
    return df.with_columns(pl.concat([r[0] for r in results]), pl.concat([r[1] for r in results]))


def _gather_ids(ids: pl.Series, pick: np.ndarray, reason: np.ndarray) -> tuple[pl.Series, pl.Series]:
    """flight_id and split_reason per row from the sortie numbers and reason codes; both
    gathers in one select, which Polars runs side by side."""
    reasons = pl.Series(SPLIT_REASON, _CODES, dtype=pl.String)
    out = pl.select(
        pl.lit(ids).gather(pl.lit(pl.Series(pick))).alias(schema.FLIGHT_ID),
        pl.lit(reasons).gather(pl.lit(pl.Series(reason))).alias(SPLIT_REASON),
    )
    return out[schema.FLIGHT_ID], out[SPLIT_REASON]


def _sortie_rows(
    dv: pl.DataFrame, t_us: np.ndarray | None, index: AirfieldIndex, rules: SortieRules, *,
    run: np.ndarray | None = None, check_order: bool = False,
) -> tuple[pl.Series, np.ndarray, np.ndarray] | None:
    """The sorties of a table sorted by (icao24, time) whose rows all have a position:
    (ids with null first, sortie number per row (0: none), reason code per row). run, t_us:
    the aircraft run ids and times in microseconds when already made. check_order: None when
    the rows turn out not to be in (icao24, time) order (found by the row scan)."""
    r = _Rows(dv, run, t_us, rules=rules)
    if check_order and not r.ordered:
        return None

    ground = _ground_states(r, index, rules)
    n = r.n

    def prev_airborne(rows: np.ndarray) -> np.ndarray:
        """Of these rows, those airborne with an airborne row of the same aircraft before."""
        rows = rows[rows > 0]
        return rows[r.same[rows] & ~ground[rows] & ~ground[rows - 1]]

    # gap rules between two airborne rows of one aircraft; each is tried only on the few rows
    # that could meet it (a jump in position, a long gap), never on every row
    flagged, bits = r.flags
    with np.errstate(invalid="ignore"):
        endurance = prev_airborne(flagged[(bits & kernels.ENDURANCE) != 0])
        endurance = endurance[r.dt(endurance) > rules.max_gap_h * 3600.0]
        far = prev_airborne(flagged[(bits & kernels.JUMP) != 0])
        far_gap = r.dt_fresh_at(far)
        far, far_gap = far[far_gap >= 1.0], far_gap[far_gap >= 1.0]
        long_gap = prev_airborne(flagged[(bits & kernels.LONG_GAP) != 0])
        long_gap_s = r.dt_fresh_at(long_gap)
        keep = long_gap_s >= r.long_gap_s
        long_gap, long_gap_s = long_gap[keep], long_gap_s[keep]
    speed = far[:0]
    if len(far):
        d = _gap_distance_km(r, far)
        speed = far[(d - rules.position_tolerance_km) / far_gap * 3600.0 > rules.max_speed_kt * _KM_PER_NM]
        speed = speed[~_excursions(r, speed, rules)]
    keep = ~np.isin(long_gap, speed) & ~np.isin(long_gap, endurance)
    long_gap, long_gap_s = long_gap[keep], long_gap_s[keep]
    with np.errstate(invalid="ignore"):
        cand = long_gap[
            (long_gap_s >= rules.reappear_min_gap_s)
            & (np.minimum(r.alt(long_gap), r.alt(long_gap - 1)) <= rules.reappear_max_agl_ft + _MAX_AIRFIELD_ELEV_FT)
        ]
    reappear = cand[_reappear_splits(r, cand, index, rules)]
    callsign = _callsign_changes(r, long_gap[long_gap_s >= rules.callsign_gap_h * 3600.0], rules)

    # reason codes, in order of precedence: what was observed before what was inferred
    code = np.zeros(n, dtype=np.uint32)  # as Polars' row index type: gathered from without a copy
    start, after_ground = kernels.sortie_starts(ground, r.same)  # first airborne row after ground / of an aircraft
    with np.errstate(invalid="ignore"):
        code[start] = np.where(after_ground & (r.dt(start) <= rules.observed_edge_s), 1, 2)
    # lowest precedence first: a higher one written later wins (never over a start above)
    # the feed's leg marks between two airborne rows count only low down: up high they come
    # from readsb's "long gap, little movement" rule, which an aircraft loitering out of
    # coverage trips without landing
    legs = prev_airborne(r.marked(rules)["leg"])
    with np.errstate(invalid="ignore"):
        legs = legs[~((r.alt(legs) >= rules.leg_mark_max_alt_ft) | (r.alt(legs - 1) >= rules.leg_mark_max_alt_ft))]
    for k, hit in ((7, legs), (6, callsign), (5, reappear), (4, endurance), (3, speed)):
        code[hit] = k

    # a sortie first seen low over an airfield and not descending was seen taking off,
    # whatever else made it start here
    first = np.unique(np.concatenate([start, legs, callsign, reappear, endurance, speed]))  # rows with a code
    with np.errstate(invalid="ignore"):
        low = first[code[first] >= 2]
        low = low[r.alt(low) <= rules.low_alt_agl_ft + _MAX_AIRFIELD_ELEV_FT]
        low = low[~(r.vr_fwd(low) <= -rules.descent_fpm)]
    if len(low):
        found, _, _, elev = _nearest(index, r.lat[low], r.lon[low], rules.near_airfield_km)
        up = found & (r.alt(low) - np.nan_to_num(elev) <= rules.low_alt_agl_ft)
        code[low[up]] = 1

    # sortie numbers: the count of sortie starts so far, 0 on ground rows
    pick, reason = kernels.sortie_numbers(first, ground), code
    # ids formatted on first rows only; the rare second sortie of an aircraft starting in the
    # same second gets "-2", "-3", ...
    _id = pl.concat_str(pl.col("icao24"), pl.lit("-"), pl.col("time").dt.strftime(_ID_FORMAT))
    heads = dv.select("icao24", "time")[first].select(_id.alias("_id"), _id.is_duplicated().alias("_dup"))
    ids = heads["_id"]
    if heads["_dup"].any():
        k = heads.select(pl.int_range(1, pl.len() + 1).over("_id"))[:, 0]
        ids = pl.select(
            pl.when(k > 1).then(pl.concat_str(pl.lit(ids), pl.lit("-"), pl.lit(k).cast(pl.String))).otherwise(pl.lit(ids))
        )[:, 0]
    # position 0: no sortie; one chunk, or the gather is several times slower
    ids = pl.concat([pl.Series([None], dtype=pl.String), ids], rechunk=True)
    return ids, pick, reason


def _has_position(df: pl.DataFrame) -> np.ndarray | None:
    """Per row: a finite position and a time; None when every row has both (the usual case,
    found without a whole-length mask)."""
    lat = df["lat"].cast(pl.Float64).to_numpy()
    lon = df["lon"].cast(pl.Float64).to_numpy()
    if not df["time"].null_count() and kernels.all_finite(lat, lon):
        return None
    ok = np.isfinite(lat) & np.isfinite(lon)
    if df["time"].null_count():
        ok &= df["time"].is_not_null().to_numpy()
    return ok


def _label(index, lat, lon, observed, on_ground_state, drift_km, rules: SortieRules, nearest=None) -> np.ndarray:
    """Airfield of an observed take-off or landing: ICAO code within near_airfield_km;
    "at_sea" for a ground state with no airfield within at_sea_min_km, or one that drifted
    deck_drift_km or more (a ship under way); else null. nearest: _nearest() of these
    points within max(near_airfield_km, at_sea_min_km), when already looked up."""
    radius = max(rules.near_airfield_km, rules.at_sea_min_km)
    found, best, dist, _ = nearest if nearest is not None else _nearest(index, lat, lon, radius)
    icao = index.icao[np.maximum(best, 0)] if len(index) else np.full(len(best), None, dtype=object)
    with np.errstate(invalid="ignore"):
        near = found & (dist <= rules.near_airfield_km)
        sea = on_ground_state & ~near & (~found | (drift_km >= rules.deck_drift_km))
    return np.where(observed & near, icao, np.where(observed & sea, AT_SEA, None))


def _ground_drift_km(r: _Rows, in_sortie: np.ndarray, rows: np.ndarray, forward: bool) -> np.ndarray:
    """How far the ground state holding each row moved from its first row to its last (km):
    the run of rows in no sortie from the row backwards (forward=False) or onwards."""
    if len(rows) == 0:
        return np.zeros(0)
    sortie_rows = np.flatnonzero(in_sortie)
    if forward:
        end = r.first_where(sortie_rows, rows)  # within the aircraft, or -1
        end = np.where(end >= 0, end - 1, r.group_end_at(rows))
        a, b = rows, np.maximum(end, rows)
    else:
        start = r.last_where(sortie_rows, rows)
        start = np.where(start >= 0, start + 1, r.group_start_at(rows))
        a, b = np.minimum(start, rows), rows
    return haversine_km(r.lat[a], r.lon[a], r.lat[b], r.lon[b])


def flights(
    obs_with_ids: pl.DataFrame,
    *,
    airfields: pl.DataFrame | None = None,
    rules: SortieRules | None = None,
) -> pl.DataFrame:
    """One row per sortie, in schema.FLIGHTS, from the output of assign_sorties.

    start_reason is the split_reason of the sortie's first row. end_reason: landing_observed
    when a ground state follows within rules.observed_edge_s (or the data ends with the
    aircraft low and not climbing over an airfield), else the reason the next sortie of the
    same aircraft starts (gap_*, leg_mark), else coverage_end.

    Take-off / landing airfield: the ICAO code of the nearest airfield within
    rules.near_airfield_km of the observed take-off (landing): the ground row just before
    the first airborne row (just after the last one), or the first (last) airborne row when
    that was seen low over an airfield. "at_sea" when that ground state lies more than
    rules.at_sea_min_km from every airfield (a deck); null when the take-off (landing) was
    not observed, or was observed between near_airfield_km and at_sea_min_km of an airfield
    (a site the airfield table lacks: a heliport, a strip, a far corner of a big base).
    """
    rules = rules or SortieRules()
    if schema.FLIGHT_ID not in obs_with_ids.columns:
        raise ValueError("flights() needs the output of assign_sorties() (no flight_id column)")
    obs = _check_columns(obs_with_ids)
    if SPLIT_REASON not in obs.columns:
        obs = obs.with_columns(pl.lit(None, dtype=pl.String).alias(SPLIT_REASON))
    if obs.height == 0 or obs[schema.FLIGHT_ID].null_count() == obs.height:
        return schema.empty(schema.FLIGHTS)
    df, t_us = _in_order(obs)
    valid = _has_position(df)
    if valid is not None:  # position-less rows are in no sortie and say nothing of its edges
        df, t_us = df.filter(pl.Series(valid)), None
    r = _Rows(df, t_us=t_us)
    fid = df[schema.FLIGHT_ID]
    in_sortie = fid.is_not_null().to_numpy()
    # rows of a sortie are consecutive in (icao24, time) order: a sortie is a run of one
    # flight_id, and its figures are reductions between the run's first and last rows
    # (compared by hash: a run of equal ids; cheaper than comparing the strings)
    h = fid.hash().to_numpy()
    run_start = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    run_end = np.append(run_start[1:] - 1, r.n - 1)
    keep = in_sortie[run_start]
    first, last = run_start[keep], run_end[keep]
    n_obs = last - first + 1
    # largest gap: stale repeats of one position are not new positions, so a gap runs from
    # the first appearance of the previous position; the step into a sortie is not in it
    # (rows in no sortie count nothing)
    max_gap = kernels.max_fresh_gap(r.t_us, r.same, r.moved, in_sortie, first, last)
    src = df["pos_source"]
    if src.dtype == schema.PosSource:  # compare the Enum's codes, not strings
        code = src.to_physical().fill_null(255).to_numpy()
        adsb, mlat = code == schema.POS_SOURCES.index("adsb"), code == schema.POS_SOURCES.index("mlat")
    else:
        src = src.cast(pl.String)
        adsb, mlat = (src == "adsb").fill_null(False).to_numpy(), (src == "mlat").fill_null(False).to_numpy()
    share_adsb = np.add.reduceat(adsb & in_sortie, first, dtype=np.int64) / n_obs if len(first) else np.zeros(0)
    share_mlat = np.add.reduceat(mlat & in_sortie, first, dtype=np.int64) / n_obs if len(first) else np.zeros(0)
    # callsigns: only rows where the callsign changes within a sortie need looking at
    callsign = df["callsign"]
    differs = (callsign != callsign.shift(1)).fill_null(True).to_numpy()
    differs[first] = True
    changes = np.flatnonzero(differs & callsign.is_not_null().to_numpy() & in_sortie)
    names = (
        pl.DataFrame({"_s": np.searchsorted(first, changes, "right") - 1, "callsign": callsign.gather(changes)})
        .group_by("_s", maintain_order=True)
        .agg(pl.col("callsign").first(), pl.col("callsign").unique(maintain_order=True).alias("callsigns"))
    )
    per = (
        pl.DataFrame(
            {
                "_s": np.arange(len(first)),
                schema.FLIGHT_ID: fid.gather(first),
                "icao24": df["icao24"].gather(first),
                "start": df["time"].gather(first),
                "end": df["time"].gather(last),
                "n_obs": n_obs.astype(np.int64),
                "start_reason": df[SPLIT_REASON].gather(first),
                "max_gap_s": max_gap,
                "share_adsb": share_adsb,
                "share_mlat": share_mlat,
            }
        )
        .join(names, on="_s", how="left")
        .with_columns(pl.col("callsigns").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    )
    has_prev = r.same[first]
    has_next = r.same_next(last)
    prev_row = np.maximum(first - 1, 0)
    next_row = np.minimum(last + 1, r.n - 1)
    prev_g = has_prev & ~in_sortie[prev_row]
    next_g = has_next & ~in_sortie[next_row]
    next_reason = np.where(has_next & in_sortie[next_row], df[SPLIT_REASON].gather(next_row).to_numpy(), None)

    index = airfield_index(airfields)
    edge = rules.observed_edge_s
    near = rules.near_airfield_km
    start_reason = per["start_reason"].fill_null(COVERAGE_START)

    # take-off: the ground row before, or the first airborne row itself (seen low over a field)
    to_ground = prev_g & (r.dt(first) <= edge)
    to_obs = (start_reason == TAKEOFF_OBSERVED).to_numpy()
    to_row = np.where(to_ground, prev_row, first)
    drift = np.where(to_ground, _ground_drift_km(r, in_sortie, to_row, forward=False), 0.0)
    takeoff = _label(index, r.lat[to_row], r.lon[to_row], to_obs, to_ground, drift, rules)

    # landing: the ground row after; without one, the sortie ends (the data ends, goes
    # quiet, or a gap splits) with the aircraft low and not climbing over an airfield
    ld_ground = next_g & (r.dt_next_at(last) <= edge)
    ld_row = np.where(ld_ground, next_row, last)
    # one look-up for both radii: the nearest airfield within the larger radius is the
    # nearest within near_airfield_km when it lies that close, and there is none otherwise
    ld_nearest = _nearest(index, r.lat[ld_row], r.lon[ld_row], max(near, rules.at_sea_min_km))
    with np.errstate(invalid="ignore"):
        found = ld_nearest[0] & (ld_nearest[2] <= near)
    elev = np.where(found, ld_nearest[3], np.nan)
    fresh = r.last_moved_at(last)  # repeats of a stale position say nothing of the altitude
    with np.errstate(invalid="ignore"):
        seen_low = (
            found
            & (r.alt(fresh) - np.nan_to_num(elev) <= rules.low_alt_agl_ft)
            & ~(r.vr_back(fresh) >= rules.climb_fpm)
        )
    ld_obs = ld_ground | seen_low
    drift = np.where(ld_ground, _ground_drift_km(r, in_sortie, ld_row, forward=True), 0.0)
    landing = _label(index, r.lat[ld_row], r.lon[ld_row], ld_obs, ld_ground, drift, rules, ld_nearest)
    end_reason = np.where(
        ld_obs,
        LANDING_OBSERVED,
        np.where(np.isin(next_reason.astype(str), list(GAP_REASONS)), next_reason, COVERAGE_END),
    )
    per = per.with_columns(
        start_reason,
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 6e7).alias("duration_min"),
        (1.0 - pl.col("share_adsb") - pl.col("share_mlat")).clip(0.0, 1.0).alias("share_other"),
        pl.Series("first_lat", r.lat[first]),
        pl.Series("first_lon", r.lon[first]),
        pl.Series("last_lat", r.lat[last]),
        pl.Series("last_lon", r.lon[last]),
        pl.Series("takeoff_airfield", takeoff.tolist(), dtype=pl.String),
        pl.Series("landing_airfield", landing.tolist(), dtype=pl.String),
        pl.Series("end_reason", end_reason.tolist(), dtype=pl.String),
    )
    return schema.conform(per, schema.FLIGHTS)
