"""The airspace stage's lazily filled caches must give the same answers when threads share them
(the Dask engine runs partitions on threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from isrwatch import boundaries as regions
from isrwatch.airspace.geodesy import BoundaryDistance
from isrwatch.airspace.index import PolygonIndex


def _points(seed: int, n: int = 4000):
    rng = np.random.default_rng(seed)
    # around Mexico's coasts, where grid cells are mixed and the exact test runs
    return rng.uniform(-118.0, -105.0, n), rng.uniform(20.0, 33.0, n)


def test_polygon_index_same_answers_from_threads_as_serial():
    mex = regions.sovereign("MEX")
    batches = [_points(s) for s in range(8)]
    serial = PolygonIndex([mex])
    expected = [serial.locate(x, y) for x, y in batches]
    shared = PolygonIndex([mex])  # fresh: every thread fills cells at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda xy: shared.locate(*xy), batches))
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(e, g)
    assert sum(int((e >= 0).sum()) for e in expected) > 0  # some points are inside: the test can fail


def test_boundary_distance_same_answers_from_threads_as_serial():
    mex = regions.sovereign("MEX")
    batches = [_points(100 + s, 500) for s in range(6)]
    serial = BoundaryDistance(mex)
    expected = [serial.estimate_km(x, y) for x, y in batches]
    shared = BoundaryDistance(mex)
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda xy: shared.estimate_km(*xy), batches))
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(e, g)
