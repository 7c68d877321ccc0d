"""Surveillance behaviour per flight: orbits, racetracks, survey lines, loiter time.

How a flight is read (all flights at once, no per-flight loop):

1. Positions that repeat the previous one exactly are dropped (they carry a stale track).
   Consecutive positions more than max_step_s apart leave the turning between them
   unmeasured; more than max_blind_s apart, they end any pattern.
2. The turn between positions is the change of track (the feed's, else the bearing from the
   previous position), wrapped to [-180, 180). Its rate is smoothed over smooth_s seconds.
3. Stretches turning slower than turn_rate_deg_s for at least min_leg_s are legs (straight);
   everything between two legs is a manoeuvre, with its total signed turning and the change
   of heading from the leg before to the leg after.
4. A manoeuvre that turns through at least orbit_min_deg in one sense is an orbit
   (n_orbits = full circles, rounded to the nearest with orbit_min_deg as the first).
   A manoeuvre whose legs point opposite ways (heading change >= reversal_min_deg) is a
   reversal; a coverage gap between two opposite legs is a reversal whose sense is unknown.
5. At least min_reversals reversals in a row, on one axis, make a racetrack when nearly all
   known turns (racetrack_min_same_turn) go one way and the interior legs flown in each
   direction lie on one line (cross-axis spread <= racetrack_max_spread_km), else survey
   lines (a "lawnmower": legs side by side, turns alternating or the lines stepping
   sideways). Legs at either end longer than transit_leg_ratio x the typical leg, or more
   than axis_tol_deg off the pattern's axis, are the way in and out: they, and the turns
   beyond them, are not part of the pattern.
6. Episodes of one kind in one flight less than merge_gap_s apart with centres within
   merge_km are one episode.

Output (PATTERNS): one row per episode; a flight with none gets one row of kind "none".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from isrwatch import schema
from isrwatch.geo import EARTH_RADIUS_KM, bearing_deg, haversine_km

ORBIT, RACETRACK, SURVEY, NONE = "orbit", "racetrack", "survey", "none"
KINDS = [ORBIT, RACETRACK, SURVEY, NONE]

# one row per pattern episode (or one "none" row per flight without any)
PATTERNS: dict[str, pl.DataType] = {
    "flight_id": pl.String,
    "icao24": pl.String,
    "kind": pl.Enum(KINDS),  # orbit, racetrack, survey (lawnmower lines), none
    "n_orbits": pl.Int32,  # full circles (orbit) or laps (racetrack); 0 for survey / none
    "n_legs": pl.Int32,  # straight legs inside a racetrack or survey; 0 for orbit / none
    "loiter_minutes": pl.Float64,  # time from the episode's start to its end
    "start": schema.UTC_US,
    "end": schema.UTC_US,
    "centre_lat": pl.Float64,  # mean position of the episode
    "centre_lon": pl.Float64,
    "radius_km": pl.Float64,  # farthest position of the episode from its centre, km
    "axis_deg": pl.Float64,  # racetrack / survey leg direction, degrees true in [0, 180)
    "turn": pl.String,  # "left", "right" or "mixed"; null when unknown or for none
}


@dataclass(frozen=True)
class PatternRules:
    """Thresholds of the pattern detector (see the module docstring for how they are used)."""

    max_step_s: float = 120.0
    max_blind_s: float = 1_800.0
    smooth_s: float = 60.0
    turn_rate_deg_s: float = 0.15  # a 400 kt aircraft turning this slowly flies a 79 km radius
    min_leg_s: float = 60.0
    orbit_min_deg: float = 330.0
    reversal_min_deg: float = 150.0
    min_reversals: int = 3
    racetrack_max_spread_km: float = 10.0
    racetrack_min_same_turn: float = 0.8
    transit_leg_ratio: float = 2.0
    axis_tol_deg: float = 5.0
    max_radius_km: float = 75.0
    merge_gap_s: float = 600.0
    merge_km: float = 10.0

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not value >= 0:
                raise ValueError(f"PatternRules.{name} must be >= 0, got {value!r}")


def _wrap180(a):
    return (a + 180.0) % 360.0 - 180.0


def _fresh_positions(obs: pl.DataFrame) -> pl.DataFrame:
    """Rows of sorties, sorted by (flight_id, time), without exact repeats of a position."""
    for c in ("flight_id", "time", "lat", "lon"):
        if c not in obs.columns:
            raise ValueError(f"patterns need column {c!r}" + (" (run segment.assign_sorties first)" if c == "flight_id" else ""))
    cols = ["flight_id", "icao24", "time", "lat", "lon"] + (["track"] if "track" in obs.columns else [])
    df = obs.select(cols).filter(pl.col("flight_id").is_not_null() & pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    if "track" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Float32).alias("track"))
    if "icao24" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("icao24"))
    df = df.sort(["flight_id", "time"])
    same = pl.col("flight_id") == pl.col("flight_id").shift(1)
    repeat = same & (pl.col("lat") == pl.col("lat").shift(1)) & (pl.col("lon") == pl.col("lon").shift(1))
    return df.filter(~repeat.fill_null(False))


def _segments(df: pl.DataFrame, rules: PatternRules) -> pl.DataFrame:
    """Legs and manoeuvres of every flight, in order, with their turning and headings."""
    n = df.height
    fid = df["flight_id"].rle_id().to_numpy()
    t = df["time"].dt.epoch("us").to_numpy().astype(np.float64) / 1e6
    lat = df["lat"].to_numpy().astype(np.float64)
    lon = df["lon"].to_numpy().astype(np.float64)
    same = np.zeros(n, dtype=bool)
    same[1:] = fid[1:] == fid[:-1]
    dt = np.full(n, np.inf)
    dt[1:] = np.where(same[1:], t[1:] - t[:-1], np.inf)
    # heading: the feed's track where given, else the bearing flown from the last position
    brg = np.full(n, np.nan)
    brg[1:] = np.where(same[1:], bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:]), np.nan)
    track = df["track"].cast(pl.Float64).to_numpy()
    hdg = np.where(np.isnan(track), brg, track)
    hdg = np.where(np.isnan(hdg), np.roll(brg, -1), hdg)  # a flight's first row
    measured = same & (dt <= rules.max_step_s)
    turn = np.zeros(n)
    turn[1:] = np.where(measured[1:], _wrap180(hdg[1:] - hdg[:-1]), 0.0)
    turn = np.nan_to_num(turn)
    piece_break = ~same | (dt > rules.max_blind_s)  # nothing continues across these
    blind = same & (dt > rules.max_step_s) & ~piece_break  # turning unknown across these
    stretch = np.cumsum(~measured)  # runs of measured turning

    # smoothed turn rate: turning within +-smooth_s/2 around each row, per measured stretch
    key = stretch * 1e10 + (t - t.min())
    cum = np.cumsum(turn)
    lo = np.searchsorted(key, key - rules.smooth_s / 2, "left")
    hi = np.searchsorted(key, key + rules.smooth_s / 2, "right") - 1
    span = t[hi] - t[lo]
    rate = np.where(span > 0, (cum[hi] - cum[lo]) / np.where(span > 0, span, 1.0), 0.0)
    straight = np.abs(rate) < rules.turn_rate_deg_s

    # straight runs long enough are legs; a row after a blind gap starts a manoeuvre
    brk = np.ones(n, dtype=bool)
    brk[1:] = (straight[1:] != straight[:-1]) | piece_break[1:] | blind[1:]
    run = np.cumsum(brk) - 1
    run_t0 = np.minimum.reduceat(t, np.flatnonzero(brk))
    run_t1 = np.maximum.reduceat(t, np.flatnonzero(brk))
    is_leg = straight & ((run_t1 - run_t0)[run] >= rules.min_leg_s) & ~blind
    seg_brk = np.ones(n, dtype=bool)
    seg_brk[1:] = (is_leg[1:] != is_leg[:-1]) | piece_break[1:] | (is_leg[1:] & brk[1:])
    seg = np.cumsum(seg_brk) - 1
    piece = np.cumsum(piece_break) - 1
    h = np.radians(hdg)
    rows = pl.DataFrame(
        {
            "seg": seg,
            "piece": piece,
            "flight_id": df["flight_id"],
            "icao24": df["icao24"],
            "t": t,
            "lat": lat,
            "lon": lon,
            "leg": is_leg,
            "turn": np.where(seg_brk, 0.0, turn),  # turning into a segment belongs before it
            "blind": blind,
            "hs": np.nan_to_num(np.sin(h)),
            "hc": np.nan_to_num(np.cos(h)),
        }
    )
    segs = rows.group_by("seg", maintain_order=True).agg(
        pl.col("piece").first(),
        pl.col("flight_id").first(),
        pl.col("icao24").first(),
        pl.col("leg").first(),
        pl.col("blind").any(),
        pl.col("t").first().alias("t0"),
        pl.col("t").last().alias("t1"),
        pl.col("turn").sum(),
        pl.col("lat").mean().alias("clat"),
        pl.col("lon").mean().alias("clon"),
        pl.col("lat").min().alias("lat_min"),
        pl.col("lat").max().alias("lat_max"),
        pl.col("lon").min().alias("lon_min"),
        pl.col("lon").max().alias("lon_max"),
        pl.len().alias("n"),
        (pl.arctan2(pl.col("hs").mean(), pl.col("hc").mean()).degrees() % 360.0).alias("heading"),
    )
    # the turning at the first row of a segment is the turn between the previous segment and
    # this one: give it to the manoeuvre it belongs to
    entry = rows.filter(pl.Series(seg_brk)).select("seg", pl.Series("entry", turn[seg_brk]))
    return segs.join(entry, on="seg", how="left").with_columns(pl.col("entry").fill_null(0.0))


def _local_km(lat, lon, lat0, lon0):
    x = np.radians(lon - lon0) * np.cos(np.radians(lat0)) * EARTH_RADIUS_KM
    y = np.radians(lat - lat0) * EARTH_RADIUS_KM
    return x, y


def detect_patterns(obs_with_ids: pl.DataFrame, *, rules: PatternRules | None = None) -> pl.DataFrame:
    """Orbits, racetracks and survey lines of every sortie (table in PATTERNS).

    Input: observations with flight_id (segment.assign_sorties); rows with a null flight_id
    (ground states) are not part of any sortie and are ignored.
    """
    rules = rules or PatternRules()
    df = _fresh_positions(obs_with_ids)
    if df.height == 0:
        return pl.DataFrame(schema=PATTERNS)
    segs = _segments(df, rules)
    episodes = [e for e in (_orbits(segs, rules), _reversals(segs, rules)) if e.height]
    found = _merge(pl.concat(episodes, how="vertical_relaxed"), rules) if episodes else pl.DataFrame(schema=PATTERNS)
    if found.height:
        found = _shape(df, found)
    per_flight = df.group_by("flight_id", maintain_order=True).agg(pl.col("icao24").first())
    none = per_flight.join(found.select("flight_id").unique(), on="flight_id", how="anti").with_columns(
        pl.lit(NONE).alias("kind"), pl.lit(0).alias("n_orbits"), pl.lit(0).alias("n_legs"), pl.lit(0.0).alias("loiter_minutes")
    )
    out = pl.concat([_conform(found), _conform(none)], how="vertical")
    return out.sort(["flight_id", "start"], nulls_last=True)


def _shape(df: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Centre (mean position) and radius (farthest position from it) of each episode, from
    the positions flown between its start and end."""
    found = found.with_row_index("_ep")
    rows = df.select("flight_id", "time", "lat", "lon").join(
        found.select("_ep", "flight_id", "start", "end"), on="flight_id"
    ).filter(pl.col("time").is_between(pl.col("start"), pl.col("end")))
    centre = rows.group_by("_ep").agg(pl.col("lat").mean().alias("c_lat"), pl.col("lon").mean().alias("c_lon"))
    rows = rows.join(centre, on="_ep")
    d = haversine_km(rows["lat"].to_numpy(), rows["lon"].to_numpy(), rows["c_lat"].to_numpy(), rows["c_lon"].to_numpy())
    radius = rows.with_columns(pl.Series("d", d)).group_by("_ep").agg(pl.col("d").max().alias("r"))
    return (
        found.join(centre, on="_ep", how="left")
        .join(radius, on="_ep", how="left")
        .with_columns(
            pl.coalesce("c_lat", "centre_lat").alias("centre_lat"),
            pl.coalesce("c_lon", "centre_lon").alias("centre_lon"),
            pl.coalesce("r", "radius_km").alias("radius_km"),
        )
        .drop("_ep", "c_lat", "c_lon", "r")
    )


