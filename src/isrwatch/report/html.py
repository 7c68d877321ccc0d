"""The evidence report: one self-contained HTML file that works offline.

Everything is inline: CSS, a little vanilla JavaScript (pan/zoom, tooltips, layer toggles, the
colour-by toggle, table filter), the map as SVG drawn here from the data, and the data the
script needs as JSON in a <script type="application/json"> block. No CDN, no tiles, no fonts to
fetch; a Content-Security-Policy forbids the page from loading anything at all, and allows only
the report's own script (by hash), so even a payload that slipped through could not run.

Text from feeds (callsigns, registrations, operators, claim words) reaches the page only through
Jinja2 autoescaping or through that JSON block with <, > and & escaped; it is never marked safe.
"""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any, Iterable

import jinja2
import polars as pl
from markupsafe import Markup

from isrwatch import paths
from isrwatch.report import geo, model, view

SIMULATED_LABEL = "SIMULATED RECONSTRUCTION"
NEAR_ROWS = 25  # closest approaches listed per region (nearest first)
GAP_S = 600.0  # a stretch without positions longer than this is drawn as a dashed line


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(paths.package_data("report"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _static(name: str) -> str:
    return paths.package_data("report", name).read_text(encoding="utf-8")


def _fmt_time(v: datetime | None) -> str:
    return v.strftime(view.TIME_FMT) if v is not None else ""


def _pct(v: float | None) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:.0f}%"


def _minutes(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v / 60:.0f} min" if v >= 60 else f"{v:.0f} s"


def _fact(value: Any, source: Any) -> dict[str, str]:
    return {"v": model.text(value), "src": model.text(source)}


# ---------------------------------------------------------------------------------------------


def _flight_rows(ft: pl.DataFrame) -> tuple[list[dict], list[dict]]:
    """Rows of the flights table (display text) and the per-flight JSON used by tooltips."""
    rows, data = [], []
    for r in ft.to_dicts():
        callsigns = r["callsigns"] or ([r["callsign"]] if r["callsign"] else [])
        ident = {
            "i": r["i"],
            "flight_id": model.text(r["flight_id"]),
            "icao24": model.text(r["icao24"]),
            "callsigns": model.text(callsigns),
            "registration": _fact(r["registration"], r["registration_source"]),
            "type": _fact(
                " ".join(x for x in (model.text(r["type_code"]), model.text(r["isr_variant"])) if x),
                r["type_source"],
            ),
            "type_description": model.text(r["type_description"]),
            "operator": _fact(r["operator"], r["operator_source"]),
            "country": _fact(r["country"] or r["country_iso2"], r["country_source"]),
            "military": _fact(r["military"], r["military_source"]),
            "role": _fact(view.ROLE_LABELS.get(r["role"], r["role"]), r["isr_role_source"]),
            "start": _fmt_time(r["start"]),
            "end": _fmt_time(r["end"]),
            "duration": _minutes((r["duration_min"] or 0) * 60) if r["duration_min"] is not None else "",
            "takeoff": model.text(r["takeoff_airfield"]),
            "landing": model.text(r["landing_airfield"]),
            "start_reason": model.text(r["start_reason"]).replace("_", " "),
            "end_reason": model.text(r["end_reason"]).replace("_", " "),
            "n_obs": model.text(r["n_obs"]),
            "adsb": _pct(r["share_adsb"]),
            "mlat": _pct(r["share_mlat"]),
            "other": _pct(r["share_other"]),
            "max_gap": _minutes(r["max_gap_s"]),
            "entries": list(r["entries"]),
            "closest": list(r["closest"]),
            "colour_aircraft": r["colour_aircraft"],
            "colour_role": r["colour_role"],
        }
        rows.append(ident)
        data.append(
            {
                "id": ident["flight_id"],
                "icao24": ident["icao24"],
                "callsigns": ident["callsigns"],
                "registration": ident["registration"]["v"],
                "type": ident["type"]["v"],
                "operator": ident["operator"]["v"],
                "role": ident["role"]["v"],
                "start": ident["start"],
                "end": ident["end"],
                "n_obs": ident["n_obs"],
                "adsb": ident["adsb"],
                "mlat": ident["mlat"],
                "max_gap": ident["max_gap"],
                "entries": ident["entries"],
                "closest": ident["closest"],
            }
        )
    return rows, data


def _region_summary(ev: pl.DataFrame) -> list[dict]:
    """Per region: flights assessed, entered on observed positions, entered only across a gap."""
    if ev.height == 0:
        return []
    per_flight = ev.group_by("region", "region_name", "region_kind", "flight_id").agg(
        (pl.col("entered") & (pl.col("basis") == "observed")).any().alias("obs"),
        pl.col("entered").any().alias("any"),
        pl.col("closest_km").filter(~pl.col("entered")).min().alias("closest"),
    )
    s = (
        per_flight.group_by("region", "region_name", "region_kind")
        .agg(
            pl.len().alias("assessed"),
            pl.col("obs").sum().alias("observed"),
            (pl.col("any") & ~pl.col("obs")).sum().alias("gap_only"),
            pl.col("closest").min().alias("closest"),
        )
        .sort(pl.col("region_kind") != "sovereign", "region")
    )
    return [
        {
            "region": r["region"],
            "name": r["region_name"],
            "kind": r["region_kind"] or "",
            "assessed": r["assessed"],
            "observed": r["observed"],
            "gap_only": r["gap_only"],
            "closest": "" if r["closest"] is None else f"{r['closest']:.1f} km",
        }
        for r in s.to_dicts()
    ]


def _lead(n_flights: int, n_aircraft: int, first: str, last: str, regions: list[dict]) -> list[str]:
    """The findings in plain sentences, with the distinctions the tables make."""
    if not n_flights:
        return ["No sortie matched this report's selection."]
    out = [
        f"{n_flights} sortie{'s' if n_flights != 1 else ''} by {n_aircraft} aircraft "
        f"{'were' if n_flights != 1 else 'was'} seen between {first} and {last} (UTC)."
    ]
    for r in regions:
        where = r["name"]
        if r["kind"] == "sovereign" and "airspace" not in where.lower():
            where = f"the sovereign airspace of {where}"
        obs, gap = r["observed"], r["gap_only"]
        if obs:
            s = f"{obs} of {r['assessed']} entered {where} on observed positions"
        else:
            s = f"None of {r['assessed']} entered {where} on observed positions"
        if gap:
            s += f"; {gap} {'more ' if obs else ''}crossed it only on a straight line drawn across a coverage gap"
        if r["closest"]:
            s += f"; the {'others' if obs or gap else 'closest'} came no closer than {r['closest']}"
        out.append(s + ".")
    return out


def _timeline(ft: pl.DataFrame, coverage: pl.DataFrame) -> dict:
    """Stacked bars of sorties per day by aircraft type, as SVG geometry for the template."""
    spd = view.sorties_per_day(ft, coverage)
    days, types = spd["days"], spd["types"]
    colours = view.type_colours(types)
    W, H, left, right, top, bottom = 1000.0, 260.0, 44.0, 10.0, 12.0, 42.0
    out: dict[str, Any] = {"width": W, "height": H, "bars": [], "nodata": [], "xlabels": [], "yticks": []}
    out["legend"] = [{"label": t, "colour": colours[t]} for t in types]
    out["n_days"] = len(days)
    out["no_data_days"] = [d.isoformat() for d in sorted(spd["no_data"])]
    if not days:
        return out
    totals = {d: sum(spd["counts"].get((d, t), 0) for t in types) for d in days}
    ymax = max(max(totals.values()), 1)
    step = max(1, math.ceil(ymax / 5))
    ymax = math.ceil(ymax / step) * step
    pw, ph = W - left - right, H - top - bottom
    bw = pw / len(days)
    gapw = min(bw * 0.15, 3)
    for k, d in enumerate(days):
        x = left + k * bw
        if d in spd["no_data"]:
            out["nodata"].append({"x": round(x, 2), "y": top, "w": round(bw, 2), "h": ph, "title": f"{d}: no data"})
        y = top + ph
        for t in types:
            n = spd["counts"].get((d, t), 0)
            if not n:
                continue
            h = n / ymax * ph
            y -= h
            out["bars"].append(
                {
                    "x": round(x + gapw / 2, 2),
                    "y": round(y, 2),
                    "w": round(max(bw - gapw, 0.5), 2),
                    "h": round(h, 2),
                    "colour": colours[t],
                    "title": f"{d.isoformat()}: {n} sortie{'s' if n != 1 else ''} by {t}",
                }
            )
    every = max(1, math.ceil(len(days) / 12))
    for k in range(0, len(days), every):
        out["xlabels"].append({"x": round(left + (k + 0.5) * bw, 2), "y": H - bottom + 16, "t": days[k].strftime("%d %b")})
    out["xlabels_year"] = f"{days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d} (UTC days, by sortie start)"
    for v in range(0, ymax + 1, step):
        out["yticks"].append({"y": round(top + ph - v / ymax * ph, 2), "t": str(v), "x0": left, "x1": W - right})
    out["axis"] = {"x0": left, "x1": W - right, "y": top + ph}
    return out


def _limits(ft: pl.DataFrame, pts: pl.DataFrame, ev: pl.DataFrame, cov: pl.DataFrame, gap_s: float) -> list[str]:
    """The data's limits, with the figures of this data where there are any."""
    out = [
        "Aircraft with their transponder off, or not broadcasting positions, are invisible to ADS-B: "
        "every count here is a count of what was seen, a floor, not the total of what flew.",
        "A flight information region (FIR) or an air defence identification zone (ADIZ) is not "
        "sovereign airspace. Sovereign airspace is land, territorial sea (12 nautical miles from the "
        "baselines) and internal waters; entries in this report are tested against that layer only.",
    ]
    n_pos = pts.height
    if n_pos:
        counts = pts.group_by("pos_source").len()
        share = {str(r["pos_source"]): r["len"] / n_pos for r in counts.to_dicts()}
        out.append(
            f"Of {n_pos:,} drawn positions, {share.get('adsb', 0) * 100:.0f}% were broadcast by the aircraft "
            f"(ADS-B) and {share.get('mlat', 0) * 100:.0f}% computed by multilateration (MLAT). MLAT positions "
            "are less precise (hundreds of metres, more at the edge of coverage) and exist only where "
            "several receivers hear the aircraft."
        )
    else:
        out.append("MLAT positions (computed by multilateration) are less precise than ADS-B positions.")
    long_gaps = ft.filter(pl.col("max_gap_s") > 1800).height
    out.append(
        f"Gaps: where no position came for more than {gap_s / 60:.0f} minutes the map draws a dashed straight "
        f"line; the aircraft's real path there is unknown. {long_gaps} of {ft.height} flights have a gap longer "
        "than 30 minutes."
    )
    if ev.height:
        n_gap = ev.filter(pl.col("entered") & (pl.col("basis") == "gap_only")).height
        out.append(
            f"{n_gap} entr{'y rests' if n_gap == 1 else 'ies rest'} only on a straight line drawn across a gap "
            "(no observed position inside); the map shows them dashed and the tables say so."
        )
    if cov.height:
        missing = cov.filter(pl.col("n_obs").fill_null(0) == 0)["day"].to_list()
        if missing:
            out.append("Days without data in the window: " + ", ".join(d.isoformat() for d in missing) + ".")
    out.append(
        "Boundaries on the map are simplified for display; entries were computed by the airspace stage, "
        "not read off this drawing. Flights crossing the antimeridian are not drawn correctly."
    )
    out.append("All times are UTC.")
    return out


FEED_TERMS = [
    ("adsbexchange", "ADS-B Exchange (adsbexchange.com) — used under its terms of use"),
    ("adsbx", "ADS-B Exchange (adsbexchange.com) — used under its terms of use"),
    ("opensky", "The OpenSky Network, https://opensky-network.org — used under its terms of use"),
    ("adsb.lol", "adsb.lol — data under the Open Database License (ODbL)"),
    ("adsblol", "adsb.lol — data under the Open Database License (ODbL)"),
    ("airplanes.live", "airplanes.live — used under its terms of use"),
    ("traffic", "Sample trajectories from the traffic library (MIT), data from the OpenSky Network"),
    ("simulat", "isrwatch simulator — synthetic positions, not real flights"),
]
DB_TERMS = [
    ("tar1090", "tar1090-db (github.com/wiedehopf/tar1090-db), from the Mictronics aircraft database — used under its terms"),
    ("plane-alert", "plane-alert-db (github.com/sdr-enthusiasts/plane-alert-db) — Open Database License (ODbL)"),
    ("vrs", "Virtual Radar Server standing data (ICAO address blocks) — CC0"),
]


def _attributions(regions: list[model.Region], ft: pl.DataFrame, pts: pl.DataFrame) -> dict[str, list[str]]:
    boundaries = view.attribution_lines(regions)
    src_cols = [c for c in ft.columns if c.endswith("_source")]
    sources = set()
    for c in src_cols:
        sources.update(v for v in ft[c].drop_nulls().unique().to_list())
    aircraft = []
    for key, line in DB_TERMS:
        if any(key in s.lower() for s in sources) and line not in aircraft:
            aircraft.append(line)
    feeds = []
    for feed in sorted(set(pts["feed"].drop_nulls().unique().to_list()) if pts.height else set()):
        line = next((t for k, t in FEED_TERMS if k in feed.lower()), None)
        feeds.append(f"{feed}: {line}" if line else f"{feed}: positions used under the provider's terms")
    return {"boundaries": boundaries, "aircraft": aircraft, "feeds": feeds}


def _claims_matrix(verdicts: list[dict]) -> dict:
    """Definitions (rows) against claims (columns): under which definitions does each claim hold?

    Rows are the definitions under which at least one claim holds, as the claims stage names them.
    """
    labels: list[str] = []
    for v in verdicts:
        for h in v["holds"]:
            if h["label"] and h["label"] not in labels:
                labels.append(h["label"])
    rows = []
    for lb in labels:
        cells = []
        for v in verdicts:
            h = next((h for h in v["holds"] if h["label"] == lb), None)
            cells.append(h)
        rows.append({"label": lb, "cells": cells})
    return {"claims": [v["id"] or f"claim {n + 1}" for n, v in enumerate(verdicts)], "rows": rows}


# ---------------------------------------------------------------------------------------------


def build_context(
    *,
    flights,
    aircraft,
    observations,
    events,
    regions,
    verdicts=(),
    count_table=None,
    coverage=None,
    title: str,
    simulated: bool,
    notes: Iterable[str] = (),
    gap_s: float = GAP_S,
    prepared: view.Prepared | None = None,
) -> dict[str, Any]:
    """Everything the template renders (also used by tests to inspect what will be drawn).

    prepared: view.prepare() of these same tables, when the caller already made it for the figures."""
    p = prepared or view.prepare(
        flights=flights, aircraft=aircraft, observations=observations, events=events, regions=regions, coverage=coverage
    )
    regs, ft, pts, ev, cov, proj, clip = p.regions, p.ft, p.pts, p.ev, p.coverage, p.proj, p.clip

    map_regions = []
    for n, (r, colour) in enumerate(zip(regs, view.region_colours(regs), strict=True)):
        d = geo.geometry_d(r.geometry, proj, clip)
        if d:
            map_regions.append({"n": n, "kind": r.kind, "d": d, "colour": colour, "name": r.name})
    tracks = geo.track_paths(pts.select("i", "time", "lon", "lat"), proj, ft.height, gap_s)
    entered = ev.filter(pl.col("entered").fill_null(False))
    entry_d = geo.entry_paths(
        pts.select("i", "time", "lon", "lat"), entered.select(pl.int_range(pl.len()).alias("e"), "i", "entry_time", "exit_time"), proj
    )
    entry_layer = [
        {"e": r["e"], "d": d, "basis": "gap" if r["basis"] == "gap_only" else "obs"}
        for r, d in zip(entered.to_dicts(), entry_d, strict=True)
        if d
    ]
    markers = []
    for r in ev.to_dicts():
        if r["entered"]:
            d = geo.dot_d(r["max_depth_lon"], r["max_depth_lat"], proj)
            kind = "depth-gap" if r["basis"] == "gap_only" else "depth"
        else:
            d = geo.dot_d(r["closest_lon"], r["closest_lat"], proj)
            kind = "closest"
        if d:
            markers.append({"e": r["e"], "d": d, "kind": kind})

    rows, fdata = _flight_rows(ft)
    map_tracks = [
        {"i": n, "d": tracks["solid"][n], "gap": tracks["gaps"][n], "ca": rows[n]["colour_aircraft"], "cr": rows[n]["colour_role"]}
        for n in range(ft.height)
    ]
    for n, f in enumerate(fdata):
        f["bbox"] = tracks["bbox"][n]

    ev_rows = []
    for r in ev.to_dicts():
        ev_rows.append(
            {
                "e": r["e"],
                "i": r["i"],
                "flight_id": model.text(r["flight_id"]),
                "callsign": model.text(r["callsign"]),
                "registration": model.text(r["registration"]),
                "type": model.text(r["type_label"]),
                "region": model.text(r["region"]),
                "region_name": model.text(r["region_name"]),
                "kind": model.text(r["region_kind"]),
                "entered": bool(r["entered"]),
                "entry": _fmt_time(r["entry_time"]),
                "exit": _fmt_time(r["exit_time"]) or ("flight ends inside" if r["entered"] else ""),
                "duration": _minutes(r["duration_s"]),
                "n_inside": model.text(r["n_obs_inside"]),
                "basis": model.text(r["basis"]),
                "over_land": "over land" if r["over_land"] else ("sea only" if r["over_land"] is False else ""),
                "depth": "" if r["max_depth_km"] is None else f"{r['max_depth_km']:.1f} km",
                "closest": "" if r["closest_km"] is None else f"{r['closest_km']:.1f} km",
                "closest_km": r["closest_km"],  # the number, to sort by
                "closest_time": _fmt_time(r["closest_time"]),
            }
        )
    entries_rows = [r for r in ev_rows if r["entered"]]
    # nearest approaches of flights that never entered, nearest first, per region
    near_all = sorted(
        (r for r in ev_rows if not r["entered"] and r["closest_km"] is not None),
        key=lambda r: (r["region"], r["closest_km"]),
    )
    near_rows, near_more = [], {}
    for r in near_all:  # the nearest NEAR_ROWS per region; the rest are in the flights table
        if sum(1 for x in near_rows if x["region"] == r["region"]) < NEAR_ROWS:
            near_rows.append(r)
        else:
            near_more[r["region_name"]] = near_more.get(r["region_name"], 0) + 1

    vds = model.normalise_verdicts(verdicts)
    counts = model.normalise_counts(count_table)

    legend_aircraft = (
        ft.group_by("icao24", "colour_aircraft", maintain_order=True)
        .agg(pl.col("registration").first(), pl.col("type_label").first(), pl.col("callsign").drop_nulls().first(), pl.len())
        .sort("icao24")
        .to_dicts()
    )
    roles_present = ft["role"].unique().to_list()
    legend_roles = [
        {"label": view.ROLE_LABELS[k], "colour": c, "n": ft.filter(pl.col("role") == k).height}
        for k, c in view.ROLE_COLOURS.items()
        if k in roles_present
    ]

    t0, t1 = ft["start"].min(), ft["end"].max()
    region_rows = _region_summary(ev)
    cov_rows = [
        {
            "day": r["day"].isoformat() if r["day"] else "",
            "n_obs": model.text(r["n_obs"]),
            "n_aircraft": model.text(r["n_aircraft"]),
            "first": _fmt_time(r["first"]),
            "last": _fmt_time(r["last"]),
            "max_gap": _minutes(r["max_gap_s"]),
            "empty": not (r["n_obs"] or 0),
        }
        for r in cov.to_dicts()
    ]
    data = {
        "simulated": bool(simulated),
        "proj": proj.to_json(),
        "flights": fdata,
        "events": [
            {k: r[k] for k in ("i", "region", "region_name", "entered", "entry", "exit", "duration", "n_inside", "basis", "over_land", "depth", "closest", "closest_time")}
            for r in ev_rows
        ],
        "regions": [{"id": r.id, "name": r.name, "kind": r.kind} for r in regs],
    }
    return {
        "title": title,
        "simulated": bool(simulated),
        "sim_label": SIMULATED_LABEL,
        "generated": datetime.now(timezone.utc).strftime(view.TIME_FMT),
        "notes": [model.text(n) for n in notes],
        "summary": {
            "n_flights": ft.height,
            "n_aircraft": ft["icao24"].n_unique() if ft.height else 0,
            "n_positions": pts.height,
            "first": _fmt_time(t0),
            "last": _fmt_time(t1),
            "regions": region_rows,
            "lead": _lead(ft.height, ft["icao24"].n_unique() if ft.height else 0, _fmt_time(t0), _fmt_time(t1), region_rows),
            "n_entries": len(entries_rows),
            "n_entries_observed": sum(1 for r in entries_rows if r["basis"] == "observed"),
            "n_entries_gap_only": sum(1 for r in entries_rows if r["basis"] == "gap_only"),
        },
        "map": {
            "width": proj.width,
            "height": round(proj.height, 2),
            "regions": map_regions,
            "graticule": geo.graticule(proj),
            "tracks": map_tracks,
            "entries": entry_layer,
            "markers": markers,
            "kinds": sorted({r["kind"] for r in map_regions}, key=model.REGION_KINDS.index),
        },
        "regions": [
            {"id": r.id, "name": r.name, "kind": r.kind, "attribution": ", ".join(r.attribution)} for r in regs
        ],
        "legend_aircraft": legend_aircraft,
        "legend_roles": legend_roles,
        "flights": rows,
        "entries": entries_rows,
        "near": near_rows,
        "near_more": near_more,
        "verdicts": vds,
        "counts": counts,
        "matrix": _claims_matrix(vds),
        "timeline": _timeline(ft, cov),
        "coverage": cov_rows,
        "limits": _limits(ft, pts, ev, cov, gap_s),
        "attributions": _attributions(regs, ft, pts),
        "data_json": Markup(model.json_for_script(data)),
        "gap_min": f"{gap_s / 60:.0f}",
    }


def render(ctx: dict[str, Any]) -> str:
    css = _static("report.css")
    js = _static("report.js")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    # nothing may be fetched; only the report's own script may run
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    # css and js are the package's own static files, not feed text
    return _env().get_template("report.html.j2").render(**ctx, css=Markup(css), js=Markup(js), csp=csp)


def write_report(
    out_path,
    *,
    flights,
    aircraft,
    observations,
    events,
    regions,
    verdicts=(),
    count_table=None,
    coverage=None,
    title: str,
    simulated: bool,
    notes: Iterable[str] = (),
    gap_s: float = GAP_S,
    prepared: view.Prepared | None = None,
) -> Path:
    """Write the evidence report to out_path (a file, or a directory to hold report.html).

    flights: schema.FLIGHTS (the counted flights); aircraft: schema.AIRCRAFT; observations:
    schema.OBSERVATIONS + flight_id (positions of other flights are ignored); events:
    schema.AIRSPACE_EVENTS or None; regions: (id, name, kind, geometry, attribution) with kind
    land / sovereign / aoi / other; verdicts: claim verdicts (see model.normalise_verdicts);
    count_table: count results or a table (see model.normalise_counts); coverage: by day;
    prepared: view.prepare() of these same tables, if already made.
    """
    out = Path(out_path)
    if out.is_dir():
        out = out / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    ctx = build_context(
        flights=flights,
        aircraft=aircraft,
        observations=observations,
        events=events,
        regions=regions,
        verdicts=verdicts,
        count_table=count_table,
        coverage=coverage,
        title=title,
        simulated=simulated,
        notes=notes,
        gap_s=gap_s,
        prepared=prepared,
    )
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render(ctx), encoding="utf-8")
    tmp.replace(out)
    return out
