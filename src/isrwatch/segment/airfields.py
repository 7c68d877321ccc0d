"""Airfields and a vectorised "which airfields are near these points" search.

The airfield table comes from the `airportsdata` package (MIT; ~28,000 ICAO-coded
airports, including military bases such as KRIV March ARB, KNZY NAS North Island, KOFF
Offutt, RODN Kadena). It is read once per process and cached.

The search is a latitude-band sweep with a 1-degree cell index on (lat cell, lon): a
compiled kernel (segment.kernels) binary-searches each query's cells and measures only the
airfields there. Distances are great-circle (haversine) kilometres.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from isrwatch.geo import EARTH_RADIUS_KM
from isrwatch.segment import kernels

KM_PER_DEG_LAT = np.pi * EARTH_RADIUS_KM / 180.0

# columns of an airfield table (airfields= arguments take this shape)
AIRFIELDS: dict[str, pl.DataType] = {
    "icao": pl.String,  # ICAO location indicator, e.g. KNZY
    "name": pl.String,
    "country": pl.String,  # ISO 3166-1 alpha-2
    "lat": pl.Float64,
    "lon": pl.Float64,
    "elevation_ft": pl.Float64,  # feet above mean sea level
}


@lru_cache(maxsize=1)
def load_airfields() -> pl.DataFrame:
    """Every airfield with an ICAO code in `airportsdata` (table in AIRFIELDS shape)."""
    import airportsdata

    table = airportsdata.load("ICAO")
    rows = list(table.values())
    df = pl.DataFrame(
        {
            "icao": [r["icao"] for r in rows],
            "name": [r["name"] for r in rows],
            "country": [r["country"] for r in rows],
            "lat": [float(r["lat"]) for r in rows],
            "lon": [float(r["lon"]) for r in rows],
            "elevation_ft": [float(r["elevation"] or 0.0) for r in rows],
        },
        schema=AIRFIELDS,
    )
    return df.filter(pl.col("lat").is_between(-90, 90) & pl.col("lon").is_between(-180, 180))


class AirfieldIndex:
    """A sorted (lat cell, lon) index over an airfield table for radius searches."""

    def __init__(self, airfields: pl.DataFrame):
        missing = {"icao", "lat", "lon"} - set(airfields.columns)
        if missing:
            raise ValueError(f"airfield table lacks columns {sorted(missing)}")
        af = airfields
        if "elevation_ft" not in af.columns:
            af = af.with_columns(pl.lit(0.0).alias("elevation_ft"))
        af = af.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
        self.icao = af["icao"].to_numpy()
        self.lat = af["lat"].to_numpy().astype(np.float64)
        self.lon = af["lon"].to_numpy().astype(np.float64)
        self.elev = af["elevation_ft"].fill_null(0.0).to_numpy().astype(np.float64)
        # rank of each code in sorted order: ties in distance go to the first code, every run
        self._code_rank = np.argsort(np.argsort(self.icao.astype(str), kind="stable"), kind="stable")
        # Copies shifted by +-360 degrees near the antimeridian so a search never wraps.
        near_am = np.abs(self.lon) > 170.0
        ids = np.concatenate([np.arange(len(self.lat)), np.flatnonzero(near_am)])
        lons = np.concatenate([self.lon, self.lon[near_am] - 360.0 * np.sign(self.lon[near_am])])
        lats = self.lat[ids]
        cell = np.floor(lats).astype(np.int64)
        key = cell * 1000.0 + (lons + 360.0)  # lon + 360 in [170, 550): cells never overlap
        order = np.argsort(key, kind="stable")
        self._key = key[order]
        self._ids = ids[order]

    def __len__(self) -> int:
        return len(self.lat)

    def pairs_within(self, lat, lon, radius_km) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All (query index, airfield index, distance km) with distance <= radius_km.

        lat, lon, radius_km: arrays of the same length (radius may vary per query).
        """
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        radius = np.ascontiguousarray(np.broadcast_to(np.asarray(radius_km, dtype=np.float64), lat.shape))
        # a compiled walk over the few index entries each query's cells hold
        return kernels.airfield_pairs(self._key, self._ids, self.lat, self.lon, lat, lon, radius, KM_PER_DEG_LAT, EARTH_RADIUS_KM)

    def nearest(self, lat, lon, radius_km: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest airfield index (-1 when none) and distance km (nan) within radius_km; ties
        in distance go to the first ICAO code, every run."""
        return kernels.airfield_nearest(
            self._key, self._ids, self.lat, self.lon, self._code_rank,
            np.ascontiguousarray(lat, dtype=np.float64), np.ascontiguousarray(lon, dtype=np.float64),
            float(radius_km), KM_PER_DEG_LAT, EARTH_RADIUS_KM,
        )


@lru_cache(maxsize=4)
def _default_index() -> AirfieldIndex:
    return AirfieldIndex(load_airfields())


def airfield_index(airfields: pl.DataFrame | None) -> AirfieldIndex:
    """The index for a given table, or the cached one over every airportsdata airfield."""
    if airfields is None:
        return _default_index()
    return AirfieldIndex(airfields)


def nearest_airfield(
    points: pl.DataFrame, *, airfields: pl.DataFrame | None = None, radius_km: float = 5.0
) -> pl.DataFrame:
    """For a table with lat, lon: the nearest airfield within radius_km.

    Returns the input with airfield (ICAO, null when none), airfield_km and
    airfield_elevation_ft added.
    """
    index = airfield_index(airfields)
    best, dist = index.nearest(points["lat"].to_numpy(), points["lon"].to_numpy(), radius_km)
    found = best >= 0
    icao = np.where(found, index.icao[np.maximum(best, 0)] if len(index) else None, None)
    elev = np.where(found, index.elev[np.maximum(best, 0)] if len(index) else np.nan, np.nan)
    return points.with_columns(
        pl.Series("airfield", icao, dtype=pl.String),
        pl.Series("airfield_km", dist, dtype=pl.Float64).fill_nan(None),
        pl.Series("airfield_elevation_ft", elev, dtype=pl.Float64).fill_nan(None),
    )
