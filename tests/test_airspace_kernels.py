"""The airspace stage's compiled kernels against brute force on random input: the top positions
per group, the estimate shortcut (only positions a cell can put near the top are estimated) and
the branch and bound of the deepest / closest point against the exact distance of every point."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from isrwatch.airspace import _kernels
from isrwatch.airspace.events import _refined_extreme
from isrwatch.airspace.geodesy import BoundaryDistance, geodesic_km, geodesic_km_fast
from isrwatch.airspace.index import PolygonIndex

# a ragged region (a star) so nearest boundary stretches compete, and its depth is tens of km
_ANG = np.linspace(0, 2 * np.pi, 41)[:-1]
_RAD = np.where(np.arange(40) % 2 == 0, 1.0, 0.45)
STAR = shapely.Polygon(np.column_stack([8.0 + _RAD * np.cos(_ANG) * 1.4, 46.0 + _RAD * np.sin(_ANG)]))
BD = BoundaryDistance(STAR)


def brute_top(group, value, largest, k, slack):
    out = []
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        w = value[idx] if largest else -value[idx]
        w = np.where(np.isfinite(w), w, -np.inf)
        best = w.max()
        keep = idx[(w >= best - slack) | (w == best)]
        wk = np.where(np.isfinite(value[keep]), value[keep] if largest else -value[keep], -np.inf)
        order = np.lexsort((keep, -wk))
        out.extend(keep[order[:k]].tolist())
    return np.array(out, dtype=np.int64)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    seed=st.integers(0, 2**31 - 1),
    largest=st.booleans(),
    k=st.integers(1, 5),
    slack=st.sampled_from([np.inf, 0.5, 3.0]),
    ties=st.booleans(),
)
def test_group_top_sorted_equals_brute_force(sizes, seed, largest, k, slack, ties):
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)
    value = rng.integers(0, 4, len(group)).astype(float) if ties else rng.normal(0, 3, len(group))
    value[rng.random(len(group)) < 0.1] = np.nan
    got = _kernels.group_top_sorted(group, value, largest, k, float(slack))
    assert got.tolist() == brute_top(group, value, largest, k, slack).tolist()


def _points(rng, n, spread=2.0):
    return 8.0 + rng.uniform(-spread, spread, n), 46.0 + rng.uniform(-spread * 0.7, spread * 0.7, n)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), largest=st.booleans(), k=st.sampled_from([1, 4]))
def test_top_by_estimate_equals_top_over_all_estimates(seed, largest, k):
    rng = np.random.default_rng(seed)
    n = 400
    lon, lat = _points(rng, n, spread=rng.choice([0.02, 0.3, 2.0]))
    group = np.sort(rng.integers(0, 9, n)).astype(np.int64)
    full = BD.estimate_km(lon, lat)
    pos = np.sort(rng.choice(n, n // 2, replace=False))  # a subset, as the stage passes
    got = BD.top_by_estimate(pos, group, lon, lat, largest=largest, k=k, slack=5.0)
    want = _kernels.group_top_sorted(group[pos], full[pos], largest, k, 5.0)
    assert got.tolist() == want.tolist()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), spread=st.sampled_from([0.05, 0.5, 1.5]))
def test_deepest_and_closest_within_50_m_of_brute_force(seed, spread):
    rng = np.random.default_rng(seed)
    n = 300
    lon, lat = _points(rng, n, spread=spread)
    inside = shapely.contains_xy(STAR, lon, lat)
    exact, _, _ = BD.distance(lon, lat)
    for largest, sel in ((True, np.flatnonzero(inside)), (False, np.flatnonzero(~inside))):
        if len(sel) == 0:
            continue
        # groups as runs of consecutive positions (the stage's runs and flights)
        gfull = np.zeros(n, dtype=np.int64)
        gfull[sel] = np.sort(rng.integers(0, 6, len(sel)))
        g, p, d = _refined_extreme(BD, sel, gfull, lon, lat, largest=largest)
        assert sorted(g.tolist()) == g.tolist() == np.unique(gfull[sel]).tolist()
        for gg, pp, dd in zip(g, p, d):
            members = exact[sel][gfull[sel] == gg]
            ref = members.max() if largest else members.min()
            assert gfull[pp] == gg and pp in sel
            assert abs(dd - exact[pp]) < 1e-6  # the value is the exact distance of the point given
            if largest:
                assert ref - 0.05 - 1e-9 <= dd <= ref + 1e-9
            else:
                assert abs(dd - ref) < 0.1


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), spread=st.sampled_from([0.01, 0.5, 3.0, 20.0]))
def test_compiled_distance_equals_tree_and_pyproj(seed, spread):
    """The compiled exact distance (Vincenty, chord-pruned segments) against the STRtree + pyproj
    path, with the same reach; and its nearest point lies at that distance (pyproj)."""
    rng = np.random.default_rng(seed)
    lon, lat = _points(rng, 200, spread=spread)
    lon = np.clip(lon, -180, 180)
    lat = np.clip(lat, -89, 89)
    ub = BD.bound_km(lon, lat)
    d0, x0, y0 = BD._distance_tree(lon, lat, ub, hint_exact=True)
    d1, x1, y1 = BD.distance(lon, lat, hint_km=ub, hint_exact=True)
    np.testing.assert_allclose(d1, d0, rtol=0, atol=1e-6)
    assert np.all(d1 <= ub + 0.01)  # the cell's boundary point is found in a projection: to metres
    back = geodesic_km(lon, lat, x1, y1)
    np.testing.assert_allclose(back, d1, rtol=0, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_compiled_geodesic_equals_pyproj(seed):
    rng = np.random.default_rng(seed)
    n = 500
    lon1, lat1 = rng.uniform(-180, 180, n), rng.uniform(-89.9, 89.9, n)
    far = rng.random(n) < 0.5
    lon2 = np.where(far, rng.uniform(-180, 180, n), lon1 + rng.normal(0, 0.5, n))
    lat2 = np.where(far, rng.uniform(-89.9, 89.9, n), np.clip(lat1 + rng.normal(0, 0.5, n), -90, 90))
    lon2[:3] = lon1[:3]  # coincident points
    lat2[:3] = lat1[:3]
    lon2[3], lat2[3] = lon1[3] + 180.0, -lat1[3]  # antipodal: pyproj takes over
    np.testing.assert_allclose(geodesic_km_fast(lon1, lat1, lon2, lat2), geodesic_km(lon1, lat1, lon2, lat2), rtol=0, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_compiled_grid_equals_exact_containment(seed):
    """The index's compiled cell look-up answers as shapely does, also for invalid positions."""
    rng = np.random.default_rng(seed)
    idx = PolygonIndex([STAR, shapely.box(9.0, 45.5, 9.6, 46.2)], priority=[2.0, 1.0])
    lon, lat = _points(rng, 3000, spread=2.0)
    lon[:5] = [np.nan, 200.0, 8.0, 8.0, 180.0]
    lat[:5] = [46.0, 46.0, np.nan, -95.0, 90.0]
    loc = idx.locate(lon, lat)
    want = np.where(shapely.contains_xy(shapely.box(9.0, 45.5, 9.6, 46.2), lon, lat), 1,
                    np.where(shapely.contains_xy(STAR, lon, lat), 0, -1))
    assert loc.tolist() == want.tolist()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.01, 0.3, 3.0]))
