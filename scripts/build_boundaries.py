#!/usr/bin/env python3
"""Build the boundary layers shipped in src/isrwatch/data/boundaries/ from npm registry packages.

    .venv/bin/python scripts/build_boundaries.py [--out DIR] [--cache DIR] [--tarball NAME=PATH ...]

Layers written (zstd Parquet, one row per country / feature, geometry as WKB):

- sovereign.parquet — every country's sovereign area: land + territorial sea + internal waters,
  from OpenStreetMap via npm ``@osm_borders/maritime_100m@1.1.0`` (simplified to 100 m by the
  package author). ODbL, "© OpenStreetMap contributors (ODbL)".
  Columns: iso3, iso2, name, wkb.
- land.parquet — land only (Natural Earth 1:10m land, via npm ``world-atlas@2.0.2`` TopoJSON,
  public domain). Columns: id, name, wkb (one MultiPolygon).
- metadata.json — per layer: source package, version, tarball URL, expected and observed
  checksums, sha256 of the input file, licence, attribution, build parameters.

Country names come from npm ``i18n-iso-countries@7.14.0`` (MIT; English short names) because the
OSM layer carries only ISO codes.

Repairs: rings are made valid with shapely.make_valid and only polygonal parts are kept.
Coordinates are quantised to 1e-5 degrees (≈1.1 m), far below the layer's 100 m simplification,
so distances to boundaries stay good to 100 m while the committed files stay a few MB.

Every download is checked against the registry's sha512 integrity (and sha1 shasum) recorded
below; a mismatch stops the build. Tarballs are cached (default: a temp dir) so re-runs are cheap;
the output is byte-for-byte reproducible for the same inputs and GEOS version.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import shapely

REGISTRY = "https://registry.npmjs.org"

# name, version, path inside the tarball, expected dist.integrity and dist.shasum (npm view).
PACKAGES = {
    "maritime": {
        "name": "@osm_borders/maritime_100m",
        "version": "1.1.0",
        "tarball": f"{REGISTRY}/@osm_borders/maritime_100m/-/maritime_100m-1.1.0.tgz",
        "integrity": "sha512-3fK7uEetlY0uk4o+ZqA/3gU7ej6AoZm+pHQ8Uw7hibzogOf1SePMWa0FpWozPkQ/990bZHoLu6marUBtjotCOQ==",
        "shasum": "d8cf931329c9273c38b93e0c947179d7d44910a9",
        "member": "package/borders.geo.json",
    },
    "world_atlas": {
        "name": "world-atlas",
        "version": "2.0.2",
        "tarball": f"{REGISTRY}/world-atlas/-/world-atlas-2.0.2.tgz",
        "integrity": "sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ==",
        "shasum": "4bca4a578f3a413bd409c3f07f2054fe7375824f",
        "member": "package/land-10m.json",
    },
    "country_names": {
        "name": "i18n-iso-countries",
        "version": "7.14.0",
        "tarball": f"{REGISTRY}/i18n-iso-countries/-/i18n-iso-countries-7.14.0.tgz",
        "integrity": "sha512-nXHJZYtNrfsi1UQbyRqm3Gou431elgLjKl//CYlnBGt5aTWdRPH1PiS2T/p/n8Q8LnqYqzQJik3Q7mkwvLokeg==",
        "shasum": "cd5ae098198bce1cc40cadbf0a37ce6c8e9d0edf",
        "member": "package/langs/en.json",
    },
}

GRID_DEG = 1e-5  # coordinate quantisation (≈1.1 m)
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
NE_ATTRIBUTION = "Made with Natural Earth (public domain), via world-atlas"

# Names for codes the ISO list lacks or gives awkwardly (OSM carries user-assigned / special codes).
NAME_OVERRIDES = {
    "XKX": "Kosovo",
    "BES": "Bonaire, Sint Eustatius and Saba",
    "CUW": "Curaçao",
    "SXM": "Sint Maarten",
    "TWN": "Taiwan",
}
# the OSM layer leaves alpha-2 empty for these
ISO2_OVERRIDES = {"BES": "BQ", "CUW": "CW", "SXM": "SX"}


def _check(data: bytes, pkg: dict) -> None:
    algo, _, expected = pkg["integrity"].partition("-")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if got != expected:
        raise SystemExit(f"{pkg['name']}@{pkg['version']}: integrity mismatch ({algo} {got} != {expected})")
    sha1 = hashlib.sha1(data).hexdigest()
    if sha1 != pkg["shasum"]:
        raise SystemExit(f"{pkg['name']}@{pkg['version']}: shasum mismatch ({sha1} != {pkg['shasum']})")


def fetch(pkg: dict, cache: Path, local: dict[str, Path]) -> bytes:
    """The package tarball, checked against the recorded checksums (download once, then cache)."""
    key = f"{pkg['name']}@{pkg['version']}"
    if key in local:
        data = local[key].read_bytes()
    else:
        path = cache / (pkg["name"].replace("/", "__").lstrip("@") + f"-{pkg['version']}.tgz")
        if path.exists():
            data = path.read_bytes()
        else:
            import httpx

            print(f"downloading {pkg['tarball']}", file=sys.stderr)
            resp = httpx.get(pkg["tarball"], follow_redirects=True, timeout=120)
            resp.raise_for_status()
            data = resp.content
            _check(data, pkg)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    _check(data, pkg)
    return data


def member(tgz: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        f = tar.extractfile(name)
        if f is None:
            raise SystemExit(f"{name} missing from tarball")
        return f.read()


def _quantise(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.round(xy / GRID_DEG) * GRID_DEG)


def _polygons(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """All Polygon parts of a geometry, flattening nested collections (lines and points dropped)."""
    out, todo = [], [geom]
    while todo:
        g = todo.pop()
        if g.geom_type == "Polygon":
            if not g.is_empty:
                out.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            todo.extend(shapely.get_parts(g))
    return out


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Valid, quantised MultiPolygon: make_valid, keep polygonal parts, union, normalise."""
    parts = [shapely.make_valid(p) for p in _polygons(geom)]
    parts = [shapely.make_valid(_quantise(p)) for g in parts for p in _polygons(g)]
    parts = [p for g in parts for p in _polygons(g)]
    if not parts:
        return shapely.MultiPolygon()
    merged = shapely.union_all(parts)
    if not merged.is_valid:  # quantisation can pinch rings; one more repair
        merged = shapely.union_all(_polygons(shapely.make_valid(merged)))
    if merged.geom_type == "Polygon":
        merged = shapely.MultiPolygon([merged])
    return shapely.normalize(merged)


