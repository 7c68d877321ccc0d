"""Turning a reader's pieces into Batches of bounded size, validated, with rows counted.

Readers yield Pieces as they parse; this module cuts and joins them into batches of at most
batch_rows parsed rows, runs the shared row checks, and keeps the count exact: every parsed row
ends up kept or rejected, and rejects found while parsing (error bodies, positionless aircraft,
stale vectors) travel in the batch that is flushed after them. A ReaderError from the reader is
re-raised only after the rows read before it have been yielded.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from isrwatch import schema
from isrwatch.sources import validate
from isrwatch.sources._base import Batch, Piece, ReaderError, rejects_frame


def _aircraft(frames: list[pl.DataFrame], feed: str) -> pl.DataFrame:
    if not frames:
        return schema.empty(schema.FEED_AIRCRAFT)
    df = pl.concat([schema.conform(f, schema.FEED_AIRCRAFT) for f in frames], how="vertical")
    df = df.filter(pl.col("icao24").is_not_null()).with_columns(
        pl.col("icao24").str.strip_chars().str.to_lowercase(),
        source=pl.lit(feed, dtype=pl.String),
    )
    # one row per aircraft: the last facts seen in this batch
    return df.unique(subset="icao24", keep="last", maintain_order=True)


def finish(
    obs: list[pl.DataFrame],
    rejects: list[tuple[str, str, int]],
    aircraft: list[pl.DataFrame],
    feed: str,
    reject_frames: list[pl.DataFrame] | None = None,
) -> Batch:
    """Validate one batch's rows and package them with the rejects and aircraft facts."""
    if obs:
        raw = pl.concat(obs, how="vertical") if len(obs) > 1 else obs[0]
    else:
        raw = validate.normalise(schema.empty(schema.OBSERVATIONS).drop("feed"))
    kept, row_rejects = validate.check(raw, feed)
    parts = [rejects_frame(feed, rejects)]
    for f in reject_frames or []:
        parts.append(
            schema.conform(f.with_columns(feed=pl.lit(feed, dtype=pl.String)), schema.REJECTS)
        )
    # rows rejected while parsing never reached `raw`; the row checks' rejects are part of it
    rows_read = raw.height + sum(int(p["n_rows"].sum()) for p in parts)
    parts.append(row_rejects)
    parts = [p for p in parts if p.height]
    all_rejects = pl.concat(parts, how="vertical") if parts else schema.empty(schema.REJECTS)
    return Batch(
        observations=schema.conform(kept, schema.OBSERVATIONS),
        rejects=schema.conform(all_rejects, schema.REJECTS),
        aircraft=_aircraft(aircraft, feed),
        rows_read=rows_read,
    )


def assemble(pieces: Iterator[Piece], feed: str, batch_rows: int) -> Iterator[Batch]:
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    obs: list[pl.DataFrame] = []
    n = 0
    rejects: list[tuple[str, str, int]] = []
    reject_frames: list[pl.DataFrame] = []
    n_rejects = 0
    aircraft: list[pl.DataFrame] = []
    yielded = False

    def flush() -> Batch:
        nonlocal obs, n, rejects, aircraft, reject_frames, n_rejects
        b = finish(obs, rejects, aircraft, feed, reject_frames)
        obs, n, rejects, aircraft, reject_frames, n_rejects = [], 0, [], [], [], 0
        return b

    try:
        for piece in pieces:
            rejects.extend(piece.rejects)
            n_rejects += len(piece.rejects)
            if piece.reject_frame is not None and piece.reject_frame.height:
                reject_frames.append(piece.reject_frame)
                n_rejects += piece.reject_frame.height
            if piece.aircraft is not None and piece.aircraft.height:
                aircraft.append(piece.aircraft)
            if piece.obs is not None and piece.obs.height:
                frame = validate.normalise(piece.obs)
                start = 0
                while start < frame.height:
                    take = min(batch_rows - n, frame.height - start)
                    obs.append(frame.slice(start, take))
                    n += take
                    start += take
                    if n >= batch_rows:
                        yield flush()
                        yielded = True
            elif n_rejects >= batch_rows:
                # a long stretch of rejects only (an error log): keep memory bounded too
                yield flush()
                yielded = True
    except ReaderError:
        if obs or n_rejects or aircraft:
            yield flush()
        raise
    if obs or n_rejects or aircraft or not yielded:
        yield flush()
