"""The stages composed: store -> segment -> identify -> airspace -> area presence.

Not a stage: the one place (beside the CLI, report and demo, which call it) that chains the stages,
so each stage module stays a set of pure functions over tables that never imports another stage.

Choices written down here:
- Observations are read with a margin of MARGIN either side of the window so a sortie that began
  before the window (or ends after it) is segmented whole; whether it counts is then decided by
  the count's own window rule (overlap), not by where the read stopped.
- Area presence and airspace events are computed from the same observations, for exactly the
  areas asked for; `areas_computed` records them so an area never asked for is "not computed",
  never a false zero.
- The aircraft table comes from identify() over the feed facts in the store plus the aircraft
  databases when cached (tar1090-db, plane-alert-db). Without a database, roles stay unknown and
  counts say so (count.core leaves such flights out of n and in n_upper).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

import polars as pl

from isrwatch import schema
from isrwatch.count.definition import Area
from isrwatch.count.presence import AREA_PRESENCE, classified_points, presence

MARGIN = timedelta(hours=12)
# aircraft identify() gives an ISR role
ISR = pl.col("isr_role").is_not_null() & (pl.col("isr_role") != "none")


@dataclass
class Tables:
    observations: pl.DataFrame  # schema.OBSERVATIONS + flight_id
    flights: pl.DataFrame  # schema.FLIGHTS
    aircraft: pl.DataFrame  # schema.AIRCRAFT
    area_presence: pl.DataFrame  # AREA_PRESENCE
    events: pl.DataFrame  # schema.AIRSPACE_EVENTS
    coverage: pl.DataFrame  # store.COVERAGE
    areas: list[Area] = field(default_factory=list)  # the areas presence was computed for
    areas_computed: set[str] = field(default_factory=set)
    extent: tuple[float, float, float, float] | None = None  # (min_lon, min_lat, max_lon, max_lat) in the window
    region_bounds: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    attribution: list[str] = field(default_factory=list)
    aircraft_db: bool = False  # an aircraft database was available to identify()
    notes: list[str] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        """The tables count() and verify() take."""
        return dict(flights=self.flights, aircraft=self.aircraft, area_presence=self.area_presence, events=self.events)


def region_for(area: Area):
    """The airspace stage's Region for an Area (user GeoJSON is loaded and registered)."""
    from isrwatch.airspace.catalog import get_region, load_user_geojson

    if area.kind == "geojson":
        return load_user_geojson(area.id, region_id=area.key)
    return get_region(area.key)


def named_aois_near(country: str | None, *, margin_deg: float = 2.0) -> list[str]:
    """The named AOIs whose extent touches the country's sovereign area (grown by margin_deg)."""
    if not country:
        return []
    from isrwatch.airspace.catalog import NAMED_AOIS, get_region

    c = get_region(country).geometry.bounds
    out = []
    for rid in NAMED_AOIS:
        b = get_region(rid).geometry.bounds
        if not (b[2] < c[0] - margin_deg or b[0] > c[2] + margin_deg or b[3] < c[1] - margin_deg or b[1] > c[3] + margin_deg):
            out.append(rid)
    return out


def area_presence_for(obs_with_ids: pl.DataFrame, areas: Iterable[Area]) -> tuple[pl.DataFrame, set[str]]:
    """AREA_PRESENCE for every area over observations with flight_id; and the area keys computed."""
    from isrwatch.airspace.classify import classify_points

    areas = list(dict.fromkeys(areas))
    obs = obs_with_ids.filter(pl.col(schema.FLIGHT_ID).is_not_null()).select(schema.FLIGHT_ID, "time", "lat", "lon")
    computed = {a.key for a in areas}
    if obs.height == 0 or not areas:
        return schema.empty(AREA_PRESENCE), computed
    masks: dict[str, pl.Series] = {}
    for area in areas:
        if area.kind == "sovereign":
            # one country at a time: the classifier's smallest-area-wins rule applies between countries
            cls = classify_points(obs, countries=[area.id])
            masks[area.key] = (cls["sovereign"] == area.id).fill_null(False)
    others = [a for a in areas if a.kind != "sovereign"]
    if others:
        from isrwatch.airspace.classify import aoi_column

        regions = [region_for(a) for a in others]
        cls = classify_points(obs, countries=[_any_country(others)], aois=regions)
        for area, region in zip(others, regions):
            masks[area.key] = cls[aoi_column(region.id)].fill_null(False)
    return presence(classified_points(obs, masks)), computed


def _any_country(areas: list[Area]) -> str:
    """A country for classify_points' sovereign column when only AOIs are wanted (its value unused)."""
    for a in areas:
        if a.country:
            return a.country
    return "MEX"


