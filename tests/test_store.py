"""The store: counting invariant, dedupe, idempotency, atomicity, read-back, coverage, exchange."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data_gen import write_readsb_trace
from isrwatch import schema
from isrwatch.sources import ReaderError
from isrwatch.store import (
    COVERAGE,
    SCHEMA_VERSION,
    StoreError,
    coverage_by_day,
    export_parquet,
    import_parquet,
    ingest,
    ingest_batches,
    list_tables,
    load_distinct_aircraft,
    load_feed_aircraft,
    load_ingest_log,
    load_observations,
    load_rejects,
    load_table,
    open_store,
    save_table,
    summary,
)

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)


@dataclass
class FakeBatch:
    observations: pl.DataFrame
    rejects: pl.DataFrame
    aircraft: pl.DataFrame
    rows_read: int


def obs(icao24: str, n: int, *, start: datetime = T0, step_s: int = 10, lat0: float = 30.0, lon0: float = -110.0,
        callsign: str | None = "TEST1", feed: str = "test", pos_source: str = "adsb") -> pl.DataFrame:
    return schema.conform(
        pl.DataFrame(
            {
                "time": [start + timedelta(seconds=i * step_s) for i in range(n)],
                "icao24": [icao24] * n,
                "callsign": [callsign] * n,
                "lat": [lat0 + i * 0.01 for i in range(n)],
                "lon": [lon0 + i * 0.01 for i in range(n)],
                "alt_baro": [30000.0] * n,
                "on_ground": [False] * n,
                "pos_source": [pos_source] * n,
                "leg_start": [i == 0 for i in range(n)],
                "stale": [False] * n,
                "feed": [feed] * n,
            }
        ),
        schema.OBSERVATIONS,
    )


def rejects(*rows: tuple[str, str, int], feed: str = "test") -> pl.DataFrame:
    return pl.DataFrame(
        {"feed": [feed] * len(rows), "reason": [r[0] for r in rows], "detail": [r[1] for r in rows],
         "n_rows": [r[2] for r in rows]},
        schema=schema.REJECTS,
    )


def batch(observations: pl.DataFrame, rej: pl.DataFrame | None = None, aircraft: pl.DataFrame | None = None,
          rows_read: int | None = None) -> FakeBatch:
    rej = rej if rej is not None else schema.empty(schema.REJECTS)
    aircraft = aircraft if aircraft is not None else schema.empty(schema.FEED_AIRCRAFT)
    if rows_read is None:
        rows_read = observations.height + int(rej["n_rows"].sum() or 0)
    return FakeBatch(observations, rej, aircraft, rows_read)


def facts(icao24: str, source: str = "test", **values) -> pl.DataFrame:
    return schema.conform(pl.DataFrame({"icao24": [icao24], "source": [source], **{k: [v] for k, v in values.items()}}),
                          schema.FEED_AIRCRAFT)


def invariant(result) -> None:
    assert result.rows_read == result.rows_stored + result.rows_rejected + result.rows_duplicate
    assert result.rows_rejected == sum(result.rejected_by_reason.values())


@pytest.fixture(params=["table", "parts"])
def storage(request, monkeypatch):
    """Rows written to the DuckDB table, or every write (however small) to Parquet parts."""
    if request.param == "parts":
        import isrwatch.store.ingestion as ingestion

        monkeypatch.setattr(ingestion, "PART_MIN_ROWS", 1)
    return request.param


@pytest.fixture
def con(tmp_path, storage):
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


def part_files(db: Path) -> list[Path]:
    return sorted((db.parent / (db.name + ".parts")).glob("day=*/*.parquet"))


def con_storage(con) -> str:
    import isrwatch.store.ingestion as ingestion

    return "parts" if ingestion.PART_MIN_ROWS == 1 else "table"


def n_obs(con) -> int:
    return con.execute("SELECT count(*) FROM observations").fetchall()[0][0]


# --- schema ---------------------------------------------------------------------------------

def test_open_store_creates_versioned_schema_and_reopens(tmp_path):
    path = tmp_path / "sub" / "s.duckdb"
    c = open_store(path)
    tables = {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"meta", "observations", "aircraft_feed", "ingest_log", "rejects"} <= tables
    assert c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
    ingest_batches(c, [batch(obs("abc123", 3))], path="a")
    c.close()
    c = open_store(path)  # no re-creation, data still there
    assert n_obs(c) == 3
    c.close()
    ro = open_store(path, read_only=True)
    assert summary(ro)["n_obs"] == 3
    ro.close()


def test_open_store_refuses_missing_newer_and_foreign(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        open_store(tmp_path / "absent.duckdb", read_only=True)
    path = tmp_path / "s.duckdb"
    open_store(path).close()
    raw = duckdb.connect(str(path))
    raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(StoreError, match="newer isrwatch"):
        open_store(path)
    foreign = tmp_path / "other.duckdb"
    duckdb.connect(str(foreign)).close()
    with pytest.raises(StoreError, match="not an isrwatch store"):
        open_store(foreign, read_only=True)


def test_default_path_follows_isrwatch_db(tmp_path, monkeypatch):
    target = tmp_path / "env.duckdb"
    monkeypatch.setenv("ISRWATCH_DB", str(target))
    open_store().close()
    assert target.exists()


# --- counting, dedupe, idempotency ------------------------------------------------------------

@pytest.fixture(params=["one_chunk", "chunk_per_batch"])
def chunking(request, monkeypatch):
    """Batches buffered into one INSERT, or one INSERT per batch (repeats then meet the store)."""
    if request.param == "chunk_per_batch":
        import isrwatch.store.ingestion as ingestion

        monkeypatch.setattr(ingestion, "CHUNK_ROWS", 1)
    return request.param


def test_invariant_rejects_and_duplicates_within_and_across_batches(con, chunking):
    a = obs("abc123", 100)
    b = obs("def456", 50)
    batches = [
        batch(a[:60], rejects(("lat_out_of_range", "row 7: lat=95", 2), ("no_position", "hex=abc123", 3))),
        # 40 new rows + 10 repeats of the first batch + 5 repeats inside this batch
        batch(pl.concat([a[60:], a[:10], a[60:65]])),
        batch(pl.concat([b, b[:1]]), rejects(("lat_out_of_range", "row 9", 1))),
    ]
    r = ingest_batches(con, batches, path="f.json", fmt="fake")
    invariant(r)
    assert (r.rows_read, r.rows_stored, r.rows_rejected, r.rows_duplicate) == (60 + 5 + 55 + 51 + 1, 150, 6, 16)
    assert r.rejected_by_reason == {"lat_out_of_range": 3, "no_position": 3}
    assert n_obs(con) == 150
    stored = load_rejects(con)
    assert set(stored["reason"]) == {"lat_out_of_range", "no_position"}
    assert stored.filter(pl.col("reason") == "lat_out_of_range")["samples"].to_list()[0] == ["row 7: lat=95", "row 9"]
    log = load_ingest_log(con).row(0, named=True)
    assert (log["status"], log["rows_read"], log["rows_stored"], log["rows_duplicate"]) == ("completed", 172, 150, 16)
    in_table = con.execute("SELECT count(*) FROM observation_rows").fetchall()[0][0]
    in_parts = con.execute("SELECT coalesce(sum(n_rows), 0) FROM observation_parts").fetchall()[0][0]
    assert (in_table, in_parts) == ((150, 0) if con_storage(con) == "table" else (0, 150))


def test_second_ingest_adds_nothing_and_counts_every_row_duplicate(con, chunking):
    batches = [batch(obs("abc123", 30)), batch(obs("def456", 20))]
    first = ingest_batches(con, batches, path="f")
    second = ingest_batches(con, batches, path="f")
    invariant(first)
    invariant(second)
    assert first.rows_stored == 50
    assert second.rows_stored == 0
    assert second.rows_duplicate == second.rows_read == 50
    assert n_obs(con) == 50


def test_first_occurrence_of_a_key_wins(con, chunking):
    a = obs("abc123", 5, callsign="FIRST")
    b = obs("abc123", 5, callsign="SECOND")  # same keys, other facts
    ingest_batches(con, [batch(pl.concat([a, b])), batch(b)], path="f")
    assert load_observations(con)["callsign"].unique().to_list() == ["FIRST"]
    ingest_batches(con, [batch(b)], path="g")
    assert load_observations(con)["callsign"].unique().to_list() == ["FIRST"]


def test_keyless_rows_are_rejected_not_dropped(con):
    good = obs("abc123", 4)
    bad = good.with_columns(
        pl.Series("lat", [None, float("nan"), 1.0, 2.0]),
        pl.Series("icao24", ["abc123", "abc123", None, "abc123"]),
        pl.Series("time", [T0, T0, T0, None], dtype=schema.UTC_US),
    )
    r = ingest_batches(con, [batch(pl.concat([good, bad]))], path="f")
    invariant(r)
    assert r.rows_stored == 4 and r.rejected_by_reason == {"missing_key": 4}


def test_rows_a_reader_does_not_account_for_are_counted(con):
    r = ingest_batches(con, [batch(obs("abc123", 5), rows_read=8)], path="f")
    invariant(r)
    assert r.rejected_by_reason == {"reader_unaccounted": 3}


def test_null_callsign_rows_are_kept_and_markup_is_stored_verbatim(con):
    marked = "[bold red]X[/]<script>"
    data = pl.concat([obs("abc123", 3, callsign=None), obs("def456", 3, callsign=marked)])
    r = ingest_batches(con, [batch(data)], path="f")
    assert r.rows_stored == 6
    back = load_observations(con)
    assert back.filter(pl.col("icao24") == "abc123")["callsign"].null_count() == 3
    assert back.filter(pl.col("icao24") == "def456")["callsign"].to_list() == [marked] * 3


# --- atomicity and damage ----------------------------------------------------------------------

def test_exception_inside_the_transaction_leaves_the_store_as_before(con):
    ingest_batches(con, [batch(obs("abc123", 10))], path="before")

    def broken():
        yield batch(obs("def456", 10))
        yield batch(obs("fed654", 10), aircraft=facts("def456", registration="N1"))
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_batches(con, broken(), path="broken")
    assert n_obs(con) == 10
    assert load_ingest_log(con)["path"].to_list() == ["before"]
    assert load_feed_aircraft(con).height == 0
    assert load_rejects(con).height == 0
    # the connection is usable afterwards
    assert ingest_batches(con, [batch(obs("def456", 10))], path="after").rows_stored == 10


def test_reader_is_closed_when_the_store_side_fails(con):
    closed = []

    def reader():
        try:
            for i in range(50):
                yield batch(obs(f"{i:06x}", 2)) if i != 3 else object()  # not a batch: a bug
        finally:
            closed.append(True)

    with pytest.raises(AttributeError):
        ingest_batches(con, reader(), path="f")
    assert closed == [True]
    assert n_obs(con) == 0 and load_ingest_log(con).height == 0


def test_an_oserror_while_writing_is_not_taken_for_damage(con, monkeypatch):
    import isrwatch.store.ingestion as ingestion

    def failing_flush(self):
        raise OSError("no space left on device")

    monkeypatch.setattr(ingestion._Writer, "flush", failing_flush)
    with pytest.raises(OSError):
        ingest_batches(con, [batch(obs("abc123", 5))], path="f")
    monkeypatch.undo()
    assert n_obs(con) == 0 and load_ingest_log(con).height == 0


def test_reader_error_keeps_rows_before_the_damage(con):
    def damaged():
        yield batch(obs("abc123", 10))
        yield batch(obs("def456", 5), rejects(("bad_position", "x", 1)))
        raise ReaderError("truncated_gzip", "gzip stream ends before its end marker")

    r = ingest_batches(con, damaged(), path="cut.json.gz")
    invariant(r)
    assert r.error == "truncated_gzip: gzip stream ends before its end marker"
    assert (r.rows_read, r.rows_stored, r.rows_rejected) == (16, 15, 1)
    assert r.rejected_by_reason == {"bad_position": 1, "truncated_gzip": 0}
    assert n_obs(con) == 15
    log = load_ingest_log(con).row(0, named=True)
    assert log["status"] == "error" and log["error"].startswith("truncated_gzip:")
    damage = load_rejects(con).filter(pl.col("reason") == "truncated_gzip").row(0, named=True)
    assert damage["n_rows"] == 0 and "after 16 rows" in damage["samples"][0]


# --- Parquet parts ---------------------------------------------------------------------------------

@pytest.fixture
def parts_only(monkeypatch):
    """Every write goes to a Parquet part, one write per batch."""
    import isrwatch.store.ingestion as ingestion

    monkeypatch.setattr(ingestion, "PART_MIN_ROWS", 1)
    monkeypatch.setattr(ingestion, "CHUNK_ROWS", 1)


def test_parts_are_day_partitioned_listed_and_read_through_the_view(tmp_path, parts_only):
    db = tmp_path / "s.duckdb"
    c = open_store(db)
    # in time order across midnight (sliced), then out of order across two days (partitioned)
    late = obs("abc123", 30, start=datetime(2024, 3, 1, 23, 59, 30, tzinfo=timezone.utc), step_s=2)
    mixed = pl.concat([obs("def456", 5, start=T0 + timedelta(days=3)), obs("def456", 5, start=T0 + timedelta(days=2))])
    r = ingest_batches(c, [batch(late), batch(mixed)], path="f")
    invariant(r)
    assert r.rows_stored == 40
    days = sorted(f.parent.name for f in part_files(db))
    assert days == ["day=2024-03-01", "day=2024-03-02", "day=2024-03-03", "day=2024-03-04"]
    manifest = pl.from_arrow(c.sql("SELECT * FROM observation_parts ORDER BY day").to_arrow_table())
    assert manifest["n_rows"].to_list() == [15, 15, 5, 5]
    assert (manifest["ingest_id"] == r.ingest_id).all()
    for row in manifest.iter_rows(named=True):  # each part holds only its day's rows
        part = pl.read_parquet(db.parent / (db.name + ".parts") / row["path"])
        assert part["time"].dt.date().unique().to_list() == [row["day"]]
        assert part.height == row["n_rows"] and part["time"].min() == row["tmin"]
    assert c.execute("SELECT count(*) FROM observation_rows").fetchall()[0][0] == 0
    back = load_observations(c)
    assert back.schema == pl.Schema(schema.OBSERVATIONS)
    assert back.equals(pl.concat([late, mixed]).sort("icao24", "time"))
    assert summary(c)["per_day"] == {"2024-03-01": 15, "2024-03-02": 15, "2024-03-03": 5, "2024-03-04": 5}
    c.close()
    # another process opening the store read-only sees the same rows
    ro = open_store(db, read_only=True)
    assert load_observations(ro).equals(back)
    ro.close()


def test_a_days_sliver_goes_to_the_table_not_a_tiny_part(tmp_path, monkeypatch):
    import isrwatch.store.ingestion as ingestion

    monkeypatch.setattr(ingestion, "PART_MIN_ROWS", 10)
    db = tmp_path / "s.duckdb"
    c = open_store(db)
    # 30 points up to 23:59:59, then 3 after midnight
    rows = obs("abc123", 33, start=datetime(2024, 3, 1, 23, 59, 0, tzinfo=timezone.utc), step_s=2)
    r = ingest_batches(c, [batch(rows)], path="f")
    invariant(r)
    assert r.rows_stored == 33
    assert [f.parent.name for f in part_files(db)] == ["day=2024-03-01"]
    assert c.execute("SELECT n_rows FROM observation_parts").fetchall() == [(30,)]
    assert c.execute("SELECT count(*), min(time)::DATE FROM observation_rows").fetchall()[0][0] == 3
    assert load_observations(c).equals(rows)
    c.close()


def test_parts_and_table_rows_dedupe_against_each_other(tmp_path, monkeypatch):
    import isrwatch.store.ingestion as ingestion

    db = tmp_path / "s.duckdb"
    c = open_store(db)
    a = obs("abc123", 40, callsign="FIRST")
    monkeypatch.setattr(ingestion, "PART_MIN_ROWS", 20)
    ingest_batches(c, [batch(a[:10])], path="small")  # 10 rows: the table
    r = ingest_batches(c, [batch(a)], path="big")  # 40 rows: a part, 10 of them repeats
    invariant(r)
    assert (r.rows_stored, r.rows_duplicate) == (30, 10)
    again = ingest_batches(c, [batch(a[5:15].with_columns(callsign=pl.lit("SECOND")))], path="small2")
    assert (again.rows_stored, again.rows_duplicate) == (0, 10)
    assert c.execute("SELECT count(*) FROM observation_rows").fetchall()[0][0] == 10
    assert len(part_files(db)) == 1
    assert load_observations(c)["callsign"].unique().to_list() == ["FIRST"]
    c.close()


def test_a_rolled_back_ingest_leaves_no_part_files(tmp_path, parts_only):
    db = tmp_path / "s.duckdb"
    c = open_store(db)
    ingest_batches(c, [batch(obs("abc123", 10))], path="before")
    before = part_files(db)

    def broken():
        yield batch(obs("def456", 10))
        yield batch(obs("fed654", 10, start=T0 + timedelta(days=1)))
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        ingest_batches(c, broken(), path="broken")
    assert part_files(db) == before and len(before) == 1
    assert c.execute("SELECT count(*) FROM observation_parts").fetchall()[0][0] == 1
    assert n_obs(c) == 10 and summary(c)["n_obs"] == 10
    c.close()


def test_orphan_parts_are_never_counted_and_deleted_on_a_writable_open(tmp_path, parts_only):
    db = tmp_path / "s.duckdb"
    c = open_store(db)
    ingest_batches(c, [batch(obs("abc123", 10))], path="f")
    c.close()
    (part,) = part_files(db)
    # what a killed ingest leaves: a part no committed manifest row names
    orphan = part.with_name("part-00000099-0123456789abcdef.parquet")
    pl.read_parquet(part).with_columns(pl.col("icao24").str.replace("abc123", "def456")).write_parquet(orphan)
    stranger = part.parent / "notes.txt"  # not a part: never touched
    stranger.write_text("mine")
    ro = open_store(db, read_only=True)
    assert summary(ro)["n_obs"] == 10 and load_observations(ro)["icao24"].unique().to_list() == ["abc123"]
    ro.close()
    assert orphan.exists()
    c = open_store(db)
    assert not orphan.exists() and part.exists() and stranger.exists()
    assert summary(c)["n_obs"] == 10
    c.close()


def test_missing_parts_are_an_error_and_a_moved_store_keeps_them(tmp_path, parts_only):
    db = tmp_path / "a" / "s.duckdb"
    c = open_store(db)
    ingest_batches(c, [batch(obs("abc123", 10))], path="f")
    c.close()
    moved = tmp_path / "b" / "t.duckdb"
    moved.parent.mkdir()
    db.rename(moved)
    (db.parent / "s.duckdb.parts").rename(moved.parent / "t.duckdb.parts")
    c = open_store(moved)
    assert summary(c)["n_obs"] == 10
    c.close()
    for f in part_files(moved):
        f.unlink()
    with pytest.raises(StoreError, match="Parquet parts are missing"):
        open_store(moved, read_only=True)


def test_a_second_connection_sees_parts_written_by_the_first(tmp_path, parts_only):
    db = tmp_path / "s.duckdb"
    writer = open_store(db)
    reader = writer.cursor()  # another connection to the same database in this process
    assert summary(reader)["n_obs"] == 0
    ingest_batches(writer, [batch(obs("abc123", 10))], path="f")
    assert summary(reader)["n_obs"] == 10
    assert load_observations(reader).height == 10
    writer.close()


def test_a_version_1_store_is_migrated_with_its_rows(tmp_path):
    from isrwatch.store import db as store_db

    path = tmp_path / "v1.duckdb"
    raw = duckdb.connect(str(path))
    for stmt in store_db._ddl_v1():
        raw.execute(stmt)
    raw.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    raw.register("rows", obs("abc123", 5).to_arrow())
    raw.execute(f"INSERT INTO observations SELECT *, 1 FROM rows")
    raw.close()
    with pytest.raises(StoreError, match="open it once for writing"):
        open_store(path, read_only=True)
    c = open_store(path)
    assert c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
    assert load_observations(c).equals(obs("abc123", 5))
    r = ingest_batches(c, [batch(obs("abc123", 8))], path="f")
    assert (r.rows_stored, r.rows_duplicate) == (3, 5)
    c.close()


# --- aircraft facts ------------------------------------------------------------------------------

def test_feed_aircraft_latest_wins_and_null_never_erases(con):
    early = obs("abc123", 3, start=T0)
    late = obs("abc123", 3, start=T0 + timedelta(days=1))
    ingest_batches(con, [batch(late, aircraft=facts("abc123", registration="N-NEW", type_code="P8"))], path="late")
    # an older file, ingested afterwards, must not overwrite newer facts but may fill gaps
    ingest_batches(con, [batch(early, aircraft=facts("abc123", registration="N-OLD", operator="USN"))], path="early")
    row = load_feed_aircraft(con, with_seen=True).row(0, named=True)
    assert (row["registration"], row["type_code"], row["operator"]) == ("N-NEW", "P8", "USN")
    assert row["first_seen"] == T0 and row["last_seen"] == late["time"].max()
    # a newer file with a null registration keeps the known one, its new type replaces the old
    newest = obs("abc123", 3, start=T0 + timedelta(days=2))
    ingest_batches(con, [batch(newest, aircraft=facts("abc123", type_code="P8A"))], path="newest")
    row = load_feed_aircraft(con).row(0, named=True)
    assert (row["registration"], row["type_code"]) == ("N-NEW", "P8A")
    assert load_feed_aircraft(con).schema == pl.Schema(schema.FEED_AIRCRAFT)


def test_feed_aircraft_one_row_per_icao24_and_source(con):
    a = obs("abc123", 3)
    ingest_batches(con, [batch(a, aircraft=pl.concat([facts("abc123", "feed1", registration="A"),
                                                      facts("abc123", "feed1", registration="B"),
                                                      facts("abc123", "feed2", registration="C")]))], path="f")
    df = load_feed_aircraft(con)
    assert df.select("source", "registration").rows() == [("feed1", "B"), ("feed2", "C")]


# --- reading back -------------------------------------------------------------------------------

def test_load_observations_filters_sorts_and_round_trips_types(con):
    data = pl.concat([
        obs("def456", 5, lat0=10, lon0=179.9, pos_source="mlat"),  # crosses the antimeridian
        obs("abc123", 5, start=T0 + timedelta(hours=1)),
    ])
    ingest_batches(con, [batch(data.sample(fraction=1.0, shuffle=True, seed=1))], path="f")
    back = load_observations(con)
    assert back.schema == pl.Schema(schema.OBSERVATIONS)
    assert back["pos_source"].dtype == schema.PosSource
    assert back.equals(data.sort("icao24", "time"))
    assert load_observations(con, icao24=[" ABC123 "])["icao24"].unique().to_list() == ["abc123"]
    assert load_observations(con, icao24=[]).height == 0
    window = load_observations(con, since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=30))
    assert window["time"].to_list() == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]  # [since, until)
    assert load_observations(con, since="2024-03-01T11:00:00").height == 5  # naive ISO = UTC
    assert load_observations(con, bbox=(-180, -90, -179.5, 90)).height == 0
    across = load_observations(con, bbox=(179.915, 0, -170, 20))  # west > east: crosses 180
    assert across["lon"].to_list() == pytest.approx([179.92, 179.93, 179.94])
    box = load_observations(con, bbox=(-110.0, 30.0, -109.975, 30.025))
    assert box["icao24"].to_list() == ["abc123"] * 3


def test_distinct_aircraft_lists_callsign_pairs(con):
    ingest_batches(con, [batch(pl.concat([obs("abc123", 2, callsign=None),
                                          obs("abc123", 3, callsign="RCH1", start=T0 + timedelta(hours=1))]))],
                   path="f")
    df = load_distinct_aircraft(con)
    assert df.select("icao24", "callsign", "n_obs").rows() == [("abc123", None, 2), ("abc123", "RCH1", 3)]


def test_coverage_by_day_lists_empty_days_and_the_longest_silence(con):
    day1 = pl.concat([obs("abc123", 3, step_s=60), obs("def456", 2, start=T0 + timedelta(hours=2), step_s=60)])
    day3 = obs("abc123", 2, start=T0 + timedelta(days=2), step_s=30)
    ingest_batches(con, [batch(pl.concat([day1, day3]))], path="f")
    cov = coverage_by_day(con)
    assert cov.schema == pl.Schema(COVERAGE)
    rows = cov.rows(named=True)
    assert [r["day"].isoformat() for r in rows] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert [r["n_obs"] for r in rows] == [5, 0, 2]
    assert [r["n_aircraft"] for r in rows] == [2, 0, 1]
    # day 1: abc123 at 10:00..10:02, def456 from 12:00: the silence is 12:00 - 10:02
    assert rows[0]["max_gap_s"] == pytest.approx(2 * 3600 - 120)
    assert rows[1]["first"] is None and rows[1]["max_gap_s"] is None
    assert rows[2]["max_gap_s"] == pytest.approx(30)
    assert coverage_by_day(open_store(":memory:")).height == 0
    # a window lists each of its days, observed or not; until is exclusive
    window = coverage_by_day(con, since="2024-02-29", until="2024-03-03")
    assert [(r["day"].isoformat(), r["n_obs"]) for r in window.rows(named=True)] == [
        ("2024-02-29", 0), ("2024-03-01", 5), ("2024-03-02", 0)]
    assert coverage_by_day(open_store(":memory:"), since="2024-01-01", until="2024-01-03")["n_obs"].to_list() == [0, 0]
    assert coverage_by_day(con, since="2024-03-02", until="2024-03-02").height == 0


def test_summary_keys_and_counts(con):
    ingest_batches(con, [batch(obs("abc123", 10, feed="a"), rejects(("no_position", "x", 2), feed="a"))], path="f1")
    ingest_batches(con, [batch(obs("def456", 4, feed="b", start=T0 + timedelta(days=1)))], path="f2")
    s = summary(con)
    assert s["n_obs"] == 14 and s["n_aircraft"] == 2
    assert s["per_feed"] == {"a": 10, "b": 4}
    assert s["per_day"] == {"2024-03-01": 10, "2024-03-02": 4}
    assert s["first"].startswith("2024-03-01T10:00:00") and s["last"].startswith("2024-03-02")
    assert s["files_ingested"] == 2 and s["ingests"] == 2 and s["files_with_error"] == 0
    assert s["rejected_by_reason"] == {"no_position": 2}
    assert s["rows_read"] == s["rows_stored"] + s["rows_rejected"] + s["rows_duplicate"] == 16


# --- Parquet exchange -----------------------------------------------------------------------------

def test_export_import_round_trip(con, tmp_path):
    data = pl.concat([obs("abc123", 20, step_s=3600, callsign=None), obs("def456", 5, pos_source="mlat")])
    ingest_batches(con, [batch(data)], path="f")
    out = tmp_path / "export"
    done = export_parquet(con, out)
    assert done["rows"] == 25 and done["days"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["day=2024-03-01", "day=2024-03-02"]

    other = open_store(tmp_path / "other.duckdb")
    results = import_parquet(other, out)
    for r in results:
        invariant(r)
    assert sum(r.rows_stored for r in results) == 25
    assert load_observations(other).equals(load_observations(con))
    again = import_parquet(other, out)
    assert sum(r.rows_stored for r in again) == 0
    assert all(r.skipped_already_ingested and r.rows_duplicate == r.rows_read for r in again)
    forced = import_parquet(other, out, force=True)
    assert sum(r.rows_duplicate for r in forced) == 25 and not any(r.skipped_already_ingested for r in forced)
    other.close()

    # other readers see the same table with the partition column
    by_polars = pl.read_parquet(out, hive_partitioning=True)
    assert by_polars.height == 25 and "day" in by_polars.columns
    assert by_polars["time"].dtype == schema.UTC_US
    by_duck = duckdb.sql(f"SELECT count(*), count(DISTINCT day) FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true)").fetchall()
    assert by_duck == [(25, 2)]
    # Dask as the scale-out engine uses it: one task per day partition, Polars inside
    import dask

    parts = [dask.delayed(pl.read_parquet)(p) for p in sorted(out.glob("day=*/*.parquet"))]
    by_dask = pl.concat(dask.compute(*parts, scheduler="synchronous"))
    assert by_dask.height == 25 and by_dask.schema == by_polars.drop("day").schema


def test_export_window_and_non_empty_directory(con, tmp_path):
    ingest_batches(con, [batch(obs("abc123", 48, step_s=3600))], path="f")
    out = tmp_path / "x"
    assert export_parquet(con, out, since="2024-03-02", until="2024-03-03")["rows"] == 24
    with pytest.raises(FileExistsError):
        export_parquet(con, out)
    (out / "keep.txt").write_text("mine")
    done = export_parquet(con, out, overwrite=True)
    assert done["rows"] == 48 and (out / "keep.txt").exists()
    assert pl.read_parquet(out / "**/*.parquet").height == 48


def test_import_of_a_foreign_parquet_is_an_error_not_a_crash(con, tmp_path):
    pl.DataFrame({"a": [1, 2]}).write_parquet(tmp_path / "foreign.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    results = {Path(r.path).name: r for r in import_parquet(con, tmp_path)}
    assert results["foreign.parquet"].error.startswith("not_observations_parquet:")
    assert results["junk.parquet"].error.startswith("not_parquet:")
    assert n_obs(con) == 0


# --- derived tables ---------------------------------------------------------------------------------

def test_save_and_load_derived_tables(con):
    flights = schema.conform(
        pl.DataFrame({
            "flight_id": ["b", "a", "c"],
            "icao24": ["abc123"] * 3,
            "callsigns": [["X", "[b]Y[/b]"], [], None],
            "start": [T0, T0 + timedelta(hours=1), None],
            "n_obs": [3, 2, 1],
        }),
        schema.FLIGHTS,
    )
    save_table(con, "flights", flights)
    assert list_tables(con) == ["flights"]
    assert load_table(con, "flights", schema.FLIGHTS).equals(flights)  # order and types kept
    save_table(con, "flights", flights[:1])  # replaces
    assert load_table(con, "flights", schema.FLIGHTS).height == 1
    empty = load_table(con, "airspace_events", schema.AIRSPACE_EVENTS)
    assert empty.height == 0 and empty.schema == pl.Schema(schema.AIRSPACE_EVENTS)
    with pytest.raises(KeyError):
        load_table(con, "airspace_events")
    with pytest.raises(ValueError):
        save_table(con, "x; DROP TABLE observations", flights)


# --- ingest() through the readers ----------------------------------------------------------------------

# longer than the CLI tests' traces, an aircraft object every 100 points
write_trace = partial(write_readsb_trace, n=2000, flight_every=100)


def test_ingest_file_twice_short_circuits_on_sha256(con, tmp_path):
    f = write_trace(tmp_path / "trace_full_abc123.json")
    first = ingest(con, f)
    invariant(first)
    assert first.format == "readsb_trace" and first.rows_stored == 2000 and first.sha256
    second = ingest(con, f)
    invariant(second)
    assert second.skipped_already_ingested and second.rows_stored == 0
    assert second.feed == first.feed == "readsb:trace_full_abc123.json"
    assert second.rows_duplicate == second.rows_read == 2000
    forced = ingest(con, f, force=True)
    invariant(forced)
    assert not forced.skipped_already_ingested and forced.rows_duplicate == 2000
    assert n_obs(con) == 2000
    assert load_ingest_log(con)["status"].to_list() == ["completed", "skipped", "completed"]
    assert summary(con)["files_ingested"] == 1


def test_ingest_truncated_gzip_keeps_rows_before_the_damage(con, tmp_path):
    f = write_trace(tmp_path / "trace_full_abc123.json", n=20000, gz=True, cut=0.6)
    r = ingest(con, f)
    invariant(r)
    assert r.error is not None and r.error.startswith("truncated_gzip:")
    assert 0 < r.rows_stored < 20000 and r.rows_stored == n_obs(con)
    assert r.rejected_by_reason.get("truncated_gzip") == 0
    # a damaged file is never short-circuited: the second attempt re-reads (all duplicates)
    again = ingest(con, f)
    assert not again.skipped_already_ingested and again.rows_stored == 0 and again.error == r.error


def test_ingest_unreadable_and_unknown_files_are_errors(con, tmp_path):
    missing = ingest(con, tmp_path / "nope.json")
    assert missing.error.startswith("unreadable:") and missing.rows_read == 0
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a feed\n")
    unknown = ingest(con, text)
    assert unknown.error.startswith("unknown_format:")
    assert load_ingest_log(con)["status"].to_list() == ["error", "error"]


@pytest.mark.shared
def test_ingest_real_feeds(con, shared):
    adsb = shared / "adsb"
    files = [
        adsb / "readsb" / "trace_full_ac671b.json",
        *sorted((adsb / "adsbx-v2").glob("mil_*")),
        *sorted((adsb / "opensky").glob("*.parquet")),
        adsb / "traffic-samples" / "surveillance" / "border_control.json.gz",
    ]
    results = [ingest(con, f) for f in files]
    for r in results:
        invariant(r)
        assert r.error is None, r.error
    by_name = {Path(r.path).name: r for r in results}
    trace = by_name["trace_full_ac671b.json"]
    assert trace.rows_read == trace.rows_stored == 2500
    log = by_name["mil_poll_log_2023-01-24.raw.txt"]
    # the poll log repeats the three responses: nothing new, every position a duplicate
    assert log.rows_stored == 0 and log.rows_duplicate > 0 and log.rejected_by_reason.get("api_error_body") == 0
    s = summary(con)
    assert s["n_obs"] == sum(r.rows_stored for r in results)
    assert s["files_ingested"] == len(files)
    delta = load_feed_aircraft(con).filter(pl.col("icao24") == "ac671b").row(0, named=True)
    assert (delta["registration"], delta["type_code"]) == ("N899DN", "B739")
    ac = load_observations(con, icao24=["ac671b"])
    assert ac.height == 2500 and ac["time"].is_sorted() and ac["leg_start"].sum() >= 3
    again = [ingest(con, f) for f in files]
    assert all(r.skipped_already_ingested and r.rows_stored == 0 for r in again)
    assert summary(con)["n_obs"] == s["n_obs"]


def _bad_csv(path: Path) -> Path:
    """A CSV with what crowd-sourced feeds get wrong, for both storage paths to agree on."""
    t0 = 1_700_000_000
    rows = ["time,icao24,callsign,lat,lon,altitude,groundspeed,squawk"]
    for i in range(300):  # a clean track, with a repeated stretch
        rows.append(f"{t0 + i},abc123,RCH{i % 3},{30 + i * 1e-3},{-100 - i * 1e-3},30000,400,7700")
    rows += [rows[k] for k in range(1, 40)]  # duplicates of the first 39 points
    rows += [
        f"{t0 + 5},ABC123 ,RCH1,30.005,-100.005,30000,400,7700",  # the same point, case and space
        f"{t0 + 1000},~1a2b3c,,10.0,20.0,,,",  # non-ICAO address, no callsign, nothing else
        f"{t0 + 1001},~1a2b3c,<script>x</script>,-0.0,0.0,100,0,",  # markup, negative zero
        f"{t0 + 1002},zzzzzz,BAD,10.0,20.0,1000,100,1200",  # not an address
        f"{t0 + 1003},def456,OUT,95.0,20.0,1000,100,1200",  # latitude out of range
        f"{t0 + 1004},def456,NAN,nan,20.0,1000,100,1200",
        f"not a time,def456,T,10.0,20.0,1000,100,1200",
        f"{t0 + 1006},def456,  ,10.0,20.0,1000,100,1200",  # blank callsign: null
        f"{t0 + 1016},def456,JMP,40.0,60.0,1000,100,1200",  # a jump away and back
        f"{t0 + 1026},def456,  ,10.0001,20.0001,1000,100,1200",
        f"{t0 + 1036},def456,ÅÉ,10.0002,20.0002,1000,100,1200",
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.shared
def test_table_and_parts_store_the_same_rows_and_rejects(tmp_path, shared, monkeypatch):
    """The two ways of storing rows keep exactly the same rows, counts and reasons, for the real
    OpenSky files and for bad input."""
    import isrwatch.store.ingestion as ingestion

    files = [*sorted((shared / "adsb" / "opensky").glob("*.parquet")), _bad_csv(tmp_path / "bad.csv")]
    outcome = {}
    for storage, min_rows in (("table", 10**12), ("parts", 1)):
        monkeypatch.setattr(ingestion, "PART_MIN_ROWS", min_rows)
        monkeypatch.setattr(ingestion, "CHUNK_ROWS", 1000)  # several writes per file
        c = open_store(tmp_path / f"{storage}.duckdb")
        results = [ingest(c, f, batch_rows=500, fmt="generic_csv" if f.suffix == ".csv" else None) for f in files]
        for r in results:
            invariant(r)
            assert r.error is None, r.error
        in_parts = c.execute("SELECT coalesce(sum(n_rows), 0) FROM observation_parts").fetchall()[0][0]
        assert (in_parts > 0) == (storage == "parts")
        outcome[storage] = (
            [(r.rows_read, r.rows_stored, r.rows_rejected, r.rows_duplicate, r.rejected_by_reason) for r in results],
            load_observations(c),
            summary(c),
        )
        c.close()
    counts, stored, info = outcome["table"]
    assert counts == outcome["parts"][0]
    assert stored.equals(outcome["parts"][1])
    assert info == outcome["parts"][2]
    bad = counts[-1]
    assert bad[3] == 40 and {"bad_position", "bad_time", "bad_icao24", "position_jump"} <= set(bad[4])
    tilde = stored.filter(pl.col("icao24") == "~1a2b3c")
    assert tilde["callsign"].to_list() == [None, "<script>x</script>"]
