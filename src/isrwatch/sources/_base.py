"""What every reader shares: the Batch it yields, the error it raises, the formats it knows."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from isrwatch import schema

FORMATS: tuple[str, ...] = (
    "readsb_trace",
    "globe_history_tar",
    "aircraft_json",
    "opensky_parquet",
    "opensky_csv",
    "opensky_rest",
    "traffic_json",
    "traffic_parquet",
    "generic_csv",
    "generic_parquet",
)

# Reject details are data from the feed: cut them so one bad stretch cannot bloat the table.
DETAIL_MAX = 200


class ReaderError(Exception):
    """A file (or the rest of it) could not be read.

    `reason` is a short code ("truncated_gzip", "invalid_json", "unknown_format",
    "missing_columns", "not_found", ...); the message is one line. Readers raise it only
    after yielding every batch read before the damage, so the caller keeps and counts them.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = " ".join(str(message).split())
        super().__init__(f"{reason}: {self.message}")


@dataclass
class Batch:
    """One bounded slice of a file.

    observations: schema.OBSERVATIONS; rejects: schema.REJECTS; aircraft: schema.FEED_AIRCRAFT
    (facts the feed carried for aircraft seen in this batch). Invariant:
    rows_read == observations.height + rejects["n_rows"].sum().
    """

    observations: pl.DataFrame
    rejects: pl.DataFrame
    aircraft: pl.DataFrame
    rows_read: int


@dataclass
class Piece:
    """What a reader hands to the assembler: rows before validation, and rejects found while parsing.

    obs uses observation column names and types (any subset; `feed` is filled in later).
    rejects are (reason, detail, n_rows) tuples and/or reject_frame with those columns;
    aircraft uses FEED_AIRCRAFT names (any subset).
    """

    obs: pl.DataFrame | None = None
    rejects: list[tuple[str, str, int]] = field(default_factory=list)
    aircraft: pl.DataFrame | None = None
    # many rejects at once (reason, detail, n_rows), built with Polars rather than tuples
    reject_frame: pl.DataFrame | None = None


def clip(text: object, limit: int = DETAIL_MAX) -> str:
    """A one-line, bounded rendering of feed text for a reject detail (kept verbatim otherwise)."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def as_number(v: object) -> float | None:
    """A JSON number as float; anything else (text, booleans, junk) is null."""
    if isinstance(v, bool):
        return None
    return float(v) if isinstance(v, (int, float)) else None


def as_text(v: object) -> str | None:
    """A JSON value as text (null stays null)."""
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


# what readers carry about aircraft: FEED_AIRCRAFT without `source`, which the assembler sets
FACTS: dict[str, pl.DataType] = {k: v for k, v in schema.FEED_AIRCRAFT.items() if k != "source"}


def db_flags(v: object) -> int | None:
    """readsb dbFlags as a small int (anything else is not a flag set: null)."""
    return v if type(v) is int and 0 <= v < 2**31 else None


def rejects_frame(feed: str, rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    if not rows:
        return schema.empty(schema.REJECTS)
    reasons, details, counts = zip(*rows)
    return pl.DataFrame(
        {
            "feed": [feed] * len(rows),
            "reason": list(reasons),
            "detail": list(details),
            "n_rows": list(counts),
        },
        schema=schema.REJECTS,
    )
