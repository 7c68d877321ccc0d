"""`isrwatch ingest`, `isrwatch store info|files|aircraft|rejects|coverage`, `isrwatch export`,
`isrwatch import`: files into the DuckDB store, and what the store holds."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from isrwatch.cli.common import (
    CONTROL,
    COUNT_KEYS,
    DbOption,
    JsonOption,
    db_path,
    fail,
    ingest_totals,
    print_json,
    wide_console,
)

_SPLIT_PART = re.compile(r"^(?P<stem>.+\.tar)\.[a-z]{2}$")

INGEST_HELP = """Read feed files into the store: every row is stored, rejected (with a reason) or a duplicate.

PATH may be files or directories (searched recursively; files of no known format inside a
directory are listed as skipped). Each file is one transaction; a file already ingested
completely (same sha256) is not read again unless --force. A damaged file (e.g. a truncated
gzip) keeps the rows read before the damage; the command then exits 1 with a one-line error
after printing the counts.

--json prints one object: db, files (per file: path, format, feed, rows_read, rows_stored,
rows_rejected, rows_duplicate, rejected_by_reason, error, sha256, skipped_already_ingested,
ingest_id, seconds), skipped ([{path, reason}]), n_files, n_errors, rows_read, rows_stored,
rows_rejected, rows_duplicate, rejected_by_reason, error (null, or the one-line message).
"""


def _text(value: Any) -> Text:
    """Feed text for the terminal: never markup (rich.Text), no control characters."""
    if value is None:
        return Text("-", style="dim")
    return Text(CONTROL.sub("?", str(value)))


def _num(value: Any) -> Text:
    return Text("-" if value is None else f"{value:,}", justify="right")


def _open(db: Path | None, read_only: bool):
    from isrwatch.store import StoreError, open_store

    try:
        return open_store(db_path(db), read_only=read_only)
    except StoreError as exc:
        fail(str(exc))


def _expand(paths: list[Path]) -> tuple[list[tuple[Path, str | None]], list[dict[str, str]]]:
    """Files to ingest (with their format when detected here) and directory members skipped.

    Named files are always attempted (an unknown format is then that file's error);
    directory members of no known format are skipped with the reason. A split archive
    (x.tar.aa, x.tar.ab, ...) is read once, from its first part.
    """
    from isrwatch.sources import detect_format

    todo: list[tuple[Path, str | None]] = []
    skipped: list[dict[str, str]] = []
    seen_split: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            todo.append((path, None))
            continue
        members = sorted(
            p for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        for member in members:
            split = _SPLIT_PART.match(member.name)
            if split:
                stem = member.parent / split.group("stem")
                if stem in seen_split:
                    continue
                seen_split.add(stem)
            try:
                fmt = detect_format(member)
            except Exception as exc:
                skipped.append({"path": str(member), "reason": getattr(exc, "reason", None) or type(exc).__name__})
                continue
            todo.append((member, fmt))
    return todo, skipped


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    """A Rich progress bar on stderr (files done, rows read) when stderr is a terminal."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TimeElapsedColumn(),
        console=wide_console(stderr=True),
        transient=True,
    ) as bar:
        yield bar, bar.add_task("ingest", total=total, rows=0)


