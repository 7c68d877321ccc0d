"""Exports of the counted flights for other tools: GeoJSON, KML (Google Earth), CSV, Parquet.

- GeoJSON (RFC 7946): a FeatureCollection, one Feature per flight, a LineString of [lon, lat]
  (a Point for a one-position flight, null geometry for a flight without positions), properties
  from the flights and aircraft tables plus "times" (UTC ISO 8601, parallel to the coordinates).
- KML 2.2: one Placemark per flight with its LineString, a TimeSpan, ExtendedData with every
  property, and a style per ISR role. Written with ElementTree, so text is XML-escaped; characters
  XML 1.0 forbids (control characters a feed may carry) become U+FFFD.
- CSV: the flights table, lists joined with "; ". Text cells starting with = + - @ or a tab get a
  leading apostrophe so a spreadsheet does not run feed text as a formula.
- Parquet: flights (lists kept as lists) and, separately, their positions (key "parquet_points").

Every export carries a "simulated" flag (a column, a property, the KML document name).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

import polars as pl

from isrwatch import schema
from isrwatch.report import model, view
from isrwatch.report.html import SIMULATED_LABEL

FORMATS = ("geojson", "kml", "csv", "parquet")
KML_NS = "http://www.opengis.net/kml/2.2"

# the flight properties every format carries, in this order
PROPERTIES = [
    "flight_id", "icao24", "callsign", "callsigns", "registration", "type_code", "type_description",
    "operator", "country_iso2", "country", "military", "isr_role", "isr_variant",
    "start", "end", "duration_min", "n_obs", "takeoff_airfield", "landing_airfield",
    "start_reason", "end_reason", "max_gap_s", "share_adsb", "share_mlat", "share_other",
    "entered_regions", "entries", "closest",
    "registration_source", "type_source", "operator_source", "country_source", "military_source",
    "isr_role_source",
]  # fmt: skip

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def flights_export_table(flights, aircraft, events=None, *, simulated: bool = False) -> pl.DataFrame:
    """The counted flights with their aircraft facts and entries, one row per flight, by start."""
    return _export_columns(view.flight_table(flights, aircraft, events), simulated)


def _export_columns(ft: pl.DataFrame, simulated: bool) -> pl.DataFrame:
    """view.flight_table() cut to the exported properties."""
    return ft.select(PROPERTIES).with_columns(
        pl.col("isr_role").cast(pl.String), pl.lit(bool(simulated)).alias("simulated")
    )


def _points(observations, ft: pl.DataFrame) -> pl.DataFrame:
    pts = view.track_points(observations, ft.with_row_index("i").with_columns(pl.col("i").cast(pl.Int64)))
    return pts.select(schema.FLIGHT_ID, *schema.OBSERVATIONS)


def _geojson(path: Path, ft: pl.DataFrame, pts: pl.DataFrame, simulated: bool, attribution: list[str]) -> Path:
    lines = (
        pts.group_by(schema.FLIGHT_ID, maintain_order=True)
        .agg(
            pl.concat_list(pl.col("lon").round(6), pl.col("lat").round(6)).alias("coords"),
            pl.col("time").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias("times"),
        )
        .to_dicts()
    )
    by_id = {r[schema.FLIGHT_ID]: r for r in lines}
    features = []
    for props in ft.to_dicts():
        line = by_id.get(props["flight_id"])
        coords = line["coords"] if line else []
        if len(coords) >= 2:
            geometry = {"type": "LineString", "coordinates": coords}
        elif len(coords) == 1:
            geometry = {"type": "Point", "coordinates": coords[0]}
        else:
            geometry = None
        props = {k: model.plain(v) for k, v in props.items()}
        props["times"] = line["times"] if line else []
        features.append({"type": "Feature", "id": props["flight_id"], "geometry": geometry, "properties": props})
    doc = {
        "type": "FeatureCollection",
        "features": features,
        "isrwatch": {"simulated": simulated, "attribution": attribution, "label": SIMULATED_LABEL if simulated else None},
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return path


def _xml_text(value) -> str:
    return _XML_BAD.sub("\ufffd", model.text(value))


def _kml_colour(hex_rgb: str, alpha: str = "ff") -> str:
    """KML colours are aabbggrr."""
    h = hex_rgb.lstrip("#")
    return f"{alpha}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _kml(path: Path, ft: pl.DataFrame, pts: pl.DataFrame, simulated: bool, attribution: list[str], title: str) -> Path:
    ET.register_namespace("", KML_NS)
    q = lambda tag: f"{{{KML_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("kml"))
    doc = ET.SubElement(root, q("Document"))
    ET.SubElement(doc, q("name")).text = _xml_text((f"[{SIMULATED_LABEL}] " if simulated else "") + title)
    desc = f"{ft.height} flights exported by isrwatch."
    if simulated:
        desc = f"{SIMULATED_LABEL}: synthetic positions, not real flights. " + desc
    if attribution:
        desc += " Boundaries: " + "; ".join(attribution) + "."
    ET.SubElement(doc, q("description")).text = _xml_text(desc)
    for role, colour in view.ROLE_COLOURS.items():
        style = ET.SubElement(doc, q("Style"), id=f"role-{role}")
        icon = ET.SubElement(style, q("IconStyle"))
        ET.SubElement(icon, q("color")).text = _kml_colour(colour)
        ls = ET.SubElement(style, q("LineStyle"))
        ET.SubElement(ls, q("color")).text = _kml_colour(colour)
        ET.SubElement(ls, q("width")).text = "3"
    folder = ET.SubElement(doc, q("Folder"))
    ET.SubElement(folder, q("name")).text = "Flights"
    coords = {
        r[schema.FLIGHT_ID]: r["c"]
        for r in pts.group_by(schema.FLIGHT_ID)
        .agg(
            pl.format("{},{}", pl.col("lon").round(6), pl.col("lat").round(6)).str.join(" ").alias("c"),
            pl.len().alias("n"),
        )
        .to_dicts()
    }
    for props in ft.to_dicts():
        # xsd:ID must be an NCName: a letter first, no ":" or "~"
        pm = ET.SubElement(folder, q("Placemark"), id="f-" + re.sub(r"[^A-Za-z0-9_.-]", "_", model.text(props["flight_id"])))
        ET.SubElement(pm, q("name")).text = _xml_text(props["callsign"] or props["registration"] or props["icao24"])
        ET.SubElement(pm, q("description")).text = _xml_text(
            " · ".join(
                x
                for x in (
                    model.text(props["registration"]),
                    model.text(props["type_code"]),
                    model.text(props["operator"]),
                    f"{model.text(props['start'])} – {model.text(props['end'])}",
                    ("entered: " + "; ".join(props["entries"])) if props["entries"] else "",
                )
                if x
            )
        )
        if props["start"] is not None:
            span = ET.SubElement(pm, q("TimeSpan"))
            ET.SubElement(span, q("begin")).text = props["start"].strftime("%Y-%m-%dT%H:%M:%SZ")
            if props["end"] is not None:
                ET.SubElement(span, q("end")).text = props["end"].strftime("%Y-%m-%dT%H:%M:%SZ")
        role = props["isr_role"] if props["isr_role"] in view.ROLE_COLOURS else "unknown"
        ET.SubElement(pm, q("styleUrl")).text = f"#role-{role}"
        ext = ET.SubElement(pm, q("ExtendedData"))
        for k, v in props.items():
            data = ET.SubElement(ext, q("Data"), name=k)
            ET.SubElement(data, q("value")).text = _xml_text(v)
        c = coords.get(props["flight_id"])
        if c and " " in c:
            ls = ET.SubElement(pm, q("LineString"))
            ET.SubElement(ls, q("tessellate")).text = "1"
            ET.SubElement(ls, q("coordinates")).text = c
        elif c:
            pt = ET.SubElement(pm, q("Point"))
            ET.SubElement(pt, q("coordinates")).text = c
    ET.indent(root, space=" ")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _csv_safe(col: str) -> pl.Expr:
    c = pl.col(col)
    return (
        pl.when(c.str.starts_with("=") | c.str.starts_with("+") | c.str.starts_with("-") | c.str.starts_with("@")
                | c.str.starts_with("\t") | c.str.starts_with("\r"))
        .then(pl.lit("'") + c)
        .otherwise(c)
        .alias(col)
    )  # fmt: skip


def _csv(path: Path, ft: pl.DataFrame) -> Path:
    lists = [c for c, t in ft.schema.items() if isinstance(t, pl.List)]
    flat = ft.with_columns(pl.col(c).list.join("; ") for c in lists)
    texts = [c for c, t in flat.schema.items() if t == pl.String]
    flat.with_columns(_csv_safe(c) for c in texts).write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.6fZ")
    return path


def export_flights(
    out_dir,
    flights,
    observations,
    aircraft,
    formats: Iterable[str] = FORMATS,
    *,
    events=None,
    regions=(),
    simulated: bool = False,
    title: str = "isrwatch flights",
    basename: str = "flights",
    prepared: view.Prepared | None = None,
) -> dict[str, Path]:
    """Write the counted flights in each format to out_dir; returns {format: path}.

    Parquet writes two files: "parquet" (flights) and "parquet_points" (their positions).
    prepared: view.prepare() of these same tables, if already made (its flights, positions and
    regions are used instead of deriving them again).
    """
    formats = [f.lower() for f in formats]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(unknown)}; use {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    need_points = bool(set(formats) & {"geojson", "kml", "parquet"})
    if prepared is not None:
        ft = _export_columns(prepared.ft, simulated)
        pts = prepared.pts.select(schema.FLIGHT_ID, *schema.OBSERVATIONS) if need_points else None
        regs = prepared.regions
    else:
        ft = flights_export_table(flights, aircraft, events, simulated=simulated)
        pts = _points(observations, ft) if need_points else None
        regs = model.normalise_regions(regions)
    attribution = view.attribution_lines(regs)
    written: dict[str, Path] = {}
    if "geojson" in formats:
        written["geojson"] = _geojson(out / f"{basename}.geojson", ft, pts, simulated, attribution)
    if "kml" in formats:
        written["kml"] = _kml(out / f"{basename}.kml", ft, pts, simulated, attribution, title)
    if "csv" in formats:
        written["csv"] = _csv(out / f"{basename}.csv", ft)
    if "parquet" in formats:
        ft.write_parquet(out / f"{basename}.parquet")
        pts.with_columns(pl.lit(bool(simulated)).alias("simulated")).write_parquet(out / f"{basename}_points.parquet")
        written["parquet"] = out / f"{basename}.parquet"
        written["parquet_points"] = out / f"{basename}_points.parquet"
    return written
