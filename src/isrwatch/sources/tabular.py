"""Tabular readers: `traffic` trajectory files (JSON, Parquet) and generic CSV / Parquet.

Tables are read natively and in bounded slices: Parquet by pyarrow row-group batches, CSV by
pyarrow's streaming CSV reader, JSON record arrays by cutting the decompressed text at record
boundaries and parsing each slice with Polars (decompression runs in a helper thread meanwhile).

traffic columns (timestamp epoch ms or datetime, latitude, longitude, altitude ft, geoaltitude ft,
groundspeed kt, track, vertical_rate ft/min, onground, callsign, icao24, squawk) map to
observations one to one. traffic also writes pandas' column orientation
({"timestamp": {"0": ..., ...}, ...}); such files are read whole (they are small).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from isrwatch.sources import io
from isrwatch.sources._base import Piece, ReaderError, clip
from isrwatch.sources.columns import from_columns

REQUIRED = ("time", "icao24", "lat", "lon")

TRAFFIC_COLUMNS: dict[str, str] = {
    "time": "timestamp",
    "icao24": "icao24",
    "callsign": "callsign",
    "lat": "latitude",
    "lon": "longitude",
    "alt_baro": "altitude",
    "alt_geom": "geoaltitude",
    "on_ground": "onground",
    "gs": "groundspeed",
    "track": "track",
    "vrate": "vertical_rate",
    "ias": "IAS",
    "roll": "roll",
    "squawk": "squawk",
    "pos_source": "position_source",
}

# Names tried for generic tables when no mapping is given (ours first, then common exports).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "time": ("time", "timestamp", "ts", "datetime", "date_time"),
    "icao24": ("icao24", "hex", "icao", "icao_address", "address"),
    "callsign": ("callsign", "flight", "call_sign"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "longitude", "lng", "long"),
    "alt_baro": ("alt_baro", "altitude", "baro_altitude", "altitude_ft"),
    "alt_geom": ("alt_geom", "geoaltitude", "geo_altitude"),
    "on_ground": ("on_ground", "onground", "ground"),
    "gs": ("gs", "groundspeed", "ground_speed", "speed"),
    "track": ("track", "heading", "true_track"),
    "vrate": ("vrate", "vertical_rate", "vertrate", "baro_rate"),
    "ias": ("ias",),
    "roll": ("roll",),
    "squawk": ("squawk",),
    "pos_source": ("pos_source", "position_source", "type"),
    "leg_start": ("leg_start",),
    "stale": ("stale",),
}


def resolve_mapping(columns: list[str], mapping: dict | None, defaults: dict[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """(ours -> theirs, units) for a table with these columns.

    An explicit mapping wins; then the format's defaults; then, for generic tables, the
    synonyms above (matched case-insensitively). ReaderError("missing_columns") when time,
    icao24, lat or lon cannot be found.
    """
    mapping = dict(mapping or {})
    units = dict(mapping.pop("units", None) or {})
    by_lower = {c.lower(): c for c in columns}
    colmap: dict[str, str] = {}
    for ours in SYNONYMS:
        if ours in mapping:
            colmap[ours] = mapping[ours]
            continue
        candidates = (defaults[ours],) if defaults and ours in defaults else SYNONYMS[ours]
        for c in candidates:
            if c in columns:
                colmap[ours] = c
                break
            if c.lower() in by_lower:
                colmap[ours] = by_lower[c.lower()]
                break
    unknown = set(mapping) - set(SYNONYMS)
    if unknown:
        raise ReaderError("bad_mapping", f"mapping names unknown columns of ours: {', '.join(sorted(unknown))}")
    missing = [k for k in REQUIRED if colmap.get(k) not in columns]
    if missing:
        want = ", ".join(f"{k} (as {colmap.get(k) or '?'})" for k in missing)
        raise ReaderError(
            "missing_columns", f"missing {want}; the file has: {', '.join(columns[:40])}"
        )
    return colmap, units


def _convert(df: pl.DataFrame, colmap: dict[str, str], units: dict[str, str]) -> pl.DataFrame:
    try:
        return from_columns(df, colmap, units)
    except ValueError as exc:
        raise ReaderError("bad_mapping", str(exc)) from None


# ---------------------------------------------------------------- Parquet and CSV


def parquet_batches(path: Path, batch_rows: int, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
    """Parquet in bounded batches, read by Polars' native reader (only the columns needed)."""
    try:
        lf = pl.scan_parquet(io.split_parts(path)[0])
        if columns is not None:
            lf = lf.select(columns)
        for df in lf.collect_batches(chunk_size=batch_rows):
            yield df
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ReaderError("bad_parquet", f"{path.name}: {exc}") from None


