"""The evidence report: one self-contained HTML page, PNG figures for articles, and exports of the
counted flights (GeoJSON, KML, CSV, Parquet).

    write_report(out_path, flights=..., aircraft=..., observations=..., events=..., regions=...,
                 verdicts=[], count_table=None, coverage=None, title=..., simulated=False, notes=[])
    map_png(out_path, ...), timeline_png(out_path, ...)
    export_flights(out_dir, flights, observations, aircraft, formats=...)
    build_report(out_dir, db=..., since=..., until=..., country=...)   (store + stages -> all of it)
"""

from __future__ import annotations

from isrwatch.report.html import SIMULATED_LABEL, write_report

__all__ = ["SIMULATED_LABEL", "write_report"]