def build_sovereign(raw: bytes, names: dict[str, str]) -> tuple[pl.DataFrame, dict]:
    doc = json.loads(raw)
    rows = {"iso3": [], "iso2": [], "name": [], "wkb": []}
    repaired = 0
    for feat in doc["features"]:
        props = feat["properties"]
        iso3 = props["isoA3"]
        iso2 = props.get("isoA2") or ISO2_OVERRIDES.get(iso3)
        gc = shapely.geometry.shape(feat["geometry"])
        if not all(g.is_valid for g in shapely.get_parts(gc)):
            repaired += 1
        geom = polygonal(gc)
        rows["iso3"].append(iso3)
        rows["iso2"].append(iso2)
        rows["name"].append(NAME_OVERRIDES.get(iso3) or names.get(iso2 or "", iso3))
        rows["wkb"].append(shapely.to_wkb(geom, byte_order=1))
    df = pl.DataFrame(rows, schema={"iso3": pl.String, "iso2": pl.String, "name": pl.String, "wkb": pl.Binary})
    return df.sort("iso3"), {"features": len(doc["features"]), "repaired_invalid": repaired}


def topojson_object(topo: dict, name: str) -> list[shapely.Geometry]:
    """Decode one TopoJSON object's (Multi)Polygons: delta-decoded, de-quantised arcs."""
    scale = np.asarray(topo["transform"]["scale"], dtype=float)
    translate = np.asarray(topo["transform"]["translate"], dtype=float)
    arcs = [np.cumsum(np.asarray(a, dtype=float), axis=0) * scale + translate for a in topo["arcs"]]

    def ring(idx: list[int]) -> np.ndarray:
        pts = []
        for k, i in enumerate(idx):
            a = arcs[i] if i >= 0 else arcs[~i][::-1]
            pts.append(a if k == 0 else a[1:])  # consecutive arcs share their end point
        return np.concatenate(pts)

    def polygon(rings: list[list[int]]) -> shapely.Polygon:
        return shapely.Polygon(ring(rings[0]), [ring(r) for r in rings[1:]])

    out = []
    for g in topo["objects"][name]["geometries"]:
        if g["type"] == "Polygon":
            out.append(polygon(g["arcs"]))
        elif g["type"] == "MultiPolygon":
            out.append(shapely.MultiPolygon([polygon(p) for p in g["arcs"]]))
    return out


