"""Tables the report shows, computed once for the HTML page, the PNG figures and the exports:
counted flights joined with their aircraft and their airspace entries, colours, sorties per day."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import shapely

from isrwatch import schema
from isrwatch.report import geo, model

TIME_FMT = "%Y-%m-%d %H:%MZ"

# colours by ISR role (fixed, so a reader learns them once) and a qualitative palette by aircraft
ROLE_COLOURS = {
    "sigint": "#d62728",
    "maritime_patrol": "#1f77b4",
    "imint": "#9467bd",
    "aew": "#ff7f0e",
    "uav_isr": "#2ca02c",
    "multi_int": "#8c564b",
    "other_isr": "#e377c2",
    "none": "#7f7f7f",
    "unknown": "#b0b0b0",
}
ROLE_LABELS = {
    "sigint": "Signals intelligence (SIGINT)",
    "maritime_patrol": "Maritime patrol",
    "imint": "Imagery intelligence (IMINT)",
    "aew": "Airborne early warning (AEW)",
    "uav_isr": "Drone (UAV) ISR",
    "multi_int": "Multi-intelligence",
    "other_isr": "Other ISR",
    "none": "Not an ISR type",
    "unknown": "Role unknown",
}
PALETTE = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#bcbd22", "#393b79", "#ad494a", "#637939",
    "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#843c39",
]  # fmt: skip


def flight_table(flights, aircraft, events) -> pl.DataFrame:
    """Counted flights sorted by start, with index i, aircraft facts, colours and entry summaries."""
    flights = model.conform(flights, schema.FLIGHTS, "flights")
    aircraft = model.conform(aircraft, schema.AIRCRAFT, "aircraft")
    events = model.conform(events, schema.AIRSPACE_EVENTS, "events")
    dup = flights.filter(pl.col("flight_id").is_duplicated())
    if dup.height:
        raise model.ReportInputError(f"flights: flight_id not unique, e.g. {dup['flight_id'][0]!r}")
    ac = aircraft.select(list(schema.AIRCRAFT)).unique("icao24", keep="first", maintain_order=True)
    ft = (
        flights.sort("start", "flight_id", nulls_last=True)
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64))
        .join(ac, on="icao24", how="left", suffix="_aircraft")
    )
    entered = (
        events.filter(pl.col("entered"))
        .sort("entry_time")
        .group_by("flight_id", maintain_order=True)
        .agg(
            pl.format(
                "{} ({}{}, {} km deep)",
                pl.col("region"),
                pl.col("basis").fill_null("basis unknown").str.replace("gap_only", "only across a gap"),
                pl.when(pl.col("over_land")).then(pl.lit(", over land")).otherwise(pl.lit("")),
                pl.col("max_depth_km").round(1).cast(pl.String).fill_null("?"),
            ).alias("entries"),
            pl.col("region").unique(maintain_order=True).alias("entered_regions"),
            (pl.col("basis") == "observed").any().alias("entered_observed"),
        )
    )
    closest = (
        events.filter(~pl.col("entered").fill_null(False))
        .sort("region")
        .group_by("flight_id", maintain_order=True)
        .agg(
            pl.format("{}: {} km", pl.col("region"), pl.col("closest_km").round(1).cast(pl.String).fill_null("?")).alias(
                "closest"
            )
        )
    )
    ft = ft.join(entered, on="flight_id", how="left").join(closest, on="flight_id", how="left")
    role = pl.col("isr_role").cast(pl.String).fill_null("unknown")
    icaos = ft["icao24"].unique(maintain_order=False).sort(nulls_last=True)
    colour_of = {ic: PALETTE[n % len(PALETTE)] for n, ic in enumerate(icaos.to_list())}
    return ft.with_columns(
        role.alias("role"),
        role.replace_strict(ROLE_COLOURS, default=ROLE_COLOURS["unknown"]).alias("colour_role"),
        pl.col("icao24")
        .replace_strict({k: v for k, v in colour_of.items() if k is not None}, default="#555555")
        .alias("colour_aircraft"),
        pl.col("entries").fill_null([]),
        pl.col("entered_regions").fill_null([]),
        pl.col("entered_observed").fill_null(False),
        pl.col("closest").fill_null([]),
        pl.col("callsigns").fill_null([]),
        pl.col("type_code").fill_null("unknown type").alias("type_label"),
    )


def track_points(observations, ft: pl.DataFrame) -> pl.DataFrame:
    """Positions of the counted flights: i, flight_id, time, lon, lat (+ source columns), sorted."""
    obs = model.conform(observations, model.OBS_COLUMNS, "observations")
    pts = obs.join(ft.select("flight_id", "i"), on="flight_id", how="inner")
    bad = pts.filter((pl.col("lat").abs() > 90) | (pl.col("lon").abs() > 180) | pl.col("time").is_null())
    if bad.height:
        raise model.ReportInputError(
            f"observations: {bad.height} positions of counted flights have no time or lat/lon out of range"
            f" (e.g. flight {bad['flight_id'][0]!r})"
        )
    # a position without coordinates cannot be drawn; it still counts in the flight's n_obs
    return pts.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null()).sort("i", "time")


def sorties_per_day(ft: pl.DataFrame, coverage: pl.DataFrame) -> dict:
    """Sorties per UTC day (by start) and aircraft type, days without coverage flagged."""
    per = (
        ft.filter(pl.col("start").is_not_null())
        .with_columns(pl.col("start").dt.date().alias("day"))
        .group_by("day", "type_label")
        .agg(pl.len().alias("n"))
        .sort("day", "type_label")
    )
    days = per["day"].to_list() + coverage["day"].to_list()
    if not days:
        return {"days": [], "types": [], "counts": {}, "no_data": set()}
    all_days = pl.date_range(min(days), max(days), "1d", eager=True).to_list()
    types = (
        per.group_by("type_label").agg(pl.col("n").sum()).sort(["n", "type_label"], descending=[True, False])
    )["type_label"].to_list()
    counts = {(r["day"], r["type_label"]): r["n"] for r in per.to_dicts()}
    no_data: set = set()
    if coverage.height:
        have = set(coverage.filter(pl.col("n_obs").fill_null(0) > 0)["day"].to_list())
        no_data = {d for d in all_days if d not in have}
    return {"days": all_days, "types": types, "counts": counts, "no_data": no_data}


# outline colours of areas of interest and other context areas, one per area
AREA_COLOURS = ["#6a3fc0", "#00838f", "#c2185b", "#8d6e00", "#2e7d32", "#ef6c00", "#455a64"]


def region_colours(regions: list[model.Region]) -> list[str]:
    """An outline colour per region: fixed for land and sovereign airspace, cycling for the others."""
    out, k = [], 0
    for r in regions:
        if r.kind == "land":
            out.append("#c9c1ad")
        elif r.kind == "sovereign":
            out.append("#b3261e")
        else:
            out.append(AREA_COLOURS[k % len(AREA_COLOURS)])
            k += 1
    return out


def type_colours(types: list[str]) -> dict[str, str]:
    return {t: PALETTE[n % len(PALETTE)] if t != "unknown type" else "#b0b0b0" for n, t in enumerate(types)}


def events_table(events, ft: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Airspace events of the counted flights with index e, flight index i and the region's name."""
    ev = model.conform(events, schema.AIRSPACE_EVENTS, "events")
    return (
        ev.join(ft.select("flight_id", "i", "callsign", "registration", "type_label"), on="flight_id", how="inner")
        .sort("i", "region", "entry_index", nulls_last=True)
        .with_row_index("e")
        .with_columns(
            pl.col("e").cast(pl.Int64),
            pl.col("region").replace_strict(names, default=pl.col("region")).alias("region_name"),
        )
    )


