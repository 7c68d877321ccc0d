"""Column conversions shared by the tabular readers: times, units, position sources, squawks.

Observations use aviation units (feet, knots, ft/min); OpenSky and many exports use metres and
m/s. Conversions are Polars expressions applied to whole batches.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from isrwatch import schema

FT_PER_M = 1.0 / 0.3048
KT_PER_MS = 3600.0 / 1852.0
FPM_PER_MS = 60.0 / 0.3048
KT_PER_KMH = 1.0 / 1.852
# times beyond ±5000 years of 1970 are garbage; null them (bad_time) before they reach a date type
MAX_ABS_US = 1.6e17

# readsb / ADS-B Exchange "type" strings -> pos_source
READSB_TYPES: dict[str, str] = {
    "adsb_icao": "adsb",
    "adsb_icao_nt": "adsb",
    "adsb_other": "adsb",
    "adsr_icao": "adsr",
    "adsr_other": "adsr",
    "tisb_icao": "tisb",
    "tisb_other": "tisb",
    "tisb_trackfile": "tisb",
    "adsc": "adsc",
    "mlat": "mlat",
    "mode_s": "modes",
    "other": "other",
    "unknown": "unknown",
    # plain names as other exports spell them
    "adsb": "adsb",
    "adsr": "adsr",
    "tisb": "tisb",
    "modes": "modes",
}
# OpenSky position_source codes: 0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM
OPENSKY_SOURCES: dict[int, str] = {0: "adsb", 1: "other", 2: "mlat", 3: "other"}

UNIT_FACTORS: dict[str, dict[str, float]] = {
    "alt": {"ft": 1.0, "feet": 1.0, "m": FT_PER_M, "metres": FT_PER_M, "meters": FT_PER_M},
    "speed": {
        "kt": 1.0,
        "knots": 1.0,
        "m/s": KT_PER_MS,
        "mps": KT_PER_MS,
        "km/h": KT_PER_KMH,
        "kmh": KT_PER_KMH,
    },
    "vrate": {"ft/min": 1.0, "fpm": 1.0, "m/s": FPM_PER_MS, "mps": FPM_PER_MS},
}
_UNIT_KIND = {"alt_baro": "alt", "alt_geom": "alt", "gs": "speed", "ias": "speed", "vrate": "vrate"}


def pos_source_from_type(e: pl.Expr) -> pl.Expr:
    """readsb type strings (adsb_icao, mlat, tisb_*, ...) to pos_source; anything else unknown."""
    e = e.cast(pl.String)
    # types come in long runs of one value: map each run once
    ids = e.rle_id()
    starts = ids != ids.shift(1, fill_value=-1)
    return (
        e.filter(starts)
        .str.to_lowercase()
        .replace_strict(READSB_TYPES, default="unknown", return_dtype=schema.PosSource)
        .gather(ids)
    )


def pos_source_from_opensky(e: pl.Expr) -> pl.Expr:
    return (
        e.cast(pl.Int64, strict=False)
        .replace_strict(OPENSKY_SOURCES, default="unknown", return_dtype=pl.String)
        .cast(schema.PosSource)
    )


def epoch_seconds_to_time(e: pl.Expr) -> pl.Expr:
    """Float epoch seconds -> UTC datetime (µs); non-finite values become null."""
    us = (e.cast(pl.Float64, strict=False) * 1e6).round(0)
    us = pl.when(us.is_finite() & (us.abs() < MAX_ABS_US)).then(us).otherwise(None)
    return us.cast(pl.Int64).cast(schema.UTC_US)


def time_column(df: pl.DataFrame, name: str, unit: str | None = None) -> pl.Expr:
    """time_from for column `name` of df; text columns are read as epoch numbers or as ISO 8601
    dates, whichever their first values are (values that fit neither become null: bad_time)."""
    dtype = df.schema[name]
    if dtype == pl.String:
        sample = df.get_column(name).drop_nulls().head(64).str.strip_chars()
        as_numbers = sample.len() - sample.cast(pl.Float64, strict=False).null_count()
        as_dates = sample.len() - sample.str.to_datetime(time_zone="UTC", strict=False).null_count()
        numeric = as_numbers >= as_dates
        text = pl.col(name).str.strip_chars()
        if numeric:
            return _epoch_to_time(text.cast(pl.Float64, strict=False), unit)
        return text.str.to_datetime(time_zone="UTC", strict=False).cast(schema.UTC_US)
    return time_from(pl.col(name), dtype, unit)


def time_from(e: pl.Expr, dtype: pl.DataType, unit: str | None = None) -> pl.Expr:
    """Any time column -> UTC datetime (µs).

    Datetimes without a zone are taken as UTC. Numbers are epoch seconds, ms, µs or ns: `unit`
    says which, else it is guessed per value from the magnitude (traffic writes ms, OpenSky s).
    Strings are parsed as numbers when they are numbers, else as ISO 8601 (time_column, which
    sees the data, picks one of the two instead of trying both).
    """
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            e = e.dt.replace_time_zone("UTC")
        else:
            e = e.dt.convert_time_zone("UTC")
        return e.cast(schema.UTC_US)
    if dtype == pl.Date:
        return e.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dtype == pl.String or dtype == pl.Categorical:
        as_num = e.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        parsed = e.cast(pl.String).str.strip_chars().str.to_datetime(time_zone="UTC", strict=False)
        return pl.coalesce(_epoch_to_time(as_num, unit), parsed.cast(schema.UTC_US))
    return _epoch_to_time(e.cast(pl.Float64, strict=False), unit)


def _epoch_to_time(num: pl.Expr, unit: str | None) -> pl.Expr:
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    if unit is not None:
        if unit not in scale:
            raise ValueError(f"unknown time unit {unit!r} (use s, ms, us or ns)")
        return epoch_seconds_to_time(num * scale[unit])
    mag = num.abs()
    secs = (
        pl.when(mag >= 1e17)
        .then(num * 1e-9)
        .when(mag >= 1e14)
        .then(num * 1e-6)
        .when(mag >= 1e11)
        .then(num * 1e-3)
        .otherwise(num)
    )
    return epoch_seconds_to_time(secs)


def squawk_from(e: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Squawks as four-digit strings; numeric columns (traffic writes 4720.0) are zero-padded."""
    if dtype.is_numeric():
        v = e.cast(pl.Float64, strict=False)
        v = pl.when(v.is_finite() & (v >= 0) & (v < 1e4)).then(v).otherwise(None)
        return v.cast(pl.Int64).cast(pl.String).str.zfill(4)
    return e.cast(pl.String)


