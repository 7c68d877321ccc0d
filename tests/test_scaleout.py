"""The scale-out engine against the in-process one, on SIMULATED data.

mexico-2025 (without background traffic) is simulated, ingested into a store and exported as
Parquet by day; the Dask engine must give the very tables the in-process stages give on the
store's observations -- same flight_ids, same rows, same order -- whatever the partitioning,
including the sorties that cross midnight UTC and so have rows in two day partitions.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from isrwatch import schema, scaleout, segment, simulate, store
from isrwatch.airspace import airspace_events, classify_points
from isrwatch.scaleout import Partition, plan_partitions

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(parquet dir, store path, truth, observations, observations + ids, flights) in process."""
    root = tmp_path_factory.mktemp("scaleout")
    truth = simulate.simulate("mexico-2025", root / "sim", background=False)
    db = root / "store.duckdb"
    con = store.open_store(db)
    for f in truth.files:
        r = store.ingest(con, root / "sim" / f["path"])
        assert r.error is None
    out = root / "exchange"
    assert store.export_parquet(con, out)["days"] > 1
    obs = store.load_observations(con)
    con.close()
    ids = segment.assign_sorties(obs)
    return {"pq": out, "db": db, "truth": truth, "obs": obs, "ids": ids, "flights": segment.flights(ids)}


