"""Regions: sovereign airspace, land, named areas of interest computed from the boundaries, and
context regions (FIRs, ADIZs, special-use airspace, user GeoJSON) loaded from files.

Every Region carries id, name, kind (sovereign / land / aoi / fir / adiz / sua / user), source,
version, licence and attribution lines, and its geometry in WGS84 lon/lat.

Region ids understood by get_region():

====================  =========================================================================
``MEX`` (any ISO3)    sovereign airspace: land + territorial sea + internal waters (OSM layer)
``land``              all land (Natural Earth 1:10m)
``us-mex-border[:KM]``  US–Mexico land border corridor, KM km either side (default 50)
``baja-pacific[:KM]``   Baja California's Pacific approaches: sea within KM km (default 100)
``gulf-of-california``  the sea between the Baja California peninsula and the mainland
``near:ISO3:KM``      within KM km of that country's sovereign airspace (its area included)
``fir:…`` ``adiz:…`` …  context regions from a loaded airspace file (see isrwatch.airspace.context)
``user:NAME``         a user GeoJSON loaded with load_user_geojson()
====================  =========================================================================

How the areas of interest are derived (nothing is hand-drawn; the only fixed numbers are the
search boxes that say which part of the world to look in, and the documented distances):

- US–Mexico border line: the part of Mexico's sovereign boundary that lies within 0.003°
  (~300 m, the two countries' 100 m-simplified lines do not coincide exactly) of the United States'
  sovereign area, kept only where it runs over land — the maritime boundaries in the Pacific and
  the Gulf of Mexico drop out. The corridor is that line buffered geodesically by KM km.
- Gulf of California: the peninsula's tip is Mexico's southernmost land point west of 108°W
  (Cabo San Lucas). The sea north of the parallel through that tip, inside a box around the
  peninsula, splits into two pieces at the peninsula: the piece that reaches the open Pacific
  (the box's west edge) is the Pacific side, the other is the Gulf of California.
- Baja California Pacific approaches: the Pacific side's coastline inside Mexico's sovereign area
  (the peninsula's west coast and its Pacific islands, Isla Guadalupe included), buffered
  geodesically by KM km, minus land, minus the Gulf of California, minus US sovereign area.
- near:ISO3:KM: the country's sovereign area buffered geodesically by KM km (tile-wise local
  azimuthal-equidistant projections, see geodesy.buffer_km).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import shapely

from isrwatch import boundaries as regions
from isrwatch.airspace.geodesy import buffer_km
from isrwatch.airspace.index import polygon_parts

KINDS = ("sovereign", "land", "aoi", "fir", "adiz", "sua", "user")
DEFAULT_BORDER_KM = 50.0
DEFAULT_BAJA_KM = 100.0

# search boxes (lon_min, lat_min, lon_max, lat_max): where to look, not the answer
_US_MEX_BOX = (-118.5, 24.5, -96.0, 33.5)
_BAJA_BOX = (-120.0, 20.0, -104.0, 33.0)
_BAJA_TIP_WEST_OF = -108.0
_BORDER_TOLERANCE_DEG = 0.003


@dataclass(frozen=True)
class Region:
    id: str
    name: str
    kind: str
    geometry: Any = field(repr=False, compare=False)
    source: str = ""
    version: str = ""
    licence: str = ""
    attribution: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()  # boundary layers it is built from (for attribution)
    description: str = ""
    properties: dict = field(default_factory=dict, compare=False, repr=False)

    def info(self) -> dict:
        """Metadata with stable keys (no geometry)."""
        b = self.geometry.bounds if self.geometry is not None and not self.geometry.is_empty else None
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "version": self.version,
            "licence": self.licence,
            "attribution": list(self.attribution),
            "description": self.description,
            "bbox": list(b) if b else None,
            "properties": dict(self.properties),
        }

    def to_geojson(self) -> dict:
        """A GeoJSON FeatureCollection of this region with its metadata and attribution."""
        return {
            "type": "FeatureCollection",
            "attribution": list(self.attribution),
            "features": [
                {
                    "type": "Feature",
                    "properties": {k: v for k, v in self.info().items() if k != "bbox"},
                    "geometry": shapely.geometry.mapping(self.geometry),
                }
            ],
        }


# regions loaded from files in this process (context layers, user GeoJSON), by id
_LOADED: dict[str, Region] = {}


def register(region: Region) -> Region:
    """Make a loaded region findable by get_region() and attribution()."""
    _LOADED[region.id] = region
    return region


def _osm_meta() -> dict:
    return regions.metadata("sovereign")


def _land_meta() -> dict:
    return regions.metadata("land")


def _derived(rid: str, name: str, geom, layers: tuple[str, ...], description: str, **props) -> Region:
    metas = [regions.metadata(layer) for layer in layers]
    return Region(
        id=rid,
        name=name,
        kind="aoi",
        geometry=geom,
        source=" + ".join(f"{m['package']}@{m['version']}" for m in metas),
        version=" + ".join(m["version"] for m in metas),
        licence=" + ".join(dict.fromkeys(m["licence"] for m in metas)),
        attribution=tuple(regions.attribution(layers)),
        layers=layers,
        description=description,
        properties=props,
    )


def sovereign_region(iso3: str) -> Region:
    code = regions._norm_iso3(iso3)
    m = _osm_meta()
    return Region(
        id=code,
        name=f"{regions.country_name(code)} sovereign airspace",
        kind="sovereign",
        geometry=regions.sovereign(code),
        source=f"{m['package']}@{m['version']}",
        version=m["version"],
        licence=m["licence"],
        attribution=(m["attribution"],),
        layers=("sovereign",),
        description="land + territorial sea + internal waters (OpenStreetMap, 100 m)",
    )


def land_region() -> Region:
    m = _land_meta()
    return Region(
        id="land",
        name="Land",
        kind="land",
        geometry=regions.land(),
        source=f"{m['package']}@{m['version']}",
        version=m["version"],
        licence=m["licence"],
        attribution=(m["attribution"],),
        layers=("land",),
        description="Natural Earth 1:10m land",
    )


@cache
def us_mex_border_line() -> shapely.Geometry:
    """The US–Mexico land border as a line (see module docstring for the construction)."""
    mex = shapely.clip_by_rect(regions.sovereign("MEX"), *_US_MEX_BOX)
    usa = shapely.clip_by_rect(regions.sovereign("USA"), *_US_MEX_BOX)
    shared = shapely.intersection(shapely.boundary(mex), shapely.buffer(usa, _BORDER_TOLERANCE_DEG))
    land = shapely.clip_by_rect(regions.land(), *_US_MEX_BOX)
    return shapely.line_merge(shapely.intersection(shared, land))


def us_mex_border_corridor(km: float = DEFAULT_BORDER_KM) -> Region:
    geom = buffer_km(us_mex_border_line(), km)
    return _derived(
        _param_id("us-mex-border", km, DEFAULT_BORDER_KM),
        f"US–Mexico land border corridor (±{km:g} km)",
        geom,
        ("sovereign", "land"),
        f"within {km:g} km either side of the US–Mexico land border line (shared boundary of USA and "
        "MEX sovereign areas, over land)",
        km=km,
    )


@cache
def _baja_split() -> tuple[shapely.Geometry, shapely.Geometry, tuple[float, float]]:
    """(Pacific-side sea, Gulf of California sea, peninsula tip lon/lat) north of the tip's parallel."""
    land = shapely.clip_by_rect(regions.land(), *_BAJA_BOX)
    mex = shapely.clip_by_rect(regions.sovereign("MEX"), *_BAJA_BOX)
    mex_land = shapely.intersection(land, mex)
    xy = shapely.get_coordinates(mex_land)
    west = xy[xy[:, 0] < _BAJA_TIP_WEST_OF]
    tip = west[np.argmin(west[:, 1])]
    # a hair north of the tip so the peninsula crosses the cut with finite width
    box = shapely.box(_BAJA_BOX[0], tip[1] + 0.001, _BAJA_BOX[2], _BAJA_BOX[3])
    water = shapely.difference(box, land)
    pacific, gulf = [], []
    for part in shapely.get_parts(water):
        (pacific if part.bounds[0] <= _BAJA_BOX[0] + 1e-9 else gulf).append(part)
    if not gulf:  # pragma: no cover - only if the land layer changed beyond recognition
        raise RuntimeError("could not separate the Gulf of California from the Pacific")
    return shapely.union_all(pacific), shapely.union_all(gulf), (float(tip[0]), float(tip[1]))