@dataclass
class Prepared:
    """The inputs brought into shape once, for the page, the figures and the exports."""

    ft: pl.DataFrame  # flight_table()
    pts: pl.DataFrame  # track_points()
    ev: pl.DataFrame  # events_table()
    regions: list[model.Region]
    coverage: pl.DataFrame
    proj: geo.Projection
    clip: tuple[float, float, float, float]


def prepare(*, flights, aircraft, observations, events, regions, coverage=None) -> Prepared:
    regs = model.normalise_regions(regions)
    ft = flight_table(flights, aircraft, events)
    pts = track_points(observations, ft)
    ev = events_table(events, ft, {r.id: r.name for r in regs})
    fallback = None
    focus = [r for r in regs if r.kind in ("aoi", "sovereign")] or regs
    if focus:
        fallback = tuple(float(v) for v in shapely.total_bounds([r.geometry for r in focus]))
    if pts.height:
        lons, lats = pts["lon"].to_numpy(), pts["lat"].to_numpy()
    else:  # no positions: frame the flights' first and last positions, else the regions
        ends = pl.concat(
            [ft.select(lon="first_lon", lat="first_lat"), ft.select(lon="last_lon", lat="last_lat")]
        ).drop_nulls()
        lons, lats = ends["lon"].to_numpy(), ends["lat"].to_numpy()
    proj = geo.fit(lons, lats, fallback)
    return Prepared(ft, pts, ev, regs, model.normalise_coverage(coverage), proj, geo.clip_box(proj))


def attribution_lines(regions: list[model.Region]) -> list[str]:
    out: list[str] = []
    for r in regions:
        for a in r.attribution:
            if a not in out:
                out.append(a)
    return out