def parquet_columns(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(io.split_parts(path)[0]).names)
    except Exception as exc:
        raise ReaderError("bad_parquet", f"{path.name}: {exc}") from None


def csv_batches(path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    """CSV (plain or gzip) in record batches via pyarrow's streaming reader."""
    stream = _ChunkStream(io.chunks(path))
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=4 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
        pending: list[pl.DataFrame] = []
        have = 0
        for rb in reader:
            df = pl.from_arrow(rb)  # type: ignore[assignment]
            pending.append(df)  # type: ignore[arg-type]
            have += df.height
            if have >= batch_rows:
                yield pl.concat(pending, how="vertical_relaxed")
                pending, have = [], 0
        if pending:
            yield pl.concat(pending, how="vertical_relaxed")
    except (pa.ArrowException, UnicodeDecodeError, ValueError) as exc:
        if stream.error is not None:
            raise stream.error from None
        raise ReaderError("invalid_csv", f"{path.name}: {exc}") from None
    if stream.error is not None:
        raise stream.error


class _ChunkStream:
    """A file-like view of decompressed chunks for pyarrow; a cut gzip stream ends it early."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self._it = it
        self._buf = b""
        self.error: ReaderError | None = None
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self._buf) < n) and self._it is not None:
            try:
                self._buf += next(self._it)
            except StopIteration:
                self._it = None  # type: ignore[assignment]
            except ReaderError as exc:
                self.error = exc
                self._it = None  # type: ignore[assignment]
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def read_table(path: Path, fmt: str, batch_rows: int, mapping: dict | None) -> Iterator[Piece]:
    """traffic_parquet, generic_parquet, generic_csv."""
    defaults = TRAFFIC_COLUMNS if fmt == "traffic_parquet" else None
    if fmt.endswith("parquet"):
        columns = parquet_columns(path)
        colmap, units = resolve_mapping(columns, mapping, defaults)
        batches = parquet_batches(path, batch_rows, columns=sorted(set(colmap.values())))
    else:
        batches = csv_batches(path, batch_rows)
    for df in batches:
        if not fmt.endswith("parquet"):
            colmap, units = resolve_mapping(df.columns, mapping, defaults)
        yield Piece(obs=_convert(df, colmap, units))


# ---------------------------------------------------------------- traffic JSON

_RECORD_SEP = re.compile(rb"\}\s*,\s*\{")


def read_traffic_json(path: Path, batch_rows: int, mapping: dict | None = None) -> Iterator[Piece]:
    """traffic JSON: an array of records (streamed), JSON lines (streamed) or pandas columns."""
    first = io.head(path, 1 << 12).lstrip(b"\xef\xbb\xbf").lstrip()
    if first[:1] == b"{" and re.match(rb'\{\s*"[^"]{1,64}"\s*:\s*\{', first):
        frames = _columns_orient(path)
    elif first[:1] == b"{":
        frames = _json_lines(path)
    elif first[:1] == b"[":
        frames = _record_array(path)
    else:
        raise ReaderError("invalid_json", f"{path.name}: not a JSON array, JSON lines or object")
    for df, rejects in frames:
        obs = None
        if df is not None and df.height:
            # resolved per slice: a column may first appear part-way through the file
            colmap, units = resolve_mapping(df.columns, mapping, TRAFFIC_COLUMNS)
            obs = _convert(df, colmap, units)
        yield Piece(obs=obs, rejects=rejects)


def _parse_records(body: bytes) -> pl.DataFrame:
    df = pl.read_json(b"[" + body + b"]", infer_schema_length=None)
    if df.width == 0 and body.strip():
        # records without any field: Polars may report no rows; keep them countable
        n = len(orjson.loads(b"[" + body + b"]"))
        df = pl.DataFrame({"_no_fields": [None] * n})
    return df


def _record_array(path: Path) -> Iterator[tuple[pl.DataFrame | None, list]]:
    """A JSON array of flat records, cut at record boundaries into slices parsed by Polars.

    A cut that falls inside a string leaves an unterminated string on the left, so that slice
    fails to parse and is joined with the next one; only real damage fails at the end.
    """
    carry = b""
    started = False
    source = io.prefetch(io.chunks(path))
    done = False
    error: ReaderError | None = None
    while not done:
        try:
            chunk = next(source)
        except StopIteration:
            chunk, done = b"", True
        except ReaderError as exc:  # cut gzip: parse what arrived, then report
            chunk, done, error = b"", True, exc
        data = carry + chunk
        if not started:
            data = data.lstrip(b"\xef\xbb\xbf").lstrip()
            if not data:
                continue
            if data[:1] != b"[":
                raise ReaderError("invalid_json", f"{path.name}: expected a JSON array")
            data = data[1:]
            started = True
        if done:
            body = data.rstrip()
            closed = body.endswith(b"]")
            if closed:
                body = body[:-1].rstrip()
            if body:
                df, err = _parse_or_salvage(body, path)
                if df is not None:
                    yield df, []
                # a cut gzip stream explains a broken last slice: report the cause
                if error is not None:
                    raise error
                if err is not None:
                    raise err
            if error is not None:
                raise error
            if not closed and body:
                raise ReaderError("invalid_json", f"{path.name}: JSON array is not closed (file cut short?)")
            return
        cut = _last_boundary(data)
        if cut is None:
            carry = data
            continue
        body, carry = data[: cut + 1], data[cut + 1 :].lstrip().lstrip(b",")
        try:
            yield _parse_records(body), []
        except Exception:
            # the cut fell inside a string (or real damage): try again with more text
            carry = data
    return


def _last_boundary(data: bytes) -> int | None:
    """Index of the "}" that closes the last complete record in data (before "},{")."""
    i = data.rfind(b"},{")
    if i >= 0:
        return i
    tail = data[-(1 << 20) :]
    last = None
    for m in _RECORD_SEP.finditer(tail):
        last = m
    if last is None:
        return None
    return len(data) - len(tail) + last.start()


def _parse_or_salvage(body: bytes, path: Path) -> tuple[pl.DataFrame | None, ReaderError | None]:
    """Parse the final slice; on damage keep the records before it and report the damage."""
    try:
        return _parse_records(body), None
    except Exception as exc:
        first_error = exc
    dec = json.JSONDecoder()
    text = body.decode("utf-8", "replace")
    records: list[dict] = []
    pos = 0
    err_at = 0
    while True:
        m = re.compile(r"[\s,]*").match(text, pos)
        pos = m.end() if m else pos
        if pos >= len(text):
            break
        try:
            rec, pos = dec.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            err_at = exc.pos
            break
        if not isinstance(rec, dict):
            err_at = pos
            break
        records.append(rec)
    df = pl.from_dicts(records, infer_schema_length=None) if records else None
    return df, ReaderError(
        "invalid_json",
        f"{path.name}: damaged JSON after {len(records)} records (near char {err_at} of the last slice): "
        + clip(str(first_error), 120),
    )


def _json_lines(path: Path) -> Iterator[tuple[pl.DataFrame | None, list]]:
    """JSON lines: each line is a record; a line that does not parse is one reject."""
    carry = b""
    line_no = 0
    source = io.chunks(path)
    error: ReaderError | None = None
    done = False
    while not done:
        try:
            chunk = next(source)
        except StopIteration:
            chunk, done = b"", True
        except ReaderError as exc:
            chunk, done, error = b"", True, exc
        data = carry + chunk
        if done:
            body, carry = data, b""
        else:
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            body, carry = data[: cut + 1], data[cut + 1 :]
        if body.strip():
            try:
                yield pl.read_ndjson(body, infer_schema_length=None), []
            except Exception:
                yield _lines_one_by_one(body, line_no)
        line_no += body.count(b"\n")
    if error is not None:
        raise error


def _lines_one_by_one(body: bytes, line_no: int) -> tuple[pl.DataFrame | None, list]:
    records: list[dict] = []
    rejects: list[tuple[str, str, int]] = []
    for i, line in enumerate(body.split(b"\n")):
        if not line.strip():
            continue
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            rejects.append(("invalid_json", clip(f"line {line_no + i + 1}: {exc}: {line[:60]!r}"), 1))
            continue
        if not isinstance(rec, dict):
            rejects.append(("invalid_json", clip(f"line {line_no + i + 1}: not a record: {line[:60]!r}"), 1))
            continue
        records.append(rec)
    df = pl.from_dicts(records, infer_schema_length=None) if records else None
    return df, rejects


def _columns_orient(path: Path) -> Iterator[tuple[pl.DataFrame | None, list]]:
    """pandas' column orientation: {"col": {"0": v, "1": v, ...}, ...}; row keys give the order."""
    data, error = io.read_all(path)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise error or ReaderError("invalid_json", f"{path.name}: {exc}") from None
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise ReaderError("invalid_json", f"{path.name}: expected {{column: {{row: value}}}}")
    index: list[str] = []
    seen: set[str] = set()
    for colvals in doc.values():
        for k in colvals:
            if k not in seen:
                seen.add(k)
                index.append(k)
    try:
        index.sort(key=int)
    except ValueError:
        pass
    data_cols = {}
    for name, colvals in doc.items():
        data_cols[name] = pl.Series(name, [colvals.get(k) for k in index], strict=False)
    yield pl.DataFrame(data_cols), []
    if error is not None:
        raise error
