"""OpenSky Network state vectors: the historical database (Parquet / CSV) and REST /states/all.

Historical state_vectors_data4 columns: time (s or datetime), icao24, lat, lon, velocity (m/s),
heading (deg), vertrate (m/s), callsign, onground, baroaltitude (m), geoaltitude (m),
lastposupdate (s), lastcontact (s), squawk, ... OpenSky writes one vector per aircraft per
second and repeats the last position until a new one arrives, so the position time is
lastposupdate, not time. A vector whose position is older than STALE_VECTOR_S at the row time,
or that has no position time, is a reject "stale_vector" (counted, not silently dropped);
repeated fresh vectors of one position come out as duplicates, which the store counts.

REST /states/all: {"time": s, "states": [[icao24, callsign, origin_country, time_position,
last_contact, lon, lat, baro_altitude, on_ground, velocity, true_track, vertical_rate, sensors,
geo_altitude, squawk, spi, position_source, (category)], ...]}; position_source 0 ADS-B,
1 ASTERIX, 2 MLAT, 3 FLARM. Concatenated responses are read like API poll logs.

The historical tables carry no position source: pos_source is "unknown" unless a
position_source column is present.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from isrwatch.sources import aircraft_json, tabular
from isrwatch.sources._base import Piece, ReaderError, clip
from isrwatch.sources.columns import from_columns, time_column

STALE_VECTOR_S = 15.0

OPENSKY_COLUMNS: dict[str, str] = {
    "time": "lastposupdate",  # position time; the row time is the "time" column
    "icao24": "icao24",
    "callsign": "callsign",
    "lat": "lat",
    "lon": "lon",
    "alt_baro": "baroaltitude",
    "alt_geom": "geoaltitude",
    "on_ground": "onground",
    "gs": "velocity",
    "track": "heading",
    "vrate": "vertrate",
    "squawk": "squawk",
    "pos_source": "position_source",
}
OPENSKY_UNITS = {"time": "s", "alt_baro": "m", "alt_geom": "m", "gs": "m/s", "vrate": "m/s"}


def _clean_names(df: pl.DataFrame) -> pl.DataFrame:
    # Impala exports name columns "state_vectors_data4.time"
    names = [c.rsplit(".", 1)[-1].lower() for c in df.columns]
    return df.rename(dict(zip(df.columns, names))) if names != df.columns else df


def _stale_split(
    df: pl.DataFrame, row_time: str, pos_time: str
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(fresh vectors, reject frame for stale ones)."""
    row_s = time_column(df, row_time, "s").dt.epoch("us") / 1e6
    pos_s = time_column(df, pos_time, "s").dt.epoch("us") / 1e6
    age = (row_s - pos_s).alias("_age")
    df = df.with_columns(age, _pos_s=pos_s)
    # no row time to compare with: the vector is kept (its position time is known)
    stale = (pl.col("_age") > STALE_VECTOR_S).fill_null(False) | pl.col("_pos_s").is_null()
    bad = df.filter(stale)
    fresh = df.filter(~stale).drop("_age", "_pos_s")
    if not bad.height:
        return fresh, None
    icao = pl.col("icao24").cast(pl.String).fill_null("null").str.slice(0, 40)
    rejects = bad.select(
        reason=pl.lit("stale_vector"),
        detail=pl.when(pl.col("_pos_s").is_null())
        .then(pl.concat_str(pl.lit("icao24="), icao, pl.lit(" no position time")))
        .otherwise(
            pl.format(
                "icao24={} position {} s old at row time {}",
                icao,
                pl.col("_age").round(1),
                pl.col(row_time).cast(pl.String),
            )
        ),
        n_rows=pl.lit(1, dtype=pl.Int64),
    )
    return fresh, rejects


