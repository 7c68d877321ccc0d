"""`isrwatch demo`: the whole chain, from traces to a verdict a newsroom can publish.

By default it runs on the bundled SIMULATED reconstruction `mexico-2025` with the bundled claims of
that episode: simulate -> ingest -> identify -> segment -> airspace -> count -> verify -> report.
With --db it runs the same chain on real data the user has ingested (window, country and claims
from the options).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import typer

from isrwatch.cli.common import JsonOption, fail, ingest_totals, print_json, wide_console
from isrwatch.paths import package_data

DEFAULT_SCENARIO = "mexico-2025"
VERDICT_STYLE = {"supported": "bold green", "contradicted": "bold red", "not_determinable": "bold yellow"}


def _bundled_claims(scenario: str) -> Path | None:
    p = package_data("claims", f"{scenario}.yaml")
    return p if p.exists() else None


def _text(value: Any, style: str = ""):
    from rich.text import Text

    # Text, never markup: feed strings are shown as they are, not interpreted
    return Text("" if value is None else str(value), style=style)


def _step(con, message: str) -> float:
    con.print(_text(f"• {message}", "cyan"))
    return time.perf_counter()


def run_demo(
    out: Path,
    *,
    scenario: str = DEFAULT_SCENARIO,
    seed: int | None = None,
    db: Path | None = None,
    claims: Path | None = None,
    since: str | None = None,
    until: str | None = None,
    country: str = "MEX",
    quiet: bool = False,
) -> dict[str, Any]:
    """Run the chain; return what the command prints as JSON."""
    from isrwatch import store
    from isrwatch.report.build import build_report

    log = wide_console(140, stderr=True, tty_of=sys.stdout)
    if quiet:
        log.quiet = True
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"out_dir": str(out), "simulated": db is None}
    if db is None:
        from isrwatch.simulate import load_scenario, simulate

        sc = load_scenario(scenario)
        traces = out / "traces"
        if traces.exists():
            shutil.rmtree(traces)
        t0 = _step(log, f"simulating {scenario} (SIMULATED reconstruction) into {traces}")
        truth = simulate(sc, traces, seed=seed)
        truth_d = truth.to_dict()
        result["scenario"] = {"name": scenario, "title": truth_d.get("title"), "seed": truth_d.get("seed"),
                              "truth_file": str(traces / "truth.json"), "truth_summary": truth_d.get("summary"),
                              "seconds": round(time.perf_counter() - t0, 2)}
        db_file = out / "demo.duckdb"
        for stale in (db_file, Path(str(db_file) + ".wal")):
            if stale.exists():
                stale.unlink()  # the demo store is rebuilt each run: same input, same result
        t0 = _step(log, f"ingesting the traces into {db_file}")
        con = store.open_store(db_file)
        files = sorted(traces.rglob("trace_full_*.json"))
        results = []
        for f in files:
            r = store.ingest(con, f)
            if r.error:
                fail(f"{f}: {r.error}")
            results.append(r.to_dict())
        con.close()
        result["ingest"] = {**ingest_totals(results), "files": len(files), "seconds": round(time.perf_counter() - t0, 2)}
        claims = claims or _bundled_claims(scenario)
        if since is None:
            since = _iso(sc.window_start)
        if until is None and sc.window_end is not None:
            until = _iso(sc.window_end)
        title = f"{sc.title}" if getattr(sc, "title", None) else f"SIMULATED reconstruction: {scenario}"
    else:
        db_file = Path(db)
        if not db_file.exists():
            fail(f"no store at {db_file}: ingest data first (isrwatch ingest) or drop --db to run the simulated demo")
        title = None
    t0 = _step(log, "identify -> sorties -> sovereign airspace -> counts -> claims -> report")
    built = build_report(
        out / "report", db=db_file, since=since, until=until, country=country,
        claims_file=claims, title=title, simulated=db is None,
    )
    result.update(built.to_dict())
    result["claims_file"] = str(claims) if claims else None
    result["seconds_analysis"] = round(time.perf_counter() - t0, 2)
    return result


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _print_summary(result: dict[str, Any]) -> None:
    from rich.table import Table

    con = wide_console(140)
    if result.get("simulated"):
        con.print(_text("SIMULATED RECONSTRUCTION — not real ADS-B data", "bold reverse"))
        sc = result.get("scenario") or {}
        con.print(_text(sc.get("title") or ""))
    if "ingest" in result:
        i = result["ingest"]
        con.print(_text(
            f"ingested {i['rows_read']} rows from {i['files']} trace files: {i['rows_stored']} stored, "
            f"{i['rows_rejected']} rejected {i['rejected_by_reason'] or ''}, {i['rows_duplicate']} duplicate"
        ))
    con.print(_text(f"{result['n_flights']} sorties by {result['n_aircraft']} aircraft in the report", "bold"))
    if result.get("counts"):
        t = Table(title="Every counting definition, same window and area")
        for col in ("definition", "n", "up to"):
            t.add_column(col)
        for c in result["counts"]:
            t.add_row(_text(c.get("name")), _text(c.get("n")), _text(c.get("n_upper") if c.get("n_upper") != c.get("n") else ""))
        con.print(t)
    if result.get("verdicts"):
        t = Table(title="Claims and verdicts", show_lines=True)
        for col in ("claim", "source", "words", "verdict", "observed", "why"):
            t.add_column(col, overflow="fold")
        for v in result["verdicts"]:
            verdict = str(v.get("verdict", ""))
            t.add_row(_text(v.get("id")), _text(v.get("source")), _text(v.get("words")),
                      _text(verdict.replace("_", " "), VERDICT_STYLE.get(verdict, "")),
                      _text(v.get("observed")), _text(v.get("reason")))
        con.print(t)
        for v in result["verdicts"]:
            holds = v.get("definitions_that_hold") or []
            if holds:
                names = "; ".join(f"{h.get('name')} = {h.get('n')}" for h in holds[:4])
                con.print(_text(f"{v.get('id')} holds under {len(holds)} definitions, e.g. {names}", "dim"))
            else:
                con.print(_text(f"{v.get('id')} holds under none of the definitions checked", "dim"))
    for n in result.get("notes") or []:
        con.print(_text(f"note: {n}", "dim"))
    for a in result.get("attribution") or []:
        con.print(_text(a, "dim"))
    paths = result.get("paths") or {}
    if "html" in paths or "report" in paths:
        con.print(_text(f"evidence report: {paths.get('html') or paths.get('report')}", "bold"))
    for k, p in paths.items():
        if k not in ("html", "report"):
            con.print(_text(f"  {k}: {p}"))


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        out: Path = typer.Option(Path("isrwatch-demo"), "--out", "-o", help="Directory for the traces, the demo store and the report."),
        scenario: str = typer.Option(DEFAULT_SCENARIO, "--scenario", help="Bundled scenario (or a scenario YAML) to simulate."),
        seed: int = typer.Option(None, "--seed", help="Simulation seed (default: the scenario's)."),
        db: Path = typer.Option(None, "--db", help="Run on this store of real ingested data instead of simulating."),
        claims: Path = typer.Option(None, "--claims", help="Claims file (YAML); default: the scenario's bundled claims."),
        since: str = typer.Option(None, "--since", help="Window start, UTC (default: the scenario's window)."),
        until: str = typer.Option(None, "--until", help="Window end, UTC; a bare date includes that day."),
        country: str = typer.Option("MEX", "--country", help="ISO3 country whose sovereign airspace is tested."),
        json_out: bool = JsonOption,
    ) -> None:
        """Run the whole chain on the bundled SIMULATED mexico-2025 scenario (or on --db) and write the
        evidence report. JSON keys: out_dir, simulated, scenario, ingest, paths, n_flights,
        n_aircraft, window, country, counts, verdicts, notes, attribution, claims_file."""
        from isrwatch.report.build import ReportBuildError

        try:
            result = run_demo(out, scenario=scenario, seed=seed, db=db, claims=claims, since=since,
                              until=until, country=country, quiet=json_out)
        except (ReportBuildError, ValueError, FileNotFoundError) as exc:
            fail(str(exc))
        if json_out:
            print_json(result)
        else:
            _print_summary(result)
