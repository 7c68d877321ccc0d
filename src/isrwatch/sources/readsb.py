"""readsb / tar1090 traces: trace_full_*.json and trace_recent_*.json, alone or in a globe_history tar.

A trace file is one JSON object: {"icao", "timestamp", "r", "t", "desc", "ownOp", "dbFlags", ...,
"trace": [[seconds after timestamp, lat, lon, altitude ft or "ground", gs kt, track deg, flags,
vertical rate ft/min, aircraft object or null, type, alt_geom, geom_rate, ias, roll], ...]}.
Older files carry fewer columns per point. Flags (readsb README-json.md): 1 stale, 2 start of a
new leg, 4 vertical rate is geometric, 8 altitude is geometric.

Per point: "ground" -> on_ground true with alt_baro null; flag 8 -> the altitude column holds
geometric altitude (alt_baro null, alt_geom from it when the alt_geom column is empty); vrate is
the barometric rate column, else geom_rate. The aircraft object appears only now and then, so its
"flight" (callsign, stripped) and "squawk" are carried forward along the trace, null before the
first one. pos_source comes from the type column (or the aircraft object's "type" in old files).
The top-level r, t, desc, ownOp, dbFlags go to the feed's aircraft table.

Speed: a well-formed trace is decoded by msgspec straight into typed tuples (anything else by
orjson); each file's points are transposed and converted to Polars columns while still in
cache, and each batch's columns are finished by Polars at once. In a day archive, members are
read and gunzipped in a helper thread.
"""

from __future__ import annotations

import gc
import operator
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path
from typing import Union

import msgspec
import orjson
import polars as pl

from isrwatch.sources import io
from isrwatch.sources._base import FACTS, Piece, ReaderError, as_number, as_text, clip, db_flags
from isrwatch.sources.columns import epoch_seconds_to_time, pos_source_from_type

NCOLS = 14
TRACE_NAME = re.compile(r"trace_(?:full|recent)_(~?[0-9a-fA-F]{6})\.json", re.IGNORECASE)
_ROW_END = re.compile(rb"\]\s*,\s*\[")
_PAD = [None] * NCOLS
_GETTERS = [operator.itemgetter(i) for i in range(NCOLS)]
_TRACE_KEY = re.compile(rb'"trace"\s*:')


def is_simulated(path: Path) -> bool:
    """Whether a trace says "simulated": true among its top-level fields before the trace list
    (where isrwatch simulate writes it); only the file's head is read."""
    try:
        head = io.head(Path(path), 1 << 14)
    except OSError:
        return False
    m = _TRACE_KEY.search(head)
    if m is None:
        return False
    try:
        top = orjson.loads(head[: m.start()].rstrip().rstrip(b",") + b"}")
    except orjson.JSONDecodeError:
        return False
    return isinstance(top, dict) and top.get("simulated") is True


