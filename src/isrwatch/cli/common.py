"""Helpers shared by the subcommands: JSON output with stable keys, the --db option, errors."""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import typer

from isrwatch import paths

DbOption = typer.Option(None, "--db", help="DuckDB store (default: $ISRWATCH_DB or the user data dir).")
JsonOption = typer.Option(False, "--json", help="Print the result as JSON with stable keys.")
Icao24Option = typer.Option(None, "--icao24", help="Only this aircraft (6-hex address); repeatable.")
# every command's window (read by window())
SortiesSinceOption = typer.Option(None, "--since", help="Sorties overlapping the window from this UTC time (ISO 8601 or a date).")
UntilExcludedOption = typer.Option(None, "--until", help="... to this UTC time, excluded; a bare date includes that day.")
WindowStartOption = typer.Option(None, "--since", help="Window start, UTC (YYYY-MM-DD or ISO time).")
WindowEndOption = typer.Option(None, "--until", help="Window end, UTC; a bare date includes that day.")


def db_path(db: Path | None) -> Path:
    return Path(db) if db is not None else paths.default_db()


def open_store_read_only(db: Path | None):
    """The store at --db (or the default) opened read-only; a missing or unreadable one is a one-line error."""
    from isrwatch import store

    path = db_path(db)
    if not Path(path).exists():
        fail(f"no store at {path}: ingest data first (isrwatch ingest) or give --db")
    try:
        return store.open_store(path, read_only=True)
    except store.StoreError as exc:
        fail(str(exc))


def _default(obj: Any) -> Any:
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=_default, sort_keys=False, ensure_ascii=False))
    sys.stdout.write("\n")


