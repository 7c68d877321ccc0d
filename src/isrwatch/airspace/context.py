"""Context airspace that is not sovereignty: FIRs and control areas, ADIZs, special-use airspace.

Sources:

- FAA public boundary data (public domain): the ArcGIS FeatureServer layers "Boundary_Airspace"
  (ARTCC, FIR, ADIZ, CTA, OCA …) and "Special_Use_Airspace" (R, P, W, A, MOA …). download_faa()
  fetches them as GeoJSON pages into paths.cache_dir()/airspace/ with a small metadata file.
- The compact FAA file some tools ship (``{"fields": [...], "rows": [...]}`` with rings as
  [lat, lon]), and any airspace GeoJSON (FAA GeoJSON, VATSpy Boundaries.geojson, CC BY-SA 4.0).

load_airspace(path) reads any of these and returns Regions (kind fir / adiz / sua), one per
(type, identifier): sectors sharing an identifier are unioned. Region ids are
"<type>:<ident>" in lower-case type, e.g. "fir:MMFR", "adiz:CONTIGUOUS-U.S.-ADIZ", "r:R-2508",
"vatspy:MMFR". Rings crossing the antimeridian are split at ±180°.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import shapely
import shapely.affinity

from isrwatch import paths
from isrwatch.airspace.catalog import Region, register
from isrwatch.airspace.index import polygon_parts
from isrwatch.boundaries import FAA_ATTRIBUTION, VATSPY_ATTRIBUTION

FAA_SERVICES = "https://services6.arcgis.com/ssFJjBXIUyZDrSYZ/arcgis/rest/services"
FAA_LAYERS = {
    "boundary": "Boundary_Airspace/FeatureServer/0/query",
    "special_use": "Special_Use_Airspace/FeatureServer/0/query",
}
PAGE_SIZE = 1000
MAX_PAGES = 200  # a runaway server cannot make us loop forever

# FAA type codes -> region kind; anything else (class airspace, TRSA, …) is skipped by default
TYPE_KIND = {
    "FIR": "fir", "UIR": "fir", "CTA": "fir", "OCA": "fir", "ARTCC": "fir", "ACC": "fir", "UTA": "fir",
    "ADIZ": "adiz",
    "R": "sua", "P": "sua", "W": "sua", "A": "sua", "MOA": "sua", "D": "sua", "TFR": "sua",
    "SATA": "sua", "NSA": "sua", "TRA": "sua", "TSA": "sua",
}
DEFAULT_KINDS = ("fir", "adiz", "sua")


class AirspaceFileError(ValueError):
    """A context airspace file that cannot be read; the message says which file and why."""


def _ident(text: str) -> str:
    return re.sub(r"\s+", "-", str(text).strip()).upper()


def _ring_polygon(lonlat: np.ndarray) -> list[shapely.Geometry]:
    """A ring as valid polygons, split at the antimeridian when it crosses it."""
    if len(lonlat) < 3:
        return []
    lon = lonlat[:, 0].copy()
    if lon.max() - lon.min() > 180.0:  # crosses ±180: unwrap to 0..360, then split back
        lon = np.where(lon < 0, lon + 360.0, lon)
        poly = shapely.make_valid(shapely.Polygon(np.column_stack([lon, lonlat[:, 1]])))
        west = shapely.clip_by_rect(poly, -180.0, -90.0, 180.0, 90.0)
        east = shapely.affinity.translate(shapely.clip_by_rect(poly, 180.0, -90.0, 540.0, 90.0), xoff=-360.0)
        geom = shapely.union_all([west, east])
    else:
        geom = shapely.make_valid(shapely.Polygon(lonlat))
    return polygon_parts(geom)


def _geojson_polygons(geometry: dict) -> list[shapely.Geometry]:
    t = geometry.get("type")
    if t == "Polygon":
        rings = [geometry["coordinates"]]
    elif t == "MultiPolygon":
        rings = geometry["coordinates"]
    elif t == "GeometryCollection":
        return [p for g in geometry.get("geometries", []) for p in _geojson_polygons(g)]
    else:
        return []
    out = []
    for poly in rings:
        if not poly:
            continue
        outer = _ring_polygon(np.asarray(poly[0], dtype=float)[:, :2])
        holes = [h for r in poly[1:] for h in _ring_polygon(np.asarray(r, dtype=float)[:, :2])]
        for o in outer:
            out.append(shapely.difference(o, shapely.union_all(holes)) if holes else o)
    return out


def _prop(props: dict, *names: str):
    low = {k.lower(): v for k, v in props.items()}
    for n in names:
        v = low.get(n.lower())
        if v not in (None, ""):
            return v
    return None


def _collect(items: Iterable[tuple[str, str, str, list, dict]], *, source: str, version: str, licence: str,
             attribution: str, layer: str, kinds: tuple[str, ...], id_prefix: str | None) -> list[Region]:
    groups: dict[tuple[str, str], dict] = {}
    for type_code, ident, name, polys, props in items:
        kind = "fir" if id_prefix == "vatspy" else TYPE_KIND.get(type_code.upper())
        if kind is None or kind not in kinds or not polys:
            continue
        prefix = id_prefix or type_code.lower()
        key = (prefix, ident)
        g = groups.setdefault(key, {"kind": kind, "name": name, "type": type_code, "polys": [], "sectors": []})
        g["polys"].extend(polys)
        # sector attributes without the geometry the compact format carries inline
        g["sectors"].append(
            {k: v for k, v in props.items() if k not in ("ring", "arcs") and (isinstance(v, (str, int, float, list)) or v is None)}
        )
    out = []
    for (prefix, ident), g in sorted(groups.items()):
        geom = shapely.make_valid(shapely.union_all(g["polys"]))
        out.append(
            register(
                Region(
                    id=f"{prefix}:{ident}",
                    name=str(g["name"]),
                    kind=g["kind"],
                    geometry=geom,
                    source=source,
                    version=version,
                    licence=licence,
                    attribution=(attribution,),
                    layers=(layer,),
                    description=f"{g['type']} {ident}",
                    properties={"type": g["type"], "sectors": len(g["sectors"]), "first_sector": g["sectors"][0]},
                )
            )
        )
    return out


def _version_of(path: Path) -> str:
    """The file's own date if a metadata file sits next to it, else its sha256 prefix."""
    for meta in (path.with_suffix(".meta.json"), path.parent / (path.name.split(".")[0] + ".meta.json")):
        if meta.exists():
            try:
                m = json.loads(meta.read_text())
                v = m.get("generatedAt") or m.get("fetched_at")
                if v:
                    return str(v)
            except (OSError, json.JSONDecodeError):
                pass
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def load_airspace(path: str | Path, *, kinds: Iterable[str] = DEFAULT_KINDS) -> list[Region]:
    """Context regions from an FAA compact JSON, FAA GeoJSON or VATSpy GeoJSON file.

    Raises AirspaceFileError for a file that is not one of those formats.
    """
    path = Path(path)
    kinds = tuple(kinds)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AirspaceFileError(f"{path}: not readable JSON ({exc})") from None
    version = _version_of(path)
    if isinstance(doc, dict) and "fields" in doc and "rows" in doc:
        return _load_compact(doc, path, version, kinds)
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = [f for f in doc.get("features") or [] if isinstance(f, dict) and f.get("geometry")]
        is_vatspy = "VATSIM" in str(doc.get("name", "")) or (
            feats and "oceanic" in (feats[0].get("properties") or {}) and "division" in (feats[0].get("properties") or {})
        )
        if is_vatspy:
            items = (
                ("FIR", _ident(p.get("id", "")), str(p.get("id", "")), _geojson_polygons(f["geometry"]), p)
                for f in feats
                for p in [f.get("properties") or {}]
                if p.get("id")
            )
            return _collect(items, source=f"file:{path.name} (VATSpy)", version=version, licence="CC BY-SA 4.0",
                            attribution=VATSPY_ATTRIBUTION, layer="vatspy", kinds=kinds, id_prefix="vatspy")

        def faa_items():
            for f in feats:
                p = f.get("properties") or {}
                type_code = _prop(p, "type", "TYPE_CODE", "LOCAL_TYPE")
                ident = _prop(p, "id", "IDENT", "ICAO_ID", "NAME")
                if not type_code or not ident:
                    continue
                yield str(type_code), _ident(ident), str(_prop(p, "name", "NAME") or ident), _geojson_polygons(f["geometry"]), p

        return _collect(faa_items(), source=f"file:{path.name} (FAA)", version=version, licence="public domain",
                        attribution=FAA_ATTRIBUTION, layer="faa", kinds=kinds, id_prefix=None)
    raise AirspaceFileError(f"{path}: neither an FAA airspace file nor a GeoJSON FeatureCollection")