class TraceColumns:
    """Trace points gathered column-wise across trace files until a batch is full.

    Per point only the transposed trace columns are kept; per trace its address, base time and
    length; the sparse aircraft objects by their point index. take() builds the batch frame.
    """

    def __init__(self) -> None:
        self.cols: list[list[pl.Series]] = [[] for _ in range(NCOLS)]  # converted, per trace
        self.lengths: list[int] = []  # points per trace
        self.bases: list[float | None] = []  # trace "timestamp"
        self.icaos: list[str | None] = []
        self.sparse: list[pl.DataFrame] = []  # per trace: point index (in the batch) and
        # flight, squawk and type of each aircraft object
        self.aircraft: list[dict] = []
        self.ground: list[pl.Series] = []
        self.n = 0

    def add(self, doc: object, name: str) -> int:
        """Add one parsed trace document; returns its number of points (ReaderError if not a trace).

        doc is a TraceDoc (typed fast path) or whatever orjson made of the file.
        """
        typed = isinstance(doc, TraceDoc)
        if typed:
            rows, icao, timestamp = doc.trace, doc.icao, doc.timestamp
            facts = (doc.r, doc.t, doc.desc, doc.ownOp, doc.dbFlags)
        else:
            if not isinstance(doc, dict):
                raise ReaderError("missing_columns", f"{name}: not a trace object")
            rows = doc.get("trace")
            if not isinstance(rows, list):
                raise ReaderError("missing_columns", f"{name}: no 'trace' list")
            icao, timestamp = doc.get("icao"), doc.get("timestamp")
            facts = (doc.get("r"), doc.get("t"), doc.get("desc"), doc.get("ownOp"), doc.get("dbFlags"))
        if not isinstance(icao, str) or not icao:
            m = TRACE_NAME.search(name)
            icao = m.group(1) if m else None
        icao = icao.strip().lower() if icao else None
        self._aircraft(facts, icao)
        n = len(rows)
        if n == 0:
            return 0
        if not typed:
            rows = self._shape(rows)
        # one pass per column down the rows (in the order they sit in memory) is about twice as
        # fast as zip(*rows), which touches every row for every column at once
        cols = [list(map(g, rows)) for g in _GETTERS]
        # Convert while this trace's values are still in the CPU cache: one pass per column
        # now is far cheaper than walking a whole batch of scattered Python objects later.
        for i, dtype in _COLUMN_TYPES:
            self.cols[i].append(pl.Series(cols[i], dtype=dtype, strict=False))
        alt = cols[3]
        self.cols[3].append(pl.Series(alt, dtype=pl.Float64, strict=False))  # "ground" -> null
        if alt.count("ground"):
            self.ground.append(pl.Series(list(map(operator.eq, alt, repeat("ground"))), dtype=pl.Boolean))
        else:  # airborne all along (the common case): no text to compare
            self.ground.append(pl.repeat(False, n, dtype=pl.Boolean, eager=True))
        objs = cols[8]
        at = [i for i, a in enumerate(objs) if a is not None]
        if at:
            if typed:  # msgspec checked the types already
                present = [objs[i] for i in at]
                flights = [a.flight for a in present]
                squawks = [a.squawk for a in present]
                types = [a.type for a in present]
            else:
                present = [objs[i] if type(objs[i]) is dict else {} for i in at]
                # flight must be text: other types are junk, not callsigns
                flights = [f if type(f) is str else None for f in [a.get("flight") for a in present]]
                squawks = [as_text(a.get("squawk")) for a in present]
                types = [t if type(t) is str else None for t in [a.get("type") for a in present]]
            self.sparse.append(
                pl.DataFrame(
                    {
                        "at": pl.Series(at, dtype=pl.Int64) + self.n,
                        "flight": pl.Series(flights, dtype=pl.String),
                        "squawk": pl.Series(squawks, dtype=pl.String),
                        "type": pl.Series(types, dtype=pl.String),
                    }
                )
            )
        self.lengths.append(n)
        self.bases.append(as_number(timestamp))
        self.icaos.append(icao)
        self.n += n
        return n

    @staticmethod
    def _shape(rows: list) -> list:
        """Every point as a list of exactly NCOLS values (short rows padded, junk rows nulled)."""
        if set(map(type, rows)) == {list} and set(map(len, rows)) == {NCOLS}:
            return rows
        out = []
        for r in rows:
            if type(r) is not list:
                r = []  # not a point: all null, rejected by the row checks as bad_position
            k = len(r)
            out.append(r + _PAD[k:] if k < NCOLS else (r if k == NCOLS else r[:NCOLS]))
        return out

    def _aircraft(self, facts: tuple, icao: str | None) -> None:
        """The trace's top-level r, t, desc, ownOp, dbFlags as feed aircraft facts."""
        if icao is None:
            return
        r, t, desc, own_op, flags = facts
        row = {
            "registration": as_text(r),
            "type_code": as_text(t),
            "type_description": as_text(desc),
            "operator": as_text(own_op),
            "db_flags": db_flags(flags),
        }
        if any(v is not None for v in row.values()):
            self.aircraft.append({"icao24": icao, **row})

    def _sparse(self) -> pl.DataFrame:
        """flight, squawk and type of the aircraft objects, by point index."""
        if not self.sparse:
            return pl.DataFrame(schema={"at": pl.Int64, "flight": pl.String, "squawk": pl.String, "type": pl.String})
        return pl.concat(self.sparse, how="vertical", rechunk=False)

    def take(self) -> Piece:
        """The gathered points as one observation frame (and reset)."""
        if self.n == 0 and not self.aircraft:
            self.__init__()
            return Piece()
        n = self.n
        cols = {i: _concat(self.cols[i], dtype) for i, dtype in ((3, pl.Float64), *_COLUMN_TYPES)}
        ground = _concat(self.ground, pl.Boolean)
        lengths = pl.Series(self.lengths, dtype=pl.Int64)
        trace_id = pl.int_range(0, len(self.lengths), dtype=pl.Int64, eager=True).repeat_by(lengths).explode()
        starts = (lengths.cum_sum() - lengths).gather(trace_id)
        first = pl.int_range(0, n, dtype=pl.Int64, eager=True) == starts
        sparse = self._sparse()

        def scatter(values: pl.Series) -> pl.Series:
            out = pl.repeat(None, n, dtype=pl.String, eager=True).alias(values.name)
            return out.scatter(sparse["at"], values) if sparse.height else out

        stripped = pl.col("flight").str.strip_chars()
        flight = sparse.select(flight=pl.when(stripped.str.len_bytes() > 0).then(stripped)).to_series()
        df = pl.DataFrame(
            {
                "_offset": cols[0],
                "_base": pl.Series(self.bases, dtype=pl.Float64).gather(trace_id),
                "icao24": pl.Series(self.icaos, dtype=pl.String).gather(trace_id),
                "lat": cols[1],
                "lon": cols[2],
                "_alt": cols[3],
                "_ground": ground,
                "gs": cols[4],
                "track": cols[5],
                "_flags": cols[6].fill_null(0),
                "_vrate": cols[7],
                "_type": cols[9],
                "_actype": scatter(sparse["type"]),
                "_alt_geom": cols[10],
                "_geom_rate": cols[11],
                "ias": cols[12],
                "roll": cols[13],
                "_first": first,
                "callsign": scatter(flight),
                "squawk": scatter(sparse["squawk"]),
            }
        )
        aircraft = (
            pl.DataFrame(self.aircraft, schema=FACTS)
            if self.aircraft
            else None
        )
        self.__init__()
        alt_is_geom = (pl.col("_flags") & 8) != 0
        obs = df.select(
            time=epoch_seconds_to_time(pl.col("_base") + pl.col("_offset")),
            icao24=pl.col("icao24"),
            callsign=_carry(pl.col("callsign")),
            lat=pl.col("lat"),
            lon=pl.col("lon"),
            alt_baro=pl.when(alt_is_geom).then(None).otherwise(pl.col("_alt")),
            alt_geom=pl.when(pl.col("_alt_geom").is_null() & alt_is_geom)
            .then(pl.col("_alt"))
            .otherwise(pl.col("_alt_geom")),
            on_ground=pl.col("_ground"),
            gs=pl.col("gs"),
            track=pl.col("track"),
            vrate=pl.coalesce(pl.col("_vrate"), pl.col("_geom_rate")),
            ias=pl.col("ias"),
            roll=pl.col("roll"),
            squawk=_carry(pl.col("squawk")),
            pos_source=pos_source_from_type(pl.coalesce(pl.col("_type"), pl.col("_actype"))),
            leg_start=(pl.col("_flags") & 2) != 0,
            stale=(pl.col("_flags") & 1) != 0,
        )
        return Piece(obs=obs, aircraft=aircraft)