def build_land(raw: bytes) -> pl.DataFrame:
    topo = json.loads(raw)
    geom = polygonal(shapely.GeometryCollection(topojson_object(topo, "land")))
    return pl.DataFrame(
        {"id": ["land"], "name": ["Land (Natural Earth 1:10m)"], "wkb": [shapely.to_wkb(geom, byte_order=1)]},
        schema={"id": pl.String, "name": pl.String, "wkb": pl.Binary},
    )


def country_names(raw: bytes) -> dict[str, str]:
    names = {}
    for iso2, name in json.loads(raw)["countries"].items():
        names[iso2] = name[0] if isinstance(name, list) else name
    return names


def write(df: pl.DataFrame, path: Path) -> str:
    # statistics off and a fixed row-group so the bytes depend only on the data
    df.write_parquet(path, compression="zstd", compression_level=19, statistics=False, row_group_size=1 << 20)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "src/isrwatch/data/boundaries")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "isrwatch-build-boundaries")
    ap.add_argument(
        "--tarball",
        action="append",
        default=[],
        metavar="NAME@VERSION=PATH",
        help="use an already downloaded tarball (e.g. from `npm pack`); still checksum-checked",
    )
    args = ap.parse_args(argv)
    local = {}
    for spec in args.tarball:
        key, _, path = spec.rpartition("=")
        local[key] = Path(path)

    tgz = {k: fetch(p, args.cache, local) for k, p in PACKAGES.items()}
    raw = {k: member(tgz[k], PACKAGES[k]["member"]) for k in PACKAGES}
    names = country_names(raw["country_names"])

    args.out.mkdir(parents=True, exist_ok=True)
    sov, stats = build_sovereign(raw["maritime"], names)
    sov_sha = write(sov, args.out / "sovereign.parquet")
    land = build_land(raw["world_atlas"])
    land_sha = write(land, args.out / "land.parquet")

    def src(k: str) -> dict:
        p = PACKAGES[k]
        return {
            "package": f"npm:{p['name']}",
            "version": p["version"],
            "tarball": p["tarball"],
            "integrity": p["integrity"],
            "shasum": p["shasum"],
            "input_file": p["member"].removeprefix("package/"),
            "input_sha256": hashlib.sha256(raw[k]).hexdigest(),
        }

    meta = {
        "built_by": "scripts/build_boundaries.py",
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "layers": {
            "sovereign": {
                "file": "sovereign.parquet",
                "file_sha256": sov_sha,
                "title": "Sovereign airspace (land, territorial sea, internal waters)",
                "source": "OpenStreetMap via osm_borders maritime_100m",
                **src("maritime"),
                "licence": "ODbL",
                "attribution": OSM_ATTRIBUTION,
                "resolution_m": 100,
                "quantisation_deg": GRID_DEG,
                "names": {**src("country_names"), "licence": "MIT"},
                **stats,
            },
            "land": {
                "file": "land.parquet",
                "file_sha256": land_sha,
                "title": "Land (Natural Earth 1:10m)",
                "source": "Natural Earth 1:10m land via world-atlas",
                **src("world_atlas"),
                "licence": "public domain",
                "attribution": NE_ATTRIBUTION,
                "quantisation_deg": GRID_DEG,
            },
        },
    }
    (args.out / "metadata.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for f in ("sovereign.parquet", "land.parquet"):
        print(f"{f}: {(args.out / f).stat().st_size / 1e6:.2f} MB", file=sys.stderr)
    print(f"sovereign: {sov.height} countries, {stats['repaired_invalid']} repaired", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