def _conform(df: pl.DataFrame) -> pl.DataFrame:
    return schema.conform(df, PATTERNS)


def _orbits(segs: pl.DataFrame, rules: PatternRules) -> pl.DataFrame:
    """Manoeuvres turning through orbit_min_deg or more, within max_radius_km."""
    m = segs.filter(~pl.col("leg")).with_columns((pl.col("turn") + pl.col("entry")).alias("total"))
    m = m.filter(pl.col("total").abs() >= rules.orbit_min_deg)
    if m.height == 0:
        return pl.DataFrame()
    radius = haversine_km(m["lat_min"].to_numpy(), m["lon_min"].to_numpy(), m["lat_max"].to_numpy(), m["lon_max"].to_numpy()) / 2
    m = m.with_columns(pl.Series("radius_km", radius)).filter(pl.col("radius_km") <= rules.max_radius_km)
    first_extra = 360.0 - rules.orbit_min_deg
    return m.select(
        "flight_id",
        "icao24",
        pl.lit(ORBIT).alias("kind"),
        ((pl.col("total").abs() + first_extra) / 360.0).floor().cast(pl.Int32).alias("n_orbits"),
        pl.lit(0, dtype=pl.Int32).alias("n_legs"),
        "t0",
        "t1",
        pl.col("clat").alias("centre_lat"),
        pl.col("clon").alias("centre_lon"),
        "radius_km",
        pl.lit(None, dtype=pl.Float64).alias("axis_deg"),
        pl.when(pl.col("total") > 0).then(pl.lit("right")).otherwise(pl.lit("left")).alias("turn"),
        pl.col("n").alias("w"),
    )