def _load_compact(doc: dict, path: Path, version: str, kinds: tuple[str, ...]) -> list[Region]:
    fields = doc["fields"]
    try:
        i_id, i_type, i_name, i_ring = (fields.index(k) for k in ("id", "type", "name", "ring"))
    except ValueError:
        raise AirspaceFileError(f"{path}: compact airspace file without id/type/name/ring fields") from None

    def items():
        for row in doc["rows"]:
            ring = row[i_ring]
            if not ring or len(ring) < 3:
                continue
            latlon = np.asarray(ring, dtype=float)
            lonlat = latlon[:, [1, 0]]  # the compact file stores [lat, lon]
            yield str(row[i_type]), _ident(row[i_id]), str(row[i_name]), _ring_polygon(lonlat), dict(zip(fields, row))

    return _collect(items(), source=f"file:{path.name} (FAA compact)", version=version, licence="public domain",
                    attribution=FAA_ATTRIBUTION, layer="faa", kinds=kinds, id_prefix=None)


def _fetch_layer(client, url: str) -> dict:
    """All features of one ArcGIS FeatureServer layer as one GeoJSON FeatureCollection (paged)."""
    features: list = []
    for _page in range(MAX_PAGES):
        params = {
            "where": "1=1",
            "outFields": "*",
            "f": "geojson",
            "outSR": "4326",
            # servers cap pages at their own maxRecordCount: advance by what actually came back
            "resultOffset": str(len(features)),
            "resultRecordCount": str(PAGE_SIZE),
        }
        resp = client.get(url, params=params)
        resp.raise_for_status()
        try:
            doc = resp.json()
        except json.JSONDecodeError:
            raise AirspaceFileError(f"{url}: response is not JSON") from None
        if "error" in doc:
            raise AirspaceFileError(f"{url}: server error {doc['error']}")
        batch = doc.get("features")
        if not isinstance(batch, list):
            raise AirspaceFileError(f"{url}: response has no features list")
        features.extend(batch)
        more = doc.get("exceededTransferLimit") or (doc.get("properties") or {}).get("exceededTransferLimit")
        if not more or not batch:
            break
    else:
        raise AirspaceFileError(f"{url}: more than {MAX_PAGES} pages, giving up")
    return {"type": "FeatureCollection", "features": features}