def sorties(
    con,
    *,
    since: datetime | None,
    until: datetime | None,
    icao24: list[str] | None = None,
    margin: timedelta = MARGIN,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Observations with flight_id, and the sorties, read with `margin` either side of [since, until)
    so a sortie crossing the window's edges is whole; every sortie read, not only those overlapping."""
    from isrwatch import store

    obs = store.load_observations(
        con,
        icao24=icao24,
        since=since - margin if since is not None else None,
        until=until + margin if until is not None else None,
    )
    return sorties_of(obs)


def sorties_of(obs: pl.DataFrame, *, airfields: pl.DataFrame | None = None, rules: Any = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The segment stage over a table of observations: (observations + flight_id, split_reason;
    schema.FLIGHTS). The one place the two calls are chained (the Dask engine's tasks too)."""
    from isrwatch import segment

    obs_ids = segment.assign_sorties(obs, airfields=airfields, rules=rules)
    return obs_ids, segment.flights(obs_ids, airfields=airfields, rules=rules)


def events_of(obs_ids: pl.DataFrame, regions: Iterable[Any], *, max_gap_s: float | None = None) -> list[pl.DataFrame]:
    """schema.AIRSPACE_EVENTS per region for the sortie rows of assign_sorties' output (rows in
    no sortie left out once, for every region)."""
    from isrwatch.airspace.events import airspace_events

    in_sorties = obs_ids.filter(pl.col(schema.FLIGHT_ID).is_not_null())
    return [airspace_events(in_sorties, r, max_gap_s=max_gap_s) for r in regions]


def overlapping(flights: pl.DataFrame, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    """The sorties overlapping [since, until)."""
    if since is not None:
        flights = flights.filter(pl.col("end") >= since)
    if until is not None:
        flights = flights.filter(pl.col("start") < until)
    return flights


def identify_flights(
    con,
    flights: pl.DataFrame,
    *,
    aircraft_db: str | Path | None = None,
    plane_alert: str | Path | None = None,
) -> tuple[pl.DataFrame, bool]:
    """identify() for the aircraft of `flights` from the store's feed facts and the aircraft
    databases (given or cached); and whether any database was available."""
    from isrwatch import identify, store

    adb = identify.load_aircraft_db(aircraft_db)
    pa = identify.load_plane_alert(plane_alert)
    aircraft = identify.identify(
        flights.select("icao24").unique(),
        store.load_feed_aircraft(con),
        aircraft_db=adb.table if adb is not None else None,
        plane_alert=pa.table if pa is not None else None,
    )
    return aircraft, adb is not None or pa is not None


def load_tables(
    con,
    *,
    since: datetime | None,
    until: datetime | None,
    areas: Iterable[Area] = (),
    entry_countries: Iterable[str] = (),
    aircraft_db: str | Path | None = None,
    plane_alert: str | Path | None = None,
    margin: timedelta = MARGIN,
) -> Tables:
    """Every table the count and claims stages need, for one window, from an open store."""
    from isrwatch import store
    from isrwatch import boundaries

    notes: list[str] = []
    obs_ids, flights = sorties(con, since=since, until=until, margin=margin)
    aircraft, have_db = identify_flights(con, flights, aircraft_db=aircraft_db, plane_alert=plane_alert)
    if not have_db:
        notes.append("no aircraft database cached (run `isrwatch db update`): ISR roles known only from feed facts and the type catalogue")

    areas = list(dict.fromkeys(areas))
    area_presence, computed = area_presence_for(obs_ids, areas)
    countries = list(dict.fromkeys([*entry_countries, *(a.id for a in areas if a.kind == "sovereign")]))
    ev_parts = events_of(obs_ids, countries)
    events = pl.concat(ev_parts) if ev_parts else schema.empty(schema.AIRSPACE_EVENTS)
    computed |= set(countries)

    coverage = store.coverage_by_day(con, since=since, until=until)
    in_window = obs_ids
    if since is not None:
        in_window = in_window.filter(pl.col("time") >= pl.lit(since).cast(schema.UTC_US))
    if until is not None:
        in_window = in_window.filter(pl.col("time") < pl.lit(until).cast(schema.UTC_US))
    extent = None
    if in_window.height:
        row = in_window.select(
            pl.col("lon").min().alias("w"), pl.col("lat").min().alias("s"),
            pl.col("lon").max().alias("e"), pl.col("lat").max().alias("n"),
        ).row(0)
        extent = tuple(float(v) for v in row)  # type: ignore[assignment]
    bounds = {a.key: tuple(region_for(a).geometry.bounds) for a in areas}
    attribution = boundaries.attribution([a.key for a in areas] + countries)
    return Tables(
        observations=obs_ids,
        flights=flights,
        aircraft=aircraft,
        area_presence=area_presence,
        events=events,
        coverage=coverage,
        areas=areas,
        areas_computed=computed,
        extent=extent,  # type: ignore[arg-type]
        region_bounds=bounds,  # type: ignore[arg-type]
        attribution=attribution,
        aircraft_db=have_db,
        notes=notes,
    )