def gulf_of_california() -> Region:
    _, gulf, tip = _baja_split()
    return _derived(
        "gulf-of-california",
        "Gulf of California",
        gulf,
        ("land", "sovereign"),
        "sea between the Baja California peninsula and the mainland, north of the parallel through the "
        f"peninsula's southernmost point ({tip[1]:.4f}N {abs(tip[0]):.4f}W, Cabo San Lucas)",
        tip_lon=tip[0],
        tip_lat=tip[1],
    )


@cache
def baja_pacific_coast() -> shapely.Geometry:
    """The Pacific coastline of Baja California (peninsula and islands) inside Mexico, as lines."""
    pacific, _, _ = _baja_split()
    edges = shapely.boundary(pacific)
    box_edges = shapely.buffer(shapely.boundary(shapely.box(*pacific.bounds)), 1e-6)
    coast = shapely.difference(edges, box_edges)
    return shapely.line_merge(shapely.intersection(coast, regions.sovereign("MEX")))


def baja_pacific(km: float = DEFAULT_BAJA_KM) -> Region:
    _, gulf, _ = _baja_split()
    area = buffer_km(baja_pacific_coast(), km)
    near = shapely.clip_by_rect(regions.land(), *area.bounds)
    usa = shapely.clip_by_rect(regions.sovereign("USA"), *area.bounds)
    geom = shapely.difference(shapely.difference(shapely.difference(area, near), gulf), usa)
    return _derived(
        _param_id("baja-pacific", km, DEFAULT_BAJA_KM),
        f"Baja California Pacific approaches (≤{km:g} km)",
        geom,
        ("sovereign", "land"),
        f"sea within {km:g} km of Baja California's Pacific coast (peninsula and islands), outside the Gulf "
        "of California and outside US sovereign area",
        km=km,
    )


