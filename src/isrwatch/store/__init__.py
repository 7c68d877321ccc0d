"""The embedded store: one DuckDB file of observations, feed aircraft facts, the ingest log
and rejects (bulk ingests' observations as day-partitioned Parquet parts next to it, in
parts_dir(con); see db.py); Parquet (hive-partitioned by day) for exchange; derived tables for
later stages.

Plain functions that take the connection open_store() returns:

    con = open_store()                      # $ISRWATCH_DB or the user data dir
    result = ingest(con, "trace_full_ac671b.json")
    assert result.rows_read == result.rows_stored + result.rows_rejected + result.rows_duplicate
    obs = load_observations(con, icao24=["ac671b"], since="2025-02-04")
"""

from isrwatch.store.db import KEY, SCHEMA_VERSION, StoreError, open_store, parts_dir, schema_version
from isrwatch.store.exchange import (
    EXPORT_FORMAT,
    export_parquet,
    import_parquet,
    list_tables,
    load_table,
    save_table,
)
from isrwatch.store.ingestion import IngestResult, StoreReadError, ingest, ingest_batches, ingest_with
from isrwatch.store.query import (
    COVERAGE,
    DISTINCT_AIRCRAFT,
    INGEST_LOG,
    STORED_REJECTS,
    coverage_by_day,
    load_distinct_aircraft,
    load_feed_aircraft,
    load_ingest_log,
    load_observations,
    load_rejects,
    summary,
    to_utc,
)

__all__ = [
    "COVERAGE",
    "DISTINCT_AIRCRAFT",
    "EXPORT_FORMAT",
    "INGEST_LOG",
    "KEY",
    "SCHEMA_VERSION",
    "STORED_REJECTS",
    "IngestResult",
    "StoreError",
    "StoreReadError",
    "coverage_by_day",
    "export_parquet",
    "import_parquet",
    "ingest",
    "ingest_batches",
    "ingest_with",
    "list_tables",
    "load_distinct_aircraft",
    "load_feed_aircraft",
    "load_ingest_log",
    "load_observations",
    "load_rejects",
    "load_table",
    "open_store",
    "parts_dir",
    "save_table",
    "schema_version",
    "summary",
    "to_utc",
]
