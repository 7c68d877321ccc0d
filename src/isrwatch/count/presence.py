"""Per-flight presence in an area, from positions already classified inside/outside.

The count stage asks one question of the airspace stage per area: how long, and on how many
observed positions, was each sortie inside? This module answers it from a long table of classified
positions (flight_id, time, area, inside) and never draws geometry itself except in `inside_mask`,
a vectorised point-in-polygon helper for areas given as a shapely geometry (a user GeoJSON).
"""

from __future__ import annotations

import polars as pl

from isrwatch import schema

# area presence: one row per (flight, area) with at least one observed position inside.
AREA_PRESENCE: dict[str, pl.DataType] = {
    "flight_id": pl.String,
    "area": pl.String,  # count.Area.key = airspace region id: "MEX", "near:MEX:100", AOI id, "user:<stem>"
    "minutes_inside": pl.Float64,  # minutes between consecutive inside positions, each interval capped
    "n_obs_inside": pl.Int64,  # observed positions inside
    "first_inside": schema.UTC_US,
    "last_inside": schema.UTC_US,
}

# CLASSIFIED_POINTS: the input, one row per (position, area).
CLASSIFIED_POINTS: dict[str, pl.DataType] = {
    "flight_id": pl.String,
    "time": schema.UTC_US,
    "area": pl.String,
    "inside": pl.Boolean,
}

# An interval between two inside positions longer than this is a coverage gap, not loiter: only
# this much of it counts towards minutes_inside, so a gap cannot inflate a mission.
MAX_INTERVAL_S = 600.0


def presence(points: pl.DataFrame, *, max_interval_s: float = MAX_INTERVAL_S) -> pl.DataFrame:
    """Per-flight, per-area presence from classified positions (CLASSIFIED_POINTS columns).

    minutes_inside sums the time between consecutive positions of the flight that are both inside
    the area, each interval capped at `max_interval_s` seconds. Flights never inside get no row.
    """
    if points.height == 0:
        return schema.empty(AREA_PRESENCE)
    pts = points.select(
        pl.col("flight_id").cast(pl.String),
        pl.col("time").cast(schema.UTC_US),
        pl.col("area").cast(pl.String),
        pl.col("inside").cast(pl.Boolean).fill_null(False),
    ).sort("area", "flight_id", "time")
    group = ["area", "flight_id"]
    pts = pts.with_columns(
        next_time=pl.col("time").shift(-1).over(group),
        next_inside=pl.col("inside").shift(-1).over(group),
    ).with_columns(
        interval_s=pl.when(pl.col("inside") & pl.col("next_inside").fill_null(False))
        .then(
            ((pl.col("next_time") - pl.col("time")).dt.total_microseconds() / 1e6).clip(0.0, max_interval_s)
        )
        .otherwise(0.0)
    )
    out = (
        pts.group_by(group)
        .agg(
            minutes_inside=pl.col("interval_s").sum() / 60.0,
            n_obs_inside=pl.col("inside").sum().cast(pl.Int64),
            first_inside=pl.col("time").filter(pl.col("inside")).min(),
            last_inside=pl.col("time").filter(pl.col("inside")).max(),
        )
        .filter(pl.col("n_obs_inside") > 0)
        .sort("area", "flight_id")
    )
    return schema.conform(out, AREA_PRESENCE)


def inside_mask(obs: pl.DataFrame, geometry) -> pl.Series:
    """Whether each position (lat, lon) lies inside a shapely geometry (lon/lat, WGS84)."""
    import shapely

    if obs.height == 0:
        return pl.Series("inside", [], dtype=pl.Boolean)
    shapely.prepare(geometry)
    inside = shapely.contains_xy(geometry, obs["lon"].to_numpy(), obs["lat"].to_numpy())
    return pl.Series("inside", inside, dtype=pl.Boolean)


def classified_points(obs: pl.DataFrame, masks: dict[str, pl.Series]) -> pl.DataFrame:
    """The long CLASSIFIED_POINTS table from observations with flight_id and one mask per area key."""
    if obs.height == 0 or not masks:
        return schema.empty(CLASSIFIED_POINTS)
    base = obs.select("flight_id", "time")
    frames = [
        base.with_columns(pl.lit(key).alias("area"), pl.Series("inside", mask, dtype=pl.Boolean))
        for key, mask in masks.items()
    ]
    return schema.conform(pl.concat(frames), CLASSIFIED_POINTS)
