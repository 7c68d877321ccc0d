"""`isrwatch scaleout …`: the flights and airspace commands run on Dask over a Parquet directory
(an `isrwatch export`), for data larger than one machine's store. Same stage functions, same
results as `isrwatch flights` / `isrwatch airspace` on the store the export came from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from isrwatch.cli.common import JsonOption, fail, print_json

SCHEDULER_HELP = (
    "Where to run: a Dask scheduler address (tcp://host:8786), 'local' (start a local cluster of "
    "worker processes for this command), or 'threads' / 'processes' / 'synchronous'. "
    "Default: $ISRWATCH_DASK_SCHEDULER, else 'threads'."
)
SchedulerOption = typer.Option(None, "--scheduler", help=SCHEDULER_HELP)
PartitionsOption = typer.Option(
    None, "--partitions", min=1, help="Ranges of aircraft to cut the work into (default: 2 per worker thread, more for big data)."
)
ParquetArg = typer.Argument(..., help="Directory of observations Parquet (`isrwatch export DIR`: day=YYYY-MM-DD/*.parquet).")


def _where(scheduler: str | None) -> str:
    from isrwatch import scaleout

    return scheduler or os.environ.get(scaleout.ENV_SCHEDULER) or "threads"


def _run(fn, *args: Any, **kwargs: Any):
    """Call the engine; input and connection problems become one-line errors."""
    try:
        return fn(*args, **kwargs)
    except (FileNotFoundError, FileExistsError, ValueError, ConnectionError) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _addresses(icao24: list[str] | None) -> list[str] | None:
    from isrwatch.cli.flights import _HEX

    if not icao24:
        return None
    wanted = [a.strip().lower() for a in icao24]
    bad = [a for a in wanted if not _HEX.match(a)]
    if bad:
        fail(f"--icao24 must be a 6-hex address, got {bad[0]!r}")
    return wanted


def register(app: typer.Typer) -> None:
    so_app = typer.Typer(
        help="Flights and airspace entries computed on Dask over a Parquet directory (scale-out engine).",
        no_args_is_help=True,
    )
    app.add_typer(so_app, name="scaleout")

    @so_app.command("flights")
    def flights_cmd(
        parquet: Path = ParquetArg,
        icao24: list[str] = typer.Option(None, "--icao24", help="Only this aircraft (6-hex address); repeatable."),
        since: str = typer.Option(None, "--since", help="Sorties overlapping the window from this UTC time (ISO 8601 or a date)."),
        until: str = typer.Option(None, "--until", help="... to this UTC time, excluded."),
        scheduler: str = SchedulerOption,
        partitions: int = PartitionsOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Sorties (take-off to landing), as `isrwatch flights` lists them, computed on Dask.

        The window works as in `isrwatch flights`: observations 24 h either side are read so
        sorties crossing its edges are whole; a sortie is listed when it overlaps the window.
        --json prints {"parquet", "engine", "filters", "n_flights", "flights"}; "flights" holds
        the same rows as `isrwatch flights --json` on the store the directory was exported from.
        """
        import polars as pl

        from isrwatch import scaleout
        from isrwatch.cli.flights import MARGIN, _print_table, _window

        wanted = _addresses(icao24)
        lo, hi = _window(since, until)
        fl = _run(
            scaleout.flights_dask, parquet,
            since=lo - MARGIN if lo is not None else None, until=hi + MARGIN if hi is not None else None,
            icao24=wanted, scheduler=scheduler, npartitions=partitions,
        )
        if lo is not None:
            fl = fl.filter(pl.col("end") >= lo)
        if hi is not None:
            fl = fl.filter(pl.col("start") < hi)
        fl = fl.sort(["start", "icao24"])
        if json_out:
            print_json(
                {
                    "parquet": str(parquet),
                    "engine": {"name": "dask", "scheduler": _where(scheduler), "partitions": partitions},
                    "filters": {"icao24": wanted, "since": lo, "until": hi, "isr_only": False},
                    "n_flights": fl.height,
                    "flights": fl.to_dicts(),
                }
            )
            return
        if fl.height == 0:
            typer.echo("no sorties")
            return
        _print_table(fl, False)
        typer.echo(f"{fl.height} sorties of {fl['icao24'].n_unique()} aircraft")

    @so_app.command("sorties")
    def sorties_cmd(
        parquet: Path = ParquetArg,
        out: Path = typer.Option(..., "--out", help="New or empty directory for observations/day=*/ and flights/ Parquet."),
        icao24: list[str] = typer.Option(None, "--icao24", help="Only this aircraft (6-hex address); repeatable."),
        since: str = typer.Option(None, "--since", help="Observations from this UTC time (ISO 8601 or a date)."),
        until: str = typer.Option(None, "--until", help="... to this UTC time, excluded."),
        scheduler: str = SchedulerOption,
        partitions: int = PartitionsOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Segment on Dask; the workers write observations + flight_id and flights as Parquet.

        OUT/observations/day=YYYY-MM-DD/part-N.parquet holds the observations with flight_id and
        split_reason (by UTC day, as `isrwatch export` writes them), OUT/flights/part-N.parquet the
        sorties. Nothing but the row counts comes back through this process.
        """
        from isrwatch import scaleout
        from isrwatch.cli.flights import _window

        wanted = _addresses(icao24)
        lo, hi = _window(since, until)
        got = _run(
            scaleout.write_sorties_dask, parquet, out, since=lo, until=hi, icao24=wanted,
            scheduler=scheduler, npartitions=partitions,
        )
        payload = {"parquet": str(parquet), "engine": {"name": "dask", "scheduler": _where(scheduler), "partitions": partitions}, **got}
        if json_out:
            print_json(payload)
            return
        rows = got["rows"]
        typer.echo(f"wrote {rows.get('observations', 0)} observations and {rows.get('flights', 0)} sorties under {out}")

    @so_app.command("airspace")
    def airspace_cmd(
        parquet: Path = ParquetArg,
        country: str = typer.Option(None, "--country", help="Sovereign airspace of this country (ISO3, e.g. MEX)."),
        region: str = typer.Option(None, "--region", help="Or any region id (gulf-of-california, near:MEX:50, …)."),
        geojson_region: Path = typer.Option(None, "--region-geojson", help="Or a region drawn in a GeoJSON file (WGS84)."),
        since: str = typer.Option(None, "--since", help="Window start, UTC (YYYY-MM-DD or ISO time)."),
        until: str = typer.Option(None, "--until", help="Window end, UTC; a bare date includes that day."),
        max_gap_s: float = typer.Option(None, "--max-gap-s", help="Draw no straight line across gaps longer than this (s)."),
        entered_only: bool = typer.Option(False, "--entered-only", help="Only flights that entered."),
        scheduler: str = SchedulerOption,
        partitions: int = PartitionsOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Entries per sortie into a country's airspace (or a region), computed on Dask.

        The same entries, window rule and definitions as `isrwatch airspace`; --json prints its
        keys plus "parquet" and "engine".
        """
        import polars as pl

        from isrwatch import scaleout
        from isrwatch.airspace.events import summarize
        from isrwatch.airspace.regions import attribution
        from isrwatch.cli.airspace import SEGMENT_MARGIN, _region, _text, _utc

        given = [x for x in (country, region, geojson_region) if x]
        if len(given) != 1:
            fail("give exactly one of --country ISO3, --region ID or --region-geojson FILE")
        reg = _region(country or region, geojson_region)
        if country and reg.kind != "sovereign":
            fail(f"--country wants an ISO 3166-1 alpha-3 code, got {country!r}")
        s, u = _utc(since), _utc(until, end=True)
        if s and u and u <= s:
            fail("--until is not after --since")
        # a region the workers can resolve by id goes as its id; a user GeoJSON goes whole
        target = reg if reg.kind == "user" else reg.id
        flights, events = _run(
            scaleout.flights_and_events_dask, parquet, [target], max_gap_s=max_gap_s,
            since=s - SEGMENT_MARGIN if s else None, until=u + SEGMENT_MARGIN if u else None,
            scheduler=scheduler, npartitions=partitions,
        )
        if s is not None:
            flights = flights.filter(pl.col("end") >= s)
        if u is not None:
            flights = flights.filter(pl.col("start") < u)
        events = events.filter(pl.col("flight_id").is_in(flights["flight_id"].implode()))
        events = events.join(flights.select("flight_id", "callsign", "start", "end"), on="flight_id", how="left")
        if entered_only:
            events = events.filter(pl.col("entered"))
        summary = summarize(events)
        attr = attribution([reg.id, "land"]) if reg.kind != "user" else list(reg.attribution) + attribution(["land"])
        definition = (
            "entries: maximal runs of observed positions inside the region (basis observed) or straight lines "
            "between two outside positions crossing it (basis gap_only); crossings interpolated on the "
            "straddling segment; depth and closest approach are geodesic (WGS84) km"
            + (f"; no line drawn across gaps over {max_gap_s:g} s" if max_gap_s is not None else "")
        )
        if json_out:
            print_json(
                {
                    "parquet": str(parquet),
                    "engine": {"name": "dask", "scheduler": _where(scheduler), "partitions": partitions},
                    "region": reg.info(),
                    "window": {"since": s, "until": u},
                    "filters": {"isr_only": False, "entered_only": entered_only, "max_gap_s": max_gap_s},
                    "definition": definition,
                    "summary": summary,
                    "events": events.to_dicts(),
                    "attribution": attr,
                    "notes": [],
                }
            )
            return
        from rich.console import Console
        from rich.table import Table

        out = Console()
        out.print(_text(f"{reg.name} ({reg.id})", "bold"))
        out.print(_text(definition))
        tab = Table("flight", "callsign", "entry", "exit", "basis", "obs in", "land", "depth km", "closest km")
        for r in events.iter_rows(named=True):
            # _text: feed text (callsigns) as plain Text, never markup
            tab.add_row(
                _text(r["flight_id"]), _text(r["callsign"]), _text(r["entry_time"]), _text(r["exit_time"]),
                _text(r["basis"], "red" if r["basis"] == "observed" else "yellow"), _text(r["n_obs_inside"]),
                _text(r["over_land"]), _text(r["max_depth_km"]), _text(r["closest_km"]),
            )
        out.print(tab)
        out.print(_text(", ".join(f"{k}={v}" for k, v in summary.items())))
        for a in attr:
            out.print(_text(a, "dim"))

    @so_app.command("plan")
    def plan_cmd(
        parquet: Path = ParquetArg,
        since: str = typer.Option(None, "--since", help="Observations from this UTC time (ISO 8601 or a date)."),
        until: str = typer.Option(None, "--until", help="... to this UTC time, excluded."),
        scheduler: str = SchedulerOption,
        partitions: int = PartitionsOption,
        json_out: bool = JsonOption,
    ) -> None:
        """How the work would be cut: files read, icao24 ranges and their rows.

        Each range holds whole aircraft. --json prints {"parquet", "files", "rows",
        "partitions": [{index, lo, hi, rows}]}.
        """
        from isrwatch import scaleout
        from isrwatch.cli.flights import _window

        lo, hi = _window(since, until)

        def go():
            with scaleout.dask_session(None, scheduler) as session:
                return scaleout.plan(parquet, since=lo, until=hi, npartitions=partitions, session=session)

        files, parts = _run(go)
        payload = {
            "parquet": str(parquet),
            "files": len(files),
            "rows": sum(p.rows for p in parts),
            "partitions": [{"index": p.index, "lo": p.lo, "hi": p.hi, "rows": p.rows} for p in parts],
        }
        if json_out:
            print_json(payload)
            return
        from isrwatch.cli.flights import _safe  # addresses come from the files: no control characters

        typer.echo(f"{payload['files']} files, {payload['rows']} rows, {len(parts)} partitions")
        for p in parts:
            typer.echo(f"  {p.index:>4}  [{_safe(p.lo)}, {_safe(p.hi)})  {p.rows} rows")