def read_table(path: Path, fmt: str, batch_rows: int, mapping: dict | None) -> Iterator[Piece]:
    """opensky_parquet / opensky_csv, in bounded batches."""
    mapping = dict(mapping or {})
    user_units = dict(mapping.pop("units", None) or {})
    if fmt == "opensky_parquet":
        names = tabular.parquet_columns(path)
        wanted = {n.rsplit(".", 1)[-1].lower() for n in (*OPENSKY_COLUMNS.values(), *mapping.values(), "time") if isinstance(n, str)}
        keep = [n for n in names if n.rsplit(".", 1)[-1].lower() in wanted]
        batches = tabular.parquet_batches(path, batch_rows, columns=keep)
    else:
        batches = tabular.csv_batches(path, batch_rows)
    for df in batches:
        df = _clean_names(df)
        colmap = {**OPENSKY_COLUMNS, **mapping}
        if colmap["time"] not in df.columns and "time" in df.columns:
            colmap["time"] = "time"  # no lastposupdate: the row time is the position time
        missing = [k for k in tabular.REQUIRED if colmap[k] not in df.columns]
        if missing or "time" not in df.columns:
            want = ", ".join(f"{k} (as {colmap[k]})" for k in missing) or "time"
            raise ReaderError("missing_columns", f"{path.name}: missing {want}; has {', '.join(df.columns[:40])}")
        fresh, rejects = _stale_split(df, "time", colmap["time"])
        yield Piece(obs=tabular.convert(fresh, colmap, {**OPENSKY_UNITS, **user_units}), reject_frame=rejects)


REST_FIELDS = [
    "icao24",
    "callsign",
    "origin_country",
    "time_position",
    "last_contact",
    "lon",
    "lat",
    "baro_altitude",
    "on_ground",
    "velocity",
    "true_track",
    "vertical_rate",
    "sensors",
    "geo_altitude",
    "squawk",
    "spi",
    "position_source",
    "category",
]
_REST_MAP = {
    "time": "time_position",
    "icao24": "icao24",
    "callsign": "callsign",
    "lat": "lat",
    "lon": "lon",
    "alt_baro": "baro_altitude",
    "alt_geom": "geo_altitude",
    "on_ground": "on_ground",
    "gs": "velocity",
    "track": "true_track",
    "vrate": "vertical_rate",
    "squawk": "squawk",
    "pos_source": "position_source",
}
_REST_TYPES = {
    "icao24": pl.String,
    "callsign": pl.String,
    "time_position": pl.Float64,
    "lon": pl.Float64,
    "lat": pl.Float64,
    "baro_altitude": pl.Float64,
    "on_ground": pl.Boolean,
    "velocity": pl.Float64,
    "true_track": pl.Float64,
    "vertical_rate": pl.Float64,
    "geo_altitude": pl.Float64,
    "squawk": pl.String,
    "position_source": pl.Int64,
}


def rest_rows(resp: dict) -> tuple[pl.DataFrame | None, pl.DataFrame | None, list]:
    states = resp.get("states")
    if states is None:
        return None, None, []
    if not isinstance(states, list):
        return None, None, [("api_error_body", clip(f"'states' is not a list: {states!r}"), 0)]
    rejects = []
    rows = []
    width = len(REST_FIELDS)
    for s in states:
        if not isinstance(s, list):
            rejects.append(("bad_row", clip(f"state vector is not a list: {s!r}"), 1))
            continue
        rows.append(s[:width] + [None] * (width - len(s)) if len(s) != width else s)
    if not rows:
        return None, None, rejects
    cols = list(zip(*rows))
    data = {}
    for name, dtype in _REST_TYPES.items():
        values = cols[REST_FIELDS.index(name)]
        if dtype == pl.String:
            values = [None if v is None else str(v) for v in values]
        elif dtype == pl.Boolean:
            values = [v if isinstance(v, bool) else None for v in values]
        else:
            values = [v if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in values]
        data[name] = pl.Series(name, values, dtype=dtype)
    df = pl.DataFrame(data).with_columns(time=pl.lit(resp.get("time"), dtype=pl.Float64))
    fresh, reject_frame = _stale_split(df, "time", "time_position")
    obs = from_columns(fresh, _REST_MAP, OPENSKY_UNITS)
    return obs, reject_frame, rejects


def _is_rest_response(v: object) -> bool:
    return isinstance(v, dict) and "states" in v


def _damaged(stretch: str, offset: int) -> tuple[str, str, int]:
    # state vectors are bare lists: how many a damaged stretch held is not known
    return "invalid_json", clip(f"at char {offset}: {len(stretch)} chars of damaged JSON"), 0


def read_rest(path: Path, batch_rows: int) -> Iterator[Piece]:
    """One REST response, or a log of them (text between responses counted as error bodies)."""
    for v in aircraft_json.poll_log(path, _is_rest_response, repr, _damaged):
        if isinstance(v, Piece):
            yield v
            continue
        obs, reject_frame, rejects = rest_rows(v)
        yield Piece(obs=obs, reject_frame=reject_frame, rejects=rejects)
