"""The tables between stages (see DESIGN.md): column names, types and units.

Every stage takes and returns Polars DataFrames conforming to these schemas.
Units are aviation units, as readsb and `traffic` use them: feet, knots, ft/min,
degrees. Times are UTC datetimes at microsecond resolution.
"""

from __future__ import annotations

import polars as pl

POS_SOURCES = ["adsb", "mlat", "tisb", "adsr", "adsc", "modes", "other", "unknown"]
PosSource = pl.Enum(POS_SOURCES)
UTC_US = pl.Datetime("us", "UTC")

# observations: one row per position report.
OBSERVATIONS: dict[str, pl.DataType] = {
    "time": UTC_US,  # time of the position
    "icao24": pl.String,  # lowercase 6-hex; readsb's "~" prefix kept for non-ICAO addresses
    "callsign": pl.String,  # stripped; null where unknown (rows are never dropped for it)
    "lat": pl.Float64,  # WGS84 degrees
    "lon": pl.Float64,  # WGS84 degrees
    "alt_baro": pl.Float32,  # feet; null when on the ground ("ground" in readsb)
    "alt_geom": pl.Float32,  # feet (GNSS height)
    "on_ground": pl.Boolean,
    "gs": pl.Float32,  # knots
    "track": pl.Float32,  # degrees true
    "vrate": pl.Float32,  # ft/min (barometric rate where known, else geometric)
    "ias": pl.Float32,  # knots, indicated airspeed (readsb newer trace columns)
    "roll": pl.Float32,  # degrees, positive right wing down
    "squawk": pl.String,
    "pos_source": PosSource,
    "leg_start": pl.Boolean,  # the source marked a new leg here (readsb trace flag bit 2)
    "stale": pl.Boolean,  # the source marked the position stale (readsb trace flag bit 0)
    "feed": pl.String,  # provider or file the row came from
}

# rejects: one row per input row (or unreadable stretch) that was not stored.
REJECTS: dict[str, pl.DataType] = {
    "feed": pl.String,
    "reason": pl.String,  # short machine-readable reason, e.g. "lat_out_of_range"
    "detail": pl.String,  # human-readable context (record index, value), never rendered unescaped
    "n_rows": pl.Int64,  # rows this reject stands for (1 per row; >1 for a damaged stretch when known)
}

# aircraft facts carried by a feed (readsb r, t, dbFlags, desc, ownOp).
FEED_AIRCRAFT: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "registration": pl.String,
    "type_code": pl.String,  # ICAO type designator
    "type_description": pl.String,
    "operator": pl.String,
    "db_flags": pl.Int32,  # readsb dbFlags: bit 0 military, 1 interesting, 2 PIA, 3 LADD
    "source": pl.String,  # the feed the facts came from
}

ISR_ROLES = [
    "sigint",
    "maritime_patrol",
    "imint",
    "aew",
    "uav_isr",
    "multi_int",
    "other_isr",
    "none",
]
IsrRole = pl.Enum(ISR_ROLES)


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty table with the given schema (stages return this, never None)."""
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select the schema's columns in order and cast them; missing columns become null."""
    exprs = []
    for name, dtype in schema.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(exprs)