# trace columns converted as they are: numbers, but for the flags (int) and the type (text);
# the altitude (3, a number or "ground") and the aircraft object (8) are handled apart
_COLUMN_TYPES: tuple[tuple[int, pl.DataType], ...] = tuple(
    (i, {6: pl.Int64, 9: pl.String}.get(i, pl.Float64)) for i in range(NCOLS) if i not in (3, 8)
)


def _concat(parts: list[pl.Series], dtype: pl.DataType) -> pl.Series:
    if not parts:
        return pl.Series([], dtype=dtype)
    return pl.concat(parts, rechunk=False) if len(parts) > 1 else parts[0]


_STOP = "\x00"  # marks the first point of a trace so carried values never leak across traces


def _carry(e: pl.Expr) -> pl.Expr:
    """Forward-fill within each trace: the last value seen, null before the first one."""
    marked = pl.when(pl.col("_first") & e.is_null()).then(pl.lit(_STOP)).otherwise(e)
    filled = marked.forward_fill()
    return pl.when(filled == _STOP).then(None).otherwise(filled)


def _salvage(data: bytes) -> object | None:
    """The trace with the points before the damage, when the file is cut or corrupt."""
    key = data.find(b'"trace"')
    if key < 0:
        return None
    ends = [m.start() for m in _ROW_END.finditer(data, key)]
    for end in reversed(ends[-64:]):
        try:
            return orjson.loads(data[: end + 1] + b"]}")
        except orjson.JSONDecodeError:
            continue
    return None


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a trace is parsed and transposed.

    A trace makes thousands of small lists at once; the collector would otherwise run many
    times per file and walk everything alive, which costs more than the parsing itself.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# The typed fast path: msgspec decodes a well-formed trace straight into tuples and skips every
# field of the aircraft objects except the three read here, which makes it a third faster than
# a generic parse. Anything else (older files with fewer columns, junk values) fails the types
# and takes the generic orjson path.
_Num = Union[float, None]


class TraceAircraft(msgspec.Struct):
    flight: Union[str, None] = None
    squawk: Union[str, None] = None
    type: Union[str, None] = None


_Point = tuple[
    float, _Num, _Num, Union[float, str, None], _Num, _Num, Union[int, None], _Num,
    Union[TraceAircraft, None], Union[str, None], _Num, _Num, _Num, _Num,
]


class TraceDoc(msgspec.Struct):
    icao: Union[str, None] = None
    timestamp: _Num = None
    r: Union[str, None] = None
    t: Union[str, None] = None
    desc: Union[str, None] = None
    ownOp: Union[str, None] = None
    dbFlags: Union[int, None] = None
    trace: list[_Point] = msgspec.field(default_factory=list)


