"""The `isrwatch` command line. Subcommands follow the data flow; each lives in its own module
and registers itself on the app here. Commands call stages; stages never call commands."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="isrwatch",
    help="Count, map and fact-check military surveillance flights from open ADS-B data.",
    no_args_is_help=True,
    add_completion=False,
)



@app.callback()
def _root() -> None:
    """Count, map and fact-check military surveillance flights from open ADS-B data."""


# One module per group of subcommands; each defines register(app).
COMMAND_MODULES = [
    "isrwatch.cli.common",
    "isrwatch.cli.simulate",
    "isrwatch.cli.store",
    "isrwatch.cli.identify",
    "isrwatch.cli.verify",
    "isrwatch.cli.airspace",
    "isrwatch.cli.report",
    "isrwatch.cli.flights",
    "isrwatch.cli.demo",
    "isrwatch.cli.scaleout",
]


def _load() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_load()


def main() -> None:
    app()
