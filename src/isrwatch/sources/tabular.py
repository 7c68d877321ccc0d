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

import csv
import json
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


def convert(df: pl.DataFrame, colmap: dict[str, str], units: dict[str, str]) -> pl.DataFrame:
    """from_columns, with a bad unit in the caller's mapping as ReaderError("bad_mapping")."""
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
    """CSV (plain or gzip) in record batches via pyarrow's streaming reader.

    Every column is read as text and converted by the readers: types guessed from the first
    block would refuse a later "ground" in an altitude column and lose the rest of the file.
    """
    head = io.head(path, 1 << 16).decode("utf-8", "replace").lstrip("\ufeff")
    try:
        names = next(csv.reader([head.split("\n", 1)[0].rstrip("\r")]))
    except (StopIteration, csv.Error):
        names = []
    stream = _ChunkStream(io.chunks(path))
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=io.CHUNK),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True, column_types=dict.fromkeys(names, pa.string())
            ),
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
        yield Piece(obs=convert(df, colmap, units))


# ---------------------------------------------------------------- traffic JSON

_RECORD_SEP = re.compile(rb"\}\s*,\s*\{")
JSON_THREADS = 2  # slices parsed at once (Polars drops the GIL while parsing)
MAX_JOINS = 4  # slices joined to mend a cut inside a string before the text is called damaged
JSON_SLICE = None  # decompressed bytes per slice (None: io.CHUNK)


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
            obs = convert(df, colmap, units)
        yield Piece(obs=obs, rejects=rejects)


# Types of traffic's columns: fixing them spares Polars a full-file type inference (a column
# that starts with nulls or integers would otherwise need it).
_TRAFFIC_TYPES: dict[str, pl.DataType] = {
    **{
        k: pl.Float64
        for k in ("latitude", "longitude", "altitude", "geoaltitude", "groundspeed", "track", "vertical_rate", "IAS", "roll")
    },
    "icao24": pl.String,
    "callsign": pl.String,
    "onground": pl.Boolean,
}


def _parse_records(text: bytes) -> pl.DataFrame:
    """A JSON array of records (text includes the brackets) as a frame."""
    head = text[:8192]
    overrides = {k: v for k, v in _TRAFFIC_TYPES.items() if b'"' + k.encode() + b'"' in head}
    try:
        df = pl.read_json(text, schema_overrides=overrides)
    except pl.exceptions.PolarsError:
        # types change after the first rows: infer from every row (slower, always right)
        df = pl.read_json(text, infer_schema_length=None)
    if df.width == 0 and text.strip(b"[] \t\r\n"):
        # records without any field: Polars may report no rows; keep them countable
        n = len(orjson.loads(text))
        df = pl.DataFrame({"_no_fields": [None] * n})
    return df


def _record_slices(path: Path) -> Iterator[tuple[bytes, str | None]]:
    """The records of a JSON array as slices of text cut between two records: (slice, last).

    A slice (last None) is a JSON array cut at the last "},{" of a chunk. That cut may fall
    inside a string; the slice then fails to parse (its last string never closes) and is
    joined with the next one. "end" marks what is left at the end of the file, "cut" what is
    left when the gzip stream breaks off; both are bare record text.
    """
    carry = b""  # text after the last cut: starts with a record
    started = False
    for chunk in _chunks_then_error(path):
        if isinstance(chunk, ReaderError):
            if carry.strip():
                yield carry, "cut"
            raise chunk
        if not started:
            chunk = (carry + chunk).lstrip(b"\xef\xbb\xbf").lstrip()
            carry = b""
            if not chunk:
                continue
            if chunk[:1] != b"[":
                raise ReaderError("invalid_json", f"{path.name}: expected a JSON array")
            chunk = chunk[1:]
            started = True
        cut = _last_boundary(chunk)
        if cut is None:
            carry += chunk
            continue
        # one copy per chunk: brackets, the carried head and this chunk up to the cut
        yield b"".join((b"[", carry, memoryview(chunk)[: cut + 1], b"]")), None
        carry = chunk[cut + 1 :].lstrip().lstrip(b",")
    if started:
        yield carry, "end"


def _chunks_then_error(path: Path) -> Iterator[bytes | ReaderError]:
    """Decompressed chunks; a decompression error comes last as a value, not raised."""
    try:
        yield from io.chunks(path, size=JSON_SLICE)
    except ReaderError as exc:
        yield exc


