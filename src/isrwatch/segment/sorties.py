"""Sorties: split each aircraft's positions into flights from take-off to landing.

Decisions (see SortieRules for the thresholds):

- A sortie is the airborne stretch between a take-off and a landing. Rows in a ground
  state -- on the ground (trusted on_ground flag), low and slow near an airfield, or slow
  just above the sea away from any airfield (a deck) -- belong to no sortie: they keep
  flight_id = null. They are never dropped, so rows in = rows in sorties + ground rows.
  Taxiing, parking and the landing roll are therefore not part of a sortie's duration;
  start and end are the first and last airborne positions.
- A sortie starts at the first airborne row of an aircraft in the table, after a ground
  state, at a leg mark of the source (readsb's own leg flag), or after a gap the same
  flight cannot explain (longer than any endurance, an impossible speed across it, or a
  landing-and-take-off shape around it near an airfield). A coverage gap alone never
  splits: ISR aircraft routinely vanish from receivers for an hour far offshore.
- A callsign change never splits, and rows with a null callsign are kept.
- flight_id is "<icao24>-<start %Y%m%dT%H%M%SZ>" of the sortie's first airborne row; the
  rare second sortie of one aircraft starting in the same second gets "-2", "-3", ...
  The input is sorted by (icao24, time, lat, lon), so the same rows in any order give the
  same ids.

Everything is vectorised over the whole table: one sort, shifted columns compared within
an aircraft, a cumulative sum of split flags for sortie numbers, and group-by for the
flights table. Airfield look-ups go through a numpy index (segment.airfields), only for
the few rows that need one.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from isrwatch import schema
from isrwatch.segment.airfields import AirfieldIndex, airfield_index, haversine_expr
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
REASONS = [
    TAKEOFF_OBSERVED,
    LANDING_OBSERVED,
    COVERAGE_START,
    COVERAGE_END,
    LEG_MARK,
    GAP_ENDURANCE,
    GAP_IMPOSSIBLE_SPEED,
    GAP_REAPPEARS_CLIMBING,
]
GAP_REASONS = (GAP_ENDURANCE, GAP_IMPOSSIBLE_SPEED, GAP_REAPPEARS_CLIMBING, LEG_MARK)

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
    # lat/lon break ties between rows of one aircraft at the same instant, so the order
    # (and every decision taken from it) does not depend on the input order
    return obs.sort(["icao24", "time", "lat", "lon"], nulls_last=True, maintain_order=True)


def _is_sorted(obs: pl.DataFrame) -> bool:
    if obs.height < 2:
        return True
    out_of_order = obs.select(
        (
            (pl.col("icao24") < pl.col("icao24").shift(1))
            | (
                (pl.col("icao24") == pl.col("icao24").shift(1))
                & (pl.col("time") < pl.col("time").shift(1))
            )
        ).any()
    ).item()
    return not out_of_order


# ---- row-level helpers (all expressions over a table sorted by icao24, time) -------------

_IDX = pl.col("_idx")
_SAME = pl.col("_same")  # this row's aircraft is the previous row's
_SAME_NEXT = pl.col("_same_next")


def _base_columns() -> list[pl.Expr]:
    time_s = pl.col("time").dt.epoch("us").cast(pl.Float64) / 1e6
    return [
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_idx"),
        (pl.col("icao24") == pl.col("icao24").shift(1)).fill_null(False).alias("_same"),
        (pl.col("icao24") == pl.col("icao24").shift(-1)).fill_null(False).alias("_same_next"),
        time_s.alias("_t"),
        pl.coalesce(pl.col("alt_geom"), pl.col("alt_baro")).cast(pl.Float64).alias("_alt"),
        pl.col("on_ground").fill_null(False).alias("_og"),
        pl.col("gs").cast(pl.Float64).alias("_gs"),
        pl.col("leg_start").fill_null(False).alias("_leg"),
    ]


def _derived_columns() -> list[pl.Expr]:
    t, alt = pl.col("_t"), pl.col("_alt")
    dt = pl.when(_SAME).then(t - t.shift(1))
    dt_next = pl.when(_SAME_NEXT).then(t.shift(-1) - t)
    vrate = pl.col("vrate").cast(pl.Float64)
    return [
        dt.alias("_dt"),
        dt_next.alias("_dt_next"),
        pl.when(_SAME)
        .then(haversine_expr(pl.col("lat").shift(1), pl.col("lon").shift(1), pl.col("lat"), pl.col("lon")))
        .alias("_dist_km"),
        # vertical rate where the source gave none: from the neighbouring altitude
        pl.coalesce(
            vrate, pl.when(dt.is_between(1, 120)).then((alt - alt.shift(1)) / dt * 60.0)
        ).alias("_vr_back"),
        pl.coalesce(
            vrate, pl.when(dt_next.is_between(1, 120)).then((alt.shift(-1) - alt) / dt_next * 60.0)
        ).alias("_vr_fwd"),
        pl.when(~_SAME).then(_IDX).forward_fill().alias("_grp_start"),
        pl.when(~_SAME_NEXT).then(_IDX).backward_fill().alias("_grp_end"),
    ]


def _glitch_expr(rules: SortieRules) -> pl.Expr:
    """on_ground rows closely surrounded by high airborne rows: the flag is wrong."""
    air = pl.when(~pl.col("_og") & pl.col("_alt").is_not_null()).then(_IDX)
    prev_air = air.forward_fill()
    next_air = air.backward_fill()
    prev_ok = prev_air >= pl.col("_grp_start")
    next_ok = next_air <= pl.col("_grp_end")
    prev_high = prev_ok & (pl.col("_alt").gather(prev_air) > rules.glitch_alt_ft) & (
        pl.col("_t") - pl.col("_t").gather(prev_air) <= rules.glitch_window_s
    )
    next_high = next_ok & (pl.col("_alt").gather(next_air) > rules.glitch_alt_ft) & (
        pl.col("_t").gather(next_air) - pl.col("_t") <= rules.glitch_window_s
    )
    return (pl.col("_og") & prev_high.fill_null(False) & next_high.fill_null(False)).alias("_glitch")


def _nearest(index: AirfieldIndex, lat: np.ndarray, lon: np.ndarray, radius_km: float):
    """(found mask, icao array, distance km, elevation ft) of the nearest airfield."""
    best, dist = index.nearest(lat, lon, radius_km)
    found = best >= 0
    safe = np.maximum(best, 0)
    if len(index):
        icao = np.where(found, index.icao[safe], None)
        elev = np.where(found, index.elev[safe], np.nan)
    else:
        icao = np.full(len(best), None, dtype=object)
        elev = np.full(len(best), np.nan)
    return found, icao, dist, elev


def _ground_states(df: pl.DataFrame, index: AirfieldIndex, rules: SortieRules) -> np.ndarray:
    """Boolean per row: a ground state (no sortie) -- ground, low-and-slow, deck."""
    ground = df.select(
        (
            pl.col("_og")
            & (pl.col("_gs").is_null() | (pl.col("_gs") <= rules.on_ground_max_gs_kt))
            & ~pl.col("_glitch")
        ).alias("g")
    )["g"].to_numpy()
    cand = df.select(
        (
            ~pl.col("_og")
            & pl.col("_alt").is_not_null()
            & pl.col("_gs").is_not_null()
            & (
                (
                    (pl.col("_gs") < rules.slow_gs_kt)
                    & (pl.col("_alt") <= rules.low_alt_agl_ft + _MAX_AIRFIELD_ELEV_FT)
                )
                | ((pl.col("_gs") < rules.deck_gs_kt) & (pl.col("_alt") <= rules.deck_alt_ft))
            )
        ).alias("c")
    )["c"].to_numpy()
    rows = np.flatnonzero(cand)
    if len(rows):
        lat = df["lat"].to_numpy()[rows]
        lon = df["lon"].to_numpy()[rows]
        alt = df["_alt"].to_numpy()[rows]
        gs = df["_gs"].to_numpy()[rows]
        found, _, _, elev = _nearest(index, lat, lon, rules.near_airfield_km)
        low_slow = found & (alt - np.nan_to_num(elev) <= rules.low_alt_agl_ft) & (gs < rules.slow_gs_kt)
        deck = ~found & (gs < rules.deck_gs_kt) & (alt <= rules.deck_alt_ft)
        ground[rows] |= low_slow | deck
    return ground


def _bounces(df: pl.DataFrame, ground: np.ndarray, rules: SortieRules) -> np.ndarray:
    """Airborne stretches too short to be a sortie between two ground states."""
    g = pl.Series("_g", ground)
    out = (
        df.select("_idx", "_same", "_same_next", "_t")
        .with_columns(g)
        .with_columns(
            (~_SAME | (pl.col("_g") != pl.col("_g").shift(1))).fill_null(True).alias("_chg"),
        )
        .with_columns(
            (~_SAME_NEXT | (pl.col("_g") != pl.col("_g").shift(-1))).fill_null(True).alias("_chg_next"),
        )
        .with_columns(
            pl.when("_chg").then(_IDX).forward_fill().alias("_rs"),
            pl.when("_chg_next").then(_IDX).backward_fill().alias("_re"),
        )
        .with_columns(
            pl.col("_same").gather(pl.col("_rs")).alias("_rs_same"),
            pl.col("_same_next").gather(pl.col("_re")).alias("_re_same"),
        )
        .select(
            (
                ~pl.col("_g")
                & pl.col("_rs_same")
                & pl.col("_re_same")
                # the rows before and after the run are ground states by construction
                & (
                    pl.col("_t").gather((pl.col("_re") + 1).clip(upper_bound=pl.len() - 1))
                    - pl.col("_t").gather((pl.col("_rs") - 1).clip(lower_bound=0))
                    <= rules.bounce_max_s
                )
            ).alias("b")
        )
    )
    return out["b"].to_numpy()


def _reach_km(agl: np.ndarray, vr: np.ndarray, gs: np.ndarray, rules: SortieRules, sign: float):
    """How far from an airfield an aircraft this high can be while descending to it
    (sign=-1, vr <= 0) or after climbing out of it (sign=+1)."""
    agl = np.maximum(agl, 0.0)
    glide = agl / 1000.0 * rules.reach_km_per_1000ft
    rate = np.where(np.isfinite(vr) & (sign * vr > 0), np.abs(vr), np.nan)
    t_min = agl / np.maximum(rate, 500.0)  # minutes to/from the ground at the observed rate
    by_rate = np.where(np.isfinite(rate) & np.isfinite(gs), t_min * np.nan_to_num(gs) * _KM_PER_NM / 60.0, 0.0)
    return rules.near_airfield_km + np.minimum(rules.reach_max_km, np.maximum(glide, by_rate))


def _reappear_splits(df: pl.DataFrame, cand_rows: np.ndarray, index: AirfieldIndex, rules: SortieRules):
    """gap_reappears_climbing for candidate rows c (the row after a gap; p = c - 1)."""
    n = len(cand_rows)
    out = np.zeros(n, dtype=bool)
    if n == 0 or len(index) == 0:
        return out
    c = cand_rows
    p = cand_rows - 1
    lat = df["lat"].to_numpy()
    lon = df["lon"].to_numpy()
    alt = df["_alt"].to_numpy()
    gs = df["_gs"].to_numpy()
    vr_p = df["_vr_back"].to_numpy()[p]
    vr_c = df["_vr_fwd"].to_numpy()[c]
    dt = df["_dt"].to_numpy()[c]
    down_p = np.nan_to_num(vr_p, nan=0.0) <= -rules.descent_fpm
    up_c = np.nan_to_num(vr_c, nan=0.0) >= rules.climb_fpm

    def pairs(rows, vr, sign):
        # the largest reach any airfield could give (elevation >= sea level... or below)
        radius = _reach_km(alt[rows] + 1_500.0, vr, gs[rows], rules, sign)
        q, a, d = index.pairs_within(lat[rows], lon[rows], radius)
        agl = alt[rows][q] - index.elev[a]
        reach = _reach_km(agl, vr[q], gs[rows][q], rules, sign)
        ok = (d <= reach) & (agl <= rules.reappear_max_agl_ft)
        return q[ok], a[ok], d[ok], agl[ok]

    qp, ap, dp, aglp = pairs(p, vr_p, -1.0)
    qc, ac, dc, aglc = pairs(c, vr_c, +1.0)
    low = rules.low_alt_agl_ft
    near = rules.near_airfield_km

    # (b) last seen low near an airfield
    b = (dp <= near) & (aglp <= low)
    out[qp[b]] = True
    # (c) reappears low and climbing near an airfield after being last seen descending
    cc = (dc <= near) & (aglc <= low) & up_c[qc] & down_p[qc]
    out[qc[cc]] = True
    # (a) one airfield within descent reach before and climb reach after, time to do both
    if len(qp) and len(qc):
        left = pl.DataFrame({"q": qp, "a": ap, "agl_p": aglp})
        right = pl.DataFrame({"q": qc, "a": ac, "agl_c": aglc})
        both = left.join(right, on=["q", "a"], how="inner")
        if both.height:
            q = both["q"].to_numpy()
            rate_p = np.maximum(np.nan_to_num(np.abs(vr_p[q]), nan=0.0), rules.default_vrate_fpm)
            rate_c = np.maximum(np.nan_to_num(np.abs(vr_c[q]), nan=0.0), rules.default_vrate_fpm)
            need_s = (
                np.maximum(both["agl_p"].to_numpy(), 0) / rate_p
                + np.maximum(both["agl_c"].to_numpy(), 0) / rate_c
            ) * 60.0
            shape = (down_p[q] | (both["agl_p"].to_numpy() <= low)) & (
                up_c[q] | (both["agl_c"].to_numpy() <= low)
            )
            ok = shape & (dt[q] >= need_s)
            out[q[ok]] = True
    return out


def assign_sorties(
    obs: pl.DataFrame,
    *,
    airfields: pl.DataFrame | None = None,
    rules: SortieRules | None = None,
) -> pl.DataFrame:
    """The observations sorted by (icao24, time) with flight_id and split_reason added.

    flight_id (schema.FLIGHT_ID) is "<icao24>-<start %Y%m%dT%H%M%SZ>" for airborne rows
    and null for ground-state rows (taxiing, parked, landing roll, deck): those are kept,
    never dropped. split_reason is set on the first row of each sortie (one of REASONS:
    takeoff_observed, coverage_start, leg_mark, gap_endurance, gap_impossible_speed,
    gap_reappears_climbing) and null elsewhere.

    airfields: a table with icao, lat, lon, elevation_ft (default: every airfield in
    airportsdata). rules: SortieRules (defaults documented there).
    """
    rules = rules or SortieRules()
    obs = _check_columns(obs)
    out_columns = [c for c in obs.columns if c not in (schema.FLIGHT_ID, SPLIT_REASON)]
    obs = obs.select(out_columns)
    if obs.height == 0:
        return obs.with_columns(
            pl.lit(None, dtype=pl.String).alias(schema.FLIGHT_ID),
            pl.lit(None, dtype=pl.String).alias(SPLIT_REASON),
        )
    index = airfield_index(airfields)
    df = (
        _sorted(obs)
        .lazy()
        .with_columns(_base_columns())
        .with_columns(_derived_columns())
        .with_columns(_glitch_expr(rules))
        .collect()
    )

    ground = _ground_states(df, index, rules)
    ground |= _bounces(df, ground, rules)
    g = pl.Series("_g", ground)
    df = df.with_columns(g).with_columns(
        (_SAME & pl.col("_g").shift(1).fill_null(False)).alias("_prev_g"),
        (_SAME & ~pl.col("_g").shift(1).fill_null(True)).alias("_prev_a"),
    )

    # gap rules between two airborne rows of one aircraft
    max_speed_kmh = rules.max_speed_kt * _KM_PER_NM
    df = df.with_columns(
        (
            pl.col("_prev_a")
            & (pl.col("_dt") >= 1.0)
            & ((pl.col("_dist_km") - rules.position_tolerance_km) / pl.col("_dt") * 3600.0 > max_speed_kmh)
        )
        .fill_null(False)
        .alias("_speed"),
        (pl.col("_prev_a") & (pl.col("_dt") > rules.max_gap_h * 3600.0)).fill_null(False).alias("_endurance"),
    )
    cand = df.select(
        (
            ~pl.col("_g")
            & pl.col("_prev_a")
            & ~pl.col("_speed")
            & ~pl.col("_endurance")
            & (pl.col("_dt") >= rules.reappear_min_gap_s)
            & pl.col("_alt").is_not_null()
            & pl.col("_alt").shift(1).is_not_null()
            & (
                pl.min_horizontal(pl.col("_alt"), pl.col("_alt").shift(1))
                <= rules.reappear_max_agl_ft + _MAX_AIRFIELD_ELEV_FT
            )
        )
        .fill_null(False)
        .alias("c")
    )["c"].to_numpy()
    cand_rows = np.flatnonzero(cand)
    reappear = np.zeros(df.height, dtype=bool)
    reappear[cand_rows] = _reappear_splits(df, cand_rows, index, rules)
    df = df.with_columns(pl.Series("_reappear", reappear))

    a = ~pl.col("_g")
    reason = (
        pl.when(a & (~_SAME | pl.col("_prev_g")))
        .then(
            pl.when(pl.col("_prev_g") & (pl.col("_dt") <= rules.observed_edge_s))
            .then(pl.lit(TAKEOFF_OBSERVED))
            .otherwise(pl.lit(COVERAGE_START))
        )
        .when(a & pl.col("_speed"))
        .then(pl.lit(GAP_IMPOSSIBLE_SPEED))
        .when(a & pl.col("_endurance"))
        .then(pl.lit(GAP_ENDURANCE))
        .when(a & pl.col("_reappear"))
        .then(pl.lit(GAP_REAPPEARS_CLIMBING))
        .when(a & pl.col("_leg"))
        .then(pl.lit(LEG_MARK))
    )
    df = df.with_columns(reason.alias(SPLIT_REASON))

    # a sortie first seen low over an airfield and not descending was seen taking off
    first_rows = np.flatnonzero(
        df.select(
            (
                (pl.col(SPLIT_REASON) == COVERAGE_START)
                & pl.col("_alt").is_not_null()
                & (pl.col("_alt") <= rules.low_alt_agl_ft + _MAX_AIRFIELD_ELEV_FT)
                & (pl.col("_vr_fwd").fill_null(0.0) > -rules.descent_fpm)
            )
            .fill_null(False)
            .alias("f")
        )["f"].to_numpy()
    )
    if len(first_rows):
        found, _, _, elev = _nearest(
            index, df["lat"].to_numpy()[first_rows], df["lon"].to_numpy()[first_rows], rules.near_airfield_km
        )
        agl = df["_alt"].to_numpy()[first_rows] - np.nan_to_num(elev)
        up = first_rows[found & (agl <= rules.low_alt_agl_ft)]
        if len(up):
            new = df[SPLIT_REASON].to_numpy().copy()
            new[up] = TAKEOFF_OBSERVED
            df = df.with_columns(pl.Series(SPLIT_REASON, new.tolist(), dtype=pl.String))

    # sortie numbers: cumulative sum of split flags; ids built on the first rows only
    split = pl.col(SPLIT_REASON).is_not_null()
    df = df.with_columns(split.cast(pl.Int64).cum_sum().alias("_sortie"))
    firsts = df.filter(split).select(
        pl.concat_str(pl.col("icao24"), pl.lit("-"), pl.col("time").dt.strftime(_ID_FORMAT)).alias("_id")
    )
    firsts = firsts.with_columns(pl.int_range(1, pl.len() + 1).over("_id").alias("_k")).select(
        pl.when(pl.col("_k") > 1)
        .then(pl.concat_str(pl.col("_id"), pl.lit("-"), pl.col("_k").cast(pl.String)))
        .otherwise(pl.col("_id"))
        .alias("_id")
    )
    ids = firsts["_id"]
    df = df.with_columns(
        pl.when(a & (pl.col("_sortie") > 0))
        .then(pl.lit(ids).gather((pl.col("_sortie") - 1).clip(lower_bound=0)))
        .otherwise(None)
        .alias(schema.FLIGHT_ID)
    )
    return df.select([*out_columns, schema.FLIGHT_ID, SPLIT_REASON])


def flights(
    obs_with_ids: pl.DataFrame,
    *,
    airfields: pl.DataFrame | None = None,
    rules: SortieRules | None = None,
) -> pl.DataFrame:
    """One row per sortie, in schema.FLIGHTS, from the output of assign_sorties.

    Take-off / landing airfield: the ICAO code of the nearest airfield within
    rules.near_airfield_km of the observed take-off (landing): the ground row just before
    the first airborne row (just after the last one), or the first (last) airborne row when
    that was seen low over an airfield. "at_sea" when that ground state lies away from
    every airfield (a deck, or a landing site not in the airfield table); null when the
    take-off (landing) was not observed.
    """
    rules = rules or SortieRules()
    if schema.FLIGHT_ID not in obs_with_ids.columns:
        raise ValueError("flights() needs the output of assign_sorties() (no flight_id column)")
    obs = _check_columns(obs_with_ids)
    if SPLIT_REASON not in obs.columns:
        obs = obs.with_columns(pl.lit(None, dtype=pl.String).alias(SPLIT_REASON))
    if obs.height == 0 or obs[schema.FLIGHT_ID].null_count() == obs.height:
        return schema.empty(schema.FLIGHTS)
    if not _is_sorted(obs):
        obs = _sorted(obs)
    fid = pl.col(schema.FLIGHT_ID)
    df = (
        obs.lazy()
        .with_columns(_base_columns())
        .with_columns(
            pl.when(_SAME).then(pl.col("_t") - pl.col("_t").shift(1)).alias("_dt"),
            pl.when(_SAME_NEXT).then(pl.col("_t").shift(-1) - pl.col("_t")).alias("_dt_next"),
            (_SAME & fid.shift(1).is_null()).alias("_prev_g"),
            (_SAME_NEXT & fid.shift(-1).is_null()).alias("_next_g"),
            _SAME_NEXT.alias("_has_next"),
            pl.when(_SAME_NEXT & fid.shift(-1).is_not_null() & (fid.shift(-1) != fid))
            .then(pl.col(SPLIT_REASON).shift(-1))
            .alias("_next_reason"),
            pl.when(_SAME).then(pl.col("lat").shift(1)).alias("_prev_lat"),
            pl.when(_SAME).then(pl.col("lon").shift(1)).alias("_prev_lon"),
            pl.when(_SAME_NEXT).then(pl.col("lat").shift(-1)).alias("_next_lat"),
            pl.when(_SAME_NEXT).then(pl.col("lon").shift(-1)).alias("_next_lon"),
            pl.coalesce(pl.col("vrate").cast(pl.Float64), pl.lit(None, dtype=pl.Float64)).alias("_vr"),
        )
        .filter(fid.is_not_null())
        .with_columns(pl.when(fid == fid.shift(1)).then(pl.col("_dt")).alias("_dt_in"))
    )
    src = pl.col("pos_source").cast(pl.String)
    per = (
        df.group_by(fid, maintain_order=True)
        .agg(
            pl.col("icao24").first(),
            pl.col("callsign").drop_nulls().first().alias("callsign"),
            pl.col("callsign").drop_nulls().unique(maintain_order=True).alias("callsigns"),
            pl.col("time").first().alias("start"),
            pl.col("time").last().alias("end"),
            pl.len().cast(pl.Int64).alias("n_obs"),
            pl.col("lat").first().alias("first_lat"),
            pl.col("lon").first().alias("first_lon"),
            pl.col("lat").last().alias("last_lat"),
            pl.col("lon").last().alias("last_lon"),
            pl.col(SPLIT_REASON).first().alias("start_reason"),
            pl.col("_dt_in").max().fill_null(0.0).alias("max_gap_s"),
            (src == "adsb").mean().alias("share_adsb"),
            (src == "mlat").mean().alias("share_mlat"),
            # edges
            pl.col("_prev_g").first().alias("_prev_g"),
            pl.col("_dt").first().alias("_prev_dt"),
            pl.col("_prev_lat").first().alias("_prev_lat"),
            pl.col("_prev_lon").first().alias("_prev_lon"),
            pl.col("_next_g").last().alias("_next_g"),
            pl.col("_has_next").last().alias("_has_next"),
            pl.col("_dt_next").last().alias("_next_dt"),
            pl.col("_next_lat").last().alias("_next_lat"),
            pl.col("_next_lon").last().alias("_next_lon"),
            pl.col("_next_reason").last().alias("_next_reason"),
            pl.col("_alt").last().alias("_last_alt"),
            pl.col("_vr").last().alias("_last_vr"),
            pl.col("_gs").last().alias("_last_gs"),
        )
        .collect()
    )
    per = per.with_columns(
        pl.col("start_reason").fill_null(COVERAGE_START),
        pl.col("share_adsb").fill_null(0.0),
        pl.col("share_mlat").fill_null(0.0),
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 6e7).alias("duration_min"),
    ).with_columns((1.0 - pl.col("share_adsb") - pl.col("share_mlat")).clip(0.0, 1.0).alias("share_other"))

    index = airfield_index(airfields)
    edge = rules.observed_edge_s
    near = rules.near_airfield_km

    # take-off: the ground row before, or the first airborne row itself (seen low over a field)
    to_ground = (per["_prev_g"] & (per["_prev_dt"] <= edge)).fill_null(False).to_numpy()
    to_obs = (per["start_reason"] == TAKEOFF_OBSERVED).to_numpy()
    to_lat = np.where(to_ground, per["_prev_lat"].to_numpy(), per["first_lat"].to_numpy())
    to_lon = np.where(to_ground, per["_prev_lon"].to_numpy(), per["first_lon"].to_numpy())
    found, icao, _, _ = _nearest(index, to_lat, to_lon, near)
    takeoff = np.where(to_obs & found, icao, np.where(to_obs & to_ground & ~found, AT_SEA, None))

    # landing: the ground row after; without one, the data ends with the aircraft low and
    # not climbing over an airfield
    ld_ground = (per["_next_g"] & (per["_next_dt"] <= edge)).fill_null(False).to_numpy()
    ld_lat = np.where(ld_ground, per["_next_lat"].to_numpy(), per["last_lat"].to_numpy())
    ld_lon = np.where(ld_ground, per["_next_lon"].to_numpy(), per["last_lon"].to_numpy())
    found, icao, _, elev = _nearest(index, ld_lat, ld_lon, near)
    last_alt = per["_last_alt"].to_numpy().astype(np.float64)
    last_vr = np.nan_to_num(per["_last_vr"].to_numpy().astype(np.float64), nan=0.0)
    # no further row of this aircraft, or only ground rows after a long silence
    at_end = ~per["_has_next"].to_numpy() | per["_next_g"].to_numpy()
    seen_low = (
        at_end
        & found
        & np.isfinite(last_alt)
        & (last_alt - np.nan_to_num(elev) <= rules.low_alt_agl_ft)
        & (last_vr < rules.climb_fpm)
    )
    ld_obs = ld_ground | seen_low
    landing = np.where(ld_obs & found, icao, np.where(ld_ground & ~found, AT_SEA, None))
    next_reason = per["_next_reason"].to_numpy()
    end_reason = np.where(
        ld_obs,
        LANDING_OBSERVED,
        np.where(
            np.isin(next_reason.astype(str), list(GAP_REASONS)),
            next_reason,
            COVERAGE_END,
        ),
    )
    per = per.with_columns(
        pl.Series("takeoff_airfield", takeoff.tolist(), dtype=pl.String),
        pl.Series("landing_airfield", landing.tolist(), dtype=pl.String),
        pl.Series("end_reason", end_reason.tolist(), dtype=pl.String),
    )
    return schema.conform(per, schema.FLIGHTS)
