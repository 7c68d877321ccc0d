"""`isrwatch db update|status` and `isrwatch identify`: who is flying."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import typer

from isrwatch.cli.common import DbOption, JsonOption, db_path, fail, print_json, safe

_HEX = re.compile(r"^~?[0-9a-fA-F]{6}$")

AircraftDbOption = typer.Option(
    None, "--aircraft-db", help="tar1090-db file (flattened CSV or native aircraft.csv.gz); default: $ISRWATCH_AIRCRAFT_DB, then the cache."
)
PlaneAlertOption = typer.Option(
    None, "--plane-alert-db", help="plane-alert-db CSV; default: $ISRWATCH_PLANE_ALERT_DB, then the cache."
)


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            fail(f"{what} must look like NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _stored_aircraft(db: Path) -> tuple[pl.Series, pl.DataFrame, pl.DataFrame]:
    """Addresses, feed facts and callsigns of every aircraft in the store."""
    from isrwatch.store import load_distinct_aircraft, load_feed_aircraft, open_store

    if not Path(db).exists():
        fail(f"no store at {db}; ingest data first or give addresses as HEX arguments")
    con = open_store(db, read_only=True)
    try:
        feed = load_feed_aircraft(con)
        seen = load_distinct_aircraft(con)
    finally:
        con.close()
    ids = pl.concat([feed["icao24"], seen["icao24"]])
    return ids, feed, seen.select("icao24", "callsign")


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Aircraft databases (tar1090-db, plane-alert-db) kept in the cache.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("update")
    def db_update(
        only: list[str] = typer.Option(None, "--only", help="Download only this database (tar1090, plane-alert); repeatable."),
        url: list[str] = typer.Option(None, "--url", help="NAME=URL: download NAME from a mirror."),
        sha256: list[str] = typer.Option(None, "--sha256", help="NAME=HEX: refuse the file unless its sha256 is HEX."),
        json_out: bool = JsonOption,
    ) -> None:
        """Download the aircraft databases into the cache, with checksums and dates in a manifest."""
        from isrwatch.identify.download import DownloadError, update

        try:
            records = update(only or None, urls=_pairs(url, "--url"), expected_sha256=_pairs(sha256, "--sha256"))
        except DownloadError as exc:
            fail(str(exc))
        if json_out:
            print_json({"updated": records})
            return
        for r in records:
            typer.echo(f"{r['name']}: {r['rows']} aircraft, {r['bytes']} bytes, sha256 {r['sha256']}, {r['downloaded_at']}")
            typer.echo(f"  from {r['url']}")
            typer.echo(f"  licence: {r['licence']}")

    @db_app.command("status")
    def db_status(
        verify: bool = typer.Option(False, "--verify", help="Re-hash the cached files against the manifest."),
        json_out: bool = JsonOption,
    ) -> None:
        """Show which aircraft databases are cached, from where and when."""
        from isrwatch.identify.download import status

        st = status(verify=verify)
        if json_out:
            print_json(st)
            return
        typer.echo(f"cache: {st['cache_dir']}")
        for d in st["databases"]:
            if d["present"]:
                line = f"{d['name']}: {d['rows']} aircraft, downloaded {d['downloaded_at']}, sha256 {d['sha256']}"
                if verify:
                    line += ", checksum OK" if d.get("verified") else ", CHECKSUM MISMATCH"
            else:
                line = f"{d['name']}: not cached (run `isrwatch db update`)"
            typer.echo(line)
            if d.get("env_override"):
                typer.echo(f"  overridden by the environment: {d['env_override']}")

    @app.command("identify")
    def identify_cmd(
        hexes: list[str] = typer.Argument(None, help="ICAO 24-bit addresses (6 hex digits); default: every aircraft in the store."),
        db: Path = DbOption,
        aircraft_db: Path = AircraftDbOption,
        plane_alert_db: Path = PlaneAlertOption,
        isr_only: bool = typer.Option(False, "--isr-only", help="List only aircraft with an ISR role."),
        show_conflicts: bool = typer.Option(False, "--conflicts", help="Also list where the sources disagree."),
        json_out: bool = JsonOption,
    ) -> None:
        """Who is flying: country, military status, type and ISR role, each with its source."""
        from isrwatch import schema
        from isrwatch.identify import identify_all, load_aircraft_db, load_plane_alert

        callsigns = None
        if hexes:
            bad = [h for h in hexes if not _HEX.match(h)]
            if bad:
                fail(f"not an ICAO 24-bit address (6 hex digits): {', '.join(safe(b) for b in bad)}")
            ids = pl.Series("icao24", [h.lower() for h in hexes])
            feed = schema.empty(schema.FEED_AIRCRAFT)
        else:
            ids, feed, callsigns = _stored_aircraft(db_path(db))
        try:
            adb = load_aircraft_db(aircraft_db)
            pdb = load_plane_alert(plane_alert_db)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        result = identify_all(
            ids, feed,
            aircraft_db=adb.table if adb else None,
            plane_alert=pdb.table if pdb else None,
            callsigns=callsigns,
        )
        aircraft = result.aircraft
        if isr_only:
            aircraft = aircraft.filter(pl.col("isr_role").is_not_null() & (pl.col("isr_role") != "none"))
        status = dict(result.status)
        status["databases"] = {
            "tar1090": adb.summary() if adb else None,
            "plane-alert": pdb.summary() if pdb else None,
        }
        for w in status["warnings"]:
            typer.echo(f"warning: {w}", err=True)
        if json_out:
            payload = {"status": status, "aircraft": aircraft.with_columns(pl.col("isr_role").cast(pl.String)).to_dicts()}
            if show_conflicts:
                payload["conflicts"] = result.conflicts.to_dicts()
            print_json(payload)
            return
        cols = ["icao24", "registration", "type_code", "country_iso2", "military", "isr_role", "isr_variant", "isr_role_source", "military_source"]
        rows = [[safe(v) for v in row] for row in aircraft.select(cols).iter_rows()]
        widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
        typer.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for r in rows:
            typer.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)))
        typer.echo(
            f"{status['n_aircraft']} aircraft, {status['n_military']} military, {status['n_isr']} with an ISR role; "
            f"{status['n_conflicts']} source conflicts"
        )
        if show_conflicts and result.conflicts.height:
            typer.echo("conflicts (value chosen <- other source's value):")
            for c in result.conflicts.iter_rows(named=True):
                typer.echo(
                    f"  {c['icao24']} {c['fact']}: {safe(c['value'])} ({safe(c['source'])}) <- "
                    f"{safe(c['other_value'])} ({safe(c['other_source'])})"
                )
