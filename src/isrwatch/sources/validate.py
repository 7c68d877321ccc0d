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

import math
from collections.abc import Callable
from datetime import datetime, timezone

import polars as pl

from isrwatch import schema
from isrwatch.geo import EARTH_RADIUS_KM as EARTH_KM

MAX_SPEED_KT = 1500.0  # faster than any aircraft that shows up in ADS-B feeds
MIN_JUMP_KM = 25.0  # below this, position noise (MLAT, rounding) is not called a jump
TIME_MIN = datetime(1990, 1, 1, tzinfo=timezone.utc)
TIME_MAX = datetime(2100, 1, 1, tzinfo=timezone.utc)
ICAO24_PATTERN = r"^~?[0-9a-f]{6}$"

_OBS_NO_FEED = {k: v for k, v in schema.OBSERVATIONS.items() if k != "feed"}


def _run_starts(s: pl.Series) -> pl.Series:
    """True where a run of equal values begins (each null starts its own run)."""
    return (s != s.shift(1)).fill_null(True)


def _per_run(s: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """fn applied once per run of equal values: feeds repeat icao24 and callsign row after row,
    so string work on run starts is far cheaper than on every row."""
    if s.len() == 0:
        return fn(s)
    starts = _run_starts(s)
    return fn(s.filter(starts)).gather(starts.cum_sum() - 1).alias(s.name)


def _clean_strings(df: pl.DataFrame) -> pl.DataFrame:
    """Strip (and lowercase icao24) only when some value needs it; clean feeds pay one check."""
    icao, cs = df.get_column("icao24"), df.get_column("callsign")
    fixes = []
    if icao.filter(_run_starts(icao)).str.contains(r"[A-Z\s]").any():
        fixes.append(_per_run(icao, lambda x: x.str.strip_chars().str.to_lowercase()))
    if cs.filter(_run_starts(cs)).str.contains(r"^\s|\s$|^$").any():
        stripped = pl.col("callsign").str.strip_chars()
        fixes.append(pl.when(stripped.str.len_bytes() == 0).then(None).otherwise(stripped).alias("callsign"))
    return df.with_columns(fixes) if fixes else df


ADDRESS = "_address"  # hidden column between normalise() and check(): icao24 as an integer


def _address(icao: pl.Series) -> pl.Series:
    """icao24 as an integer, null when it is not a valid address ("~" addresses above 2^24)."""

    def per_value(x: pl.Series) -> pl.Series:
        valid = x.str.contains(ICAO24_PATTERN)
        num = x.str.strip_prefix("~").str.to_integer(base=16, strict=False).cast(pl.Int64)
        tilde = x.str.starts_with("~").cast(pl.Int64) * (1 << 24)
        frame = pl.DataFrame({"valid": valid.fill_null(False), "num": num + tilde})
        return frame.select(pl.when(pl.col("valid")).then(pl.col("num"))).to_series()

    return _per_run(icao, per_value).alias(ADDRESS)


def normalise(df: pl.DataFrame) -> pl.DataFrame:
    """Conform a reader's rows to OBSERVATIONS (feed left null) with the shared clean-ups.

    icao24 lowercased and stripped; callsign stripped, empty -> null; flags default to false
    (on_ground, leg_start and stale are false unless the source says so); pos_source unknown
    when the source does not say. Adds the hidden ADDRESS column that check() uses and drops.
    """
    df = schema.conform(df, _OBS_NO_FEED)
    df = _clean_strings(df)
    return df.with_columns(
        pl.col("on_ground").fill_null(False),
        pl.col("leg_start").fill_null(False),
        pl.col("stale").fill_null(False),
        pl.col("pos_source").fill_null("unknown"),
        _address(df.get_column("icao24")),
    )


def _radians(e: pl.Expr) -> pl.Expr:
    return e * (math.pi / 180.0)


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
    bad_icao = pl.col(ADDRESS).is_null()
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
    t = pl.col("time")
    s = df.select("_row", "time", "lat", "lon", ADDRESS)
    # Neighbours are by time within each aircraft: sort on one integer key, which is several
    # times faster than sorting an address string and a time.
    t_us = t.dt.epoch("us")
    lo, hi = s.select(t_us.min().alias("lo"), t_us.max().alias("hi")).row(0)
    # address in the top 25 bits, time in the low 38: exact for batches spanning up to 3 days;
    # longer spans lose sub-millisecond order, which cannot matter to a check that floors time
    # steps at 1 s
    coarse = max(0, (hi - lo).bit_length() - 38)
    s = s.with_columns(_key=pl.col(ADDRESS) * (1 << 38) + ((t_us - lo) // (1 << coarse)))
    if not s.get_column("_key").is_sorted():  # files of one aircraft in time order need no sort
        s = s.sort("_key")
    lat, lon = pl.col("lat"), pl.col("lon")
    same_prev = pl.col(ADDRESS).diff() == 0
    same_next = same_prev.shift(-1)
    # Cheap superset first: a great-circle step is never longer than the step measured in
    # degrees of latitude and longitude, so points within MIN_JUMP_KM "in degrees" are no jumps.
    min_deg2 = (MIN_JUMP_KM / (EARTH_KM * math.pi / 180.0)) ** 2
    far_prev = ((lat - lat.shift(1)).pow(2) + (lon - lon.shift(1)).pow(2)) > min_deg2
    far_next = ((lat - lat.shift(-1)).pow(2) + (lon - lon.shift(-1)).pow(2)) > min_deg2
    at = s.select(
        pl.int_range(pl.len(), dtype=pl.Int64)
        .filter((same_prev & same_next & far_prev & far_next).fill_null(False))
        .alias("i")
    )["i"]
    empty = pl.DataFrame(schema={"_row": pl.UInt32, "km_prev": pl.Float64, "km_next": pl.Float64})
    if not at.len():
        return empty
    cur = s[at]
    prev = s[at - 1]
    nxt = s[at + 1]
    cand = pl.DataFrame(
        {
            "_row": cur["_row"],
            "lat": cur["lat"],
            "lon": cur["lon"],
            "time": cur["time"],
            "_plat": prev["lat"],
            "_plon": prev["lon"],
            "_pt": prev["time"],
            "_nlat": nxt["lat"],
            "_nlon": nxt["lon"],
            "_nt": nxt["time"],
        }
    )
    plat, plon, pt = pl.col("_plat"), pl.col("_plon"), pl.col("_pt")
    nlat, nlon, nt = pl.col("_nlat"), pl.col("_nlon"), pl.col("_nt")
    cand = cand.with_columns(
        km_prev=haversine_km(plat, plon, lat, lon),
        km_next=haversine_km(lat, lon, nlat, nlon),
        km_pn=haversine_km(plat, plon, nlat, nlon),
    )
    jump = (
        (pl.col("km_prev") > MIN_JUMP_KM)
        & (pl.col("km_next") > MIN_JUMP_KM)
        & (_speed_kt(pl.col("km_prev"), pt, t) > MAX_SPEED_KT)
        & (_speed_kt(pl.col("km_next"), t, nt) > MAX_SPEED_KT)
        & (_speed_kt(pl.col("km_pn"), pt, nt) <= MAX_SPEED_KT)
    ).fill_null(False)
    out = cand.filter(jump).select("_row", "km_prev", "km_next")
    return out if out.height else empty


def check(obs: pl.DataFrame, feed: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split normalised rows into (kept observations with feed set, rejects)."""
    if ADDRESS not in obs.columns:
        obs = obs.with_columns(_address(obs.get_column("icao24")))
    df = obs.with_row_index("_row").with_columns(_reason=_row_reason())
    n_bad = df.height - df.get_column("_reason").null_count()
    ok = df.filter(pl.col("_reason").is_null()) if n_bad else df
    jumps = _jumps(ok) if ok.height >= 3 else pl.DataFrame(
        schema={"_row": pl.UInt32, "km_prev": pl.Float64, "km_next": pl.Float64}
    )
    if jumps.height:
        df = df.with_columns(
            _reason=pl.when(pl.col("_row").is_in(jumps["_row"].implode()))
            .then(pl.lit("position_jump"))
            .otherwise(pl.col("_reason"))
        )
        n_bad += jumps.height
    if not n_bad:  # the common case: nothing to split
        kept = df.drop("_row", "_reason", ADDRESS).with_columns(feed=pl.lit(feed, dtype=pl.String))
        return kept, schema.empty(schema.REJECTS)
    bad = df.filter(pl.col("_reason").is_not_null())
    kept = df.filter(pl.col("_reason").is_null()).drop("_row", "_reason", ADDRESS)
    kept = kept.with_columns(feed=pl.lit(feed, dtype=pl.String))

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