def fail(message: str, code: int = 1) -> NoReturn:
    """A clear one-line error on stderr and a non-zero exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    @app.command()
    def version(json_out: bool = JsonOption) -> None:
        """Print the isrwatch version."""
        from isrwatch import __version__

        if json_out:
            print_json({"version": __version__})
        else:
            typer.echo(__version__)


# --- helpers shared by several commands -----------------------------------------------------------

# the flights commands read observations this far either side of the window, so that a sortie
# crossing the window's edges is segmented whole (no crewed ISR sortie lasts a day)
FLIGHTS_MARGIN = timedelta(hours=24)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
HEX = re.compile(r"^~?[0-9a-f]{6}$")
# region ids resolved without the context airspace files (FAA/VATSpy layers)
_NO_CONTEXT = ("near", "us-mex-border", "baja-pacific", "user")


COUNT_KEYS = ("rows_read", "rows_stored", "rows_rejected", "rows_duplicate")


def ingest_totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The row counts of several ingests (IngestResult.to_dict()) summed, rejections by reason."""
    totals: dict[str, Any] = {k: sum(r[k] for r in results) for k in COUNT_KEYS}
    reasons: dict[str, int] = {}
    for r in results:
        for reason, n in r["rejected_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    totals["rejected_by_reason"] = dict(sorted(reasons.items()))
    return totals


def wide_console(min_width: int = 160, *, stderr: bool = False, tty_of=None):
    """A Rich console; pipes and logs get tables at least min_width wide (or $COLUMNS) rather than
    words broken into columns. Width is judged on tty_of (default: the stream written to)."""
    import os

    from rich.console import Console

    judged = tty_of if tty_of is not None else (sys.stderr if stderr else sys.stdout)
    width = None if judged.isatty() else max(min_width, int(os.environ.get("COLUMNS") or 0))
    return Console(width=width, highlight=False, soft_wrap=False, stderr=stderr)


def safe(value: object) -> str:
    """Feed text for the terminal: no control characters (escape sequences)."""
    return "-" if value is None else CONTROL.sub("?", str(value))


def icao24_list(icao24: list[str] | None) -> list[str] | None:
    """--icao24 values as lower-case 6-hex addresses (None when none given)."""
    if not icao24:
        return None
    wanted = [a.strip().lower() for a in icao24]
    bad = [a for a in wanted if not HEX.match(a)]
    if bad:
        fail(f"--icao24 must be a 6-hex address, got {bad[0]!r}")
    return wanted


def _utc(text: str | None, *, end: bool = False) -> datetime | None:
    if text is None:
        return None
    from isrwatch.store import to_utc

    t = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            d = date.fromisoformat(t)
            value = datetime.combine(d, datetime.min.time(), tzinfo=timezone.utc)
            return value + timedelta(days=1) if end else value  # a bare --until date includes that day
        return to_utc(t)
    except ValueError as exc:
        fail(f"bad {'--until' if end else '--since'}: {exc}")


def window(since: str | None, until: str | None):
    """[--since, --until) as UTC datetimes, as every command reads them: an ISO time is that
    instant, a bare date its midnight -- except that a bare --until date includes that day
    (--since 2025-02-01 --until 2025-02-14 is two whole weeks)."""
    s, u = _utc(since), _utc(until, end=True)
    if s and u and u <= s:
        fail("--until is not after --since")
    return s, u


def needs_context(region_id: str) -> bool:
    """Whether a region id names context airspace (fir:, adiz:, sua: …) that must be loaded first."""
    return bool(re.match(r"^[a-z]+:", region_id)) and region_id.split(":", 1)[0] not in _NO_CONTEXT


def load_context(files: list[Path] | None) -> list:
    """Load the context airspace files given (default: the FAA layers in the cache)."""
    from isrwatch.airspace import context

    paths = list(files or []) or context.cached_faa_files()
    out = []
    for p in paths:
        if not Path(p).is_file():
            fail(f"no such airspace file: {p}")
        try:
            out.extend(context.load_airspace(p))
        except context.AirspaceFileError as exc:
            fail(str(exc))
    return out


def find_region(rid: str, geojson_in: Path | None = None):
    """A region by id, or drawn in a GeoJSON file; an unknown one is a one-line error."""
    from isrwatch import boundaries as regions
    from isrwatch.airspace import catalog

    try:
        if geojson_in is not None:
            return catalog.load_user_geojson(geojson_in)
        return catalog.get_region(rid)
    except (regions.UnknownRegion, ValueError) as exc:
        fail(str(exc))


def one_region(country: str | None, region_id: str | None, geojson_region: Path | None,
               *, context: bool = False, context_files: list[Path] | None = None):
    """The one region of --country, --region or --region-geojson (context airspace loaded when asked and needed)."""
    given = [x for x in (country, region_id, geojson_region) if x]
    if len(given) != 1:
        fail("give exactly one of --country ISO3, --region ID or --region-geojson FILE")
    if context and region_id and needs_context(region_id):
        load_context(context_files)
    reg = find_region(country or region_id, geojson_region)
    if country and reg.kind != "sovereign":
        fail(f"--country wants an ISO 3166-1 alpha-3 code, got {country!r}")
    return reg


def rich_text(value: Any, style: str = ""):
    """A table cell: floats to 0.1, times to the second, no control characters; Text never interprets markup."""
    from rich.text import Text

    if value is None:
        s = "-"
    elif isinstance(value, float):
        s = f"{value:.1f}"
    elif isinstance(value, datetime):
        s = value.strftime("%Y-%m-%d %H:%M:%S")
    else:
        s = CONTROL.sub("?", str(value))
    return Text(s, style=style)


def airspace_definition(max_gap_s: float | None) -> str:
    return (
        "entries: maximal runs of observed positions inside the region (basis observed) or straight lines "
        "between two outside positions crossing it (basis gap_only); crossings interpolated on the "
        "straddling segment; depth and closest approach are geodesic (WGS84) km"
        + (f"; no line drawn across gaps over {max_gap_s:g} s" if max_gap_s is not None else "")
    )


def airspace_attribution(reg) -> list[str]:
    from isrwatch.boundaries import attribution

    return attribution([reg.id, "land"]) if reg.kind != "user" else list(reg.attribution) + attribution(["land"])


def airspace_payload(reg, since, until, *, isr_only: bool, entered_only: bool, max_gap_s: float | None,
                     definition: str, summary: dict, events, attribution: list[str], notes: list[str]) -> dict:
    """The --json object of the airspace commands."""
    return {
        "region": reg.info(),
        "window": {"since": since, "until": until},
        "filters": {"isr_only": isr_only, "entered_only": entered_only, "max_gap_s": max_gap_s},
        "definition": definition,
        "summary": summary,
        "events": events.to_dicts(),
        "attribution": attribution,
        "notes": notes,
    }


def report_airspace(reg, since, until, events, flights, *, isr_only: bool, entered_only: bool,
                    max_gap_s: float | None, notes: list[str], json_out: bool, extra: dict | None = None) -> None:
    """What both airspace commands do with their events: the flights' callsign and times joined,
    --entered-only applied, summarised, and printed as JSON (extra keys first) or a table."""
    import polars as pl

    from isrwatch.airspace.events import summarize

    events = events.join(flights.select("flight_id", "callsign", "start", "end"), on="flight_id", how="left")
    if entered_only:
        events = events.filter(pl.col("entered"))
    summary = summarize(events)
    attr = airspace_attribution(reg)
    definition = airspace_definition(max_gap_s)
    if json_out:
        print_json(
            {
                **(extra or {}),
                **airspace_payload(
                    reg, since, until, isr_only=isr_only, entered_only=entered_only, max_gap_s=max_gap_s,
                    definition=definition, summary=summary, events=events, attribution=attr, notes=notes,
                ),
            }
        )
        return
    print_airspace(reg, definition, events, summary, notes, attr)


def print_airspace(reg, definition: str, events, summary: dict, notes: list[str], attribution: list[str]) -> None:
    """The airspace commands' table: one row per entry, then the summary, notes and attribution."""
    from rich.console import Console
    from rich.table import Table

    out = Console()
    out.print(rich_text(f"{reg.name} ({reg.id})", "bold"))
    out.print(rich_text(definition))
    tab = Table("flight", "callsign", "entry", "exit", "basis", "obs in", "land", "depth km", "closest km")
    for r in events.iter_rows(named=True):
        tab.add_row(
            rich_text(r["flight_id"]),
            rich_text(r["callsign"]),
            rich_text(r["entry_time"]),
            rich_text(r["exit_time"]),
            rich_text(r["basis"], "red" if r["basis"] == "observed" else "yellow"),
            rich_text(r["n_obs_inside"]),
            rich_text(r["over_land"]),
            rich_text(r["max_depth_km"]),
            rich_text(r["closest_km"]),
        )
    out.print(tab)
    out.print(rich_text(", ".join(f"{k}={v}" for k, v in summary.items())))
    for n in notes:
        out.print(rich_text(f"note: {n}", "yellow"))
    for a in attribution:
        out.print(rich_text(a, "dim"))


def print_flights(fl, isr_only: bool) -> None:
    """The flights commands' table: one sortie per row (with type and ISR role under --isr-only)."""
    if fl.height == 0:
        typer.echo("no sorties")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, header_style="bold")
    cols = ["flight_id", "callsign", "start", "end", "min", "from", "to", "start_reason", "end_reason", "max gap"]
    if isr_only:
        cols[2:2] = ["type", "isr_role"]
    for c in cols:
        table.add_column(c)
    for f in fl.iter_rows(named=True):
        cells = [
            f["flight_id"],
            ",".join(f["callsigns"]) if f["callsigns"] else None,
            f["start"].strftime("%Y-%m-%d %H:%M:%SZ"),
            f["end"].strftime("%Y-%m-%d %H:%M:%SZ"),
            f"{f['duration_min']:.0f}",
            f["takeoff_airfield"],
            f["landing_airfield"],
            f["start_reason"],
            f["end_reason"],
            f"{f['max_gap_s'] / 60:.0f} min",
        ]
        if isr_only:
            cells[2:2] = [f["type_code"], f["isr_role"]]
        # Text, not markup: callsigns come from feeds and may hold anything
        table.add_row(*(Text(safe(c)) for c in cells))
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: wide enough that ids and times are not cut
        console = Console(highlight=False, width=220)
    console.print(table)
    typer.echo(f"{fl.height} sorties of {fl['icao24'].n_unique()} aircraft")
