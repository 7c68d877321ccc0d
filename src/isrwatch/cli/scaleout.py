"""`isrwatch scaleout …`: the flights and airspace commands run on Dask over a Parquet directory
(an `isrwatch export`), for data larger than one machine's store. Same stage functions, same
results as `isrwatch flights` / `isrwatch airspace` on the store the export came from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from isrwatch.cli.common import (
    FLIGHTS_MARGIN,
    Icao24Option,
    JsonOption,
    SortiesSinceOption,
    UntilExcludedOption,
    WindowEndOption,
    WindowStartOption,
    fail,
    icao24_list,
    one_region,
    print_flights,
    print_json,
    report_airspace,
    safe,
    window,
)

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


def register(app: typer.Typer) -> None:
    so_app = typer.Typer(
        help="Flights and airspace entries computed on Dask over a Parquet directory (scale-out engine).",
        no_args_is_help=True,
    )
    app.add_typer(so_app, name="scaleout")

    @so_app.command("flights")
    def flights_cmd(
        parquet: Path = ParquetArg,
        icao24: list[str] = Icao24Option,
        since: str = SortiesSinceOption,
        until: str = UntilExcludedOption,
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
        from isrwatch import scaleout
        from isrwatch.pipeline import overlapping

        wanted = icao24_list(icao24)
        lo, hi = window(since, until)
        fl = _run(
            scaleout.flights_dask, parquet,
            since=lo - FLIGHTS_MARGIN if lo is not None else None, until=hi + FLIGHTS_MARGIN if hi is not None else None,
            icao24=wanted, scheduler=scheduler, npartitions=partitions,
        )
        fl = overlapping(fl, lo, hi).sort(["start", "icao24"])
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
        print_flights(fl, False)

    @so_app.command("sorties")
    def sorties_cmd(
        parquet: Path = ParquetArg,
        out: Path = typer.Option(..., "--out", help="New or empty directory for observations/day=*/ and flights/ Parquet."),
        icao24: list[str] = Icao24Option,
        since: str = typer.Option(None, "--since", help="Observations from this UTC time (ISO 8601 or a date)."),
        until: str = UntilExcludedOption,
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

        wanted = icao24_list(icao24)
        lo, hi = window(since, until)
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
        since: str = WindowStartOption,
        until: str = WindowEndOption,
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
        from isrwatch.pipeline import MARGIN, overlapping

        reg = one_region(country, region, geojson_region)
        s, u = window(since, until)
        # a region the workers can resolve by id goes as its id; a user GeoJSON goes whole
        target = reg if reg.kind == "user" else reg.id
        flights, events = _run(
            scaleout.flights_and_events_dask, parquet, [target], max_gap_s=max_gap_s,
            since=s - MARGIN if s else None, until=u + MARGIN if u else None,
            scheduler=scheduler, npartitions=partitions,
        )
        flights = overlapping(flights, s, u)
        events = events.filter(pl.col("flight_id").is_in(flights["flight_id"].implode()))
        engine = {"parquet": str(parquet), "engine": {"name": "dask", "scheduler": _where(scheduler), "partitions": partitions}}
        report_airspace(reg, s, u, events, flights, isr_only=False, entered_only=entered_only,
                        max_gap_s=max_gap_s, notes=[], json_out=json_out, extra=engine)

    @so_app.command("plan")
    def plan_cmd(
        parquet: Path = ParquetArg,
        since: str = typer.Option(None, "--since", help="Observations from this UTC time (ISO 8601 or a date)."),
        until: str = UntilExcludedOption,
        scheduler: str = SchedulerOption,
        partitions: int = PartitionsOption,
        json_out: bool = JsonOption,
    ) -> None:
        """How the work would be cut: files read, icao24 ranges and their rows.

        Each range holds whole aircraft. --json prints {"parquet", "files", "rows",
        "partitions": [{index, lo, hi, rows}]}.
        """
        from isrwatch import scaleout

        lo, hi = window(since, until)

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
        # safe: addresses come from the files: no control characters
        typer.echo(f"{payload['files']} files, {payload['rows']} rows, {len(parts)} partitions")
        for p in parts:
            typer.echo(f"  {p.index:>4}  [{safe(p.lo)}, {safe(p.hi)})  {p.rows} rows")
