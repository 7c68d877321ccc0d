"""Row checks shared by every reader, vectorised over a whole batch.

Each input row is either kept or rejected with one reason (the first that applies):

- bad_position: lat or lon null, NaN or out of range (|lat| > 90, |lon| > 180)
- bad_time: time null (missing or unparseable) or outside 1990..2100 (e.g. ms read as s)
- bad_icao24: not six hex digits (lowercase; readsb's "~" prefix for non-ICAO addresses allowed)
- position_jump: a single position implausibly far from BOTH its neighbours of the same icao24
  in this batch (implied speed above MAX_SPEED_KT to the previous and to the next position, both
  more than MIN_JUMP_KM away) while those two neighbours agree with each other. The first and
  last position of an aircraft in a batch have one neighbour and are never called jumps; a run
  of several spoofed positions is left to later stages.

Not errors here: time out of order (rows are kept; the store sorts), duplicates (kept; the store
counts them), null callsigns (never a reason to drop a row). Feed strings are kept verbatim
(escaping happens where they are rendered); only callsigns are stripped, empty ones made null.
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from isrwatch import schema

MAX_SPEED_KT = 1500.0  # faster than any aircraft that shows up in ADS-B feeds
MIN_JUMP_KM = 25.0  # below this, position noise (MLAT, rounding) is not called a jump
EARTH_KM = 6371.0088
TIME_MIN = datetime(1990, 1, 1, tzinfo=timezone.utc)
TIME_MAX = datetime(2100, 1, 1, tzinfo=timezone.utc)
ICAO24_PATTERN = r"^~?[0-9a-f]{6}$"

_OBS_NO_FEED = {k: v for k, v in schema.OBSERVATIONS.items() if k != "feed"}


def normalise(df: pl.DataFrame) -> pl.DataFrame:
    """Conform a reader's rows to OBSERVATIONS (feed left null) with the shared clean-ups.

    icao24 lowercased and stripped; callsign stripped, empty -> null; flags default to false
    (on_ground, leg_start and stale are false unless the source says so); pos_source unknown
    when the source does not say.
    """
    df = schema.conform(df, _OBS_NO_FEED)
    return df.with_columns(
        pl.col("icao24").str.strip_chars().str.to_lowercase(),
        pl.col("callsign").str.strip_chars().replace("", None),
        pl.col("on_ground").fill_null(False),
        pl.col("leg_start").fill_null(False),
        pl.col("stale").fill_null(False),
        pl.col("pos_source").fill_null("unknown"),
    )


def _radians(e: pl.Expr) -> pl.Expr:
    return e * (3.141592653589793 / 180.0)


def haversine_km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in km (spherical Earth; ample for plausibility checks)."""
    p1, p2 = _radians(lat1), _radians(lat2)
    dlat = p2 - p1
    dlon = _radians(lon2 - lon1)
    a = (dlat / 2).sin().pow(2) + p1.cos() * p2.cos() * (dlon / 2).sin().pow(2)
    return 2 * EARTH_KM * a.clip(0.0, 1.0).sqrt().arcsin()


def _speed_kt(km: pl.Expr, t1: pl.Expr, t2: pl.Expr) -> pl.Expr:
    # time steps under 1 s are floored to 1 s so timestamp rounding does not make speeds explode
    dt_s = ((t2 - t1).dt.total_microseconds().abs() / 1e6).clip(lower_bound=1.0)
    return km / dt_s * (3600.0 / 1.852)