_TYPED = msgspec.json.Decoder(TraceDoc)


def parse_trace_bytes(data: bytes, name: str) -> tuple[object | None, ReaderError | None]:
    """Parse one trace document; on damage, also the salvaged prefix (or None)."""
    try:
        doc = _TYPED.decode(data)
        if doc.trace or b'"trace"' in data:
            return doc, None
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as exc:
        err = ReaderError("invalid_json", f"{name}: {exc}")
        return _salvage(data), err


def read_trace(path: Path, batch_rows: int) -> Iterator[Piece]:
    """One trace file (plain or gzip). Damage: points before it are kept, then ReaderError."""
    data, gz_error = io.read_all(path)
    acc = TraceColumns()
    with no_gc():
        doc, json_error = parse_trace_bytes(data, path.name)
        if gz_error is not None and json_error is not None:
            # the JSON is only broken because the gzip stream was cut: report the cause
            json_error = gz_error
        error = json_error or gz_error
        if doc is not None:
            try:
                acc.add(doc, path.name)
            except ReaderError as exc:
                error = error or exc
        del doc
    if acc.n or acc.aircraft:
        yield acc.take()
    if error is not None:
        raise error


def _member_kind(name: str) -> bool:
    return TRACE_NAME.search(name.rsplit("/", 1)[-1]) is not None


def read_tar(path: Path, batch_rows: int) -> Iterator[Piece]:
    """A globe_history day archive, streamed member by member (split .tar.aa/.ab parts joined).

    Only trace_full_/trace_recent_ members are read; other members (heatmaps, acas, ...) hold no
    trace points and are skipped. A damaged member becomes a counted reject (n_rows 0: its points
    after the damage are unknown) and reading goes on; an archive cut short raises
    ReaderError("truncated_tar") after the points read before the cut.
    """
    acc = TraceColumns()
    rejects: list[tuple[str, str, int]] = []

    def take() -> Piece:
        nonlocal rejects
        piece = acc.take()
        piece.rejects, rejects = rejects, []
        return piece

    fh = io.open_raw(path)
    try:
        # members are read and gunzipped in a helper thread while this one parses (zlib drops
        # the GIL, so the two overlap on a second core)
        for name, data, gz_error in io.prefetch(_trace_members(fh, path), depth=16):
            n = 0
            with no_gc():
                doc, json_error = parse_trace_bytes(data, name)
                if doc is not None:
                    try:
                        n = acc.add(doc, name)
                    except ReaderError as exc:
                        json_error = json_error or exc
                del doc
            err = gz_error if gz_error is not None else json_error
            if err is not None:
                rejects.append(
                    (err.reason, clip(f"{name}: {err.message}; kept {n} points before the damage"), 0)
                )
            if acc.n >= batch_rows:
                yield take()
    except ReaderError:
        yield take()
        raise
    finally:
        fh.close()
    yield take()


def _trace_members(fh, path: Path) -> Iterator[tuple[str, bytes, ReaderError | None]]:
    """(member name, decompressed bytes, gzip error) for each trace file in the tar stream."""
    try:
        tar = tarfile.open(fileobj=fh, mode="r|*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ReaderError("bad_tar", f"{path.name}: not a readable tar archive: {exc}") from None
    try:
        for member in _members(tar, path):
            if not member.isfile() or not _member_kind(member.name):
                continue
            f = tar.extractfile(member)
            if f is None:
                continue
            try:
                data = f.read()
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ReaderError(
                    "truncated_tar", f"{path.name}: archive ends inside {member.name}: {exc}"
                ) from None
            if len(data) < member.size:
                raise ReaderError("truncated_tar", f"{path.name}: archive ends inside {member.name}")
            gz_error = None
            if data[:2] == io.GZIP_MAGIC:
                data, gz_error = io.gunzip_bytes(data)
            yield member.name, data, gz_error
        head = io.raw_head(path, 512)
        if len(head) >= 262 and head[257:262] == b"ustar":
            # an uncompressed archive cut at a member boundary looks complete to tarfile; only
            # the missing end-of-archive blocks (two zero blocks) give the cut away
            size = sum(p.stat().st_size for p in io.split_parts(path))
            if size < tar.offset + 2 * tarfile.BLOCKSIZE:
                raise ReaderError(
                    "truncated_tar", f"{path.name}: archive ends without its end-of-archive marker (cut short?)"
                )
    finally:
        tar.close()


def _members(tar: tarfile.TarFile, path: Path) -> Iterator[tarfile.TarInfo]:
    it = iter(tar)
    while True:
        try:
            member = next(it)
        except StopIteration:
            return
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ReaderError("truncated_tar", f"{path.name}: archive damaged or cut short: {exc}") from None
        yield member

