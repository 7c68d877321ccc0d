"""`isrwatch simulate`: SIMULATED readsb traces of a scenario's flights, with their ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

from isrwatch.cli.common import JsonOption, fail, print_json


def _payload(truth) -> dict:
    d = truth.data
    s = d["summary"]
    return {
        "scenario": d["scenario"],
        "title": d["title"],
        "simulated": True,
        "label": d["label"],
        "seed": d["seed"],
        "out_dir": str(truth.out_dir),
        "truth_file": str(truth.truth_path),
        "n_files": s["n_files"],
        "n_positions": s["n_positions"],
        "n_sorties": s["n_sorties"],
        "n_aircraft": s["n_aircraft"],
        "n_leg_marks_set": s["n_leg_marks_set"],
        "n_leg_marks_missing": s["n_leg_marks_missing"],
        "window": d["window"],
        "by_country": s["by_country"],
        "aois": s["aois"],
        "files": [f["path"] for f in d["files"]],
        # civil traffic flown alongside (never among the sorties); null without it
        "background": ({k: d["background"][k] for k in ("n_flights", "n_aircraft", "n_positions", "n_files")}
                       | {"max_feed_gap_s": (d["background"]["feed_coverage"] or {}).get("max_gap_s"),
                          "files": [f["path"] for f in d["background"]["files"]]}
                       if d.get("background") else None),
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        scenario: str = typer.Argument(None, help="Scenario YAML file, or the name of a bundled scenario."),
        out: Path = typer.Option(None, "--out", help="Directory to write the traces and truth.json into."),
        seed: int = typer.Option(None, "--seed", min=0, help="Random seed (default: the scenario's own)."),
        list_bundled: bool = typer.Option(False, "--list", help="List the bundled scenarios and exit."),
        no_background: bool = typer.Option(
            False, "--no-background", help="Leave out the scenario's civil background traffic (its sorties only)."),
        json_out: bool = JsonOption,
    ) -> None:
        """Write SIMULATED readsb trace files of a scenario's flights, plus truth.json (never real data)."""
        from isrwatch import simulate as sim

        if list_bundled:
            names = sim.bundled_scenarios()
            if json_out:
                print_json({"scenarios": names})
            else:
                for n in names:
                    typer.echo(n)
            return
        if scenario is None:
            fail("give a scenario file or bundled name (see --list)")
        if out is None:
            fail("give --out DIR for the traces and truth.json")
        if out.exists() and not out.is_dir():
            fail(f"--out {out} exists and is not a directory")
        try:
            sc = sim.load_scenario(scenario)
            truth = sim.simulate(sc, out, seed=seed, background=not no_background)
        except sim.ScenarioError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write to {out}: {exc}")
        payload = _payload(truth)
        if json_out:
            print_json(payload)
            return
        typer.echo(f"SIMULATED scenario {payload['scenario']!r} (seed {payload['seed']}): not real data")
        typer.echo(f"  {payload['n_sorties']} sorties by {payload['n_aircraft']} aircraft, "
                   f"{payload['n_positions']} positions in {payload['n_files']} trace files under {out}")
        bg = payload["background"]
        if bg:
            typer.echo(f"  plus civil background traffic (not counted): {bg['n_flights']} flights by "
                       f"{bg['n_aircraft']} aircraft, {bg['n_positions']} positions in {bg['n_files']} trace files")
        for iso3, c in payload["by_country"].items():
            within = ", ".join(f"{n} within {km} km" for km, n in c["within_km"].items())
            typer.echo(f"  {iso3}: {c['sorties_entered']} sorties entered its sovereign airspace; {within}")
        typer.echo(f"  ground truth: {payload['truth_file']}")
