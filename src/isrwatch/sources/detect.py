"""Which format a file is in, from its content (names lie: readsb writes gzip into .json files).

Order of evidence: Parquet magic; tar header (plain or inside gzip); then the first 64 KB of the
decompressed text: JSON objects by their keys (trace -> readsb trace, states -> OpenSky REST,
ac/aircraft -> API response or poll log, column-oriented or record JSON -> traffic), JSON
arrays (API poll logs start with "[]" or hold "ac" keys; records with latitude -> traffic),
non-JSON text holding API keys (a poll log that starts with an error body), and CSV headers
(OpenSky state-vector columns -> opensky_csv, anything else -> generic_csv).
"""

from __future__ import annotations

import re
from pathlib import Path

from isrwatch.sources import io
from isrwatch.sources._base import FORMATS, ReaderError

OPENSKY_COLUMNS = {"time", "icao24", "lat", "lon"}
OPENSKY_MARKERS = {"lastposupdate", "baroaltitude", "geoaltitude", "lastcontact"}
TRAFFIC_COLUMNS = {"timestamp", "icao24", "latitude", "longitude"}

_API_KEY = re.compile(rb'"(?:ac|aircraft)"\s*:\s*(?:\[|null)')
_API_ANY = re.compile(rb'"(?:ac|aircraft|now|msg|message|ctime|ptime|total)"\s*:')
_TRACE = re.compile(rb'^\{\s*"icao"\s*:|"trace"\s*:\s*\[')
_STATES = re.compile(rb'"states"\s*:\s*(?:\[|null)')
_COLUMNS_ORIENT = re.compile(rb'^\{\s*"[^"]{1,64}"\s*:\s*\{')


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _parquet_kind(path: Path) -> str:
    import pyarrow.parquet as pq

    try:
        names = {n.lower() for n in pq.read_schema(io.split_parts(path)[0]).names}
    except Exception as exc:  # pyarrow raises several types for damaged footers
        raise ReaderError("bad_parquet", f"{path.name}: unreadable Parquet footer: {exc}") from None
    return _table_kind(names, "parquet")


def _table_kind(names: set[str], suffix: str) -> str:
    if OPENSKY_COLUMNS <= names and names & OPENSKY_MARKERS:
        return f"opensky_{suffix}"
    if suffix == "parquet" and TRAFFIC_COLUMNS <= names:
        return "traffic_parquet"
    return f"generic_{suffix}"


def csv_header(text: bytes) -> list[str]:
    line = text.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    sep = "\t" if line.count("\t") > line.count(",") else ","
    # OpenSky Impala exports prefix columns with the table name
    return [c.strip().strip('"').rsplit(".", 1)[-1].lower() for c in line.split(sep)]


def _text_kind(head: bytes) -> str | None:
    s = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not s:
        return None
    c = s[:1]
    if c == b"{":
        if _TRACE.search(s):
            return "readsb_trace"
        if _STATES.search(s):
            return "opensky_rest"
        if _API_KEY.search(s):
            return "aircraft_json"
        if _COLUMNS_ORIENT.match(s):
            return "traffic_json"  # pandas column orientation, as traffic writes some files
        if b'"latitude"' in s:
            return "traffic_json"  # JSON lines
        if _API_ANY.search(s):
            return "aircraft_json"  # an error body first; responses follow
        return None
    if c == b"[":
        if re.match(rb"\[\s*\]", s) or _API_KEY.search(s):
            return "aircraft_json"
        if b'"latitude"' in s or b'"timestamp"' in s:
            return "traffic_json"
        if _STATES.search(s):
            return "opensky_rest"
        return None
    if _API_KEY.search(s):
        return "aircraft_json"  # a poll log that starts with a non-JSON error body
    cols = csv_header(s)
    if len(cols) >= 3 and all(cols):
        return _table_kind(set(cols), "csv")
    return None


def detect_format(path: str | Path) -> str:
    """One of FORMATS for the file at path; ReaderError("unknown_format") when none fits."""
    path = Path(path)
    first = io.raw_head(path, 512)
    if not first:
        raise ReaderError("unknown_format", f"{path.name}: empty file")
    if first[:4] == io.PARQUET_MAGIC:
        return _parquet_kind(path)
    if _is_tar(first):
        return "globe_history_tar"
    text = io.head(path) if first[:2] == io.GZIP_MAGIC else io.raw_head(path, 1 << 16)
    if _is_tar(text):
        return "globe_history_tar"
    kind = _text_kind(text)
    if kind is None:
        raise ReaderError(
            "unknown_format",
            f"{path.name}: content matches none of {', '.join(FORMATS)}",
        )
    return kind
