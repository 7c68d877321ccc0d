"""The report on a real readsb trace (Delta N899DN, ../shared): segmented by the segment stage and
drawn over the shipped boundaries. Skipped with the reason when ../shared is absent."""

from __future__ import annotations

import re

import polars as pl
from conftest import shared_file

from isrwatch import segment, sources
from isrwatch.airspace.catalog import land_region, sovereign_region
from isrwatch.report import write_report


def test_real_trace_report(tmp_path):
    trace = shared_file("adsb", "readsb", "trace_full_ac671b.json")
    obs = pl.concat([b.observations for b in sources.read(trace)])
    with_ids = segment.assign_sorties(obs)
    flights = segment.flights(with_ids)
    assert flights.height >= 2
    out = write_report(
        tmp_path / "r.html", flights=flights, aircraft=None, observations=with_ids, events=None,
        regions=[land_region(), sovereign_region("USA")], title="N899DN", simulated=False,
    )
    page = out.read_text()
    assert len(re.findall(r'<path class="trk" ', page)) == flights.height
    # the trace has coverage gaps over the Gulf of Mexico: drawn dashed, never as observed track
    assert len(re.findall(r'<path class="gap" ', page)) >= 1
    assert "© OpenStreetMap contributors (ODbL)" in page and "Natural Earth" in page
    assert "readsb:trace_full_ac671b.json" in page  # the feed is named in the sources
    assert out.stat().st_size < 3_000_000  # world land clipped to the area around the tracks
