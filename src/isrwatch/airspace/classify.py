"""Per observation: in which country's sovereign airspace, over land or sea, inside which AOIs.

Vectorised over the whole table through a lazily filled two-level grid (see index.PolygonIndex):
points far from any boundary are answered by array look-ups, only points within a few km of a
boundary get the exact shapely test. Indexes are cached per set of countries / per region, so
repeated calls (and chunks of a large table) pay the one-time grid work once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
import polars as pl
import shapely

from isrwatch import boundaries as regions
from isrwatch.airspace.catalog import Region, get_region
from isrwatch.airspace.index import PolygonIndex, polygon_parts


@lru_cache(maxsize=16)
def sovereign_index(countries: tuple[str, ...] | None = None) -> tuple[np.ndarray, PolygonIndex]:
    """(iso3 codes, index) over all countries or the given ones; smallest area wins on overlap."""
    codes, geoms = regions.sovereign_all()
    if countries is not None:
        want = [regions._norm_iso3(c) for c in countries]
        pos = np.array([int(np.flatnonzero(codes == c)[0]) for c in dict.fromkeys(want)], dtype=np.int64)
        codes, geoms = codes[pos], geoms[pos]
    return codes, PolygonIndex(geoms, shapely.area(geoms))


@lru_cache(maxsize=1)
def land_index() -> PolygonIndex:
    return PolygonIndex(regions.land_parts())


# keyed by id and geometry identity; the geometry is kept with its index so its id() cannot be
# reused by another geometry while the entry lives
_REGION_INDEX: dict[tuple[str, int], tuple[object, PolygonIndex]] = {}


def region_index(region: Region | shapely.Geometry, region_id: str | None = None) -> PolygonIndex:
    """A cached point index for one region (keyed by id and geometry identity)."""
    geom = region.geometry if isinstance(region, Region) else region
    key = (region.id if isinstance(region, Region) else (region_id or ""), id(geom))
    hit = _REGION_INDEX.get(key)
    idx = hit[1] if hit is not None and hit[0] is geom else None
    if idx is None:
        idx = PolygonIndex(polygon_parts(geom))
        if len(_REGION_INDEX) > 32:
            _REGION_INDEX.clear()
        _REGION_INDEX[key] = (geom, idx)
    return idx


def aoi_column(region_id: str) -> str:
    """Column name classify_points uses for an AOI: "in_" + the id with non-alphanumerics as "_"."""
    return "in_" + re.sub(r"[^0-9A-Za-z]+", "_", region_id).strip("_")


def _coords(obs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for c in ("lat", "lon"):
        if c not in obs.columns:
            raise ValueError(f"observations need a {c!r} column (WGS84 degrees)")
    lat = obs["lat"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    lon = obs["lon"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    valid = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    return lon, lat, valid


def classify_points(
    obs: pl.DataFrame,
    *,
    countries: Sequence[str] | None = None,
    aois: Iterable[str | Region] | None = None,
    aoi_list: bool = False,
) -> pl.DataFrame:
    """obs with added columns:

    - sovereign (str, ISO 3166-1 alpha-3 or null): whose sovereign airspace (land, territorial sea,
      internal waters) the position is in, among `countries` (default: every country). Where areas
      overlap (a dependency inside its parent's OSM area, a disputed area) the smallest area wins;
      ask for specific countries to test each on its own.
    - over_land (bool): over land (Natural Earth 1:10m) — else over water; null without a position.
    - one bool column per AOI, named by aoi_column(id) (e.g. "in_gulf_of_california"), or with
      aoi_list=True a single list column "aois" with the ids of the AOIs containing the position.

    Rows without a valid position get nulls; no row is dropped or reordered.
    """
    lon, lat, valid = _coords(obs)
    key = None if countries is None else tuple(countries)
    codes, sidx = sovereign_index(key)
    loc = sidx.locate(lon, lat)
    names = pl.Series("sovereign", codes.tolist(), dtype=pl.String)
    sov = pl.select(
        pl.when(pl.Series(loc >= 0)).then(names.gather(np.maximum(loc, 0))).otherwise(None).alias("sovereign")
    ).to_series()
    land = land_index().contains(lon, lat)
    cols = [
        sov,
        pl.Series("over_land", land, dtype=pl.Boolean),
    ]
    mask = pl.Series("_valid", valid)
    out = obs.with_columns(cols)
    out = out.with_columns(pl.when(mask).then(pl.col("over_land")).otherwise(None).alias("over_land"))
    regions_ = [a if isinstance(a, Region) else get_region(a) for a in (aois or [])]
    if regions_:
        flags = {r.id: region_index(r).contains(lon, lat) & valid for r in regions_}
        if aoi_list:
            tmp = pl.DataFrame({f"_a{i}": f for i, f in enumerate(flags.values())})
            lists = tmp.select(
                pl.concat_list(
                    [pl.when(pl.col(f"_a{i}")).then(pl.lit(rid)).otherwise(None) for i, rid in enumerate(flags)]
                ).list.drop_nulls().alias("aois")
            )
            out = out.with_columns(lists["aois"])
        else:
            out = out.with_columns(
                [pl.Series(aoi_column(rid), f, dtype=pl.Boolean) for rid, f in flags.items()]
            ).with_columns([pl.when(mask).then(pl.col(aoi_column(rid))).otherwise(None) for rid in flags])
    return out
