"""Helpers shared by the subcommands: JSON output with stable keys, the --db option, errors."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

from isrwatch import paths

DbOption = typer.Option(None, "--db", help="DuckDB store (default: $ISRWATCH_DB or the user data dir).")
JsonOption = typer.Option(False, "--json", help="Print the result as JSON with stable keys.")


def db_path(db: Path | None) -> Path:
    return Path(db) if db is not None else paths.default_db()


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
