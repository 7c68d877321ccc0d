"""The compiled row passes of the segment stage against plain numpy statements of the same
rules (the whole-column expressions they replaced), on random aircraft tables."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isrwatch.segment import assign_sorties, kernels, sorties


def _table(seed: int, n: int):
    """Aircraft runs, times (us, increasing within an aircraft with repeats, short and long
    gaps), positions with stale repeats and jumps."""
    rng = np.random.default_rng(seed)
    run = np.sort(rng.integers(0, max(1, n // 15), n)).astype(np.uint32)
    step = rng.choice([0, 1_000_000, 5_000_000, 60_000_000, 400_000_000, 8_000_000_000], n, p=[0.05, 0.4, 0.3, 0.15, 0.07, 0.03])
    t_us = 1_750_000_000_000_000 + np.cumsum(step).astype(np.int64)
    lat = 30 + np.cumsum(rng.normal(0, 0.05, n))
    lon = -110 + np.cumsum(rng.normal(0, 0.05, n))
    stale = rng.random(n) < 0.2  # repeat the previous position exactly
    for i in np.flatnonzero(stale):
        if i:
            lat[i], lon[i] = lat[i - 1], lon[i - 1]
    jump = rng.random(n) < 0.03
    lat[jump] += rng.choice([-1, 1], jump.sum()) * rng.uniform(0.05, 3, jump.sum())
    ground = rng.random(n) < 0.3
    # runs of ground states rather than isolated flags
    ground = np.repeat(ground[: (n + 3) // 4], 4)[:n]
    ground ^= rng.random(n) < 0.05
    return run, t_us, lat, lon, ground


def _same(run):
    same = np.zeros(len(run), dtype=bool)
    same[1:] = run[1:] == run[:-1]
    return same


def _moved(run, lat, lon):
    same = _same(run)
    moved = np.ones(len(run), dtype=bool)
    moved[1:] = ~same[1:] | (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])
    return moved


def _dt_fresh(run, t_us, lat, lon):
    t = t_us / 1e6
    same, moved = _same(run), _moved(run, lat, lon)
    dt = np.full(len(t), np.nan)
    dt[1:] = np.where(same[1:], t[1:] - t[:-1], np.nan)
    m = np.flatnonzero(moved)
    prev = np.maximum(np.arange(len(t)) - 1, 0)
    last = m[np.searchsorted(m, prev, "right") - 1]
    return np.where(moved & same, t - t[last], dt), dt


def _runs(same, state):
    change = np.flatnonzero((state[1:] != state[:-1]) | ~same[1:]) + 1
    return np.concatenate([[0], change]), np.append(change - 1, len(state) - 1)


def _short_runs(same, t, state, value, max_span):
    starts, ends = _runs(same, state)
    same_next = np.append(same[1:], False)
    keep = (state[starts] == value) & same[starts] & same_next[ends]
    starts, ends = starts[keep], ends[keep]
    short = t[ends + 1] - t[starts - 1] <= max_span
    return starts[short], ends[short]


def _mark(n, starts, ends):
    out = np.zeros(n, dtype=bool)
    for s, e in zip(starts, ends):
        out[s : e + 1] = True
    return out


def _smooth_reference(ground, run, t_us, lat, lon, bounce, min_positions, glitch_span):
    """The numpy statement of the three smoothing steps and the glitch candidates."""
    ground = ground.copy()
    same, moved = _same(run), _moved(run, lat, lon)
    t = t_us / 1e6
    n = len(ground)
    change = np.flatnonzero(~moved[1:] & (ground[1:] != ground[:-1])) + 1
    m = np.flatnonzero(moved)
    if len(change):
        nxt = np.searchsorted(m, change, "right")
        starts = m[nxt - 1]
        ends = np.where(nxt < len(m), m[np.minimum(nxt, len(m) - 1)] - 1, n - 1)
        ground |= _mark(n, starts, ends)
    s, e = _short_runs(same, t, ground, False, bounce)
    ground |= _mark(n, s, e)
    starts, ends = _runs(same, ground)
    same_next = np.append(same[1:], False)
    by_ground = (same[starts] & ground[np.maximum(starts - 1, 0)]) | (same_next[ends] & ground[np.minimum(ends + 1, n - 1)])
    air = ~ground[starts] & by_ground
    starts, ends = starts[air], ends[air]
    fresh = np.searchsorted(m, ends, "right") - np.searchsorted(m, starts, "left")
    ground |= _mark(n, starts[fresh < min_positions], ends[fresh < min_positions])
    s, e = _short_runs(same, t, ground, True, glitch_span)
    return ground, s, e


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(2, 400))
def test_scan_rows_matches_the_column_expressions(seed, n):
    run, t_us, lat, lon, _ = _table(seed, n)
    tol, long_gap, endurance = 0.08, 300.0, 3600.0
    same, moved, flagged, bits, starts, ordered = kernels.scan_rows(run, t_us, lat, lon, tol, long_gap, endurance)
    assert ordered
    assert np.array_equal(same, _same(run))
    assert np.array_equal(moved, _moved(run, lat, lon))
    assert np.array_equal(starts, np.flatnonzero(~_same(run)))
    fresh, dt = _dt_fresh(run, t_us, lat, lon)
    ex_same = _same(run)
    with np.errstate(invalid="ignore"):
        jump = np.zeros(n, dtype=bool)
        jump[1:] = (np.abs(np.diff(lat)) > tol) | (np.abs(np.diff(lon)) > tol)
        jump &= ex_same
        # the flags are a superset by at most the 2-microsecond margin; exact rows included
        exact_long = fresh >= long_gap
        exact_end = dt > endurance
    got = np.zeros(n, dtype=np.uint8)
    got[flagged] = bits
    assert np.array_equal((got & kernels.JUMP) != 0, jump)
    assert not (exact_long & ((got & kernels.LONG_GAP) == 0)).any()
    assert not (exact_end & ((got & kernels.ENDURANCE) == 0)).any()
    with np.errstate(invalid="ignore"):
        assert not (((got & kernels.LONG_GAP) != 0) & ~(fresh >= long_gap - 3e-6)).any()
    # decreasing time within an aircraft is reported
    if n > 3 and ex_same[2]:
        t2 = t_us.copy()
        t2[2] = t2[1] - 1
        assert not kernels.scan_rows(run, t2, lat, lon, tol, long_gap, endurance)[5]


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(2, 400), min_positions=st.integers(1, 4))
def test_smooth_ground_matches_the_column_expressions(seed, n, min_positions):
    run, t_us, lat, lon, ground = _table(seed, n)
    expected, es, ee = _smooth_reference(ground, run, t_us, lat, lon, 60.0, min_positions, 240.0)
    got = ground.copy()
    s, e = kernels.smooth_ground(got, _same(run), _moved(run, lat, lon), t_us, 60.0, min_positions, 240.0)
    assert np.array_equal(got, expected)
    assert np.array_equal(s, es) and np.array_equal(e, ee)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(2, 300))
def test_sortie_starts_numbers_and_largest_gap(seed, n):
    run, t_us, lat, lon, ground = _table(seed, n)
    same = _same(run)
    g_prev = np.append(False, ground[:-1])
    start, after = kernels.sortie_starts(ground, same)
    expected = np.flatnonzero(~ground & (~same | g_prev))
    assert np.array_equal(start, expected)
    assert np.array_equal(after, same[expected] & g_prev[expected])
    first = np.unique(np.concatenate([expected, np.flatnonzero(~ground)[::7]]))
    pick = np.zeros(n, dtype=np.int64)
    pick[first] = 1
    pick = np.cumsum(pick)
    pick[ground] = 0
    assert np.array_equal(kernels.sortie_numbers(first, ground), pick)
    # largest fresh gap inside each run of one sortie number, rows in no sortie skipped
    in_sortie = pick > 0
    fresh, _ = _dt_fresh(run, t_us, lat, lon)
    heads = np.flatnonzero(in_sortie & np.append(True, pick[1:] != pick[:-1]))
    lasts = np.array([np.flatnonzero(pick == pick[h])[-1] for h in heads], dtype=np.int64)
    got = kernels.max_fresh_gap(t_us, same, _moved(run, lat, lon), in_sortie, heads, lasts)
    for k, (h, last) in enumerate(zip(heads, lasts)):
        inside = [i for i in range(h + 1, last + 1) if in_sortie[i]]
        want = max((fresh[i] for i in inside), default=0.0)
        assert got[k] == pytest.approx(want if np.isfinite(want) else 0.0, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(2, 300), window=st.floats(0.0, 2_000.0))
def test_neighbour_walks(seed, n, window):
    run, t_us, lat, lon, ground = _table(seed, n)
    same, moved = _same(run), _moved(run, lat, lon)
    rows = np.arange(n, dtype=np.int64)
    m = np.flatnonzero(moved)
    assert np.array_equal(kernels.last_moved_at(moved, rows), m[np.searchsorted(m, rows, "right") - 1])
    valid = ground  # any boolean column
    got = kernels.last_valid_before(valid, same, rows)
    for i in rows:
        j = i - 1
        while j >= 0 and run[j] == run[i] and not valid[j]:
            j -= 1
        assert got[i] == (j if j >= 0 and run[j] == run[i] else -1)
    within = kernels.rows_within(t_us, same, rows, window, 5)
    t = t_us / 1e6
    for i in rows:
        k = 1
        while i + k < n and k < 5 and run[i + k] == run[i] and t[i + k] <= t[i] + window:
            k += 1
        assert within[i] == k


def test_two_threads_give_what_one_gives(monkeypatch):
    """assign_sorties splits a long table between two threads at an aircraft boundary; the
    result must not depend on it."""
    run, t_us, lat, lon, ground = _table(7, 3_000)
    obs = pl.DataFrame(
        {
            "time": pl.Series(t_us).cast(pl.Datetime("us", "UTC")),
            "icao24": [f"a{r:05x}" for r in run],
            "lat": lat,
            "lon": lon,
            "alt_baro": np.where(ground, 0.0, 20_000.0),
            "on_ground": ground,
            "gs": np.where(ground, 10.0, 300.0),
            "callsign": ["TEST1"] * len(run),
        }
    )
    monkeypatch.setattr(sorties, "_PARALLEL_MIN_ROWS", 10**12)
    one = assign_sorties(obs)
    monkeypatch.setattr(sorties, "_PARALLEL_MIN_ROWS", 100)
    monkeypatch.setattr(sorties, "_CPUS", 2)
    cut = sorties._aircraft_start_near(run, obs.height // 2)
    starts = np.flatnonzero(~_same(run))[1:]
    assert cut == starts[np.argmin(np.abs(starts - obs.height // 2))]
    calls = []
    real = sorties._sortie_rows
    monkeypatch.setattr(sorties, "_sortie_rows", lambda dv, *a, **k: calls.append(dv.height) or real(dv, *a, **k))
    two = assign_sorties(obs)
    assert sorted(calls) == sorted([cut, obs.height - cut])  # two halves, split between aircraft
    assert two.equals(one)
    # out of order (each half checked): sorted first, then split; the same result
    shuffled = obs.sample(fraction=1.0, shuffle=True, seed=3)
    calls.clear()
    two = assign_sorties(shuffled)
    assert len(calls) == 2
    monkeypatch.setattr(sorties, "_PARALLEL_MIN_ROWS", 10**12)
    assert two.equals(assign_sorties(shuffled))
    # a row without a position sends the table down the general path: the same result
    holed = obs.with_columns(pl.when(pl.int_range(pl.len()) == 2_500).then(None).otherwise(pl.col("lat")).alias("lat"))
    one = assign_sorties(holed)
    monkeypatch.setattr(sorties, "_PARALLEL_MIN_ROWS", 100)
    two = assign_sorties(holed)
    assert two.equals(one) and two["flight_id"][2_500] is None
    assert one["flight_id"].n_unique() > 50


def test_gap_flags_at_the_thresholds_to_the_microsecond():
    """ENDURANCE: dt above the threshold; LONG_GAP: dt_fresh at or above it (the caller
    keeps exact float comparisons; the flags must never miss a row that meets them)."""
    t0 = 1_750_000_000_000_000
    steps = [0, 300_000_000, 299_999_999, 3_600_000_000, 3_600_000_001, 1_000_000]
    t_us = t0 + np.cumsum(steps).astype(np.int64)
    n = len(t_us)
    run = np.zeros(n, dtype=np.uint32)
    lat = np.arange(n, dtype=np.float64) * 0.01
    lon = np.zeros(n)
    _, _, flagged, bits, _, _ = kernels.scan_rows(run, t_us, lat, lon, 10.0, 300.0, 3600.0)
    got = dict(zip(flagged.tolist(), bits.tolist()))
    assert got.get(1, 0) & kernels.LONG_GAP  # exactly 300 s
    assert got.get(3, 0) & kernels.LONG_GAP and got.get(4, 0) & kernels.ENDURANCE
    assert not got.get(5, 0)  # 1 s
    # exactly 3,600 s is not above the endurance threshold, 1 us more is: the flag may include
    # the first (within its margin) but the rules' float comparison decides
    t = t_us / 1e6
    assert not (t[3] - t[2] > 3600.0) and (t[4] - t[3] > 3600.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), offset=st.integers(0, 37), dtype=st.sampled_from([pl.Float32, pl.Float64, pl.Int32]))
def test_rows_read_a_few_values_through_the_validity_bitmap(seed, offset, dtype):
    """_Rows.at reads values and Arrow validity bits in place, also of a sliced table."""
    rng = np.random.default_rng(seed)
    n = 200
    values = rng.normal(0, 1000, n)
    nulls = rng.random(n) < 0.3
    col = pl.Series("alt_baro", np.where(nulls, None, values).tolist(), dtype=pl.Float64).cast(dtype, strict=False)
    df = pl.DataFrame({"alt_baro": col})[offset:]
    r = sorties._Rows(df)
    rows = rng.integers(0, df.height, 50)
    expected = df["alt_baro"].cast(pl.Float64).gather(rows).fill_null(np.nan).to_numpy()
    assert np.array_equal(r.at("alt_baro", rows), expected, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), offset=st.integers(0, 19), all_null=st.booleans())
def test_marked_rows_match_the_rules_on_sliced_tables_with_nulls(seed, offset, all_null):
    """Trusted ground flags, slow candidates and leg marks, against the rules written out
    over Python values (null flag: False; unknown speed: trusted on the ground, never slow)."""
    rng = np.random.default_rng(seed)
    n = 150

    def maybe_null(values, p):
        return [None if (all_null or rng.random() < p) else v for v in values]

    df = pl.DataFrame(
        {
            "on_ground": pl.Series(maybe_null((rng.random(n) < 0.4).tolist(), 0.2), dtype=pl.Boolean),
            "gs": pl.Series(maybe_null(rng.choice([5.0, 40.0, 60.0, 100.0, 300.0, float("nan")], n).tolist(), 0.2), dtype=pl.Float32),
            "leg_start": pl.Series(maybe_null((rng.random(n) < 0.1).tolist(), 0.3), dtype=pl.Boolean),
        }
    )[offset:]
    rules = sorties.SortieRules()
    got = sorties._Rows(df).marked(rules)
    og = [bool(v) for v in df["on_ground"].fill_null(False)]
    gs = [float("nan") if v is None else v for v in df["gs"]]
    slow = max(rules.slow_gs_kt, rules.deck_gs_kt)
    expected = {
        "og": [i for i in range(df.height) if og[i] and not gs[i] > rules.on_ground_max_gs_kt],
        "slow": [i for i in range(df.height) if not og[i] and gs[i] < slow],
        "leg": [i for i, v in enumerate(df["leg_start"]) if v],
    }
    for key in ("og", "slow", "leg"):
        assert got[key].tolist() == expected[key], key


def test_a_run_joining_two_aircraft_is_not_taken_as_ordered():
    """Parts take their aircraft runs from a hash of icao24; a run that (by a shared hash)
    joined two neighbouring aircraft must fail the order check, sending the table down the
    exact path."""
    t = pl.Series([1_750_000_000_000_000 + i * 1_000_000 for i in range(6)]).cast(pl.Datetime("us", "UTC"))
    df = pl.DataFrame({"time": t, "icao24": ["a00001"] * 3 + ["a00002"] * 3, "lat": [1.0] * 6, "lon": [2.0] * 6})
    t_us = df["time"].dt.epoch("us").to_numpy()
    exact = np.array([1, 1, 1, 2, 2, 2], dtype=np.uint64)
    joined = np.ones(6, dtype=np.uint64)
    assert sorties._Rows(df, exact, t_us).ordered
    assert not sorties._Rows(df, joined, t_us).ordered
    backwards = df.with_columns(pl.Series("icao24", ["a00002"] * 3 + ["a00001"] * 3))
    assert not sorties._Rows(backwards, exact, t_us).ordered