def near_country(iso3: str, km: float) -> Region:
    code = regions._norm_iso3(iso3)
    geom = buffer_km(regions.sovereign(code), km)
    return _derived(
        f"near:{code}:{km:g}",
        f"Within {km:g} km of {regions.country_name(code)} sovereign airspace",
        geom,
        ("sovereign",),
        f"{code} sovereign airspace grown by {km:g} km (geodesic), the sovereign area included",
        km=km,
        country=code,
    )


def _param_id(base: str, km: float, default: float) -> str:
    return base if km == default else f"{base}:{km:g}"


def _km(text: str) -> float:
    try:
        km = float(text.removesuffix("km"))
    except ValueError:
        raise regions.UnknownRegion(f"bad distance {text!r} in region id (expected km, e.g. 50)") from None
    if not (0 < km <= 2000):
        raise regions.UnknownRegion(f"distance {km:g} km out of range (0, 2000]")
    return km


NAMED_AOIS = {
    "us-mex-border": "US–Mexico land border corridor (±50 km; us-mex-border:KM for another width)",
    "baja-pacific": "Baja California Pacific approaches (≤100 km; baja-pacific:KM)",
    "gulf-of-california": "Gulf of California (sea between the peninsula and the mainland)",
}


@cache
def _get_builtin(rid: str) -> Region:
    if rid == "land":
        return land_region()
    if rid == "gulf-of-california":
        return gulf_of_california()
    base, _, arg = rid.partition(":")
    if base == "us-mex-border":
        return us_mex_border_corridor(_km(arg) if arg else DEFAULT_BORDER_KM)
    if base == "baja-pacific":
        return baja_pacific(_km(arg) if arg else DEFAULT_BAJA_KM)
    if base == "near":
        code, _, km = arg.partition(":")
        if not km:
            raise regions.UnknownRegion(f"{rid!r}: use near:ISO3:KM, e.g. near:MEX:50")
        return near_country(code, _km(km))
    try:
        return sovereign_region(rid)
    except regions.UnknownRegion:
        raise regions.UnknownRegion(
            f"unknown region {rid!r}: use a country code (MEX), land, "
            f"{', '.join(NAMED_AOIS)}, near:ISO3:KM, or a region from a loaded airspace / GeoJSON file"
        ) from None


def get_region(rid: str) -> Region:
    """A region by id (see the module docstring); raises UnknownRegion with a clear message."""
    rid = (rid or "").strip()
    if rid in _LOADED:
        return _LOADED[rid]
    if re.fullmatch(r"[A-Za-z]{2,3}", rid):
        rid = rid.upper()
    return _get_builtin(rid)