def bool_from(e: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        return e
    if dtype.is_numeric():
        return e.cast(pl.Float64, strict=False) != 0
    s = e.cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(s.is_in(["true", "t", "1", "yes", "y"])).then(True).when(
        s.is_in(["false", "f", "0", "no", "n"])
    ).then(False)


def unit_factor(ours: str, unit: str | None) -> float:
    if unit is None:
        return 1.0
    kind = _UNIT_KIND.get(ours)
    if kind is None:
        raise ValueError(f"no unit conversion for column {ours!r}")
    factors = UNIT_FACTORS[kind]
    if unit.lower() not in factors:
        raise ValueError(f"unknown unit {unit!r} for {ours} (known: {', '.join(factors)})")
    return factors[unit.lower()]


def from_columns(
    df: pl.DataFrame,
    colmap: Mapping[str, str],
    units: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Select and convert a foreign table into observation columns.

    colmap: ours -> theirs (columns absent from df are skipped; the caller checks required
    ones). units: ours -> unit of theirs ("m", "m/s", "km/h", "s", "ms", ...).
    pos_source may map to a readsb-style type string or an OpenSky integer code.
    """
    units = dict(units or {})
    exprs: list[pl.Expr] = []
    sch = df.schema
    for ours, theirs in colmap.items():
        if theirs not in sch:
            continue
        dtype = sch[theirs]
        e = pl.col(theirs)
        if ours == "time":
            out = time_column(df, theirs, units.get("time"))
        elif ours in ("icao24", "callsign"):
            out = e.cast(pl.String)
        elif ours == "squawk":
            out = squawk_from(e, dtype)
        elif ours in ("on_ground", "leg_start", "stale"):
            out = bool_from(e, dtype)
        elif ours == "pos_source":
            out = pos_source_from_opensky(e) if dtype.is_numeric() else pos_source_from_type(e)
        elif ours in ("lat", "lon"):
            out = e.cast(pl.Float64, strict=False)
        elif ours in schema.OBSERVATIONS:
            out = e.cast(pl.Float64, strict=False)
            factor = unit_factor(ours, units.get(ours)) if ours in _UNIT_KIND else 1.0
            if factor != 1.0:
                out = out * factor
            out = out.cast(schema.OBSERVATIONS[ours])
        else:
            continue
        exprs.append(out.alias(ours))
    out_df = df.select(exprs)
    # readsb-style "ground" in an altitude column of a CSV export means on the ground
    alt_src = colmap.get("alt_baro")
    if (
        alt_src in sch
        and sch[alt_src] == pl.String
        and "on_ground" not in out_df.columns
    ):
        out_df = out_df.with_columns(
            on_ground=df.get_column(alt_src).str.strip_chars().str.to_lowercase() == "ground"
        )
    return out_df
