"""`isrwatch count` and `isrwatch verify`: numbers under spelled-out definitions, and verdicts on claims."""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from isrwatch.cli.common import CONTROL, DbOption, JsonOption, fail, open_store_read_only, print_json, wide_console, window

VERDICT_STYLE = {"supported": "green", "contradicted": "red", "not_determinable": "yellow"}


def _safe(value: Any) -> str:
    """Text for the terminal: no control characters; Rich markup is escaped by the caller (Text)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.0f}" if math.isfinite(value) else "-"
    return CONTROL.sub("?", str(value))


def _text(value: Any, style: str = ""):
    from rich.text import Text

    return Text(_safe(value), style=style)  # Text never interprets markup: feed text stays literal


def _area(area: str | None, country: str | None, within_km: float | None, of: str | None, geojson: Path | None):
    from isrwatch.count import Area

    given = [x for x in (area, country, within_km is not None or of, geojson) if x]
    if len(given) > 1:
        fail("give one area: --area ID, --country ISO3, --within-km N --of ISO3, or --geojson FILE")
    try:
        if area:
            return Area.sovereign(area) if re.fullmatch(r"[A-Za-z]{3}", area) else Area.aoi(area)
        if country:
            return Area.sovereign(country)
        if within_km is not None or of:
            if within_km is None or not of:
                fail("--within-km N needs --of ISO3 (and --of needs --within-km)")
            return Area.within(within_km, of)
        if geojson:
            if not Path(geojson).is_file():
                fail(f"no such GeoJSON file: {geojson}")
            return Area.geojson(Path(geojson).resolve())
    except ValueError as exc:
        fail(str(exc))
    return None


def _load(con, *, since, until, areas, entry_countries=(), aircraft_db=None, plane_alert=None):
    from isrwatch.boundaries import UnknownRegion
    from isrwatch.pipeline import load_tables

    try:
        return load_tables(
            con, since=since, until=until, areas=areas, entry_countries=entry_countries,
            aircraft_db=aircraft_db, plane_alert=plane_alert,
        )
    except UnknownRegion as exc:
        fail(str(exc))
    except ValueError as exc:  # a user GeoJSON without polygons, a broken database file
        fail(str(exc))


AircraftDbOption = typer.Option(None, "--aircraft-db", help="tar1090-db file; default: $ISRWATCH_AIRCRAFT_DB, then the cache.")
PlaneAlertOption = typer.Option(None, "--plane-alert-db", help="plane-alert-db CSV; default: $ISRWATCH_PLANE_ALERT_DB, then the cache.")


def register(app: typer.Typer) -> None:
    @app.command("count")
    def count_cmd(
        definition: str = typer.Option(
            "sorties", "--definition", "-d", help="sorties | aircraft | aircraft-days | missions | entries"
        ),
        since: str = typer.Option(None, "--since", help="Start of the window, UTC (YYYY-MM-DD or ISO time)."),
        until: str = typer.Option(None, "--until", help="End of the window, UTC; a bare date includes that day."),
        area: str = typer.Option(None, "--area", help="A named AOI (e.g. gulf-of-california, us-mex-border, baja-pacific) or ISO3."),
        country: str = typer.Option(None, "--country", help="A country's sovereign airspace (ISO3, e.g. MEX)."),
        within_km: float = typer.Option(None, "--within-km", help="Within N km of a country's sovereign airspace (with --of)."),
        of: str = typer.Option(None, "--of", help="The country for --within-km (ISO3)."),
        geojson: Path = typer.Option(None, "--geojson", help="An area drawn in a GeoJSON file (WGS84)."),
        role: list[str] = typer.Option(None, "--role", help="ISR role(s): isr (any), sigint, maritime_patrol, imint, aew, uav_isr, multi_int, other_isr."),
        military_only: bool = typer.Option(False, "--military-only", help="Only aircraft known to be military."),
        registered: list[str] = typer.Option(None, "--registered", help="Registration country by ICAO address block (ISO2/ISO3); repeatable."),
        min_minutes: float = typer.Option(30.0, "--min-minutes", help="Missions: minutes inside the area (default 30)."),
        count_gap_only: bool = typer.Option(False, "--count-gap-only", help="Entries: also count entries resting only on a line across a coverage gap."),
        table: bool = typer.Option(False, "--table", help="Every definition side by side for the same window and area."),
        aircraft_db: Path = AircraftDbOption,
        plane_alert_db: Path = PlaneAlertOption,
        db: Path = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Count flights, aircraft, aircraft-days, missions or sovereign-airspace entries under a spelled-out definition."""
        from isrwatch.count import CountDefinition, count, count_table, kind_of

        s, u = window(since, until)
        the_area = _area(area, country, within_km, of, geojson)
        try:
            kind = kind_of(definition)
            d = CountDefinition(
                kind, since=s, until=u, area=the_area, roles=tuple(role or ()), military_only=military_only,
                countries=tuple(registered or ()), min_minutes=min_minutes, count_gap_only=count_gap_only,
            )
        except ValueError as exc:
            if table and "sovereign airspace" in str(exc):
                d = None  # the table shows entries only when the area names a country
            else:
                fail(str(exc))
        areas = [the_area] if the_area is not None else []
        entry_countries = [the_area.country] if the_area is not None and the_area.country else []
        con = open_store_read_only(db)
        try:
            tables = _load(con, since=s, until=u, areas=areas, entry_countries=entry_countries,
                           aircraft_db=aircraft_db, plane_alert=plane_alert_db)
        finally:
            con.close()
        if table:
            t = count_table(
                (s, u), the_area, **tables.kwargs(), roles=tuple(role or ()), military_only=military_only,
                countries=tuple(registered or ()), min_minutes=min_minutes, areas_computed=tables.areas_computed,
            )
            rows = []
            import json as _json

            for r in t.to_dicts():
                r["definition"] = _json.loads(r["definition"])
                rows.append(r)
            if json_out:
                print_json(rows)
                return
            _print_count_table(rows, tables)
            return
        assert d is not None
        result = count(d, **tables.kwargs(), areas_computed=tables.areas_computed)
        if json_out:
            dd = d.to_dict()
            print_json(
                {
                    "count": result.n,
                    "definition": dd,
                    "sentence": result.sentence,
                    "filters": {k: v for k, v in dd.items() if k != "kind"},
                    "n_upper": result.n_upper,
                    "n_unknown_facts": result.n_unknown_facts,
                    "n_gap_only": result.n_gap_only,
                    "notes": list(result.notes) + tables.notes,
                    "attribution": tables.attribution,
                    "flights": result.flights.to_dicts(),
                }
            )
            return
        _print_count(result, tables)

    @app.command("verify")
    def verify_cmd(
        claims_file: Path = typer.Argument(None, help="Claims file (YAML); see isrwatch.claims.claimsfile for the format."),
        claim: list[str] = typer.Option(None, "--claim", help="A claim as a sentence (EN/ES), instead of or besides a file; repeatable."),
        since: str = typer.Option(None, "--since", help="Window start for claims without dates (UTC)."),
        until: str = typer.Option(None, "--until", help="Window end for claims without dates; a bare date includes that day."),
        region: str = typer.Option(None, "--region", help="The country (ISO3) for claims that say 'our airspace' or name no place."),
        report: Path = typer.Option(None, "--report", help="Also write the HTML evidence report to this file."),
        aircraft_db: Path = AircraftDbOption,
        plane_alert_db: Path = PlaneAlertOption,
        db: Path = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Give each claim a verdict (supported / contradicted / not determinable) and the definitions under which it holds."""
        from isrwatch.claims import ClaimsFileError, areas_needed, countries_needed, load_claims, resolve, verify, window_span
        from isrwatch.claims.model import Claim
        from isrwatch.count import Area

        if claims_file is None and not claim:
            fail("give a claims file (YAML) or --claim 'sentence'")
        claims: list[Claim] = []
        defaults: dict[str, Any] = {}
        if claims_file is not None:
            try:
                claims, defaults = load_claims(claims_file)
            except ClaimsFileError as exc:
                fail(str(exc), code=2)
        claims += [Claim(id=f"cli-{i + 1}", source="(command line)", words=w) for i, w in enumerate(claim or [])]
        s, u = window(since, until)
        region_area = None
        if region:
            try:
                region_area = Area.sovereign(region)
            except ValueError as exc:
                fail(str(exc))
        resolved = [resolve(c, since=s, until=u, region=region_area, defaults=defaults) for c in claims]
        countries = countries_needed(resolved)
        if not any(r.definition for r in resolved):
            # nothing to count: every claim failed to parse or resolve; say so without reading the store
            from isrwatch import schema
            from isrwatch.pipeline import Tables

            empty = schema.empty(schema.FLIGHTS)
            verdicts = verify(resolved, empty, None, None, None, None)
            _finish(verdicts, Tables(empty, empty, schema.empty(schema.AIRCRAFT), empty, empty, empty), None, None,
                    json_out, None)
            return
        con = open_store_read_only(db)
        try:
            from isrwatch.pipeline import named_aois_near

            aois = sorted({a for c in countries for a in named_aois_near(c)})
            areas = areas_needed(resolved, aois=aois)
            lo, hi = window_span(resolved)
            tables = _load(con, since=lo, until=hi, areas=areas, entry_countries=countries,
                           aircraft_db=aircraft_db, plane_alert=plane_alert_db)
        finally:
            con.close()
        verdicts = verify(
            resolved, tables.flights, tables.aircraft, tables.area_presence, tables.events, tables.coverage,
            aois=aois, extent=tables.extent, region_bounds=tables.region_bounds, areas_computed=tables.areas_computed,
        )
        report_path = None
        if report is not None:
            report_path = write_report_hook(report, verdicts, tables, title=f"Claims checked: {claims_file.name if claims_file else 'command line'}")
        _finish(verdicts, tables, lo, hi, json_out, report_path)


def _finish(verdicts, tables, lo, hi, json_out: bool, report_path) -> None:
    if json_out:
        print_json(
            {
                "claims": [v.to_dict() for v in verdicts],
                "window": {"since": lo.isoformat() if lo else None, "until": hi.isoformat() if hi else None},
                "notes": tables.notes,
                "attribution": tables.attribution,
                "report": str(report_path) if report_path else None,
            }
        )
        return
    _print_verdicts(verdicts, tables)
    if report_path:
        typer.echo(f"report: {report_path}")


def write_report_hook(path: Path, verdicts, tables, *, title: str) -> Path:
    """--report: hand the verdicts and the tables behind them to the report module
    (isrwatch.report.write_report). The flights drawn are those behind the claims' own counts."""
    try:
        from isrwatch.report import write_report
    except ImportError as exc:  # pragma: no cover - the report ships with the package
        fail(f"the report module is not available: {exc}")
    from isrwatch.count import results_table
    from isrwatch.pipeline import region_for

    counted = sorted({fid for v in verdicts for fid in v.flights["flight_id"].to_list()})
    flights = tables.flights.filter(tables.flights["flight_id"].is_in(counted))
    regions = []
    for area in tables.areas:
        try:
            regions.append(region_for(area))
        except (KeyError, ValueError):  # a region that cannot be drawn is left off the map, not fatal
            continue
    # the claims' own counts, as verify() made them (one row per definition)
    count_rows = results_table({v.definition: v.result for v in verdicts if v.result is not None}.values())
    try:
        out = write_report(
            path,
            flights=flights,
            aircraft=tables.aircraft,
            observations=tables.observations,
            events=tables.events,
            regions=regions,
            verdicts=[v.to_dict() for v in verdicts],
            count_table=count_rows,
            coverage=tables.coverage,
            title=title,
            simulated=False,
            notes=tables.notes,
        )
    except ValueError as exc:
        fail(f"could not write the report: {exc}")
    return Path(out)


# --- printing -------------------------------------------------------------------------------------


def _print_count(result, tables) -> None:
    from rich.table import Table

    con = wide_console()
    con.print(_text(f"{result.n} {result.definition.name}", "bold"))
    con.print(_text(result.sentence))
    if result.n_upper != result.n:
        con.print(_text(f"could be up to {result.n_upper} (unknown aircraft facts / gap-only entries)", "yellow"))
    for note in list(result.notes) + tables.notes:
        con.print(_text(f"note: {note}", "dim"))
    if result.flights.height:
        t = Table(title="The flights behind the number")
        for col in ("flight_id", "icao24", "callsign", "registration", "type_code", "isr_role", "start", "end", "minutes_in_area"):
            t.add_column(col)
        for r in result.flights.iter_rows(named=True):
            t.add_row(*(_text(r[c]) for c in ("flight_id", "icao24", "callsign", "registration", "type_code", "isr_role", "start", "end", "minutes_in_area")))
        con.print(t)
    for a in tables.attribution:
        con.print(_text(a, "dim"))


def _print_count_table(rows, tables) -> None:
    from rich.table import Table

    con = wide_console()
    t = Table(title="Every definition, same window and area")
    for col in ("definition", "n", "up to", "in words"):
        t.add_column(col)
    for r in rows:
        t.add_row(_text(r["name"]), _text(r["n"]), _text(r["n_upper"] if r["n_upper"] != r["n"] else ""), _text(r["sentence"]))
    con.print(t)
    for note in tables.notes:
        con.print(_text(f"note: {note}", "dim"))
    for a in tables.attribution:
        con.print(_text(a, "dim"))


def _print_verdicts(verdicts, tables) -> None:
    from rich.table import Table

    con = wide_console()
    t = Table(title="Claims", show_lines=True)
    for col in ("id", "source", "claim", "verdict", "observed", "reason"):
        t.add_column(col)
    for v in verdicts:
        t.add_row(
            _text(v.claim.id), _text(v.claim.source), _text(v.claim.words),
            _text(v.verdict.replace("_", " "), VERDICT_STYLE.get(v.verdict, "")),
            _text(v.observed), _text(v.reason),
        )
    con.print(t)
    for v in verdicts:
        if not v.definitions_that_hold:
            if v.definition is not None:
                con.print(_text(f"{v.claim.id}: holds under none of the {v.definitions_checked} definitions checked", "bold"))
            continue
        con.print(_text(f"{v.claim.id}: holds under {len(v.definitions_that_hold)} of {v.definitions_checked} definitions, e.g.", "bold"))
        for h in v.definitions_that_hold[:8]:
            con.print(_text(f"  {h['name']}: {h['n']} ({h['verdict'].replace('_', ' ')})"))
    for note in tables.notes:
        con.print(_text(f"note: {note}", "dim"))
    for a in tables.attribution:
        con.print(_text(a, "dim"))