def test_compiled_crossings_equal_strtree(seed, scale):
    """Crossings of straight segments with the boundary: compiled boxes vs STRtree + shapely,
    including segments that end exactly on a boundary vertex or run along an edge."""
    rng = np.random.default_rng(seed)
    n = 2000
    x0, y0 = _points(rng, n)
    x1, y1 = x0 + rng.normal(0, scale, n), y0 + rng.normal(0, scale, n)
    k = rng.integers(0, len(BD.x1), 20)
    x1[:20], y1[:20] = BD.x1[k], BD.y1[k]  # ending on a vertex
    x0[20:40], y0[20:40], x1[20:40], y1[20:40] = BD.x1[k], BD.y1[k], BD.x2[k], BD.y2[k]  # along an edge
    lo, hi = BD.crossings(x0, y0, x1, y1)
    lo_t, hi_t = BD._crossings_tree(x0, y0, x1, y1)
    assert np.array_equal(np.isnan(lo), np.isnan(lo_t)) and np.array_equal(np.isnan(hi), np.isnan(hi_t))
    np.testing.assert_allclose(lo, lo_t, atol=1e-12)
    np.testing.assert_allclose(hi, hi_t, atol=1e-12)


def test_kernel_cell_size_matches_the_cache():
    from isrwatch.airspace import geodesy

    assert round(1.0 / geodesy.CELL_DEG) == _kernels.CELL_PER


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), spread=st.sampled_from([0.01, 1.0, 30.0]))
def test_geodesic_bound_is_an_upper_bound(seed, spread):
    """The stretched great-circle bound never falls below the WGS84 geodesic (also near poles)."""
    rng = np.random.default_rng(seed)
    n = 2000
    x1, y1 = rng.uniform(-180, 180, n), rng.uniform(-89.5, 89.5, n)
    x2, y2 = x1 + rng.normal(0, spread, n), np.clip(y1 + rng.normal(0, spread, n), -90, 90)
    stretch = _kernels._stretch_table(6371.0088)
    bound = np.array([_kernels._geodesic_bound(a, b, c, d, 6371.0088, stretch) for a, b, c, d in zip(x1, y1, x2, y2)])
    assert np.all(bound >= geodesic_km(x1, y1, x2, y2) - 1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_any_inside_per_group_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    idx = PolygonIndex([STAR])
    n = 1500
    lon, lat = _points(rng, n, spread=1.5)
    group = np.sort(rng.integers(0, 40, n)).astype(np.int64)
    pos = np.sort(rng.choice(n, n // 2, replace=False))
    got = idx.any_inside(pos, group, lon, lat, 40)
    want = np.zeros(40, dtype=bool)
    np.logical_or.at(want, group[pos], shapely.contains_xy(STAR, lon[pos], lat[pos]))
    assert got.tolist() == want.tolist()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_gap_line_cap_bounds_the_exact_distance(seed):
    """A gap line's samples are never deeper than their way along the line to its crossings: the
    bound the deepest-point search takes for them holds against the exact distance."""
    from isrwatch.airspace.events import _line_cap, _path_km

    rng = np.random.default_rng(seed)
    n = 300
    x0, y0 = _points(rng, n, spread=2.5)
    ang = rng.uniform(0, 2 * np.pi, n)
    ln = rng.uniform(0.05, 3.0, n)
    x1, y1 = x0 + ln * np.cos(ang), y0 + ln * np.sin(ang)
    assert np.all(_path_km(x0, y0, x1, y1) >= geodesic_km(x0, y0, x1, y1) - 1e-9)
    lo, hi = BD.crossings(x0, y0, x1, y1)
    seg = np.flatnonzero(np.isfinite(lo) & (hi - lo > 1e-9))
    if len(seg) == 0:
        return
    lo, hi = lo[seg], hi[seg]
    k = np.linspace(0.0, 1.0, 16)
    sf = (lo[:, None] + (hi - lo)[:, None] * k[None, :]).ravel()
    sg = np.repeat(np.arange(len(seg)), 16)
    sx = x0[seg][sg] + sf * (x1[seg] - x0[seg])[sg]
    sy = y0[seg][sg] + sf * (y1[seg] - y0[seg])[sg]
    cap = _line_cap(sf, sg, lo, hi, _path_km(x0[seg], y0[seg], x1[seg], y1[seg]))
    exact, _, _ = BD.distance(sx, sy)
    assert np.all(exact <= cap + 1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_fine_cells_rasterised_equal_shapely_boxes(seed):
    """The compiled fine-cell states of a coarse cell equal those from shapely's predicates on the
    cells' boxes, for pieces with holes, edges along cell lines and several owners."""
    from isrwatch.airspace.index import _MIXED, _fine_states, _fine_states_reference

    rng = np.random.default_rng(seed)
    x0, y0 = 7.0, 45.0
    cell = shapely.box(x0 - 1e-7, y0 - 1e-7, x0 + 1 + 1e-7, y0 + 1 + 1e-7)
    a = shapely.Polygon(np.column_stack([x0 + 0.5 + 0.45 * np.cos(_ANG) * _RAD * 2, y0 + 0.5 + 0.45 * np.sin(_ANG) * _RAD * 2]))
    hole = shapely.box(x0 + 0.4, y0 + 0.4, x0 + 0.5 + rng.integers(0, 8) / 32, y0 + 0.6)  # edges on cell lines
    b = shapely.box(x0 + rng.uniform(-0.2, 0.6), y0 + rng.uniform(-0.2, 0.6), x0 + 1.3, y0 + rng.uniform(0.7, 1.3))
    c = shapely.Polygon(rng.uniform(0, 1, (7, 2)) + [x0, y0]).buffer(0)
    pieces, owners = [], []
    for owner, g in enumerate([a.difference(hole), b, c]):
        for part in shapely.get_parts(shapely.intersection(g, cell)):
            if part.geom_type == "Polygon" and not part.is_empty:
                pieces.append(part)
                owners.append(owner)
    new = _fine_states(pieces, owners, x0, y0)
    ref = _fine_states_reference(pieces, owners, x0, y0)
    # the rasteriser may call a cell the boundary passes within millimetres of mixed (its points
    # then get the exact test), never the other way round
    assert np.all((new == ref) | (new == _MIXED))
    assert (new != ref).sum() <= 4