def _record_array(path: Path) -> Iterator[tuple[pl.DataFrame | None, list]]:
    """A JSON array of flat records, parsed by Polars slice by slice, two slices at a time.

    Decompression and cutting run in one helper thread, parsing in two more (Polars drops the
    GIL), and frames come out in file order. A slice that does not parse alone is joined with
    the next and parsed again; damage that no join mends keeps the records before it, then
    raises ReaderError("invalid_json"), or the gzip error that caused it.
    """
    pool = ThreadPoolExecutor(max_workers=JSON_THREADS, thread_name_prefix="isrwatch-json")
    inflight: deque = deque()
    pending: list[bytes] = []  # a slice that failed alone, waiting for the next one

    joins = 0

    def resolve() -> Iterator[tuple[pl.DataFrame | None, list]]:
        nonlocal joins
        text, fut = inflight.popleft()
        if pending:
            fut.cancel()
            text = pending.pop()[:-1] + b"," + text[1:]
            joins += 1
            try:
                df = _parse_records(text)
            except Exception:
                if joins >= MAX_JOINS:
                    # no string is that long: this is damage, not an unlucky cut
                    df, err = _parse_or_salvage(text[1:-1], path)
                    if df is not None:
                        yield df, []
                    raise err or ReaderError("invalid_json", f"{path.name}: damaged JSON") from None
                pending.append(text)
                return
            joins = 0
            yield df, []
            return
        try:
            df = fut.result()
        except Exception:
            pending.append(text)
            return
        yield df, []

    def rest(body: bytes, cut: bool) -> Iterator[tuple[pl.DataFrame | None, list]]:
        while inflight:
            yield from resolve()
        body = body.rstrip()
        closed = body.endswith(b"]")
        if closed:
            body = body[:-1].rstrip()
        if pending:
            head = pending.pop()[1:-1]
            body = head + b"," + body if body else head
        yield from _last_slice(body, closed, path, cut)

    slices = io.prefetch(_record_slices(path), depth=2)
    try:
        while True:
            try:
                text, last = next(slices)
            except StopIteration:
                break
            except ReaderError:
                # a cut gzip stream: keep every record before the cut, then report it
                yield from rest(b"", cut=True)
                raise
            if last:
                yield from rest(text, cut=last == "cut")
                continue
            inflight.append((text, pool.submit(_parse_records, text)))
            while len(inflight) > JSON_THREADS:
                yield from resolve()
    finally:
        for _, fut in inflight:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _last_slice(body: bytes, closed: bool, path: Path, cut: bool) -> Iterator[tuple[pl.DataFrame | None, list]]:
    """The rest of the file as bare record text. When the gzip stream broke off (cut), keep
    the complete records and let the gzip error, raised next, say why the rest is missing."""
    if body:
        df, err = _parse_or_salvage(body, path)
        if df is not None:
            yield df, []
        if err is not None and not cut:
            raise err
    if not closed and not cut:
        raise ReaderError("invalid_json", f"{path.name}: JSON array is not closed (file cut short?)")


def _last_boundary(data: bytes) -> int | None:
    """Index of the "}" before the last "},{" (or "}, {") in data, the end of a record unless
    the pattern sits inside a string (then parsing says so)."""
    i = data.rfind(b"},{")
    if i >= 0:
        return i
    tail_start = max(0, len(data) - (1 << 20))
    found = [m.start() for m in _RECORD_SEP.finditer(data, tail_start)]
    return found[-1] if found else None


def _parse_or_salvage(body: bytes, path: Path) -> tuple[pl.DataFrame | None, ReaderError | None]:
    """Parse the final slice; on damage keep the records before it and report the damage."""
    try:
        return _parse_records(b"".join((b"[", body, b"]"))), None
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
    df = records_frame(records) if records else None
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


def records_frame(records: list[dict]) -> pl.DataFrame:
    """Records of any shape as a frame: a column per key (first seen first), values of mixed
    types kept as text rather than refused."""
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    cols = []
    for k in keys:
        values = [r.get(k) for r in records]
        cols.append(_series(k, values))
    return pl.DataFrame(cols) if cols else pl.DataFrame({"_no_fields": [None] * len(records)})


def _series(name: str, values: list) -> pl.Series:
    try:
        return pl.Series(name, values, strict=False)
    except Exception:  # Polars refuses some mixes of nested values
        return pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String)


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
    df = records_frame(records) if records else None
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
        data_cols[name] = _series(name, [colvals.get(k) for k in index])
    yield (pl.DataFrame(data_cols) if data_cols else None), []
    if error is not None:
        raise error
