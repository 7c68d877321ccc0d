"""`isrwatch report`: the evidence pack (HTML report, PNG figures, GeoJSON/KML/CSV/Parquet) from the store."""

from __future__ import annotations

from pathlib import Path

import typer

from isrwatch.cli.common import DbOption, JsonOption, db_path, fail, print_json


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        out: Path = typer.Option(Path("isrwatch-report"), "--out", "-o", help="Directory for report.html, the PNGs and the exports."),
        since: str = typer.Option(None, "--since", help="Start of the window, UTC (YYYY-MM-DD or ISO time)."),
        until: str = typer.Option(None, "--until", help="End of the window, UTC; a bare date includes that day."),
        country: str = typer.Option(None, "--country", help="ISO3 country whose sovereign airspace entries are tested (e.g. MEX)."),
        near_km: float = typer.Option(100.0, "--near-km", help="With --country: count flights within this many km of its airspace."),
        all_aircraft: bool = typer.Option(False, "--all-aircraft", help="Draw every sortie, not only ISR aircraft."),
        claims: Path = typer.Option(None, "--claims", help="A claims file (YAML) to verify into the report."),
        title: str = typer.Option(None, "--title", help="Title of the report (default: what, where, when)."),
        no_png: bool = typer.Option(False, "--no-png", help="Skip the PNG figures."),
        db: Path = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Write the evidence report: a self-contained HTML page (works offline), map and timeline
        PNGs, and the counted flights as GeoJSON, KML, CSV and Parquet."""
        from isrwatch.report.build import ReportBuildError, build_report

        path = db_path(db)
        if not Path(path).exists():
            fail(f"no store at {path}: ingest data first (isrwatch ingest) or give --db")
        if near_km <= 0:
            fail("--near-km must be > 0")
        try:
            built = build_report(
                out, db=path, since=since, until=until, country=country, near_km=near_km,
                isr_only=not all_aircraft, claims_file=claims, title=title, figures_png=not no_png,
            )
        except ReportBuildError as exc:
            fail(str(exc))
        except ValueError as exc:  # unknown country, unreadable claims file, bad input table
            fail(str(exc))
        if json_out:
            print_json(built.to_dict())
            return
        typer.echo(f"{built.n_flights} sorties by {built.n_aircraft} aircraft")
        for c in built.counts:
            upper = f" (up to {c['n_upper']})" if c["n_upper"] != c["n"] else ""
            typer.echo(f"  {c['name']}: {c['n']}{upper}")
        for v in built.verdicts:
            typer.echo(f"  claim {v['id']}: {v['verdict'].replace('_', ' ')}")
        for kind, p in built.paths.items():
            typer.echo(f"{kind}: {p}")
