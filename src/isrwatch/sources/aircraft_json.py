"""readsb aircraft.json and ADS-B Exchange v2 compatible API responses, single or logged.

Responses: {"ac": [...], "now": ms, ...} (ADS-B Exchange /v2/mil, /v2/point, /v2/hex; adsb.lol,
airplanes.live) or {"now": s, "aircraft": [...]} (readsb aircraft.json). "now" is read as ms
when it is larger than 1e11, else as seconds. Position time = now - seen_pos.

Logs of concatenated responses are scanned with json.JSONDecoder.raw_decode. What lies between
responses is counted, not dropped: each non-JSON stretch ("None", "Too many requests") and each
JSON value that is not a response ({"message": "You are not subscribed..."}) is one reject
"api_error_body" with n_rows=0 (it holds no aircraft rows) and the text, cut, as detail. Empty
arrays ("[]", the separator the poll log writes) are not rejects. A response cut or corrupted in
the middle of a log is one reject "invalid_json" whose n_rows is the number of aircraft entries
("hex" keys) in the damaged stretch; reading resumes at the next response. Damage that runs to
the end of the file raises ReaderError("invalid_json") after the batches before it.

Rows: one per aircraft entry. Entries without lat/lon are rejects "no_position" (readsb's
lastPosition and rr_lat/rr_lon are old or rough and not used as positions). type -> pos_source
as for traces; an "mlat" list naming "lat" means mlat, a "tisb" list naming "lat" means tisb.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from isrwatch.sources import io
from isrwatch.sources._base import FACTS, Piece, ReaderError, as_number, as_text, clip, db_flags
from isrwatch.sources.columns import epoch_seconds_to_time, pos_source_from_type

_WS = re.compile(r"\s*")
_VALUE_START = re.compile(r"[\[{]")
# where a response (or an error body object) starts; used to resume after damage
_RESPONSE_START = re.compile(
    r'\{\s*"(?:ac|aircraft|now|msg|message|ctime|total|time|states)"\s*:|\[\s*\]|\[\s*\{\s*"(?:ac|now|states)"'
)
_MAX_TOKEN = 1 << 16  # a JSON error this close to the buffer end may just need more input
_HEX = '"hex"'
_AIRCRAFT_KEY = re.compile(rb'"aircraft"\s*:\s*\[')
_AC_KEY = re.compile(rb'"ac"\s*:')


def uses_aircraft_key(path: Path) -> bool:
    """True for readsb aircraft.json ("aircraft" key) rather than v2 API responses ("ac")."""
    h = io.head(path)
    a = _AIRCRAFT_KEY.search(h)
    b = _AC_KEY.search(h)
    return a is not None and (b is None or a.start() < b.start())


def scan(path: Path) -> Iterator[tuple[str, object, int]]:
    """JSON values and the stretches between them, in file order.

    Yields ("value", obj, char offset), ("text", str, offset) for non-JSON stretches and
    ("damaged", str, offset) for JSON that does not parse (the stretch up to the next response).
    Raises ReaderError at the end when damage (or a cut gzip stream) reaches the end of the file.
    """
    dec = json.JSONDecoder()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    source = io.chunks(path)
    buf = ""
    pos = 0
    base = 0  # file offset (chars) of buf[0]
    eof = False
    late_error: ReaderError | None = None

    def more() -> bool:
        nonlocal buf, pos, base, eof, late_error
        if eof:
            return False
        try:
            chunk = next(source)
        except StopIteration:
            chunk = None
        except ReaderError as exc:  # cut gzip: finish what was read, then report
            late_error = exc
            chunk = None
        if chunk is None:
            eof = True
            tail = decoder.decode(b"", final=True)
            if tail:
                buf = buf[pos:] + tail
                base += pos
                pos = 0
            return bool(tail)
        base += pos
        buf = buf[pos:] + decoder.decode(chunk)
        pos = 0
        return True

    while True:
        pos = _WS.match(buf, pos).end()
        if pos >= len(buf):
            if not more():
                break
            continue
        ch = buf[pos]
        if ch in "{[":
            try:
                obj, end = dec.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if not eof and exc.pos >= len(buf) - _MAX_TOKEN:
                    # the value runs past the buffer: at least double what is buffered, so a
                    # huge response is parsed a few times, not once per chunk
                    want = 2 * (len(buf) - pos)
                    while not eof and len(buf) - pos < want:
                        more()
                    continue
                m = _RESPONSE_START.search(buf, pos + 1)
                while m is None and not eof:
                    # the rest of the buffer is damaged; keep reading for the next response
                    more()
                    m = _RESPONSE_START.search(buf, pos + 1)
                if m is None:
                    yield "damaged", buf[pos:], base + pos
                    raise late_error or ReaderError(
                        "invalid_json", f"{path.name}: {exc.msg} at char {base + exc.pos}; JSON runs to the end of the file"
                    ) from None
                yield "damaged", buf[pos : m.start()], base + pos
                pos = m.start()
                continue
            yield "value", obj, base + pos
            pos = end
        else:
            m = _VALUE_START.search(buf, pos)
            while m is None and not eof:
                more()
                m = _VALUE_START.search(buf, pos)
            stop = m.start() if m else len(buf)
            yield "text", buf[pos:stop], base + pos
            pos = stop
    if late_error is not None:
        raise late_error


def response_rows(resp: dict) -> tuple[pl.DataFrame | None, list[tuple[str, str, int]], list[dict]]:
    """One API response -> (observation rows, rejects, aircraft facts)."""
    rejects: list[tuple[str, str, int]] = []
    entries = resp.get("ac") if "ac" in resp else resp.get("aircraft")
    if entries is None:
        return None, rejects, []
    if not isinstance(entries, list):
        return None, [("api_error_body", clip(f"'ac' is not a list: {entries!r}"), 0)], []
    now = as_number(resp.get("now"))
    if now is not None and abs(now) > 1e11:
        now /= 1000.0  # ADS-B Exchange v2 gives ms, readsb aircraft.json seconds
    good: list[dict] = []
    facts: list[dict] = []
    for a in entries:
        if not isinstance(a, dict):
            rejects.append(("bad_row", clip(f"aircraft entry is not an object: {a!r}"), 1))
            continue
        hex_ = as_text(a.get("hex"))
        if hex_ is not None and any(k in a for k in ("r", "t", "desc", "ownOp", "dbFlags")):
            facts.append(
                {
                    "icao24": hex_,
                    "registration": as_text(a.get("r")),
                    "type_code": as_text(a.get("t")),
                    "type_description": as_text(a.get("desc")),
                    "operator": as_text(a.get("ownOp")),
                    "db_flags": db_flags(a.get("dbFlags")),
                }
            )
        if a.get("lat") is None or a.get("lon") is None:
            last = a.get("lastPosition")
            age = f"; lastPosition {last.get('seen_pos')} s old" if isinstance(last, dict) else ""
            rejects.append(
                (
                    "no_position",
                    clip(f"hex={hex_} flight={as_text(a.get('flight'))} type={as_text(a.get('type'))}{age}"),
                    1,
                )
            )
            continue
        good.append(a)
    if not good:
        return None, rejects, facts

    def col(key: str, alt: str | None = None) -> list:
        if alt is None:
            return [a.get(key) for a in good]
        return [a.get(key, a.get(alt)) for a in good]

    def numcol(key: str, alt: str | None = None) -> pl.Series:
        return pl.Series([as_number(v) for v in col(key, alt)], dtype=pl.Float64)

    seen = [as_number(a.get("seen_pos", a.get("seen"))) or 0.0 for a in good]
    alt_raw = col("alt_baro", "altitude")  # "altitude": dump1090's older name
    types = []
    for a in good:
        ty = a.get("type")
        mlat, tisb = a.get("mlat"), a.get("tisb")
        if isinstance(mlat, list) and "lat" in mlat:
            ty = "mlat"
        elif isinstance(tisb, list) and "lat" in tisb:
            ty = "tisb"
        types.append(as_text(ty))
    df = pl.DataFrame(
        {
            "_seen": pl.Series(seen, dtype=pl.Float64),
            "icao24": pl.Series([as_text(v) for v in col("hex")], dtype=pl.String),
            "callsign": pl.Series([as_text(v) for v in col("flight")], dtype=pl.String),
            "lat": numcol("lat"),
            "lon": numcol("lon"),
            "alt_baro": pl.Series([as_number(v) for v in alt_raw], dtype=pl.Float64),
            "on_ground": pl.Series([v == "ground" for v in alt_raw], dtype=pl.Boolean),
            "alt_geom": numcol("alt_geom"),
            "gs": numcol("gs", "speed"),
            "track": numcol("track"),
            "_baro_rate": numcol("baro_rate", "vert_rate"),
            "_geom_rate": numcol("geom_rate"),
            "ias": numcol("ias"),
            "roll": numcol("roll"),
            "squawk": pl.Series([as_text(v) for v in col("squawk")], dtype=pl.String),
            "_type": pl.Series(types, dtype=pl.String),
        }
    )
    obs = df.select(
        time=epoch_seconds_to_time(pl.lit(now, dtype=pl.Float64) - pl.col("_seen")),
        icao24=pl.col("icao24"),
        callsign=pl.col("callsign"),
        lat=pl.col("lat"),
        lon=pl.col("lon"),
        alt_baro=pl.col("alt_baro"),
        alt_geom=pl.col("alt_geom"),
        on_ground=pl.col("on_ground"),
        gs=pl.col("gs"),
        track=pl.col("track"),
        vrate=pl.coalesce(pl.col("_baro_rate"), pl.col("_geom_rate")),
        ias=pl.col("ias"),
        roll=pl.col("roll"),
        squawk=pl.col("squawk"),
        pos_source=pos_source_from_type(pl.col("_type")),
    )
    return obs, rejects, facts


def _is_response(v: object) -> bool:
    return isinstance(v, dict) and ("ac" in v or "aircraft" in v)


def _aircraft_frame(facts: list[dict]) -> pl.DataFrame | None:
    if not facts:
        return None
    return pl.DataFrame(facts, schema=FACTS)


def poll_log(
    path: Path,
    is_response: Callable[[object], bool],
    render: Callable[[object], str],
    damaged: Callable[[str, int], tuple[str, str, int]],
) -> Iterator[Piece | dict]:
    """The responses of a file (one, a JSON array of them, or a log of them) in file order, and
    what lies between them as reject Pieces: text and JSON values that are not responses
    (rendered by `render`) as "api_error_body", damaged stretches as `damaged(stretch, offset)`.
    Empty arrays, the separator poll logs write between responses, are skipped."""
    for kind, value, offset in scan(path):
        if kind == "text":
            text = str(value).strip()
            if text:
                yield Piece(rejects=[("api_error_body", clip(f"at char {offset}: {text}"), 0)])
            continue
        if kind == "damaged":
            yield Piece(rejects=[damaged(str(value), offset)])
            continue
        values = value if isinstance(value, list) and value and all(map(is_response, value)) else [value]
        for v in values:
            if isinstance(v, list) and not v:
                continue
            if not is_response(v):
                yield Piece(rejects=[("api_error_body", clip(f"at char {offset}: {render(v)}"), 0)])
                continue
            yield v


def _damaged(stretch: str, offset: int) -> tuple[str, str, int]:
    detail = clip(f"at char {offset}: {len(stretch)} chars of damaged JSON: {stretch[:80]}")
    return "invalid_json", detail, stretch.count(_HEX)


def read_api(path: Path, batch_rows: int) -> Iterator[Piece]:
    for v in poll_log(path, _is_response, json.dumps, _damaged):
        if isinstance(v, Piece):
            yield v
            continue
        obs, rejects, facts = response_rows(v)
        yield Piece(obs=obs, rejects=rejects, aircraft=_aircraft_frame(facts))
