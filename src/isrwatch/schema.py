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


# coverage: one row per UTC day of a window, what the store saw (days without data included).
COVERAGE: dict[str, pl.DataType] = {
    "day": pl.Date,  # UTC day
    "n_obs": pl.Int64,
    "n_aircraft": pl.Int64,
    "first": UTC_US,  # first observation of the day (any aircraft)
    "last": UTC_US,
    "max_gap_s": pl.Float64,  # longest time between consecutive observations of any aircraft, seconds
}


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty table with the given schema (stages return this, never None)."""
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame | pl.LazyFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame | pl.LazyFrame:
    """Select the schema's columns in order and cast them; missing columns become null.
    A LazyFrame stays lazy (its schema is resolved once, so scans keep their pushdowns)."""
    have = df.collect_schema().names() if isinstance(df, pl.LazyFrame) else df.columns
    exprs = []
    for name, dtype in schema.items():
        if name in have:
            exprs.append(pl.col(name).cast(dtype))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(exprs)


# aircraft: one row per icao24, every fact with where it came from.
AIRCRAFT: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "registration": pl.String,
    "type_code": pl.String,  # ICAO type designator, e.g. R135, P8, U2
    "type_description": pl.String,
    "operator": pl.String,
    "country_iso2": pl.String,  # from the ICAO 24-bit address block
    "country": pl.String,
    "military": pl.Boolean,
    "isr_role": IsrRole,
    "isr_variant": pl.String,  # e.g. "RC-135V/W Rivet Joint", null when not ISR
    # where each fact came from: "feed:<name>", "db:tar1090", "db:plane-alert",
    # "hex_block", "catalogue:type", "catalogue:registration", ...; null when unknown
    "registration_source": pl.String,
    "type_source": pl.String,
    "operator_source": pl.String,
    "country_source": pl.String,
    "military_source": pl.String,
    "isr_role_source": pl.String,
}

# observations after segmentation carry this extra column.
FLIGHT_ID = "flight_id"

# flights: one row per sortie (take-off to landing, robust to coverage gaps).
FLIGHTS: dict[str, pl.DataType] = {
    "flight_id": pl.String,  # stable: "<icao24>-<start %Y%m%dT%H%M%SZ>"; same input, same id
    "icao24": pl.String,
    "callsign": pl.String,  # first non-null callsign
    "callsigns": pl.List(pl.String),  # distinct non-null callsigns, in order of first use
    "start": UTC_US,
    "end": UTC_US,
    "duration_min": pl.Float64,
    "n_obs": pl.Int64,
    "first_lat": pl.Float64,
    "first_lon": pl.Float64,
    "last_lat": pl.Float64,
    "last_lon": pl.Float64,
    "takeoff_airfield": pl.String,  # ICAO code, "at_sea" for a deck take-off, null if not observed
    "landing_airfield": pl.String,  # ICAO code, "at_sea" for a deck landing, null if not observed
    # why the sortie starts / ends here: takeoff_observed, landing_observed, coverage_start,
    # coverage_end, leg_mark, gap_endurance, gap_impossible_speed, gap_reappears_climbing,
    # gap_callsign_change (after >= 2 h out of coverage a different callsign is heard at once)
    "start_reason": pl.String,
    "end_reason": pl.String,
    "max_gap_s": pl.Float64,  # largest time between consecutive positions, seconds
    "share_adsb": pl.Float64,  # share of positions by pos_source (0..1)
    "share_mlat": pl.Float64,
    "share_other": pl.Float64,
}

# airspace events: one row per (flight, region) entry; flights that never entered get one row
# with entered=false and their closest approach.
AIRSPACE_EVENTS: dict[str, pl.DataType] = {
    "flight_id": pl.String,
    "icao24": pl.String,
    "region": pl.String,  # ISO 3166-1 alpha-3 for sovereign airspace (e.g. "MEX"), else AOI id
    "region_kind": pl.String,  # "sovereign" or "aoi"
    "entered": pl.Boolean,
    "entry_index": pl.Int32,  # 0, 1, ... per flight and region; null when never entered
    "entry_time": UTC_US,  # boundary crossing interpolated between the two straddling points
    "exit_time": UTC_US,  # null if the flight ends inside
    "duration_s": pl.Float64,
    "n_obs_inside": pl.Int64,  # observed positions inside
    "basis": pl.String,  # "observed" (positions inside) or "gap_only" (only a line across a gap)
    "over_land": pl.Boolean,  # any observed inside position over land (else territorial sea / internal waters)
    "max_depth_km": pl.Float64,  # deepest penetration, geodesic km from the boundary
    "max_depth_time": UTC_US,
    "max_depth_lat": pl.Float64,
    "max_depth_lon": pl.Float64,
    "closest_km": pl.Float64,  # closest approach to the region for flights that never entered; 0 if entered
    "closest_time": UTC_US,
    "closest_lat": pl.Float64,
    "closest_lon": pl.Float64,
}