def _reversals(segs: pl.DataFrame, rules: PatternRules) -> pl.DataFrame:
    """Runs of reversals between legs on one axis: racetracks and survey lines."""
    s = segs.with_columns(
        pl.col("leg").shift(1).over("piece").alias("prev_leg"),
        pl.col("leg").shift(-1).over("piece").alias("next_leg"),
        pl.col("heading").shift(1).over("piece").alias("h_in"),
        pl.col("heading").shift(-1).over("piece").alias("h_out"),
        (pl.col("turn") + pl.col("entry") + pl.col("entry").shift(-1).over("piece").fill_null(0.0)).alias("total"),
    )
    man = s.filter(~pl.col("leg") & pl.col("prev_leg").fill_null(False) & pl.col("next_leg").fill_null(False))
    man = man.with_columns(((pl.col("h_out") - pl.col("h_in") + 180.0) % 360.0 - 180.0).alias("dh"))
    rev = (pl.col("dh").abs() >= rules.reversal_min_deg) & (pl.col("total").abs() < rules.orbit_min_deg)
    man = man.with_columns(
        rev.alias("rev"),
        # sense of the turn: unknown across a coverage gap
        pl.when(pl.col("blind")).then(0).otherwise(pl.col("total").sign()).cast(pl.Int8).alias("sense"),
    )
    # consecutive reversals of one piece (manoeuvres are consecutive when they share a leg)
    man = man.sort("seg").with_columns(
        ((pl.col("piece") != pl.col("piece").shift(1)) | (pl.col("seg") - pl.col("seg").shift(1) != 2) | ~pl.col("rev") | ~pl.col("rev").shift(1))
        .fill_null(True)
        .cum_sum()
        .alias("episode")
    )
    runs = man.filter(pl.col("rev"))
    if runs.height == 0:
        return pl.DataFrame()
    ep = runs.group_by("episode", maintain_order=True).agg(
        pl.col("flight_id").first(),
        pl.col("icao24").first(),
        pl.col("piece").first(),
        pl.len().alias("n_found"),
        pl.col("seg").min().alias("seg_first"),
        pl.col("seg").max().alias("seg_last"),
    ).filter(pl.col("n_found") >= rules.min_reversals)
    if ep.height == 0:
        return pl.DataFrame()
    # the legs of each episode: from the leg before the first reversal to the one after the last
    legs = (
        segs.filter(pl.col("leg"))
        .join_where(
            ep.select("episode", "piece", "seg_first", "seg_last"),
            pl.col("piece") == pl.col("piece_right"),
            pl.col("seg") >= pl.col("seg_first") - 1,
            pl.col("seg") <= pl.col("seg_last") + 1,
        )
        .sort("episode", "seg")
        .with_columns(
            ((pl.col("seg") > pl.col("seg_first")) & (pl.col("seg") < pl.col("seg_last"))).alias("interior"),
            (pl.col("t1") - pl.col("t0")).alias("dur"),
        )
    )
    # the way in and out: legs at either end much longer than the pattern's typical leg (and
    # the reversals beyond them) are transit, not pattern. A first leg flown straight on from
    # the transit goes with it: a racetrack may count half a lap short.
    h2 = (2 * pl.col("heading")).radians()
    typical = legs.filter("interior").group_by("episode").agg(
        pl.col("dur").median().alias("typical"),
        # the pattern's axis from its interior legs (doubled headings: a leg and its reverse)
        pl.arctan2(h2.sin().mean(), h2.cos().mean()).alias("axis2"),
    )
    off_axis = ((2 * pl.col("heading")).radians() - pl.col("axis2")).sin().abs() > np.sin(np.radians(2 * rules.axis_tol_deg))
    legs = legs.join(typical, on="episode", how="left").with_columns(
        ((pl.col("dur") > rules.transit_leg_ratio * pl.col("typical").fill_null(np.inf)) | off_axis.fill_null(False)).alias("long")
    )
    legs = legs.with_columns(
        pl.col("long").cast(pl.Int8).cum_prod().over("episode").alias("lead"),
        pl.col("long").cast(pl.Int8).reverse().cum_prod().reverse().over("episode").alias("trail"),
    )
    kept = legs.filter((pl.col("lead") == 0) & (pl.col("trail") == 0))
    bounds = kept.group_by("episode").agg(pl.col("seg").min().alias("keep_first"), pl.col("seg").max().alias("keep_last"))
    turns = (
        runs.join(bounds, on="episode")
        .filter((pl.col("seg") > pl.col("keep_first")) & (pl.col("seg") < pl.col("keep_last")))
        .group_by("episode")
        .agg(
            pl.len().alias("n_rev"),
            (pl.col("sense") > 0).sum().alias("n_right"),
            (pl.col("sense") < 0).sum().alias("n_left"),
        )
    )
    ep = ep.join(turns, on="episode")
    legs = kept.join(ep.select("episode"), on="episode", how="semi")
    if ep.height == 0:
        return pl.DataFrame()
    # axis: mean of doubled headings (a leg and its reverse point the same way on an axis)
    legs = legs.with_columns((2 * pl.col("heading")).radians().alias("h2"))
    axis = legs.group_by("episode").agg(
        ((pl.arctan2(pl.col("h2").sin().mean(), pl.col("h2").cos().mean()).degrees() / 2.0) % 180.0).alias("axis_deg"),
        pl.col("clat").mean().alias("lat0"),
        pl.col("clon").mean().alias("lon0"),
    )
    legs = legs.join(axis, on="episode")
    x, y = _local_km(legs["clat"].to_numpy(), legs["clon"].to_numpy(), legs["lat0"].to_numpy(), legs["lon0"].to_numpy())
    a = np.radians(legs["axis_deg"].to_numpy())
    cross = x * np.cos(a) - y * np.sin(a)  # distance across the axis (axis: sin a east, cos a north)
    off = (legs["heading"].to_numpy() - legs["axis_deg"].to_numpy()) % 360.0
    legs = legs.with_columns(pl.Series("cross", cross), pl.Series("along", (off < 90.0) | (off > 270.0)))
    # racetrack legs flown one way lie on one line; survey lines step sideways
    spread = legs.group_by("episode", "along").agg((pl.col("cross").max() - pl.col("cross").min()).alias("spread"))
    spread = spread.group_by("episode").agg(pl.col("spread").max())
    span = legs.group_by("episode").agg(
        pl.col("t0").min().alias("leg_t0"),
        pl.col("t1").max().alias("leg_t1"),
        pl.len().alias("n_legs"),
        pl.col("clat").mean().alias("centre_lat"),
        pl.col("clon").mean().alias("centre_lon"),
        pl.col("n").sum().alias("w"),
    )
    out = ep.join(axis.select("episode", "axis_deg"), on="episode").join(spread, on="episode", how="left").join(span, on="episode")
    out = out.with_columns(
        pl.col("spread").fill_null(0.0),
        # the sense most turns take; "mixed" unless nearly all known turns agree
        pl.max_horizontal("n_right", "n_left").alias("n_major"),
        (pl.col("n_right") + pl.col("n_left")).alias("n_known"),
    )
    one_sense = pl.col("n_major") >= rules.racetrack_min_same_turn * pl.col("n_known")
    is_race = one_sense & (pl.col("spread") <= rules.racetrack_max_spread_km)
    return out.select(
        "flight_id",
        "icao24",
        pl.when(is_race).then(pl.lit(RACETRACK)).otherwise(pl.lit(SURVEY)).alias("kind"),
        pl.when(is_race).then(pl.col("n_rev") // 2).otherwise(0).cast(pl.Int32).alias("n_orbits"),
        pl.col("n_legs").cast(pl.Int32),
        pl.col("leg_t0").alias("t0"),
        pl.col("leg_t1").alias("t1"),
        "centre_lat",
        "centre_lon",
        pl.lit(None, dtype=pl.Float64).alias("radius_km"),  # from the positions, in _shape
        "axis_deg",
        pl.when(pl.col("n_known") == 0)
        .then(pl.lit(None, dtype=pl.String))
        .when(~one_sense)
        .then(pl.lit("mixed"))
        .when(pl.col("n_right") > pl.col("n_left"))
        .then(pl.lit("right"))
        .otherwise(pl.lit("left"))
        .alias("turn"),
        "w",
    )


def _merge(ep: pl.DataFrame, rules: PatternRules) -> pl.DataFrame:
    """Episodes of one kind in one flight close in time and place are one episode."""
    ep = ep.sort(["flight_id", "kind", "t0"])
    lat, lon = ep["centre_lat"].to_numpy(), ep["centre_lon"].to_numpy()
    d = np.full(ep.height, np.inf)
    if ep.height > 1:
        d[1:] = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    ep = ep.with_columns(pl.Series("d_prev", d))
    new = (
        (pl.col("flight_id") != pl.col("flight_id").shift(1))
        | (pl.col("kind") != pl.col("kind").shift(1))
        | (pl.col("t0") - pl.col("t1").shift(1) > rules.merge_gap_s)
        | (pl.col("d_prev") > rules.merge_km)
    ).fill_null(True)
    ep = ep.with_columns(new.cum_sum().alias("group"))
    w = pl.col("w").cast(pl.Float64)
    merged = ep.group_by("group", maintain_order=True).agg(
        pl.col("flight_id").first(),
        pl.col("icao24").first(),
        pl.col("kind").first(),
        pl.col("n_orbits").sum(),
        pl.col("n_legs").sum(),
        pl.col("t0").min(),
        pl.col("t1").max(),
        ((pl.col("centre_lat") * w).sum() / w.sum()).alias("centre_lat"),
        ((pl.col("centre_lon") * w).sum() / w.sum()).alias("centre_lon"),
        pl.col("radius_km").max(),
        pl.col("axis_deg").first(),
        pl.when(pl.col("turn").drop_nulls().n_unique() > 1)
        .then(pl.lit("mixed"))
        .otherwise(pl.col("turn").drop_nulls().first())
        .alias("turn"),
    )
    return merged.with_columns(
        pl.from_epoch((pl.col("t0") * 1e6).round().cast(pl.Int64), "us").dt.replace_time_zone("UTC").alias("start"),
        pl.from_epoch((pl.col("t1") * 1e6).round().cast(pl.Int64), "us").dt.replace_time_zone("UTC").alias("end"),
        ((pl.col("t1") - pl.col("t0")) / 60.0).alias("loiter_minutes"),
    )
