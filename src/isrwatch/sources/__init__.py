"""sources stage: read ADS-B feeds into the observations table, in bounded batches.

    from isrwatch.sources import read, detect_format, Batch, ReaderError, FORMATS
    for batch in read("trace_full_ac671b.json"):
        batch.observations  # schema.OBSERVATIONS
        batch.rejects       # schema.REJECTS: reason, detail, n_rows
        batch.aircraft      # schema.FEED_AIRCRAFT: registration, type... as the feed carried them
        batch.rows_read     # == observations.height + rejects["n_rows"].sum()

Formats (detected from content, or forced with fmt=):
  readsb_trace       readsb/tar1090 trace_full_*/trace_recent_*.json, plain or gzip
  globe_history_tar  a globe_history day archive (tar, maybe split into .tar.aa, .tar.ab, ...)
  aircraft_json      readsb aircraft.json, ADS-B Exchange v2 compatible API responses, and poll
                     logs of concatenated responses with error bodies between them
  opensky_parquet    OpenSky state_vectors_data4 (metres, m/s) as Parquet
  opensky_csv        the same as CSV
  opensky_rest       OpenSky REST /states/all responses
  traffic_json       `traffic` trajectory JSON (records, JSON lines or pandas columns; gzip or plain)
  traffic_parquet    `traffic` trajectory Parquet
  generic_csv        any CSV, with mapping={ours: theirs, "units": {ours: unit}}
  generic_parquet    any Parquet, same mapping

How rows are counted (rows_read): one input row is one trace point, one aircraft entry of an
API response, one state vector or one table row. Stretches that hold no rows (API error bodies,
"None", damaged members) are rejects with n_rows=0, so they are counted and shown without
inflating row counts; a damaged stretch whose rows can be counted carries that count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from isrwatch.sources import aircraft_json, opensky, readsb, tabular
from isrwatch.sources._base import FORMATS, Batch, Piece, ReaderError
from isrwatch.sources.assemble import assemble
from isrwatch.sources.detect import detect_format
from isrwatch.sources.io import display_name, raw_head

__all__ = ["read", "detect_format", "default_feed", "Batch", "ReaderError", "FORMATS"]

_PROVIDER = {
    "readsb_trace": "readsb",
    "globe_history_tar": "readsb",
    "aircraft_json": "adsbx-v2",
    "opensky_parquet": "opensky",
    "opensky_csv": "opensky",
    "opensky_rest": "opensky",
    "traffic_json": "traffic",
    "traffic_parquet": "traffic",
    "generic_csv": "file",
    "generic_parquet": "file",
}


def default_feed(path: str | Path, fmt: str) -> str:
    """"<provider>:<file name>", e.g. "readsb:trace_full_ac671b.json", "opensky:x.parquet".

    readsb aircraft.json files (key "aircraft") are "readsb:"; "ac" responses "adsbx-v2:".
    A readsb trace marked "simulated": true is "SIMULATED:readsb:<file name>".
    """
    path = Path(path)
    provider = _PROVIDER.get(fmt, "file")
    if fmt == "aircraft_json" and aircraft_json.uses_aircraft_key(path):
        provider = "readsb"
    if fmt == "readsb_trace" and readsb.is_simulated(path):
        # isrwatch simulate's traces say "simulated": true; the stored rows must say so too
        return f"SIMULATED:{provider}:{display_name(path)}"
    return f"{provider}:{display_name(path)}"


# the formats whose reader applies a column mapping
_MAPPED_FORMATS = frozenset({"opensky_parquet", "opensky_csv", "traffic_parquet", "generic_parquet", "generic_csv"})


def _pieces(path: Path, fmt: str, batch_rows: int, mapping: dict | None) -> Iterator[Piece]:
    if fmt == "readsb_trace":
        return readsb.read_trace(path, batch_rows)
    if fmt == "globe_history_tar":
        return readsb.read_tar(path, batch_rows)
    if fmt == "aircraft_json":
        return aircraft_json.read_api(path, batch_rows)
    if fmt == "opensky_rest":
        return opensky.read_rest(path, batch_rows)
    if fmt in ("opensky_parquet", "opensky_csv"):
        return opensky.read_table(path, fmt, batch_rows, mapping)
    if fmt == "traffic_json":
        return tabular.read_traffic_json(path, batch_rows)
    if fmt in ("traffic_parquet", "generic_parquet", "generic_csv"):
        return tabular.read_table(path, fmt, batch_rows, mapping)
    raise ReaderError("unknown_format", f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def read(
    path: str | Path,
    *,
    fmt: str | None = None,
    feed: str | None = None,
    batch_rows: int = 250_000,
    mapping: dict | None = None,
) -> Iterator[Batch]:
    """Read one feed file as Batches of at most batch_rows parsed rows.

    fmt forces a format (else detect_format). feed names where the rows came from (default
    "<provider>:<file name>"). mapping is for generic_csv / generic_parquet (and overrides the
    column names of OpenSky tables and traffic Parquet): {ours: theirs, ..., "units": {ours:
    unit}} with units "m", "m/s", "km/h", "ft/min" and, for time, "s", "ms", "us" or "ns". A
    mapping for any other format is a ReaderError ("mapping_unused"), not silently ignored.

    Raises ReaderError (after yielding the batches read before the damage) when the file is
    missing, in no known format, or damaged.
    """
    path = Path(path)
    if fmt is None:
        fmt = detect_format(path)
    elif fmt not in FORMATS:
        raise ReaderError("unknown_format", f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    else:
        raw_head(path, 1)  # a missing file is a ReaderError before anything else
    if mapping and fmt not in _MAPPED_FORMATS:
        # said rather than ignored: a mapping the reader would not apply is a mistake
        raise ReaderError(
            "mapping_unused",
            f"a column mapping applies to {', '.join(sorted(_MAPPED_FORMATS))}, not to {fmt} ({path.name})",
        )
    if feed is None:
        feed = default_feed(path, fmt)
    return assemble(_pieces(path, fmt, batch_rows, mapping), feed, batch_rows)
