"""Property tests: for arbitrary traces and API logs, readers count every row and never crash.

Whatever the input, read() either finishes or raises ReaderError, and every batch keeps
rows_read == observations + rejected rows.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import msgspec
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isrwatch import schema
from isrwatch.sources import ReaderError, read

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

text = st.text(max_size=12)
small_float = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    small_float,
    text,
    st.sampled_from(["ground", "adsb_icao", "mlat", "tisb_other", "mode_s", ""]),
)
aircraft_obj = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "flight": st.one_of(text, st.just("<b>RCH1</b> "), st.integers()),
            "squawk": st.one_of(text, st.integers()),
            "type": st.one_of(text, st.sampled_from(["adsb_icao", "mlat"])),
        },
    ),
)
point = st.one_of(
    st.tuples(
        st.floats(min_value=-10, max_value=90000, allow_nan=False),
        st.floats(min_value=-100, max_value=100, allow_nan=False),
        st.floats(min_value=-200, max_value=200, allow_nan=False),
        st.one_of(st.just("ground"), scalar),
        scalar,
        scalar,
        st.one_of(st.integers(min_value=0, max_value=15), scalar),
        scalar,
        aircraft_obj,
        scalar,
    ).map(list),
    st.lists(scalar, max_size=16),
    scalar,
)


def check_batches(path: Path, **kw) -> tuple[int, ReaderError | None]:
    total = 0
    try:
        for b in read(path, **kw):
            assert b.observations.schema == pl.Schema(schema.OBSERVATIONS)
            assert b.rejects.schema == pl.Schema(schema.REJECTS)
            assert b.rows_read == b.observations.height + b.rejects["n_rows"].sum()
            assert b.observations.height <= kw.get("batch_rows", 250_000)
            total += b.rows_read
    except ReaderError as exc:
        assert exc.reason and "\n" not in str(exc)
        return total, exc
    return total, None


@SETTINGS
@given(
    icao=st.one_of(st.sampled_from(["a1b2c3", "~00abcd", "AE1234"]), text, st.none()),
    timestamp=st.one_of(st.floats(min_value=0, max_value=4e9, allow_nan=False), scalar),
    rows=st.lists(point, max_size=40),
    gz=st.booleans(),
    batch_rows=st.integers(min_value=1, max_value=50),
)
def test_any_trace_is_counted(icao, timestamp, rows, gz, batch_rows):
    doc = {"icao": icao, "timestamp": timestamp, "r": "N1", "trace": rows}
    data = json.dumps(doc).encode()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "trace_full_a1b2c3.json"
        path.write_bytes(gzip.compress(data) if gz else data)
        total, error = check_batches(path, fmt="readsb_trace", batch_rows=batch_rows)
    assert error is None
    assert total == len(rows)


opt_float = st.one_of(st.none(), st.floats(min_value=-1e5, max_value=1e5, allow_nan=False))
well_typed_point = st.tuples(
    st.floats(min_value=0, max_value=90000, allow_nan=False),
    st.one_of(st.none(), st.floats(min_value=-95, max_value=95, allow_nan=False)),
    st.one_of(st.none(), st.floats(min_value=-185, max_value=185, allow_nan=False)),
    st.one_of(st.none(), st.just("ground"), st.integers(min_value=-1000, max_value=60000)),
    opt_float,
    opt_float,
    st.integers(min_value=0, max_value=15),
    st.one_of(st.none(), st.integers(min_value=-6000, max_value=6000)),
    st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {}, optional={"flight": st.sampled_from(["", "  ", "RCH123  ", "<i>x</i>"]), "squawk": st.just("7700"), "nic": st.integers()}
        ),
    ),
    st.sampled_from(["adsb_icao", "mlat", "tisb_trackfile", "other", "mode_s"]),
    opt_float,
    opt_float,
    opt_float,
    opt_float,
).map(list)


@SETTINGS
@given(rows=st.lists(well_typed_point, min_size=1, max_size=60), batch_rows=st.integers(min_value=1, max_value=70))
def test_well_typed_traces_read_the_same_on_both_paths(rows, batch_rows):
    """Traces the typed fast path accepts give the same rows as the generic path."""
    from isrwatch.sources import readsb

    doc = {"icao": "a1b2c3", "timestamp": 1.7e9, "trace": rows}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.json"
        path.write_bytes(json.dumps(doc).encode())
        fast = [b.observations for b in read(path, batch_rows=batch_rows)]
        original = readsb._TYPED
        try:
            readsb._TYPED = msgspec.json.Decoder(list)  # never a TraceDoc: the generic path
            slow = [b.observations for b in read(path, batch_rows=batch_rows)]
        finally:
            readsb._TYPED = original
    assert pl.concat(fast).equals(pl.concat(slow))
    assert sum(f.height for f in fast) <= len(rows)


ac_entry = st.one_of(
    st.fixed_dictionaries(
        {"hex": st.one_of(st.sampled_from(["ae1234", "~abc123", "ZZZ"]), text)},
        optional={
            "lat": st.one_of(st.floats(min_value=-100, max_value=100, allow_nan=False), scalar),
            "lon": st.one_of(st.floats(min_value=-200, max_value=200, allow_nan=False), scalar),
            "alt_baro": st.one_of(st.just("ground"), scalar),
            "seen_pos": scalar,
            "type": scalar,
            "flight": scalar,
            "mlat": st.lists(st.sampled_from(["lat", "lon", "gs"]), max_size=3),
            "r": scalar,
            "dbFlags": st.one_of(st.integers(min_value=0, max_value=15), scalar),
        },
    ),
    scalar,
)
response = st.fixed_dictionaries(
    {"ac": st.lists(ac_entry, max_size=8)},
    optional={"now": st.one_of(st.floats(min_value=1e9, max_value=2e12, allow_nan=False), scalar), "msg": text},
)
error_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCDEFG.,!?-\n0123456789", min_size=1, max_size=30)
segment = st.one_of(
    response,
    error_text,
    st.just("None"),
    st.just("[]"),
    st.builds(lambda m: {"message": m}, error_text),
)


@SETTINGS
@given(segments=st.lists(segment, min_size=1, max_size=8), gz=st.booleans())
def test_any_api_log_is_counted(segments, gz):
    parts = [s if isinstance(s, str) else json.dumps(s) for s in segments]
    data = "".join(parts).encode()
    expected = sum(len(s["ac"]) for s in segments if isinstance(s, dict) and "ac" in s)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "poll.log"
        path.write_bytes(gzip.compress(data) if gz else data)
        total, error = check_batches(path, fmt="aircraft_json", batch_rows=5)
    assert error is None
    assert total == expected


@SETTINGS
@given(data=st.binary(max_size=300), fmt=st.sampled_from(["readsb_trace", "aircraft_json", "traffic_json", "opensky_rest", "generic_csv"]))
def test_junk_bytes_never_crash(data, fmt):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "junk"
        path.write_bytes(data)
        check_batches(path, fmt=fmt)


record = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": st.one_of(st.integers(min_value=0, max_value=2**53), scalar),
        "icao24": st.one_of(st.sampled_from(["4ca1fa", "ABCDEF"]), scalar),
        "latitude": st.one_of(st.floats(min_value=-100, max_value=100, allow_nan=False), scalar),
        "longitude": st.one_of(st.floats(min_value=-200, max_value=200, allow_nan=False), scalar),
        "altitude": scalar,
        "callsign": scalar,
        "squawk": scalar,
        "onground": scalar,
    },
)


def _layout(records: list[dict], layout: str) -> bytes:
    """traffic writes record arrays, JSON lines and pandas' column orientation."""
    if layout == "lines":
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    if layout == "columns":
        keys = dict.fromkeys(k for r in records for k in r)
        return json.dumps({k: {str(i): r.get(k) for i, r in enumerate(records)} for k in keys}).encode()
    return json.dumps(records).encode()


@SETTINGS
@given(
    records=st.lists(record, min_size=1, max_size=30),
    gz=st.booleans(),
    layout=st.sampled_from(["array", "lines", "columns"]),
)
def test_any_traffic_records_are_counted_or_refused(records, gz, layout):
    # every record names the four required columns somewhere, or the file is refused whole
    if layout == "columns" and not any(records):
        layout = "array"  # {} is no table at all in column orientation
    data = _layout(records, layout)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.json"
        path.write_bytes(gzip.compress(data) if gz else data)
        total, error = check_batches(path, fmt="traffic_json", batch_rows=7)
    if error is None:
        assert total == len(records)
    else:
        assert error.reason in {"missing_columns", "invalid_json"}