def _errors(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The files read incompletely, and the one-line error naming the first (None when all were read)."""
    errors = [r for r in results if r["error"]]
    if not errors:
        return errors, None
    first = errors[0]
    return errors, CONTROL.sub(
        "?", f"{len(errors)} of {len(results)} file(s) could not be read completely; {first['path']}: {first['error']}"
    )


def _ingest_table(results: list[dict[str, Any]], totals: dict[str, Any]) -> Table:
    table = Table(title="ingest", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("format")
    for key in COUNT_KEYS:
        table.add_column(key.removeprefix("rows_"), justify="right")
    table.add_column("note", overflow="fold")
    for r in results:
        note = r["error"] or ("already ingested (same sha256)" if r["skipped_already_ingested"] else "")
        table.add_row(
            _text(Path(r["path"]).name),
            _text(r["format"]),
            *[_num(r[k]) for k in COUNT_KEYS],
            Text(CONTROL.sub("?", note), style="red" if r["error"] else "dim"),
        )
    if len(results) > 1:
        table.add_row(Text("total", style="bold"), Text(""), *[_num(totals[k]) for k in COUNT_KEYS], Text(""))
    return table


def _reasons_table(reasons: dict[str, int], title: str = "rejected by reason") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("reason")
    table.add_column("rows", justify="right")
    for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(_text(reason), _num(n))
    return table


def _rows_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c, overflow="fold")
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            if isinstance(v, bool) or v is None or isinstance(v, str):
                cells.append(_text(v))
            elif isinstance(v, int):
                cells.append(_num(v))
            elif isinstance(v, list):
                cells.append(_text(" | ".join(str(x) for x in v)))
            elif hasattr(v, "isoformat"):
                cells.append(_text(v.isoformat()))
            else:
                cells.append(_text(v))
        table.add_row(*cells)
    return table


def _formats() -> str:
    try:
        from isrwatch.sources import FORMATS
    except Exception:  # the help must render even if the readers cannot be imported
        return "see isrwatch.sources"
    return ", ".join(FORMATS)


def register(app: typer.Typer) -> None:
    @app.command("ingest", help=INGEST_HELP)
    def ingest_cmd(
        paths: list[Path] = typer.Argument(..., help="Feed files or directories.", show_default=False),
        fmt: str | None = typer.Option(None, "--format", help=f"Force a format ({_formats()}); default: detected from content."),
        feed: str | None = typer.Option(None, "--feed", help="Name the feed the rows came from (default: provider:file name)."),
        force: bool = typer.Option(False, "--force", help="Read files even if the same content was ingested before."),
        db: Path | None = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        from isrwatch.sources import FORMATS
        from isrwatch.store import ingest

        if fmt is not None and fmt not in FORMATS:
            fail(f"unknown --format {fmt!r} (known: {', '.join(FORMATS)})")
        todo, skipped = _expand(paths)
        if not todo and not skipped:
            fail("no files to ingest")
        con = _open(db, read_only=False)
        results: list[dict[str, Any]] = []
        try:
            with _progress(sys.stderr.isatty(), len(todo)) as prog:
                for path, detected in todo:
                    if prog is not None:
                        bar, task = prog
                        bar.update(task, description=CONTROL.sub("?", path.name)[:40])

                        def tick(rows: int, _bar=bar, _task=task) -> None:
                            _bar.update(_task, rows=rows)
                    else:
                        tick = None
                    result = ingest(con, path, fmt=fmt or detected, feed=feed, progress=tick, force=force)
                    results.append(result.to_dict())
                    if prog is not None:
                        bar.advance(task)
        finally:
            con.close()

        totals = ingest_totals(results)
        errors, message = _errors(results)
        if json_out:
            print_json(
                {
                    "db": str(db_path(db)),
                    "files": results,
                    "skipped": skipped,
                    "n_files": len(results),
                    "n_errors": len(errors),
                    **totals,
                    "error": message,
                }
            )
        else:
            out = wide_console()
            if results:
                out.print(_ingest_table(results, totals))
            if totals["rejected_by_reason"]:
                out.print(_reasons_table(totals["rejected_by_reason"]))
            if skipped:
                out.print(_rows_table("skipped (not a known feed format)", skipped, ["path", "reason"]))
            out.print(Text(f"store: {db_path(db)}", style="dim"))
        if message:
            fail(message)

    store_app = typer.Typer(help="What the store holds: summary, ingest log, aircraft, rejects, coverage.", no_args_is_help=True)
    app.add_typer(store_app, name="store")

    @store_app.command("info")
    def info_cmd(db: Path | None = DbOption, json_out: bool = JsonOption) -> None:
        """Summary of the store.

        --json keys: db, schema_version, n_obs, n_aircraft, first, last, per_feed {feed: n_obs},
        per_day {YYYY-MM-DD: n_obs}, files_ingested, files_with_error, ingests, rows_read,
        rows_stored, rows_rejected, rows_duplicate, rejected_by_reason {reason: rows}.
        """
        from isrwatch.store import summary

        con = _open(db, read_only=True)
        try:
            info = summary(con)
        finally:
            con.close()
        if json_out:
            print_json({"db": str(db_path(db)), **info})
            return
        out = wide_console()
        table = Table(title="store", title_justify="left", show_header=False)
        table.add_column("key")
        table.add_column("value")
        table.add_row("db", _text(db_path(db)))
        for key in ("schema_version", "n_obs", "n_aircraft", "first", "last", "files_ingested", "files_with_error",
                    "ingests", *COUNT_KEYS):
            value = info[key]
            table.add_row(key, _num(value) if isinstance(value, int) else _text(value))
        out.print(table)
        if info["per_feed"]:
            out.print(_rows_table("observations per feed", [{"feed": k, "n_obs": v} for k, v in info["per_feed"].items()], ["feed", "n_obs"]))
        if info["per_day"]:
            out.print(_rows_table("observations per UTC day", [{"day": k, "n_obs": v} for k, v in info["per_day"].items()], ["day", "n_obs"]))
        if info["rejected_by_reason"]:
            out.print(_reasons_table(info["rejected_by_reason"]))

    @store_app.command("files")
    def files_cmd(db: Path | None = DbOption, json_out: bool = JsonOption) -> None:
        """The ingest log: one row per ingest attempt.

        --json keys: db, files [{ingest_id, path, sha256, size_bytes, format, feed, started,
        finished, status (completed | error | skipped), rows_read, rows_stored, rows_rejected,
        rows_duplicate, error}].
        """
        from isrwatch.store import load_ingest_log

        con = _open(db, read_only=True)
        try:
            rows = load_ingest_log(con).to_dicts()
        finally:
            con.close()
        if json_out:
            print_json({"db": str(db_path(db)), "files": rows})
            return
        wide_console().print(_rows_table("ingest log", rows, ["ingest_id", "path", "format", "status", *COUNT_KEYS, "finished", "error"]))

    @store_app.command("aircraft")
    def aircraft_cmd(db: Path | None = DbOption, json_out: bool = JsonOption) -> None:
        """Aircraft facts the feeds carried, one row per icao24 and source (latest wins).

        --json keys: db, aircraft [{icao24, registration, type_code, type_description, operator,
        db_flags, source, first_seen, last_seen}].
        """
        from isrwatch.store import load_feed_aircraft

        con = _open(db, read_only=True)
        try:
            rows = load_feed_aircraft(con, with_seen=True).to_dicts()
        finally:
            con.close()
        if json_out:
            print_json({"db": str(db_path(db)), "aircraft": rows})
            return
        wide_console().print(_rows_table(
            "feed aircraft", rows,
            ["icao24", "registration", "type_code", "type_description", "operator", "db_flags", "source", "first_seen", "last_seen"],
        ))

    @store_app.command("rejects")
    def rejects_cmd(db: Path | None = DbOption, json_out: bool = JsonOption) -> None:
        """Rejected rows per ingest and reason, with up to five samples each.

        n_rows is 0 for damage that stopped a read (the rows after it were never read).
        --json keys: db, rejected_by_reason {reason: rows}, rejects [{ingest_id, path, feed,
        reason, n_rows, samples}].
        """
        from isrwatch.store import load_rejects

        con = _open(db, read_only=True)
        try:
            rows = load_rejects(con).to_dicts()
        finally:
            con.close()
        reasons: dict[str, int] = {}
        for r in rows:
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + r["n_rows"]
        if json_out:
            print_json({"db": str(db_path(db)), "rejected_by_reason": reasons, "rejects": rows})
            return
        out = wide_console()
        out.print(_reasons_table(reasons))
        out.print(_rows_table("rejects per ingest", rows, ["ingest_id", "path", "feed", "reason", "n_rows", "samples"]))

    @store_app.command("coverage")
    def coverage_cmd(
        since: str | None = typer.Option(None, "--since", help="From this UTC date/time (ISO 8601)."),
        until: str | None = typer.Option(None, "--until", help="Before this UTC date/time (ISO 8601)."),
        db: Path | None = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Per UTC day: observations, aircraft, first/last time and the longest silence.

        Days without any observation between the first and last day are listed with n_obs 0.
        --json keys: db, days [{day, n_obs, n_aircraft, first, last, max_gap_s}].
        """
        from isrwatch.store import coverage_by_day

        con = _open(db, read_only=True)
        try:
            rows = coverage_by_day(con, since=since, until=until).to_dicts()
        except ValueError as exc:
            fail(str(exc))
        finally:
            con.close()
        if json_out:
            print_json({"db": str(db_path(db)), "days": rows})
            return
        # Runs of empty days print as one row ("2024-01-02 … 2024-03-01 (60 days)").
        shown: list[dict[str, Any]] = []
        for r in rows:
            r["max_gap_s"] = None if r["max_gap_s"] is None else round(r["max_gap_s"])
            if r["n_obs"] == 0 and shown and shown[-1]["n_obs"] == 0:
                shown[-1]["_to"], shown[-1]["_n"] = r["day"], shown[-1]["_n"] + 1
            else:
                shown.append({**r, "_to": r["day"], "_n": 1})
        for r in shown:
            if r["_n"] > 1:
                r["day"] = f"{r['day'].isoformat()} … {r['_to'].isoformat()} ({r['_n']} days)"
            if r["n_obs"] == 0:
                r["first"] = "no observations"
        wide_console().print(_rows_table("coverage by UTC day", shown, ["day", "n_obs", "n_aircraft", "first", "last", "max_gap_s"]))

    @app.command("export")
    def export_cmd(
        out_dir: Path = typer.Argument(..., help="Directory to write (day=YYYY-MM-DD/*.parquet).", show_default=False),
        since: str | None = typer.Option(None, "--since", help="From this UTC date/time (ISO 8601)."),
        until: str | None = typer.Option(None, "--until", help="Before this UTC date/time (ISO 8601)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the day=* partitions of a non-empty DIR."),
        db: Path | None = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Write the observations as Parquet, hive-partitioned by UTC day (DuckDB, Polars, Dask read it).

        --json keys: db, out_dir, rows, days, files.
        """
        from isrwatch.store import export_parquet

        con = _open(db, read_only=True)
        try:
            done = export_parquet(con, out_dir, since=since, until=until, overwrite=overwrite)
        except (OSError, ValueError) as exc:
            fail(str(exc))
        finally:
            con.close()
        if json_out:
            print_json({"db": str(db_path(db)), **done})
        else:
            typer.echo(f"exported {done['rows']:,} observations ({done['days']} days, {done['files']} files) to {done['out_dir']}")

    @app.command("import")
    def import_cmd(
        in_dir: Path = typer.Argument(..., help="An export directory (or any directory of observations Parquet).", show_default=False),
        force: bool = typer.Option(False, "--force", help="Read files even if the same content was imported before."),
        db: Path | None = DbOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Read an export back into the store, deduplicated and counted like ingest.

        --json keys: as for ingest (db, files, n_files, n_errors, rows_read, rows_stored,
        rows_rejected, rows_duplicate, rejected_by_reason, error).
        """
        from isrwatch.store import import_parquet

        if not in_dir.exists():
            fail(f"{in_dir} does not exist")
        con = _open(db, read_only=False)
        try:
            results = [r.to_dict() for r in import_parquet(con, in_dir, force=force)]
        finally:
            con.close()
        totals = ingest_totals(results)
        errors, message = _errors(results)
        if json_out:
            print_json({"db": str(db_path(db)), "files": results, "n_files": len(results), "n_errors": len(errors), **totals, "error": message})
        else:
            out = wide_console()
            if results:
                out.print(_ingest_table(results, totals))
            else:
                out.print(Text(f"no Parquet files under {in_dir}"))
            if totals["rejected_by_reason"]:
                out.print(_reasons_table(totals["rejected_by_reason"]))
        if message:
            fail(message)