def layers_of(region_id: str) -> tuple[str, ...]:
    """Boundary layers a region is drawn from (for attribution); () for unknown / user regions."""
    if region_id in _LOADED:
        return _LOADED[region_id].layers
    base = region_id.split(":", 1)[0]
    if base in ("us-mex-border", "baja-pacific", "gulf-of-california"):
        return ("sovereign", "land")
    if base == "near":
        return ("sovereign",)
    if base in ("fir", "adiz", "sua", "faa"):
        return ("faa",)
    return ()


regions.register_layer_resolver(layers_of)


def list_regions(kind: str | None = None) -> pl.DataFrame:
    """Known regions with their metadata (countries, land, named AOIs, loaded ones); no geometry."""
    rows = []
    t = regions.sovereign_table()
    m = _osm_meta()
    for iso3, name in zip(t["iso3"], t["name"]):
        rows.append(("sovereign", iso3, f"{name} sovereign airspace", m, (m["attribution"],)))
    lm = _land_meta()
    rows.append(("land", "land", "Land", lm, (lm["attribution"],)))
    for rid, name in NAMED_AOIS.items():
        rows.append(("aoi", rid, name, None, tuple(regions.attribution(["sovereign", "land"]))))
    out = {k: [] for k in ("id", "name", "kind", "source", "version", "licence", "attribution")}
    for kind_, rid, name, meta, attr in rows:
        out["id"].append(rid)
        out["name"].append(name)
        out["kind"].append(kind_)
        if meta is None:
            out["source"].append(f"derived from {m['package']}@{m['version']} + {lm['package']}@{lm['version']}")
            out["version"].append(f"{m['version']} + {lm['version']}")
            out["licence"].append(f"{m['licence']} + {lm['licence']}")
        else:
            out["source"].append(f"{meta['package']}@{meta['version']}")
            out["version"].append(meta["version"])
            out["licence"].append(meta["licence"])
        out["attribution"].append(list(attr))
    for r in _LOADED.values():
        out["id"].append(r.id)
        out["name"].append(r.name)
        out["kind"].append(r.kind)
        out["source"].append(r.source)
        out["version"].append(r.version)
        out["licence"].append(r.licence)
        out["attribution"].append(list(r.attribution))
    df = pl.DataFrame(
        out,
        schema={
            "id": pl.String,
            "name": pl.String,
            "kind": pl.String,
            "source": pl.String,
            "version": pl.String,
            "licence": pl.String,
            "attribution": pl.List(pl.String),
        },
    )
    return df.filter(pl.col("kind") == kind) if kind else df


def load_user_geojson(path: str | Path, *, region_id: str | None = None, name: str | None = None,
                      attribution: str | None = None, licence: str = "") -> Region:
    """Any GeoJSON (FeatureCollection, Feature or bare geometry) as one region of kind "user".

    Polygonal parts are unioned; invalid rings are repaired (make_valid). Coordinates must be
    WGS84 lon/lat (GeoJSON order); files with no polygon raise a ValueError.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable GeoJSON ({exc})") from None
    geoms = []
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in doc.get("features") or [] if isinstance(f, dict)]
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        geoms = [doc.get("geometry")]
    elif isinstance(doc, dict) and "type" in doc:
        geoms = [doc]
    polys = []
    for g in geoms:
        if not g:
            continue
        try:
            shp = shapely.make_valid(shapely.geometry.shape(g))
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise ValueError(f"{path}: bad geometry ({exc})") from None
        polys.extend(polygon_parts(shp))
    if not polys:
        raise ValueError(f"{path}: no polygon in this GeoJSON")
    geom = shapely.union_all(polys)
    b = geom.bounds
    if b[0] < -180.0001 or b[2] > 180.0001 or b[1] < -90.0001 or b[3] > 90.0001:
        raise ValueError(f"{path}: coordinates outside lon/lat range (GeoJSON must be WGS84 lon, lat)")
    rid = region_id or f"user:{path.stem}"
    return register(
        Region(
            id=rid,
            name=name or path.stem,
            kind="user",
            geometry=geom,
            source=f"file:{path.name}",
            version="",
            licence=licence,
            attribution=(attribution,) if attribution else (),
            layers=(),
            description="user GeoJSON",
        )
    )