@pytest.fixture(scope="module")
def client():
    """Two in-process workers: fast to start, yet tasks run on the distributed scheduler."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(autouse=True)
def _no_scheduler_env(monkeypatch):
    monkeypatch.delenv(scaleout.ENV_SCHEDULER, raising=False)


def _utc(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.mark.parametrize("npartitions", [None, 1, 3, 50])
def test_sorties_identical_to_the_in_process_engine(data, client, npartitions):
    ids, fl = scaleout.sorties_dask(data["pq"], client=client, npartitions=npartitions)
    assert ids.equals(data["ids"])  # every row, flight_id and split_reason, in the store's order
    assert fl.equals(data["flights"])
    assert fl.height == 24 and ids.height == data["obs"].height


def test_sortie_crossing_midnight_is_kept_whole(data, client):
    crossing = [s for s in data["truth"].data["sorties"] if _utc(s["takeoff_time"]).date() != _utc(s["landing_time"]).date()]
    assert len(crossing) >= 2  # rc135 and rq4 sorties land after midnight UTC
    # the export really has them in two day partitions
    days = pl.read_parquet(data["pq"], hive_partitioning=True).group_by("icao24").agg(pl.col("day").n_unique())
    assert days.filter(pl.col("icao24") == crossing[0]["icao24"])["day"].item() > 1

    fl = scaleout.flights_dask(data["pq"], client=client, npartitions=4)
    for s in crossing:
        midnight = datetime.combine(_utc(s["landing_time"]).date(), datetime.min.time(), tzinfo=timezone.utc)
        mine = fl.filter(
            (pl.col("icao24") == s["icao24"])
            & (pl.col("start") <= _utc(s["takeoff_time"]) + timedelta(minutes=10))
            & (pl.col("end") >= _utc(s["landing_time"]) - timedelta(minutes=10))
        )
        assert mine.height == 1, s["sortie_id"]  # one sortie from take-off to landing, over midnight
        assert mine["start"].item() < midnight < mine["end"].item()
        assert mine["start_reason"].item() == "takeoff_observed" and mine["end_reason"].item() == "landing_observed"

    # the control: one task per day partition would have cut each of them in two
    per_day = pl.concat(
        [segment.flights(segment.assign_sorties(schema.conform(pl.read_parquet(f), schema.OBSERVATIONS)))
         for f in sorted(data["pq"].glob("day=*/*.parquet"))]
    )
    assert per_day.height >= fl.height + len(crossing)
    assert not (per_day["start"].dt.date() != per_day["end"].dt.date()).any()


def test_classify_identical(data, client):
    got = scaleout.classify_dask(data["pq"], countries=["MEX"], aois=["gulf-of-california"], client=client, npartitions=3)
    want = classify_points(data["obs"], countries=["MEX"], aois=["gulf-of-california"])
    assert got.equals(want)
    assert got["in_gulf_of_california"].any()


def test_airspace_events_identical_to_the_pipeline(data, client):
    flights, events = scaleout.flights_and_events_dask(data["pq"], ["MEX", "gulf-of-california"], client=client, npartitions=5)
    sortie_rows = data["ids"].filter(pl.col(schema.FLIGHT_ID).is_not_null())
    want = pl.concat([airspace_events(sortie_rows, r) for r in ["MEX", "gulf-of-california"]])
    assert flights.equals(data["flights"])
    assert events.equals(want)
    assert events.filter(pl.col("region") == "MEX")["flight_id"].n_unique() == data["flights"].height
    assert events["entered"].any()  # the gap-only entries of the scenario are there
    assert scaleout.airspace_events_dask(data["pq"], "MEX", client=client).equals(want.filter(pl.col("region") == "MEX"))


def test_threads_filling_cold_airspace_caches_give_the_same_entries(data, client):
    # worker threads share the airspace stage's lazily filled grid and distance caches; a fresh
    # copy of Mexico's geometry starts them cold, so both threads fill cells at once (before the
    # stage locked its caches this gave entries into Mexico the in-process engine did not find)
    import shapely

    from isrwatch.airspace import Region, sovereign

    mex = sovereign("MEX")

    def cold() -> Region:
        return Region(id="mex-copy", name="Mexico (copy)", kind="user", geometry=shapely.from_wkb(shapely.to_wkb(mex)))

    sortie_rows = data["ids"].filter(pl.col(schema.FLIGHT_ID).is_not_null())
    want = airspace_events(sortie_rows, cold())
    assert want["entered"].any() and (~want["entered"]).any()
    for _ in range(3):
        assert scaleout.airspace_events_dask(data["pq"], cold(), client=client, npartitions=6).equals(want)


def test_window_and_aircraft_filters_match_the_store(data, client):
    con = store.open_store(data["db"], read_only=True)
    try:
        obs = store.load_observations(con, since="2025-01-31T12:00:00", until="2025-02-04", icao24=["AE7A11 ", "ae7a31"])
    finally:
        con.close()
    ids, fl = scaleout.sorties_dask(
        data["pq"], since="2025-01-31T12:00:00", until="2025-02-04", icao24=["AE7A11 ", "ae7a31"], client=client
    )
    assert obs.height > 0 and set(obs["icao24"]) == {"ae7a11", "ae7a31"}
    assert ids.equals(segment.assign_sorties(obs))
    assert fl.equals(segment.flights(segment.assign_sorties(obs)))
    # day partitions outside the window are not even opened
    files = scaleout.parquet_files(data["pq"], since="2025-02-05", until="2025-02-06")
    assert {f.parent.name for f in files} == {"day=2025-02-04", "day=2025-02-05", "day=2025-02-06"}


def test_empty_directory_gives_empty_tables_with_the_schema(tmp_path, client):
    empty = tmp_path / "empty"
    empty.mkdir()
    ids, fl = scaleout.sorties_dask(empty, client=client)
    assert ids.height == 0 and fl.height == 0
    assert fl.schema == pl.Schema(schema.FLIGHTS)
    assert ids.schema == segment.assign_sorties(schema.empty(schema.OBSERVATIONS)).schema
    assert {schema.FLIGHT_ID, "split_reason", *schema.OBSERVATIONS} == set(ids.columns)
    ev = scaleout.airspace_events_dask(empty, "MEX", client=client)
    assert ev.height == 0 and ev.schema == pl.Schema(schema.AIRSPACE_EVENTS)
    cls = scaleout.classify_dask(empty, countries=["MEX"], client=client)
    assert cls.height == 0 and "sovereign" in cls.columns
    got = scaleout.write_sorties_dask(empty, tmp_path / "out", client=client)
    assert got["rows"] == {"observations": 0, "flights": 0}


def test_window_without_rows_is_empty_not_none(data, client):
    fl = scaleout.flights_dask(data["pq"], since="2030-01-01", until="2030-01-02", client=client)
    assert fl.height == 0 and fl.schema == pl.Schema(schema.FLIGHTS)
    assert scaleout.flights_dask(data["pq"], icao24=[], client=client).height == 0


def test_bad_input_is_a_clear_error(tmp_path, client):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scaleout.flights_dask(tmp_path / "nowhere", client=client)
    bad = tmp_path / "bad"
    (bad / "day=2025-01-01").mkdir(parents=True)
    pl.DataFrame({"time": [datetime(2025, 1, 1, tzinfo=timezone.utc)], "hex": ["abc123"]}).write_parquet(
        bad / "day=2025-01-01" / "x.parquet"
    )
    with pytest.raises(ValueError, match=r"x\.parquet: not observations Parquet, lacks the columns icao24, lat, lon"):
        scaleout.flights_dask(bad, client=client)
    (bad / "day=2025-01-01" / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        scaleout.flights_dask(bad, client=client)
    with pytest.raises(ValueError, match="must be after"):
        scaleout.flights_dask(bad, since="2025-01-02", until="2025-01-01", client=client)
    (bad / "day=2025-01-01" / "x.parquet").unlink()
    pl.DataFrame({"time": [datetime(2025, 1, 1, tzinfo=timezone.utc)], "icao24": ["abc123"], "lat": [1.0], "lon": [2.0],
                  "pos_source": ["radar?"]}).write_parquet(bad / "day=2025-01-01" / "y.parquet")
    with pytest.raises(ValueError, match=r"reading icao24 range \[first, last\) of 1 files under .*y\.parquet: "):
        scaleout.flights_dask(bad, client=client)


def test_any_parquet_layout_unsorted_gives_the_same_result(data, tmp_path, client):
    # rows shuffled over three files without day directories: each task then reads everything
    # from every file, but the rows it keeps, and so the results, are the same
    obs = data["obs"].sample(fraction=1.0, shuffle=True, seed=7)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for k, part in enumerate(obs.with_columns(pl.col("pos_source").cast(pl.String)).drop("feed").iter_slices(obs.height // 3 + 1)):
        part.write_parquet(foreign / f"chunk{k}.parquet")
    ids, fl = scaleout.sorties_dask(foreign, client=client, npartitions=4)
    want = segment.assign_sorties(data["obs"].with_columns(pl.lit(None, pl.String).alias("feed")))
    assert ids.equals(want)
    assert fl.equals(data["flights"])


def test_write_out_is_readable_and_identical(data, tmp_path, client):
    out = tmp_path / "sorties"
    got = scaleout.write_sorties_dask(data["pq"], out, client=client, npartitions=3)
    assert got["rows"] == {"observations": data["ids"].height, "flights": data["flights"].height}
    back = pl.read_parquet(out / "observations", hive_partitioning=True)
    assert back.drop("day").sort(["icao24", "time", "lat", "lon"]).equals(data["ids"])
    assert (back["day"] == back["time"].dt.date()).all()
    flights = pl.concat([pl.read_parquet(f) for f in sorted((out / "flights").glob("part-*.parquet"))])
    assert flights.equals(data["flights"])
    # the output is valid input again (flight_id, split_reason, day are ignored)
    assert scaleout.flights_dask(out / "observations", client=client).equals(data["flights"])
    with pytest.raises(FileExistsError):
        scaleout.write_sorties_dask(data["pq"], out, client=client)


def test_scheduler_from_the_environment_and_by_name(data, client, monkeypatch):
    monkeypatch.setenv(scaleout.ENV_SCHEDULER, client.scheduler.address)
    with distributed.get_task_stream(client) as stream:
        assert scaleout.flights_dask(data["pq"], npartitions=3).equals(data["flights"])
    # the tasks ran on that scheduler: one count per day file, the merge, three ranges
    assert sum(t["key"].startswith("_run_partition") for t in stream.data) == 3
    monkeypatch.setenv(scaleout.ENV_SCHEDULER, "synchronous")
    assert scaleout.flights_dask(data["pq"], npartitions=2).equals(data["flights"])
    monkeypatch.delenv(scaleout.ENV_SCHEDULER)
    assert scaleout.flights_dask(data["pq"], scheduler="threads").equals(data["flights"])


def test_unreachable_scheduler_is_a_clear_error(data, monkeypatch):
    monkeypatch.setattr(scaleout, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        scaleout.flights_dask(data["pq"], scheduler="tcp://127.0.0.1:9")


def test_worker_processes_give_the_same_tables(data, tmp_path):
    # real worker processes: the work, partitions, Polars tables and a user Region are pickled
    from isrwatch.airspace import load_user_geojson

    box = {"type": "Feature", "properties": {"name": "box"},
           "geometry": {"type": "Polygon", "coordinates": [[[-118, 28], [-110, 28], [-110, 33], [-118, 33], [-118, 28]]]}}
    path = tmp_path / "box.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [box]}))
    region = load_user_geojson(path)
    sortie_rows = data["ids"].filter(pl.col(schema.FLIGHT_ID).is_not_null())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        fl, ev = scaleout.flights_and_events_dask(data["pq"], [region], client=c, npartitions=4)
    assert fl.equals(data["flights"])
    assert ev.equals(airspace_events(sortie_rows, region))
    assert ev["entered"].any()
    # "local": a cluster of worker processes started for the call and closed after it
    assert scaleout.flights_dask(data["pq"], scheduler="local", npartitions=3).equals(data["flights"])


# --- planning --------------------------------------------------------------------------------


def _counts(d: dict) -> pl.DataFrame:
    return pl.DataFrame({"icao24": list(d), "n": list(d.values())}, schema={"icao24": pl.String, "n": pl.Int64})


def _owner(parts: list[Partition], icao24: list[str | None]) -> list[list[int]]:
    df = pl.DataFrame({"icao24": icao24}, schema={"icao24": pl.String})
    flags = df.select(scaleout._in_range(p).alias(str(p.index)) for p in parts)
    return [[i for i, v in enumerate(row) if v] for row in flags.iter_rows()]


def test_plan_partitions_balanced_whole_aircraft_nulls_last():
    rng = random.Random(3)
    counts = {f"{rng.randrange(16**6):06x}": rng.randrange(1, 1000) for _ in range(300)}
    counts["ffffff"] = 40_000  # one very busy aircraft: never cut
    c = _counts(counts)
    c = pl.concat([c, pl.DataFrame({"icao24": [None], "n": [5]}, schema=c.schema)])
    parts = plan_partitions(c, 8)
    assert sum(p.rows for p in parts) == int(c["n"].sum())
    assert parts[0].lo is None and parts[-1].hi is None
    assert all(a.hi == b.lo for a, b in zip(parts, parts[1:]))  # contiguous ranges in order
    # every address (and the null one) belongs to exactly one range; nulls to the last
    owners = _owner(parts, [*counts, None, "000000", "~zzzzzz"])
    assert all(len(o) == 1 for o in owners)
    assert owners[len(counts)] == [len(parts) - 1]
    assert max(p.rows for p in parts) >= 40_000
    small = [p.rows for p in parts if p.hi is not None and p.hi <= "ffffff" and p.rows < 40_000]
    assert small and max(small) < 2 * (int(c["n"].sum()) - 40_000) / 7  # the rest shared out evenly


def test_plan_partitions_edges():
    assert plan_partitions(_counts({}), 4) == []
    assert plan_partitions(_counts({"abc123": 0}), 4) == []
    assert plan_partitions(_counts({"abc123": 5, "abc124": 5}), 10) == [
        Partition(0, None, "abc124", 5), Partition(1, "abc124", None, 5)
    ]
    assert plan_partitions(_counts({"abc123": 5}), 1) == [Partition(0, None, None, 5)]
    with pytest.raises(ValueError):
        plan_partitions(_counts({"abc123": 5}), 0)


# --- command line ------------------------------------------------------------------------------


def test_cli_flights_and_airspace_match_the_in_process_commands(data, client, tmp_path):
    from typer.testing import CliRunner

    from isrwatch.cli import app

    runner = CliRunner()
    addr = client.scheduler.address
    window = ["--since", "2025-01-31", "--until", "2025-02-05"]
    mine = runner.invoke(app, ["scaleout", "flights", str(data["pq"]), *window, "--scheduler", addr, "--json"])
    theirs = runner.invoke(app, ["flights", "--db", str(data["db"]), *window, "--json"])
    assert mine.exit_code == 0, mine.output
    assert theirs.exit_code == 0, theirs.output
    a, b = json.loads(mine.stdout), json.loads(theirs.stdout)
    assert a["flights"] == b["flights"] and a["n_flights"] == b["n_flights"] > 0
    assert a["filters"] == b["filters"] and a["engine"]["scheduler"] == addr

    mine = runner.invoke(app, ["scaleout", "airspace", str(data["pq"]), "--country", "MEX", *window, "--partitions", "3",
                               "--scheduler", addr, "--json"])
    theirs = runner.invoke(app, ["airspace", "--db", str(data["db"]), "--country", "MEX", *window, "--json"])
    assert mine.exit_code == 0, mine.output
    a, b = json.loads(mine.stdout), json.loads(theirs.stdout)
    for key in ("region", "window", "definition", "summary", "events", "attribution"):
        assert a[key] == b[key], key
    assert a["summary"]["flights"] > 0

    plan = runner.invoke(app, ["scaleout", "plan", str(data["pq"]), "--partitions", "3", "--scheduler", addr, "--json"])
    p = json.loads(plan.stdout)
    assert p["rows"] == data["obs"].height and len(p["partitions"]) == 3

    out = tmp_path / "cli-out"
    wrote = runner.invoke(app, ["scaleout", "sorties", str(data["pq"]), "--out", str(out), "--scheduler", addr, "--json"])
    assert json.loads(wrote.stdout)["rows"]["flights"] == data["flights"].height
    again = runner.invoke(app, ["scaleout", "sorties", str(data["pq"]), "--out", str(out), "--scheduler", addr])
    assert again.exit_code == 1 and "not an empty directory" in again.output
    missing = runner.invoke(app, ["scaleout", "flights", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
