"""Loiter time: how long each sortie spent inside a region or within a radius of a point.

Time inside is integrated over consecutive positions of a sortie (trapezoid rule: a step
between two positions inside counts whole, a step across the boundary counts half). Steps
longer than max_gap_s count nothing: where the aircraft was during a coverage gap is not
known, and a loiter claim should rest on observed positions.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import shapely

from isrwatch import schema
from isrwatch.geo import haversine_km

# one row per sortie
LOITER: dict[str, pl.DataType] = {
    "flight_id": pl.String,
    "icao24": pl.String,
    "loiter_minutes": pl.Float64,  # observed time inside, minutes
    "n_obs_inside": pl.Int64,  # positions inside
    "first_inside": schema.UTC_US,  # null when never inside
    "last_inside": schema.UTC_US,
}


def _inside(df: pl.DataFrame, region, centre, radius_km) -> np.ndarray:
    lat = df["lat"].to_numpy().astype(np.float64)
    lon = df["lon"].to_numpy().astype(np.float64)
    if region is not None:
        shapely.prepare(region)
        return shapely.contains_xy(region, lon, lat)
    lat0, lon0 = centre
    return haversine_km(lat, lon, lat0, lon0) <= radius_km


def loiter(
    obs_with_ids: pl.DataFrame,
    *,
    region=None,
    centre: tuple[float, float] | None = None,
    radius_km: float | None = None,
    max_gap_s: float = 600.0,
) -> pl.DataFrame:
    """Observed time each sortie spent inside `region` (a shapely geometry in lon/lat) or
    within `radius_km` of `centre` (lat, lon). One row per sortie (table in LOITER).
    Rows with a null flight_id (ground states) are ignored."""
    if (region is None) == (centre is None):
        raise ValueError("loiter() needs either region= or centre= with radius_km=")
    if centre is not None and (radius_km is None or not radius_km > 0):
        raise ValueError("loiter(centre=...) needs a positive radius_km")
    for c in ("flight_id", "time", "lat", "lon"):
        if c not in obs_with_ids.columns:
            raise ValueError(f"loiter needs column {c!r}")
    df = obs_with_ids.select(
        "flight_id", pl.col("icao24") if "icao24" in obs_with_ids.columns else pl.lit(None, dtype=pl.String).alias("icao24"), "time", "lat", "lon"
    ).filter(pl.col("flight_id").is_not_null() & pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    if df.height == 0:
        return pl.DataFrame(schema=LOITER)
    df = df.sort(["flight_id", "time"])
    inside = _inside(df, region, centre, radius_km).astype(np.float64)
    df = df.with_columns(pl.Series("_in", inside))
    same = pl.col("flight_id") == pl.col("flight_id").shift(-1)
    dt = (pl.col("time").shift(-1) - pl.col("time")).dt.total_microseconds() / 1e6
    step = pl.when(same & (dt <= max_gap_s)).then(dt * (pl.col("_in") + pl.col("_in").shift(-1)) / 2.0).otherwise(0.0)
    out = df.with_columns(step.fill_null(0.0).alias("_s")).group_by("flight_id", maintain_order=True).agg(
        pl.col("icao24").first(),
        (pl.col("_s").sum() / 60.0).alias("loiter_minutes"),
        pl.col("_in").sum().cast(pl.Int64).alias("n_obs_inside"),
        pl.col("time").filter(pl.col("_in") > 0).min().alias("first_inside"),
        pl.col("time").filter(pl.col("_in") > 0).max().alias("last_inside"),
    )
    return schema.conform(out, LOITER)