def _row_reason() -> pl.Expr:
    lat, lon, t = pl.col("lat"), pl.col("lon"), pl.col("time")
    bad_pos = (
        lat.is_null()
        | lon.is_null()
        | lat.is_nan()
        | lon.is_nan()
        | (lat.abs() > 90.0)
        | (lon.abs() > 180.0)
    ).fill_null(True)
    bad_time = (t.is_null() | (t < TIME_MIN) | (t >= TIME_MAX)).fill_null(True)
    bad_icao = (~pl.col("icao24").str.contains(ICAO24_PATTERN)).fill_null(True)
    return (
        pl.when(bad_pos)
        .then(pl.lit("bad_position"))
        .when(bad_time)
        .then(pl.lit("bad_time"))
        .when(bad_icao)
        .then(pl.lit("bad_icao24"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _jumps(df: pl.DataFrame) -> pl.DataFrame:
    """Rows (_row, km_prev, km_next) that jump away from both consistent neighbours."""
    s = df.select("_row", "icao24", "time", "lat", "lon").sort("icao24", "time")
    same = pl.col("icao24")
    lat, lon, t = pl.col("lat"), pl.col("lon"), pl.col("time")
    s = s.with_columns(
        km_prev=haversine_km(lat.shift(1), lon.shift(1), lat, lon),
        km_next=haversine_km(lat, lon, lat.shift(-1), lon.shift(-1)),
        km_pn=haversine_km(lat.shift(1), lon.shift(1), lat.shift(-1), lon.shift(-1)),
    )
    jump = (
        (same == same.shift(1))
        & (same == same.shift(-1))
        & (pl.col("km_prev") > MIN_JUMP_KM)
        & (pl.col("km_next") > MIN_JUMP_KM)
        & (_speed_kt(pl.col("km_prev"), t.shift(1), t) > MAX_SPEED_KT)
        & (_speed_kt(pl.col("km_next"), t, t.shift(-1)) > MAX_SPEED_KT)
        & (_speed_kt(pl.col("km_pn"), t.shift(1), t.shift(-1)) <= MAX_SPEED_KT)
    ).fill_null(False)
    return s.filter(jump).select("_row", "km_prev", "km_next")


def check(obs: pl.DataFrame, feed: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split normalised rows into (kept observations with feed set, rejects)."""
    df = obs.with_row_index("_row").with_columns(_reason=_row_reason())
    ok = df.filter(pl.col("_reason").is_null())
    jumps = _jumps(ok) if ok.height >= 3 else pl.DataFrame(
        schema={"_row": pl.UInt32, "km_prev": pl.Float64, "km_next": pl.Float64}
    )
    if jumps.height:
        df = df.with_columns(
            _reason=pl.when(pl.col("_row").is_in(jumps["_row"].implode()))
            .then(pl.lit("position_jump"))
            .otherwise(pl.col("_reason"))
        )
    bad = df.filter(pl.col("_reason").is_not_null())
    kept = df.filter(pl.col("_reason").is_null()).drop("_row", "_reason")
    kept = kept.with_columns(feed=pl.lit(feed, dtype=pl.String))
    if not bad.height:
        return kept, schema.empty(schema.REJECTS)

    def txt(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String).fill_null("null")

    # absurd times (far outside year 1..9999) cannot be printed as dates: show their epoch µs
    t_us = pl.col("time").dt.epoch("us")
    printable = t_us.abs() < 2.5e17
    time_txt = pl.when(printable).then(pl.col("time")).otherwise(None).cast(pl.String)
    time_txt = pl.coalesce(time_txt, pl.concat_str(t_us.cast(pl.String), pl.lit(" µs since 1970")), pl.lit("null"))

    detail = pl.concat_str(
        pl.lit("icao24="),
        pl.col("icao24").fill_null("null").str.slice(0, 40),
        pl.lit(" time="),
        time_txt,
        pl.lit(" lat="),
        txt("lat"),
        pl.lit(" lon="),
        txt("lon"),
    )
    if jumps.height:
        bad = bad.join(jumps, on="_row", how="left")
        detail = pl.concat_str(
            detail,
            pl.when(pl.col("km_prev").is_not_null())
            .then(
                pl.format(
                    " ({} km from previous, {} km from next position)",
                    pl.col("km_prev").round(0),
                    pl.col("km_next").round(0),
                )
            )
            .otherwise(pl.lit("")),
        )
    rejects = bad.sort("_row").select(
        feed=pl.lit(feed, dtype=pl.String),
        reason=pl.col("_reason"),
        detail=detail,
        n_rows=pl.lit(1, dtype=pl.Int64),
    )
    return kept, rejects
