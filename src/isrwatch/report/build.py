"""build_report(): the store and the stages composed into the whole evidence pack, for the
`isrwatch report` command and for `isrwatch demo`.

    out = build_report("out/", db="isrwatch.duckdb", since="2025-02-01", until="2025-02-14", country="MEX")
    out.paths["html"], out.paths["map_png"], out.paths["geojson"], ...

Choices written down here:
- The tables come from isrwatch.pipeline.load_tables (store -> segment -> identify -> airspace ->
  area presence), the same composition `isrwatch count` and `isrwatch verify` use, so the report
  shows the numbers those commands print.
- The flights drawn and exported are the sorties counted under the report's own definition:
  ISR roles only (unless isr_only=False), in the window, and — with a country — within `near_km`
  (default 100 km) of its sovereign airspace. Flights whose role is unknown (no aircraft database)
  are not drawn; a note says how many there are.
- The definitions table is count.count_table for that window and area: sorties, distinct
  aircraft, aircraft-days, missions, and entries into the country's sovereign airspace (observed
  only, then including gap-only entries).
- Regions drawn: land, the country's sovereign airspace, the "near" area and the named areas of
  interest that touch the country.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import polars as pl

from isrwatch import schema
from isrwatch.report import exports, figures, view
from isrwatch.report.html import write_report

NEAR_KM = 100.0


class ReportBuildError(ValueError):
    """The report cannot be built from this store and these options (the message says why)."""


@dataclass
class BuiltReport:
    paths: dict[str, Path]
    n_flights: int
    n_aircraft: int
    window: tuple[datetime | None, datetime | None]
    country: str | None
    counts: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attribution: list[str] = field(default_factory=list)
    simulated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "paths": {k: str(v) for k, v in self.paths.items()},
            "n_flights": self.n_flights,
            "n_aircraft": self.n_aircraft,
            "window": {
                "since": self.window[0].isoformat() if self.window[0] else None,
                "until": self.window[1].isoformat() if self.window[1] else None,
            },
            "country": self.country,
            "counts": self.counts,
            "verdicts": self.verdicts,
            "notes": self.notes,
            "attribution": self.attribution,
            "simulated": self.simulated,
        }


def _regions(country: str | None, areas) -> list:
    """Airspace-stage Region objects to draw: land, the country, the areas counted in."""
    from isrwatch.airspace.catalog import land_region
    from isrwatch.pipeline import region_for

    out = [land_region()]
    seen = {"land"}
    for area in areas:
        if area.key in seen:
            continue
        try:
            out.append(region_for(area))
        except (KeyError, ValueError):  # a region that cannot be drawn is left off the map, not fatal
            continue
        seen.add(area.key)
    return out


def build_report(
    out_dir,
    *,
    db=None,
    con=None,
    since: Any = None,
    until: Any = None,
    country: str | None = None,
    near_km: float = NEAR_KM,
    isr_only: bool = True,
    claims: Iterable[Any] | None = None,
    claims_file: str | Path | None = None,
    title: str | None = None,
    simulated: bool = False,
    notes: Iterable[str] = (),
    formats: Iterable[str] = exports.FORMATS,
    figures_png: bool = True,
    aircraft_db: str | Path | None = None,
    plane_alert: str | Path | None = None,
) -> BuiltReport:
    """Everything in out_dir: report.html, map.png, timeline.png and the flight exports.

    db: the DuckDB store (path), or con: an open connection. since/until: the window (UTC; a bare
    `until` date includes that day). country: ISO alpha-3 (or alpha-2, or a name) whose sovereign
    airspace entries are tested and around which flights are counted. claims / claims_file: claims
    to verify against the same tables (Claim objects or sentences; a YAML claims file).
    """
    from isrwatch import store
    from isrwatch.claims import load_claims, resolve, verify
    from isrwatch.count import ISR_ANY, Area, counter, results_table, standard_definitions, utc
    from isrwatch.pipeline import load_tables, named_aois_near

    try:
        s, u = utc(since), utc(until, end=True)
    except ValueError as exc:
        raise ReportBuildError(f"bad window: {exc}") from exc
    if s is not None and u is not None and u <= s:
        raise ReportBuildError("the window's end is not after its start")
    try:
        sovereign = Area.sovereign(country) if country else None
    except ValueError as exc:
        raise ReportBuildError(str(exc)) from exc
    iso3 = sovereign.id if sovereign else None
    near = Area.within(near_km, iso3) if iso3 else None
    aoi_ids = named_aois_near(iso3) if iso3 else []
    areas = [a for a in (sovereign, near) if a is not None] + [Area.aoi(a) for a in aoi_ids]

    from isrwatch.claims import Claim

    # sentences become claims with their own ids (claim-1, claim-2, ...) and no named source
    claim_list = [
        Claim(id=f"claim-{i + 1}", source="(given on the command line)", words=c) if isinstance(c, str) else c
        for i, c in enumerate(claims or [])
    ]
    defaults: dict[str, Any] = {}
    if claims_file is not None:
        loaded, defaults = load_claims(claims_file)
        claim_list = list(loaded) + claim_list
    resolved = [resolve(c, since=s, until=u, region=sovereign, defaults=defaults) for c in claim_list]
    if resolved:
        from isrwatch.claims import areas_needed

        areas = list(dict.fromkeys([*areas, *areas_needed(resolved, aois=aoi_ids)]))

    own = con is None
    if own:
        path = Path(db) if db is not None else None
        if path is not None and not path.exists():
            raise ReportBuildError(f"no store at {path}: ingest data first (isrwatch ingest) or give --db")
        con = store.open_store(path, read_only=True)
    try:
        tables = load_tables(
            con, since=s, until=u, areas=areas, entry_countries=[iso3] if iso3 else [],
            aircraft_db=aircraft_db, plane_alert=plane_alert,
        )
    finally:
        if own:
            con.close()

    roles = ISR_ANY if isr_only else ()
    from isrwatch.count import CountDefinition

    counted_def = CountDefinition("sorties", since=s, until=u, area=near, roles=roles)
    # the drawn count and the definitions table share one preparation of the tables
    count_one = counter(**tables.kwargs(), areas_computed=tables.areas_computed)
    counted = count_one(counted_def)
    ids = counted.flights["flight_id"]
    flights = tables.flights.filter(pl.col("flight_id").is_in(ids.implode()))
    observations = tables.observations.filter(pl.col(schema.FLIGHT_ID).is_in(ids.implode()))
    events = tables.events.filter(pl.col("flight_id").is_in(ids.implode()))
    table = results_table([count_one(d) for d in standard_definitions(s, u, near, roles=roles)])

    verdicts = []
    if resolved:
        verdicts = verify(
            resolved, tables.flights, tables.aircraft, tables.area_presence, tables.events, tables.coverage,
            aois=aoi_ids, extent=tables.extent, region_bounds=tables.region_bounds,
            areas_computed=tables.areas_computed,
        )
    regions = _regions(iso3, areas)
    all_notes = [*notes, *tables.notes]
    if counted.n_unknown_facts:
        all_notes.append(
            f"{counted.n_unknown_facts} more sorties are not drawn: their aircraft's ISR role is unknown "
            "(with an aircraft database, `isrwatch db update`, they may be identified)"
        )
    all_notes.append("Counted and drawn here: " + counted_def.sentence())
    if title is None:
        where = f" near {iso3}" if iso3 else ""
        title = f"{'ISR' if isr_only else 'Military and other'} flights{where}"
        if s or u:
            title += f", {s:%Y-%m-%d}" if s else ""
            title += f" to {u:%Y-%m-%d %H:%M}" if u else ""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    common = dict(flights=flights, aircraft=tables.aircraft, observations=observations, events=events)
    # the page, the figures, the exports and the attribution read one preparation of the same tables
    prepared = view.prepare(**common, regions=regions, coverage=tables.coverage)
    paths: dict[str, Path] = {}
    paths["html"] = write_report(
        out / "report.html", **common, regions=regions, verdicts=[v.to_dict() for v in verdicts],
        count_table=table, coverage=tables.coverage, title=title, simulated=simulated, notes=all_notes,
        prepared=prepared,
    )
    if figures_png:
        paths.update(
            figures.write_figures(
                out, **common, regions=regions, coverage=tables.coverage, simulated=simulated, title=title,
                prepared=prepared,
            )
        )
    paths.update(
        exports.export_flights(
            out, flights, observations, tables.aircraft, formats=formats, events=events, regions=regions,
            simulated=simulated, title=title, prepared=prepared,
        )
    )
    return BuiltReport(
        paths=paths,
        n_flights=flights.height,
        n_aircraft=flights["icao24"].n_unique(),
        window=(s, u),
        country=iso3,
        counts=[
            {k: r[k] for k in ("name", "kind", "n", "n_upper", "area", "sentence")} for r in table.to_dicts()
        ],
        verdicts=[
            {k: d.get(k) for k in ("id", "source", "words", "date", "verdict", "reason", "observed", "observed_upper",
                                    "claim", "definitions_that_hold")}
            for d in (v.to_dict() for v in verdicts)
        ],
        notes=all_notes,
        attribution=view.attribution_lines(prepared.regions),
        simulated=simulated,
    )
