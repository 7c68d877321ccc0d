"""`isrwatch regions …` and `isrwatch airspace`: the regions shipped or loaded, and entries per flight."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from isrwatch.cli.common import (
    CONTROL,
    DbOption,
    JsonOption,
    WindowEndOption,
    WindowStartOption,
    fail,
    find_region,
    load_context,
    needs_context,
    one_region,
    open_store_read_only,
    print_json,
    report_airspace,
    rich_text,
    window,
)

AirspaceFileOption = typer.Option(
    None, "--airspace", help="Context airspace file to load (FAA JSON/GeoJSON, VATSpy); repeatable. "
    "Default: FAA layers in the cache, if downloaded."
)


def register(app: typer.Typer) -> None:
    regions_app = typer.Typer(help="Regions: sovereign airspace, land, areas of interest, context airspace.", no_args_is_help=True)
    app.add_typer(regions_app, name="regions")

    @regions_app.command("list")
    def regions_list(
        kind: str = typer.Option(None, "--kind", help="Only this kind: sovereign, land, aoi, fir, adiz, sua, user."),
        airspace: list[Path] = AirspaceFileOption,
        json_out: bool = JsonOption,
    ) -> None:
        """List known regions with source, version, licence and attribution."""
        from isrwatch.airspace import catalog

        if kind and kind not in catalog.KINDS:
            fail(f"unknown kind {kind!r}; one of {', '.join(catalog.KINDS)}")
        if kind in (None, "fir", "adiz", "sua"):
            load_context(airspace)
        t = catalog.list_regions(kind)
        if json_out:
            print_json({"regions": t.to_dicts(), "count": t.height})
            return
        from rich.console import Console
        from rich.table import Table

        tab = Table("id", "kind", "name", "source", "licence")
        for r in t.iter_rows(named=True):
            tab.add_row(*(rich_text(r[k]) for k in ("id", "kind", "name", "source", "licence")))
        Console().print(tab)
        attr = sorted({a for lst in t["attribution"].to_list() for a in lst})
        for a in attr:
            typer.echo(a)

    @regions_app.command("show")
    def regions_show(
        region_id: str = typer.Argument(..., help="Region id: MEX, land, gulf-of-california, near:MEX:50, fir:MMFR …"),
        geojson: Path = typer.Option(None, "--geojson", help="Write the region as GeoJSON (with attribution) to this file."),
        airspace: list[Path] = AirspaceFileOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Show one region's metadata (and write it as GeoJSON)."""
        if needs_context(region_id):
            load_context(airspace)
        r = find_region(region_id)
        info = r.info()
        if geojson is not None:
            Path(geojson).write_text(json.dumps(r.to_geojson(), ensure_ascii=False))
            info["geojson"] = str(geojson)
        if json_out:
            print_json(info)
            return
        for k in ("id", "name", "kind", "source", "version", "licence", "description", "bbox"):
            typer.echo(f"{k}: {CONTROL.sub('?', str(info[k]))}")
        for a in info["attribution"]:
            typer.echo(a)
        if geojson is not None:
            typer.echo(f"written: {geojson}")

    @regions_app.command("fetch-faa")
    def regions_fetch_faa(
        base_url: str = typer.Option(None, "--base-url", help="ArcGIS services root (default: the FAA's)."),
        json_out: bool = JsonOption,
    ) -> None:
        """Download the FAA boundary and special-use airspace layers into the cache."""
        import httpx

        from isrwatch.airspace import context

        try:
            files = context.download_faa(base_url=base_url or context.FAA_SERVICES)
        except (httpx.HTTPError, context.AirspaceFileError) as exc:
            fail(f"FAA download failed: {exc}")
        rows = []
        for f in files:
            meta = json.loads(f.with_name(f.name.replace(".geojson", ".meta.json")).read_text())
            rows.append({"file": str(f), "features": meta["features"], "sha256": meta["sha256"], "fetched_at": meta["fetched_at"]})
        if json_out:
            print_json({"files": rows})
        else:
            for r in rows:
                typer.echo(f"{r['file']}: {r['features']} features")

    @app.command("airspace")
    def airspace_cmd(
        country: str = typer.Option(None, "--country", help="Sovereign airspace of this country (ISO3, e.g. MEX)."),
        region: str = typer.Option(None, "--region", help="Or any region id (gulf-of-california, near:MEX:50, fir:MMFR …)."),
        geojson_region: Path = typer.Option(None, "--region-geojson", help="Or a region drawn in a GeoJSON file (WGS84)."),
        since: str = WindowStartOption,
        until: str = WindowEndOption,
        isr_only: bool = typer.Option(False, "--isr-only", help="Only aircraft identified with an ISR role."),
        max_gap_s: float = typer.Option(None, "--max-gap-s", help="Draw no straight line across gaps longer than this (s)."),
        entered_only: bool = typer.Option(False, "--entered-only", help="Only flights that entered."),
        airspace: list[Path] = AirspaceFileOption,
        db: Path = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Entries per flight into a country's sovereign airspace (or a region), with closest approach."""
        import polars as pl

        from isrwatch import schema
        from isrwatch.airspace.events import airspace_events

        reg = one_region(country, region, geojson_region, context=True, context_files=airspace)
        s, u = window(since, until)

        from isrwatch.pipeline import ISR, identify_flights, overlapping, sorties

        con = open_store_read_only(db)
        notes: list[str] = []
        try:
            obs, flights = sorties(con, since=s, until=u)
            flights = overlapping(flights, s, u)
            if isr_only:
                aircraft, have_db = identify_flights(con, flights)
                if not have_db:
                    notes.append("no aircraft database cached (isrwatch db update): ISR roles from feed facts and the type catalogue only")
                isr = aircraft.filter(ISR)["icao24"]
                flights = flights.filter(pl.col("icao24").is_in(isr.implode()))
        finally:
            con.close()
        keep = flights["flight_id"]
        obs = obs.filter(pl.col(schema.FLIGHT_ID).is_in(keep.implode()))
        events = airspace_events(obs, reg, max_gap_s=max_gap_s)
        report_airspace(reg, s, u, events, flights, isr_only=isr_only, entered_only=entered_only,
                        max_gap_s=max_gap_s, notes=notes, json_out=json_out)
