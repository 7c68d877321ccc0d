"""Boundary layers shipped with the package (not a stage: the airspace stage and the simulator
both read them; neither imports the other).

Layers (files in isrwatch/data/boundaries/, built by scripts/build_boundaries.py from npm packages):

- ``sovereign``: every country's sovereign area — land, territorial sea and internal waters —
  from OpenStreetMap (npm ``@osm_borders/maritime_100m@1.1.0``, simplified to 100 m). ODbL;
  anything drawn or computed from it must carry "© OpenStreetMap contributors (ODbL)".
  A 12 nm buffer around a coastline is not sovereign airspace and is never used as such.
- ``land``: land only (Natural Earth 1:10m via npm ``world-atlas@2.0.2``, public domain), so output
  can say "over land" versus "over territorial sea / internal waters". Its coastline is coarser
  (a few hundred metres) than the sovereign layer's.

Geometries are shapely 2 objects in WGS84 lon/lat degrees.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Iterable

import numpy as np
import polars as pl
import shapely

from isrwatch import paths

OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
NATURAL_EARTH_ATTRIBUTION = "Made with Natural Earth (public domain), via world-atlas"
FAA_ATTRIBUTION = "FAA aeronautical data (public domain)"
VATSPY_ATTRIBUTION = "VATSpy data project (CC BY-SA 4.0)"

# attribution per layer id; region kinds map onto the layers they are built from
LAYER_ATTRIBUTION = {
    "sovereign": OSM_ATTRIBUTION,
    "land": NATURAL_EARTH_ATTRIBUTION,
    "faa": FAA_ATTRIBUTION,
    "vatspy": VATSPY_ATTRIBUTION,
}


class UnknownRegion(KeyError):
    """A region id or country code that is not in the shipped layers."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else "unknown region"


def _dir():
    return paths.package_data("boundaries")


@cache
def _metadata() -> dict:
    return json.loads((_dir() / "metadata.json").read_text())


def metadata(layer: str | None = None) -> dict:
    """Source, version, licence, attribution and checksums of a shipped layer (or all of them)."""
    meta = _metadata()
    if layer is None:
        return {k: dict(v) for k, v in meta["layers"].items()}
    try:
        return dict(meta["layers"][layer])
    except KeyError:
        raise UnknownRegion(f"unknown boundary layer {layer!r}; known: {sorted(meta['layers'])}") from None


@cache
def sovereign_table() -> pl.DataFrame:
    """One row per country: iso3, iso2, name, wkb (MultiPolygon, WGS84). Sorted by iso3."""
    return pl.read_parquet(_dir() / "sovereign.parquet")


@cache
def _sovereign_geoms() -> tuple[np.ndarray, np.ndarray]:
    t = sovereign_table()
    return t["iso3"].to_numpy(), shapely.from_wkb(t["wkb"].to_numpy())


def sovereign_all() -> tuple[np.ndarray, np.ndarray]:
    """(iso3 codes, shapely geometries) for every country, aligned; cached, do not mutate."""
    return _sovereign_geoms()


def _norm_iso3(iso3: str) -> str:
    code = (iso3 or "").strip().upper()
    codes, _ = _sovereign_geoms()
    if code not in set(codes.tolist()):
        # accept alpha-2 too, as users type "MX"
        t = sovereign_table()
        hit = t.filter(pl.col("iso2") == code)["iso3"]
        if hit.len() == 1:
            return hit[0]
        raise UnknownRegion(f"unknown country code {iso3!r} (use ISO 3166-1 alpha-3, e.g. MEX)")
    return code


@cache
def sovereign(iso3: str) -> shapely.Geometry:
    """Sovereign area (land + territorial sea + internal waters) of one country, e.g. sovereign("MEX")."""
    code = _norm_iso3(iso3)
    codes, geoms = _sovereign_geoms()
    geom = geoms[int(np.flatnonzero(codes == code)[0])]
    shapely.prepare(geom)
    return geom


def country_name(iso3: str) -> str:
    code = _norm_iso3(iso3)
    return sovereign_table().filter(pl.col("iso3") == code)["name"][0]


@cache
def land() -> shapely.Geometry:
    """All land (Natural Earth 1:10m) as one MultiPolygon; prepared for fast point tests."""
    geom = shapely.from_wkb(pl.read_parquet(_dir() / "land.parquet")["wkb"][0])
    shapely.prepare(geom)
    return geom


@cache
def land_parts() -> np.ndarray:
    """Land as an array of Polygons (for spatial indexes)."""
    return shapely.get_parts(land())


def _is_country(code: str) -> bool:
    codes, _ = _sovereign_geoms()
    return code.upper() in set(codes.tolist())


def layers_of(region_id: str) -> tuple[str, ...]:
    """The boundary layers a layer or region id is drawn from (for attribution)."""
    if region_id in LAYER_ATTRIBUTION:
        return (region_id,)
    if _is_country(region_id):
        return ("sovereign",)
    for resolve in _REGION_LAYERS:  # areas of interest and context regions know their own layers
        layers = resolve(region_id)
        if layers:
            return tuple(layers)
    return ()


# Whoever builds regions from these layers (the airspace stage's catalog) registers how to find a
# region's layers, so this module never imports a stage.
_REGION_LAYERS: list = []


def register_layer_resolver(resolve) -> None:
    """resolve(region_id) -> the layer ids a derived region is drawn from, or () if unknown."""
    if resolve not in _REGION_LAYERS:
        _REGION_LAYERS.append(resolve)


def attribution(layer_ids: Iterable[str]) -> list[str]:
    """Attribution lines to print with any output that draws or uses these layers or regions.

    Accepts layer ids ("sovereign", "land", "faa", "vatspy") and region ids: a country code means
    the sovereign layer; a derived area of interest means every layer it was built from.
    Unknown ids contribute nothing (user GeoJSON carries its own attribution, if any).
    """
    if isinstance(layer_ids, str):
        layer_ids = [layer_ids]
    out: list[str] = []
    for lid in layer_ids:
        for layer in layers_of(lid):
            text = LAYER_ATTRIBUTION.get(layer)
            if text and text not in out:
                out.append(text)
    return out
