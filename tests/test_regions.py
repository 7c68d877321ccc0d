"""Regions: shipped boundary layers, derived areas of interest, context airspace files, downloader."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import polars as pl
import pytest
import shapely

from isrwatch import boundaries as regions
from isrwatch.airspace import catalog, context
from isrwatch.airspace.geodesy import BoundaryDistance, GEOD, buffer_km, geodesic_km
from tests.conftest import shared_file

OSM = "© OpenStreetMap contributors (ODbL)"


def inside(geom, lat, lon) -> bool:
    return bool(shapely.contains_xy(geom, lon, lat))


# --- shipped layers ---------------------------------------------------------------------------


def test_sovereign_layer_is_complete_valid_and_attributed():
    t = regions.sovereign_table()
    assert t.columns == ["iso3", "iso2", "name", "wkb"]
    assert t.height == 249
    assert t["iso3"].is_unique().all()
    assert t.filter(pl.col("iso3") == "MEX")["name"][0] == "Mexico"
    assert t["iso2"].null_count() == 0
    geoms = shapely.from_wkb(t["wkb"].to_numpy())
    assert shapely.is_valid(geoms).all()
    assert set(shapely.get_type_id(geoms).tolist()) == {6}  # MultiPolygon
    meta = regions.metadata("sovereign")
    assert meta["licence"] == "ODbL" and meta["attribution"] == OSM
    assert meta["package"] == "npm:@osm_borders/maritime_100m" and meta["version"] == "1.1.0"
    assert meta["integrity"].startswith("sha512-")


def test_shipped_files_match_recorded_checksums():
    d = Path(regions.__file__).resolve().parent / "data" / "boundaries"
    for layer in ("sovereign", "land"):
        meta = regions.metadata(layer)
        assert hashlib.sha256((d / meta["file"]).read_bytes()).hexdigest() == meta["file_sha256"]


def test_sovereign_lookup_is_cached_and_accepts_alpha2():
    mex = regions.sovereign("MEX")
    assert regions.sovereign("mex") is mex
    assert regions.sovereign("MX") is mex
    with pytest.raises(regions.UnknownRegion, match="unknown country code"):
        regions.sovereign("XXX")


def test_land_layer():
    land = regions.land()
    assert land.is_valid and land.geom_type == "MultiPolygon"
    assert inside(land, 19.43, -99.13)  # Mexico City
    assert not inside(land, 27.0, -111.0)  # mid Gulf of California
    assert regions.metadata("land")["licence"] == "public domain"


def test_attribution_for_layers_and_regions():
    assert regions.attribution(["MEX"]) == [OSM]
    assert regions.attribution("sovereign") == [OSM]
    both = regions.attribution(["land", "MEX", "sovereign"])
    assert both[1] == OSM and len(both) == 2  # no duplicates, order of first use
    assert OSM in regions.attribution(["gulf-of-california"])
    assert OSM in regions.attribution(["near:MEX:50"])
    assert regions.attribution(["fir:MMFR"]) == [regions.FAA_ATTRIBUTION]
    assert regions.attribution(["user:nothing-known"]) == []


# --- geography the sovereign layer must get right ------------------------------------------------


def test_northern_gulf_internal_waters_inside_mexico_and_12nm_buffer_gets_it_wrong():
    mex = regions.sovereign("MEX")
    lat, lon = 30.5, -113.8  # northern Gulf of California, behind Mexico's straight baselines
    assert inside(mex, lat, lon)
    assert not inside(regions.land(), lat, lon)
    # far from any coast: a 12 nm coastline buffer would call it international
    mex_land = shapely.intersection(shapely.clip_by_rect(regions.land(), -118, 22, -105, 33), mex)
    assert BoundaryDistance(mex_land).distance(np.array([lon]), np.array([lat]))[0][0] > 22.224 + 5
    naive = buffer_km(shapely.clip_by_rect(mex_land, -116, 28, -111, 32.8), 22.224)
    assert not inside(naive, lat, lon)


def _offshore(lat, lon, km, azimuth=270.0):
    x, y, _ = GEOD.fwd(lon, lat, azimuth, km * 1000.0)
    return float(y), float(x)


def test_ensenada_territorial_sea():
    ensenada = (31.857, -116.606)
    mex = regions.sovereign("MEX")
    assert inside(mex, *_offshore(*ensenada, 15))
    assert not inside(mex, *_offshore(*ensenada, 60))
    assert not inside(regions.sovereign("USA"), *_offshore(*ensenada, 60))


def test_land_border_sides():
    mex, usa = regions.sovereign("MEX"), regions.sovereign("USA")
    calexico = (32.68, -115.50)  # US side, ~2 km north of the line
    assert inside(usa, *calexico) and not inside(mex, *calexico)
    mexicali = (32.60, -115.50)  # 32.6N is already Mexicali, ~7 km south of the line
    assert inside(mex, *mexicali) and not inside(usa, *mexicali)
    # the line at 115.5W is at ~32.665N (straight segment Colorado River - Pacific)
    line = catalog.us_mex_border_line()
    hit = shapely.intersection(line, shapely.LineString([(-115.5, 32.0), (-115.5, 33.0)]))
    assert hit.geom_type == "Point" and abs(hit.y - 32.665) < 0.01


def test_isla_guadalupe_waters():
    mex = regions.sovereign("MEX")
    lat, lon = 29.0, -118.45  # ~10 km west of Isla Guadalupe, 240 km off the peninsula
    assert inside(mex, lat, lon) and not inside(regions.land(), lat, lon)
    assert not inside(mex, 29.3, -117.2)  # open sea between the island and the mainland


# --- derived areas of interest -----------------------------------------------------------------


def test_us_mex_border_line_and_corridor():
    line = catalog.us_mex_border_line()
    assert line.geom_type == "LineString"
    west, east = line.coords[0], line.coords[-1]
    ends = sorted([west, east])
    # Pacific end at Tijuana / Playas, Gulf end at the Rio Grande mouth
    assert abs(ends[0][0] + 117.12) < 0.05 and abs(ends[0][1] - 32.53) < 0.05
    assert abs(ends[1][0] + 97.14) < 0.05 and abs(ends[1][1] - 25.96) < 0.05
    length_km = geodesic_km(*np.array(line.coords)[:-1].T, *np.array(line.coords)[1:].T).sum()
    assert 3000 < length_km < 3300  # the land border is ~3,140 km long
    r = catalog.get_region("us-mex-border:20")
    assert r.kind == "aoi" and r.id == "us-mex-border:20" and OSM in r.attribution
    assert inside(r.geometry, 32.68, -115.50)  # Calexico, 2 km from the line
    # a point 19 km north of the line is inside, 21 km is not (geodesic buffer)
    bd = BoundaryDistance(line)
    for km, expect in ((19.0, True), (21.0, False)):
        lat, lon = _offshore(32.665, -115.5, km, azimuth=0.0)
        d = bd.distance(np.array([lon]), np.array([lat]))[0][0]
        assert abs(d - km) < 0.5
        assert inside(r.geometry, lat, lon) is expect


def test_gulf_of_california():
    r = catalog.get_region("gulf-of-california")
    g = r.geometry
    assert inside(g, 30.5, -113.8) and inside(g, 27.0, -111.0) and inside(g, 24.0, -108.5)
    assert not inside(g, 27.0, -115.0)  # Pacific side of the peninsula
    assert not inside(g, 29.0, -112.0) or not inside(regions.land(), 29.0, -112.0)
    assert not inside(g, 21.0, -107.0)  # south of Cabo San Lucas' parallel
    assert abs(r.properties["tip_lat"] - 22.88) < 0.05  # Cabo San Lucas
    assert "Cabo San Lucas" in r.description
    assert r.geometry.is_valid


def test_baja_pacific():
    r = catalog.get_region("baja-pacific:50")
    g = r.geometry
    ens60 = _offshore(31.857, -116.606, 40)
    assert inside(g, *ens60)
    assert not inside(g, *_offshore(31.857, -116.606, 80))
    assert not inside(g, 27.0, -111.0)  # Gulf
    assert not inside(g, 31.857, -116.4)  # land
    assert not inside(g, 32.70, -117.25)  # US sovereign waters off San Diego
    assert inside(g, 29.0, -118.45)  # Isla Guadalupe waters (its coast is Pacific coast of Baja California)


def test_near_country_buffer_distance():
    r = catalog.get_region("near:MEX:30")
    assert r.id == "near:MEX:30" and r.properties["country"] == "MEX"
    bd = BoundaryDistance(regions.sovereign("MEX"))
    # 60 points on the buffer's outline are 30 km from Mexico (geodesic), within 100 m
    ring = shapely.get_coordinates(shapely.boundary(r.geometry))[::97][:60]
    d, _, _ = bd.distance(ring[:, 0], ring[:, 1])
    assert np.all(np.abs(d - 30.0) < 0.1)


def test_unknown_region_message():
    with pytest.raises(regions.UnknownRegion, match="unknown region"):
        catalog.get_region("atlantis")
    with pytest.raises(regions.UnknownRegion, match="near:ISO3:KM"):
        catalog.get_region("near:MEX")
    with pytest.raises(regions.UnknownRegion, match="bad distance"):
        catalog.get_region("us-mex-border:wide")


def test_list_regions():
    t = catalog.list_regions()
    assert {"sovereign", "land", "aoi"} <= set(t["kind"].to_list())
    row = t.filter(pl.col("id") == "MEX").row(0, named=True)
    assert row["licence"] == "ODbL" and row["attribution"] == [OSM]
    assert catalog.list_regions("aoi")["id"].to_list() == ["us-mex-border", "baja-pacific", "gulf-of-california"]


# --- geodesy -----------------------------------------------------------------------------------


def test_boundary_distance_matches_brute_force_geodesic():
    mex = regions.sovereign("MEX")
    bd = BoundaryDistance(mex)
    rng = np.random.default_rng(3)
    lon = rng.uniform(-119, -108, 40)
    lat = rng.uniform(22, 33, 40)
    d, blon, blat = bd.distance(lon, lat)
    # brute force against a finely densified boundary (every ~50 m)
    dense = shapely.get_coordinates(shapely.segmentize(shapely.boundary(shapely.clip_by_rect(mex, -125, 15, -100, 38)), 0.0005))
    for i in range(len(lon)):
        near = (np.abs(dense[:, 0] - lon[i]) < 6) & (np.abs(dense[:, 1] - lat[i]) < 6)
        g = geodesic_km(lon[i], lat[i], dense[near, 0], dense[near, 1])
        assert abs(d[i] - g.min()) < 0.1, (lon[i], lat[i], d[i], g.min())
        # the reported nearest point is on the boundary at that distance
        assert abs(geodesic_km(lon[i], lat[i], blon[i], blat[i]) - d[i]) < 0.01


# --- context layers ----------------------------------------------------------------------------


def test_faa_compact_file_rings_are_lat_lon(shared):
    rs = context.load_airspace(shared_file("geo", "airspace", "faa", "faa-airspaces.json"))
    by_id = {r.id: r for r in rs}
    mmfr = by_id["fir:MMFR"]
    assert mmfr.kind == "fir" and mmfr.licence == "public domain"
    assert inside(mmfr.geometry, 19.43, -99.13)  # Mexico City is in the Mexico FIR
    adiz = by_id["adiz:CONTIGUOUS-U.S.-ADIZ"]
    assert adiz.kind == "adiz" and adiz.attribution == (regions.FAA_ATTRIBUTION,)
    # offshore ADIZ: identification zone, not sovereign airspace of anyone
    assert inside(adiz.geometry, 31.5, -119.5)
    assert not inside(regions.sovereign("USA"), 31.5, -119.5) and not inside(regions.sovereign("MEX"), 31.5, -119.5)
    # Alaska ADIZ crosses the antimeridian: split, still valid
    alaska = by_id["adiz:ALASKA-ADIZ"]
    assert alaska.geometry.is_valid and alaska.geometry.bounds[0] == -180.0
    assert any(r.kind == "sua" for r in rs)
    assert catalog.get_region("fir:MMFR") is mmfr  # registered for lookup and attribution
    assert mmfr.version == "2026-08-21T18:05:05.365Z"


def test_faa_geojson_and_vatspy(shared):
    rs = context.load_airspace(shared_file("geo", "airspace", "faa", "faa_boundary_sua_region_-130_-80_5_45.geojson"))
    ids = {r.id for r in rs}
    assert "adiz:CONTIGUOUS-U.S.-ADIZ" in ids and "fir:MMFO" in ids
    v = context.load_airspace(shared_file("geo", "airspace", "vatspy", "Boundaries.geojson"))
    mmfr = {r.id: r for r in v}["vatspy:MMFR"]
    assert mmfr.licence == "CC BY-SA 4.0" and inside(mmfr.geometry, 19.43, -99.13)
    only_adiz = context.load_airspace(
        shared_file("geo", "airspace", "faa", "faa_boundary_sua_region_-130_-80_5_45.geojson"), kinds=["adiz"]
    )
    assert {r.kind for r in only_adiz} == {"adiz"}


def test_bad_airspace_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("[1, 2")
    with pytest.raises(context.AirspaceFileError, match="not readable JSON"):
        context.load_airspace(p)
    p.write_text(json.dumps({"hello": 1}))
    with pytest.raises(context.AirspaceFileError, match="neither"):
        context.load_airspace(p)


def test_user_geojson(tmp_path):
    p = tmp_path / "box.geojson"
    # a bow-tie ring (invalid) is repaired, not rejected
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[-112, 26], [-110, 28], [-110, 26], [-112, 28], [-112, 26]]]}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
        ],
    }
    p.write_text(json.dumps(fc))
    r = catalog.load_user_geojson(p, attribution="my team")
    assert r.id == "user:box" and r.kind == "user" and r.geometry.is_valid
    # both lobes of the bow-tie kept, the notch between them is outside
    assert inside(r.geometry, 27.0, -111.9) and inside(r.geometry, 27.0, -110.1)
    assert not inside(r.geometry, 26.5, -111.0)
    assert catalog.get_region("user:box") is r
    assert regions.attribution(["user:box"]) == []
    assert r.to_geojson()["features"][0]["properties"]["kind"] == "user"
    bad = tmp_path / "latlon.geojson"
    bad.write_text(json.dumps({"type": "Polygon", "coordinates": [[[30, -113], [31, -113], [31, -200], [30, -113]]]}))
    with pytest.raises(ValueError, match="outside lon/lat"):
        catalog.load_user_geojson(bad)
    empty = tmp_path / "pts.geojson"
    empty.write_text(json.dumps({"type": "Point", "coordinates": [1, 2]}))
    with pytest.raises(ValueError, match="no polygon"):
        catalog.load_user_geojson(empty)


# --- downloader against a local server ------------------------------------------------------------


def _feature(i: int, type_code: str) -> dict:
    x = -110.0 + i
    return {
        "type": "Feature",
        "properties": {"IDENT": f"T{i}", "NAME": f"TEST {i}", "TYPE_CODE": type_code},
        "geometry": {"type": "Polygon", "coordinates": [[[x, 30], [x + 0.5, 30], [x + 0.5, 30.5], [x, 30.5], [x, 30]]]},
    }


class _ArcGis(BaseHTTPRequestHandler):
    """Pages of 2 features (as a server with a small maxRecordCount would)."""

    data = {"Boundary_Airspace": [_feature(i, "FIR") for i in range(3)], "Special_Use_Airspace": [_feature(i, "R") for i in range(5)]}
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server API
        u = urlparse(self.path)
        q = parse_qs(u.query)
        self.seen.append(self.path)
        layer = u.path.strip("/").split("/")[0]
        feats = self.data.get(layer)
        if feats is None or q.get("f") != ["geojson"]:
            self.send_response(404)
            self.end_headers()
            return
        off = int(q["resultOffset"][0])
        page = feats[off : off + 2]
        body = {"type": "FeatureCollection", "features": page}
        if off + 2 < len(feats):
            body["properties"] = {"exceededTransferLimit": True}
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/geo+json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def arcgis_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _ArcGis)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_download_faa_pages_into_cache(arcgis_server, tmp_path, monkeypatch):
    monkeypatch.setenv("ISRWATCH_CACHE", str(tmp_path / "cache"))
    files = context.download_faa(base_url=arcgis_server)
    assert [f.name for f in files] == ["faa_boundary.geojson", "faa_special_use.geojson"]
    assert files[0].parent == tmp_path / "cache" / "airspace"
    assert context.cached_faa_files() == files
    fc = json.loads(files[1].read_text())
    assert len(fc["features"]) == 5  # three pages of 2, 2, 1
    meta = json.loads((files[1].parent / "faa_special_use.meta.json").read_text())
    assert meta["features"] == 5 and meta["sha256"] == hashlib.sha256(files[1].read_bytes()).hexdigest()
    rs = context.load_airspace(files[1])
    assert len(rs) == 5 and {r.kind for r in rs} == {"sua"} and rs[0].id == "r:T0"
    assert rs[0].version == meta["fetched_at"]


def test_download_faa_server_error(arcgis_server, tmp_path):
    import httpx

    with pytest.raises(httpx.HTTPStatusError):
        context.download_faa(base_url=arcgis_server + "/nowhere", cache=tmp_path)
