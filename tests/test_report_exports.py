"""Exports of the counted flights (GeoJSON, KML, CSV, Parquet) and the PNG figures."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET

import polars as pl
import pytest
from test_report_synthetic import N_FLIGHTS, XSS_CALLSIGN, XSS_OPERATOR, make_inputs

from isrwatch import schema
from isrwatch.report.exports import export_flights
from isrwatch.report.figures import MAP_SIZE, TIMELINE_SIZE, map_png, timeline_png

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def inputs():
    return make_inputs()


@pytest.fixture(scope="module")
def exported(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp")
    return export_flights(
        out, inputs["flights"], inputs["observations"], inputs["aircraft"], events=inputs["events"],
        regions=inputs["regions"], simulated=True,
    )


def test_all_formats_written(exported):
    assert set(exported) == {"geojson", "kml", "csv", "parquet", "parquet_points"}
    assert all(p.stat().st_size > 0 for p in exported.values())


def test_geojson(exported, inputs):
    doc = json.loads(exported["geojson"].read_text())
    assert doc["type"] == "FeatureCollection"
    feats = doc["features"]
    assert len(feats) == N_FLIGHTS
    kinds = sorted(f["geometry"]["type"] for f in feats)
    assert kinds == ["LineString"] * 4 + ["Point"]
    by_id = {f["id"]: f for f in feats}
    n_obs = dict(inputs["observations"].group_by("flight_id").len().iter_rows())
    for fid, f in by_id.items():
        coords = f["geometry"]["coordinates"]
        n = len(coords) if f["geometry"]["type"] == "LineString" else 1
        assert n == n_obs[fid] == len(f["properties"]["times"])
    p8 = by_id["ae6890-20250203T160000Z"]["properties"]
    assert p8["entered_regions"] == ["MEX"] and p8["registration_source"] == "db:plane-alert"
    first = by_id["ae01ce-20250203T140000Z"]["geometry"]["coordinates"][0]
    assert first == [-118.5, 31.0]  # lon, lat order
    assert doc["isrwatch"]["simulated"] is True
    assert any(f["properties"]["callsign"] == XSS_CALLSIGN for f in feats)


def test_kml_parses_with_one_placemark_per_flight(exported):
    root = ET.parse(exported["kml"]).getroot()
    assert root.tag == f"{KML}kml"
    doc = root.find(f"{KML}Document")
    assert doc.find(f"{KML}name").text.startswith("[SIMULATED RECONSTRUCTION]")
    pms = root.findall(f".//{KML}Placemark")
    assert len(pms) == N_FLIGHTS
    assert len(root.findall(f".//{KML}LineString")) == 4 and len(root.findall(f".//{KML}Point")) == 1
    styles = {s.get("id") for s in doc.findall(f"{KML}Style")}
    for pm in pms:
        assert pm.find(f"{KML}styleUrl").text[1:] in styles
        assert pm.find(f"{KML}TimeSpan/{KML}begin").text.endswith("Z")
    names = [pm.find(f"{KML}name").text for pm in pms]
    assert XSS_CALLSIGN in names  # parsed back as text, so it was escaped in the file
    raw = exported["kml"].read_text()
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    coords = pms[0].find(f".//{KML}coordinates").text.split()
    lon, lat = map(float, coords[0].split(","))
    assert -119 < lon < -117 and 30 < lat < 32


def test_kml_drops_characters_xml_forbids(inputs, tmp_path):
    bad = inputs["flights"].with_columns(pl.lit("BAD\x01\x1bCALL").alias("callsign"))
    out = export_flights(tmp_path, bad, inputs["observations"], inputs["aircraft"], formats=["kml"])
    root = ET.parse(out["kml"]).getroot()  # would raise on a control character
    assert "BAD\ufffd\ufffdCALL" in [pm.find(f"{KML}name").text for pm in root.iter(f"{KML}Placemark")]


def test_csv(exported, inputs):
    df = pl.read_csv(exported["csv"])
    assert df.height == N_FLIGHTS
    assert df["flight_id"].to_list() == inputs["flights"].sort("start")["flight_id"].to_list()
    assert df.filter(pl.col("flight_id") == "ae6890-20250203T160000Z")["entries"][0] == "MEX (observed, over land, 95.2 km deep)"
    assert set(df["simulated"].to_list()) == {True}
    assert XSS_OPERATOR in df["operator"].to_list()


def test_csv_neutralises_formulas(inputs, tmp_path):
    evil = inputs["flights"].with_columns(pl.lit('=HYPERLINK("http://x","y")').alias("callsign"))
    out = export_flights(tmp_path, evil, inputs["observations"], inputs["aircraft"], formats=["csv"])
    df = pl.read_csv(out["csv"])
    assert all(v.startswith("'=") for v in df["callsign"].to_list())


def test_parquet_round_trip(exported, inputs):
    flights = pl.read_parquet(exported["parquet"])
    assert flights.height == N_FLIGHTS
    assert flights.schema["callsigns"] == pl.List(pl.String)
    assert flights.schema["start"] == schema.UTC_US
    pts = pl.read_parquet(exported["parquet_points"])
    assert pts.height == inputs["observations"].height
    assert pts.columns[: len(schema.OBSERVATIONS) + 1] == [schema.FLIGHT_ID, *schema.OBSERVATIONS]
    back = pts.select(inputs["observations"].columns).sort("flight_id", "time")
    assert back.equals(inputs["observations"].sort("flight_id", "time"))


def test_unknown_format_is_refused(inputs, tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export_flights(tmp_path, inputs["flights"], inputs["observations"], inputs["aircraft"], formats=["shp"])


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("simulated", [True, False])
def test_pngs(inputs, tmp_path, simulated):
    kw = {k: inputs[k] for k in ("flights", "aircraft", "observations", "events", "regions")}
    m = map_png(tmp_path / "map.png", **kw, simulated=simulated, title=f"Flights {XSS_CALLSIGN} $x$")
    t = timeline_png(tmp_path / "timeline.png", flights=inputs["flights"], aircraft=inputs["aircraft"],
                     coverage=inputs["coverage"], simulated=simulated, title="Sorties")
    assert _png_size(m) == MAP_SIZE and _png_size(t) == TIMELINE_SIZE
    assert m.stat().st_size > 20_000 and t.stat().st_size > 10_000
    # the simulated label is drawn and also stored in the PNG text chunk
    for p in (m, t):
        assert (b"SIMULATED RECONSTRUCTION" in p.read_bytes()) is simulated


def test_png_map_colour_by_role_differs(inputs, tmp_path):
    kw = {k: inputs[k] for k in ("flights", "aircraft", "observations", "events", "regions")}
    a = map_png(tmp_path / "a.png", **kw, simulated=False, colour_by="aircraft")
    b = map_png(tmp_path / "b.png", **kw, simulated=False, colour_by="role")
    assert a.read_bytes() != b.read_bytes()
    with pytest.raises(ValueError):
        map_png(tmp_path / "c.png", **kw, simulated=False, colour_by="type")