def download_faa(*, base_url: str = FAA_SERVICES, cache: Path | None = None, timeout: float = 60.0,
                 client=None) -> list[Path]:
    """Download the FAA boundary and special-use airspace layers into the cache; return the files.

    Each layer is written as <cache>/airspace/faa_<layer>.geojson with <…>.meta.json next to it
    (url, fetched_at, sha256, feature count). Raises httpx errors on network failure.
    """
    import httpx

    out_dir = (cache or paths.cache_dir()) / "airspace"
    out_dir.mkdir(parents=True, exist_ok=True)
    own = client is None
    client = client or httpx.Client(timeout=timeout, follow_redirects=True)
    written = []
    try:
        for layer, rel in FAA_LAYERS.items():
            url = f"{base_url.rstrip('/')}/{rel}"
            fc = _fetch_layer(client, url)
            data = json.dumps(fc, separators=(",", ":")).encode()
            target = out_dir / f"faa_{layer}.geojson"
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
            meta = {
                "url": url,
                "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "sha256": hashlib.sha256(data).hexdigest(),
                "features": len(fc["features"]),
                "licence": "public domain",
                "attribution": FAA_ATTRIBUTION,
            }
            (out_dir / f"faa_{layer}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")
            written.append(target)
    finally:
        if own:
            client.close()
    return written


def cached_faa_files(cache: Path | None = None) -> list[Path]:
    """FAA layers already in the cache (empty list when never downloaded)."""
    d = (cache or paths.cache_dir()) / "airspace"
    return [p for p in (d / f"faa_{k}.geojson" for k in FAA_LAYERS) if p.exists()]
