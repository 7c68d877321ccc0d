"""`isrwatch flights`: the sorties in the store, take-off to landing, and why they split where
they did."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from isrwatch.cli.common import (
    FLIGHTS_MARGIN,
    DbOption,
    Icao24Option,
    JsonOption,
    SortiesSinceOption,
    UntilExcludedOption,
    db_path,
    fail,
    icao24_list,
    print_flights,
    print_json,
    window,
)

IDENTITY = ["registration", "type_code", "isr_role", "isr_variant", "military", "country"]

FLIGHTS_HELP = (
    "List sorties (take-off to landing) from the store, one line each.\n\n"
    "A sortie is listed when it overlaps [--since, --until). Observations 24 h either side of the window are "
    "read too, so sorties crossing its edges are whole. Rows on the ground belong to no sortie. "
    "start_reason / end_reason say why each sortie starts and ends where it does: takeoff_observed, "
    "landing_observed, coverage_start, coverage_end, leg_mark (the feed's own leg mark), gap_endurance, "
    "gap_impossible_speed, gap_reappears_climbing, gap_callsign_change.\n\n"
    "--isr-only keeps aircraft that identify gives an ISR role (needs the aircraft databases from "
    "`isrwatch db update` for most aircraft; without them only feed facts and the type catalogue are used) "
    "and adds registration, type_code, isr_role, isr_variant, military, country.\n\n"
    '--json prints {"db", "filters": {icao24, since, until, isr_only}, "n_flights", "flights": [...]} with '
    "every column of the flights table (and the identity columns with --isr-only); times are ISO 8601 UTC."
)


def load_flights(
    db: Path,
    *,
    icao24: list[str] | None = None,
    since=None,
    until=None,
    isr_only: bool = False,
    aircraft_db: Path | None = None,
    plane_alert: Path | None = None,
) -> pl.DataFrame:
    """The sorties overlapping [since, until), from the store at db (FLIGHTS columns, plus
    the identity columns when isr_only)."""
    from isrwatch import store
    from isrwatch.pipeline import ISR, identify_flights, overlapping, sorties

    con = store.open_store(db, read_only=True)
    try:
        _, fl = sorties(con, since=since, until=until, icao24=icao24, margin=FLIGHTS_MARGIN)
        fl = overlapping(fl, since, until)
        if isr_only:
            who, _ = identify_flights(con, fl, aircraft_db=aircraft_db, plane_alert=plane_alert)
            fl = fl.join(who.filter(ISR).select("icao24", *IDENTITY), on="icao24", how="inner").with_columns(
                pl.col("isr_role").cast(pl.String)
            )
    finally:
        con.close()
    return fl.sort(["start", "icao24"])


def register(app: typer.Typer) -> None:
    @app.command("flights", help=FLIGHTS_HELP)
    def flights_command(
        icao24: list[str] = Icao24Option,
        since: str = SortiesSinceOption,
        until: str = UntilExcludedOption,
        isr_only: bool = typer.Option(False, "--isr-only", help="Only aircraft identified with an ISR role."),
        aircraft_db: Path = typer.Option(None, "--aircraft-db", help="tar1090-db file for --isr-only (default: $ISRWATCH_AIRCRAFT_DB, then the cache)."),
        plane_alert: Path = typer.Option(None, "--plane-alert-db", help="plane-alert-db CSV for --isr-only (default: $ISRWATCH_PLANE_ALERT_DB, then the cache)."),
        db: Path = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        path = db_path(db)
        if not path.exists():
            fail(f"no store at {path}; run `isrwatch ingest FILE` first")
        wanted = icao24_list(icao24)
        lo, hi = window(since, until)
        fl = load_flights(path, icao24=wanted, since=lo, until=hi, isr_only=isr_only, aircraft_db=aircraft_db, plane_alert=plane_alert)
        if json_out:
            print_json(
                {
                    "db": str(path),
                    "filters": {"icao24": wanted, "since": lo, "until": hi, "isr_only": isr_only},
                    "n_flights": fl.height,
                    "flights": fl.to_dicts(),
                }
            )
            return
        print_flights(fl, isr_only)
